"""The brand editor beside the table: every change is saved at once and can be undone.

Each edit is an undo command that holds the data of one change (a brand, a preference field
or a relationship detail, the old and the new value); its redo/undo ask the preference writer
(``ui/writer.py``) to store it on the write thread (never on the GUI thread), which marks the
brand pending, like any edit. ``QUndoStack.push`` calls ``redo`` at once, so a widget never
applies an edit itself: the editor shows what the writer says was asked, stored or refused.

What is offered follows the vendor's catalog, fetched in the background when a brand is
shown (and kept for the session): channels, frequencies, topics (required ones shown
checked and disabled, with the vendor's reason), data uses and quiet hours. Brands handled
by hand have no catalog: everything is offered. A value the catalog does not offer but the
brand already has stays visible, so it can be cleared.

Tri-state everywhere: a channel or topic is *allowed*, *refused* or *undecided* (the brand's
default applies, shown as a partly checked box); a data use is Allow, Deny or undecided.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QCoreApplication, QDate, QPointF, Qt, QTime, Signal
from PySide6.QtGui import QAction, QKeyEvent, QPalette, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QCalendarWidget,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTimeEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from cmr_desktop.connectors.api import Catalog, Topic
from cmr_desktop.domain.brand import FORM_FIELDS
from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.fields import Field
from cmr_desktop.domain.preferences import (
    FieldKey,
    FieldValue,
    Grant,
    PreferenceSet,
    QuietHours,
    check_new_end_date,
    parse_date,
)
from cmr_desktop.domain.vocabulary import (
    Channel,
    DataCategory,
    Decision,
    Frequency,
    Purpose,
    RelationshipStatus,
)
from cmr_desktop.domain.words import topic_words
from cmr_desktop.services import BrandView, Services
from cmr_desktop.ui.palette import dimmed_text
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.text import tooltip, vendor_note
from cmr_desktop.ui.writer import (
    DetailSave,
    FieldsSave,
    Outcome,
    PreferenceWriter,
    Save,
    SaveCommand,
    brand_of,
)

_DEFAULT = "(their default)"
_UNDECIDED = "(undecided)"
_NO_END = "No end"
_UNTIL = "Until…"
_STATE = {True: Qt.CheckState.Checked, False: Qt.CheckState.Unchecked}
#: Relationship details the editor changes, in its form's order (``domain.brand.FORM_FIELDS``).
DETAILS = tuple(f.name for f in FORM_FIELDS)
_DETAIL_LABELS = {f.name: f.label for f in FORM_FIELDS}


class SetField(SaveCommand):
    """Set one preference field of one brand (and put it back on undo). Holds data only:
    the writer stores it and tells the views."""

    def __init__(
        self,
        writer: PreferenceWriter,
        slug: str,
        key: FieldKey,
        old: FieldValue,
        new: FieldValue,
        *,
        name: str | None = None,
        topics: Mapping[str, str] | None = None,
    ) -> None:
        # "Undo Demographics for analytics of Contoso Bank": the brand's name, not its slug.
        super().__init__(writer, f"{field_label(key, topics)} of {name or slug}")
        self.slug, self.key, self.old, self.new = slug, key, old, new

    def forward(self) -> Save:
        return FieldsSave(self.slug, ((self.key, self.new),), ((self.key, self.old),))

    def backward(self) -> Save:
        return FieldsSave(self.slug, ((self.key, self.old),), ((self.key, self.new),))


class SetDetail(SaveCommand):
    """Change one relationship detail (category, website ...) of one brand."""

    def __init__(
        self,
        writer: PreferenceWriter,
        slug: str,
        name: str,
        old: Any,
        new: Any,
        *,
        brand_name: str | None = None,
    ) -> None:
        super().__init__(writer, f"{_DETAIL_LABELS.get(name, name)} of {brand_name or slug}")
        self.slug, self.name, self.old, self.new = slug, name, old, new

    def forward(self) -> Save:
        return DetailSave(self.slug, self.name, self.new, self.old)

    def backward(self) -> Save:
        return DetailSave(self.slug, self.name, self.old, self.new)


def brand_details(view: BrandView) -> dict[str, Any]:
    """The relationship details the editor shows, as stored."""
    brand = view.brand
    details = {name: getattr(brand, name) for name in DETAILS}
    details["status"] = brand.status.value
    return details


def field_label(key: FieldKey, topics: Mapping[str, str] | None = None) -> str:
    """A field in the customer's words ("Email frequency", "Contact for marketing",
    "Topic 'Order updates'" ...). ``topics``: the vendor's topic labels by id, where known."""
    return Field(key).label(topics)


def _hand_wheel_on(widget: QWidget, event: QWheelEvent) -> bool:
    """Give a wheel turn over ``widget`` to the scroll area around it, unless ``widget``
    has keyboard focus (clicked or tabbed into). True when it was handed on.

    Drop-downs and spin boxes in the editor take the wheel only with focus, so scrolling
    the editor never changes a value by accident. (A widget that ignores a *real* wheel
    event passes it to its parents, but Qt never propagates a synthesized one; handing it
    to the scroll area explicitly behaves the same for both.)"""
    if widget.hasFocus():
        return False
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    if parent is None:
        event.ignore()  # no scroll area: Qt passes it to the parents
        return True
    viewport = parent.viewport()
    handed = QWheelEvent(
        QPointF(viewport.mapFromGlobal(event.globalPosition().toPoint())),
        event.globalPosition(),
        event.pixelDelta(),
        event.angleDelta(),
        event.buttons(),
        event.modifiers(),
        event.phase(),
        event.inverted(),
    )
    QCoreApplication.sendEvent(viewport, handed)
    event.accept()
    return True


class WheelSafeComboBox(QComboBox):
    """A drop-down that takes the mouse wheel only when it has focus (see
    :func:`_hand_wheel_on`). A wheel turn never gives it focus (StrongFocus)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if not _hand_wheel_on(self, event):
            super().wheelEvent(event)


class WheelSafeTimeEdit(QTimeEdit):
    """A time field that takes the mouse wheel only when it has focus."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if not _hand_wheel_on(self, event):
            super().wheelEvent(event)


def _combo(parent: QWidget) -> QComboBox:
    """A combo box that may be narrower than its longest entry (the pane is narrow), and
    that ignores the mouse wheel until it has focus."""
    combo = WheelSafeComboBox(parent)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(8)
    return combo


def _qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


class EndDateField(QWidget):
    """When a permission ends: an explicit *No end*, or *Until…* a last day, typed
    (YYYY-MM-DD) or picked in a calendar that opens at today.

    A new day in the past, or text that is not a date, is refused: :attr:`message` (a label
    the editor places under the row) says why, and nothing is stored. An end date already
    stored is shown as it is, even when it has passed ("Ended on ..."): only *new* choices
    are checked (:func:`cmr_desktop.domain.preferences.check_new_end_date`).

    Signals:
        chosen(): the user chose a valid end (:attr:`value`: a date, or None for no end).
    """

    chosen = Signal()

    def __init__(self, what: str, today: Callable[[], dt.date], parent: QWidget) -> None:
        super().__init__(parent)
        self._today = today
        #: The end shown and stored (None: no end); changed by a load or a valid choice.
        self.value: dt.date | None = None
        #: The user is in the middle of a choice not stored yet (Until… and no valid day).
        self.draft = False
        grid = QGridLayout(self)  # the day under the choice: the pane is narrow
        grid.setContentsMargins(0, 0, 0, 0)
        self.mode = _combo(self)
        self.mode.setMinimumContentsLength(6)
        self.mode.addItem(_NO_END, None)
        self.mode.addItem(_UNTIL, "until")
        self.mode.setAccessibleName(f"{what}: ends")
        self.mode.setToolTip("No end: the permission holds until you change it")
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("YYYY-MM-DD")
        self.edit.setAccessibleName(f"{what}: last day")
        self.edit.setToolTip("The last day the permission holds (YYYY-MM-DD)")
        self.edit.setMaxLength(10)
        width = self.edit.fontMetrics().horizontalAdvance("0000-00-00") + 16
        self.edit.setMinimumWidth(width)
        self.pick = QToolButton(self)
        self.pick.setText("…")
        self.pick.setAccessibleName(f"{what}: pick the last day in a calendar")
        self.pick.setToolTip("Pick the last day in a calendar")
        self._what = what
        self._menu: QMenu | None = None  # the calendar, made when first opened
        self._calendar: QCalendarWidget | None = None
        self.pick.clicked.connect(self.open_calendar)
        grid.addWidget(self.mode, 0, 0, 1, 2)
        grid.addWidget(self.edit, 1, 0)
        grid.addWidget(self.pick, 1, 1)
        grid.setColumnStretch(0, 1)
        self.message = QLabel("", parent)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.setAccessibleName(f"{what}: about the end date")
        self.message.setVisible(False)
        self.mode.activated.connect(lambda _: self._mode_chosen())
        self.edit.editingFinished.connect(self._typed)
        self._show_mode()

    # --- showing ----------------------------------------------------------------------

    def set_value(self, expires: dt.date | None, *, keep_draft: bool = False) -> None:
        """Show a stored end (no check: a stored end may have passed).

        ``keep_draft``: the same permission is shown again (a reload): if its end did not
        change, what the user is in the middle of (Until… with no day yet, or a refused
        day and its message) stays as it is."""
        if keep_draft and self.draft and expires == self.value:
            return
        self.draft = False
        self.value = expires
        self.mode.setCurrentIndex(0 if expires is None else 1)
        self.edit.setText("" if expires is None else expires.isoformat())
        self._show_mode()
        if expires is not None and expires < self._today():
            self._say(
                f"Ended on {expires.isoformat()}: counts as refused. Choose a new last day "
                "or No end to allow it again.",
                error=False,
            )
        else:
            self._say("")

    def until_chosen(self) -> bool:
        return bool(self.mode.currentData() == "until")

    def _show_mode(self) -> None:
        until = self.until_chosen()
        self.edit.setVisible(until)
        self.pick.setVisible(until)

    def _say(self, text: str, *, error: bool = True) -> None:
        self.message.setText(text)
        self.message.setProperty("problem", error and bool(text))  # tests read it
        self.message.setVisible(bool(text))

    def setEnabled(self, enabled: bool) -> None:
        super().setEnabled(enabled)
        self.message.setEnabled(enabled)

    # --- choosing ---------------------------------------------------------------------

    def _mode_chosen(self) -> None:
        self._show_mode()
        if not self.until_chosen():
            self.draft = False
            self.edit.clear()
            self._say("")
            if self.value is not None:
                self.value = None
                self.chosen.emit()
            return
        self.edit.setFocus()
        self.draft = self.value is None
        if not self.edit.text().strip():
            self._say("Type the last day (YYYY-MM-DD) or pick it in the calendar.", error=False)

    def _typed(self) -> None:
        """The user finished typing: store a valid new day, or say why not."""
        if not self.until_chosen():
            return
        text = self.edit.text().strip()
        if not text:
            self._say("Type the last day (YYYY-MM-DD) or pick it in the calendar.", error=False)
            return
        try:
            day = parse_date(text)
            if day == self.value:  # unchanged (a stored day that has passed stays as it is)
                return
            check_new_end_date(day, self._today())
        except DomainError as exc:
            self.draft = True
            self._say(f"Not saved: {exc}.")
            return
        self._say("")
        self.draft = False
        self.value = day
        self.chosen.emit()

    @property
    def menu(self) -> QMenu:
        """The calendar's popup (made on first use: a brand may have dozens of rows)."""
        if self._menu is None:
            self._menu = QMenu(self.pick)
            self._calendar = QCalendarWidget(self._menu)
            self._calendar.setGridVisible(True)
            self._calendar.setAccessibleName(f"{self._what}: calendar")
            action = QWidgetAction(self._menu)
            action.setDefaultWidget(self._calendar)
            self._menu.addAction(action)
            self._menu.aboutToShow.connect(self._calendar_opens)
            self._calendar.clicked.connect(self._picked)
            self._calendar.activated.connect(self._picked)
        return self._menu

    @property
    def calendar(self) -> QCalendarWidget:
        self.menu  # noqa: B018 (makes it)
        assert self._calendar is not None
        return self._calendar

    def open_calendar(self) -> None:
        """Show the calendar under the button (a popup: it never blocks)."""
        self.menu.popup(self.pick.mapToGlobal(self.pick.rect().bottomLeft()))

    def _calendar_opens(self) -> None:
        """The calendar opens at today (or at the chosen day), with past days closed."""
        today = self._today()
        shown = self.value if self.value is not None and self.value >= today else today
        self.calendar.setMinimumDate(_qdate(today))
        self.calendar.setSelectedDate(_qdate(shown))
        self.calendar.setCurrentPage(shown.year, shown.month)

    def _picked(self, day: QDate) -> None:
        if self._menu is not None:
            self._menu.hide()
        self.mode.setCurrentIndex(1)
        self._show_mode()
        self.edit.setText(day.toString("yyyy-MM-dd"))
        self._typed()


def _clear(layout: QGridLayout | QVBoxLayout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        widget = item.widget() if item is not None else None
        if widget is not None:
            widget.deleteLater()


class ChoiceBox(QCheckBox):
    """A check box for allowed / refused / undecided.

    A click (or Space) toggles between allowed and refused, as any check box does; an
    undecided box becomes allowed. "Undecided" (the brand's default applies, shown partly
    checked) is chosen with Delete or Backspace, or from the context menu.
    """

    #: The user changed the box (a click, Space, Delete or the context menu).
    chosen = Signal()

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setTristate(True)
        self.clicked.connect(lambda _=False: self.chosen.emit())
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        undecided = QAction("Leave it to the brand (undecided)", self)
        undecided.triggered.connect(self.make_undecided)
        self.addAction(undecided)

    def nextCheckState(self) -> None:
        checked = self.checkState() == Qt.CheckState.Checked
        self.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    def make_undecided(self) -> None:
        if self.isEnabled() and self.checkState() != Qt.CheckState.PartiallyChecked:
            self.setCheckState(Qt.CheckState.PartiallyChecked)
            # (Not clicked.emit(): emitting a C++ signal from Python inside keyPressEvent
            # crashed PySide6 6.12.0 in a test: a segmentation fault.)
            self.chosen.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.make_undecided()
            return
        super().keyPressEvent(event)


def dim(label: QLabel) -> None:
    """Draw ``label`` dimmed, yet with text that still reads (WCAG AA) on its background;
    a disabled label's grey does not (1.6:1 in Fusion's light palette)."""
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, dimmed_text(palette))
    label.setPalette(palette)


class _VendorNote(QWidget):
    """Beside an undecided field: "undecided — their setting: allowed" (plain text: the
    vendor's value, never the customer's decision), and a Refuse button when the vendor has
    it open, so the customer decides in one click."""

    def __init__(self, what: str, parent: QWidget, *, refusable: bool = True) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(22, 0, 0, 0)
        self.label = QLabel("", self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # vendor values: never markup
        self.label.setWordWrap(True)
        self.label.setAccessibleName(f"{what}: the vendor's setting")
        dim(self.label)  # drawn dimmed: theirs, not yours (still readable)
        self.refuse = QPushButton("Refuse", self)
        self.refuse.setAccessibleName(f"Refuse {what}")
        self.refuse.setToolTip("Decide: refuse it (undo with Ctrl+Z)")
        self.refuse.setVisible(False)
        self._refusable = refusable
        row.addWidget(self.label, 1)
        row.addWidget(self.refuse)
        self.setVisible(False)

    def show_for(self, key: FieldKey, decided: FieldValue, vendor: PreferenceSet | None) -> None:
        text = vendor_note(key, decided, vendor)
        self.label.setText(text)
        theirs = vendor.get(key) if vendor is not None else None
        opened = theirs is True or (isinstance(theirs, Grant) and theirs.decision is Decision.ALLOW)
        self.refuse.setVisible(self._refusable and bool(text) and opened)
        self.setVisible(bool(text))

    def text(self) -> str:
        return self.label.text()


def _set_tristate(box: QCheckBox, value: bool | None) -> None:
    box.setCheckState(Qt.CheckState.PartiallyChecked if value is None else _STATE[value])


def _tristate_value(box: QCheckBox) -> bool | None:
    state = box.checkState()
    if state == Qt.CheckState.PartiallyChecked:
        return None
    return state == Qt.CheckState.Checked


class BrandEditor(QWidget):
    """Everything a brand may do, for the selected brand.

    Edits are saved through the preference writer (``ui/writer.py``): the editor pushes a
    command holding the data, shows the new value when the writer says it was asked for,
    the stored brand when it was stored, and the stored value again when it was refused.

    Signals:
        failed(str): a read or a catalog request failed, or an edit cannot be made (a message
            for the status bar; a refused save is the writer's ``refused``).
    """

    failed = Signal(str)

    def __init__(
        self,
        services: Services,
        runner: Runner,
        writer: PreferenceWriter,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.services, self.runner, self.writer = services, runner, writer
        writer.asked.connect(self._on_asked)
        writer.stored.connect(self._on_stored)
        writer.refused.connect(self._on_refused)
        self.slug: str | None = None
        self.name = ""  # the shown brand's name (for undo texts: names, never slugs)
        self._uses_slug: str | None = None  # whose data uses the rows show
        self.prefs = PreferenceSet()
        #: What the vendor last reported (shown beside undecided fields as theirs), or None.
        self.vendor: PreferenceSet | None = None
        self.details: dict[str, Any] = {}
        self.catalog: Catalog | None = None
        self.catalog_known = False  # False while the vendor is being asked
        self._catalogs: dict[str, Catalog | None] = {}
        self._loading = False
        self._edits = 0  # local edits so far: a load asked for before one is out of date
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("", self)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        layout.addWidget(self.title)
        self.catalog_note = QLabel("", self)
        self.catalog_note.setTextFormat(Qt.TextFormat.PlainText)
        self.catalog_note.setWordWrap(True)
        self.catalog_note.setAccessibleName("What the vendor offers")
        layout.addWidget(self.catalog_note)
        layout.addWidget(self._build_channels())
        self.topics_box = QGroupBox("Topics", self)
        self.topics_layout = QVBoxLayout(self.topics_box)
        self.topic_boxes: dict[str, QCheckBox] = {}
        self.topic_notes: dict[str, _VendorNote] = {}
        layout.addWidget(self.topics_box)
        self.uses_box = QGroupBox("Use of your data", self)
        uses_outer = QVBoxLayout(self.uses_box)
        self.uses_grid = QGridLayout()
        uses_outer.addLayout(self.uses_grid)
        self.use_rows: dict[tuple[DataCategory, Purpose], tuple[QComboBox, EndDateField]] = {}
        self.use_notes: dict[tuple[DataCategory, Purpose], _VendorNote] = {}
        uses_outer.addLayout(self._build_add_use())
        layout.addWidget(self.uses_box)
        layout.addWidget(self._build_quiet_hours())
        layout.addWidget(self._build_details())
        self.setEnabled(False)

    # --- building -------------------------------------------------------------------------

    def _build_details(self) -> QGroupBox:
        box = QGroupBox("Relationship", self)
        form = QFormLayout(box)
        self.status = _combo(box)
        self.status.setAccessibleName("Relationship status")
        for status in RelationshipStatus:
            self.status.addItem(status.value.capitalize(), status.value)
        self.status.currentIndexChanged.connect(lambda _: self._on_status())
        form.addRow("&Status", self.status)
        self.detail_edits: dict[str, QLineEdit] = {}
        for name in DETAILS:
            edit = QLineEdit(box)
            edit.setAccessibleName(_DETAIL_LABELS[name])
            edit.editingFinished.connect(lambda n=name: self._on_detail(n))
            form.addRow(_DETAIL_LABELS[name], edit)
            self.detail_edits[name] = edit
        return box

    def _build_channels(self) -> QGroupBox:
        box = QGroupBox("Channels", self)
        box.setToolTip(
            "Checked: allowed. Empty: refused. Partly checked: not decided (their default);"
            " press Delete or use the context menu to leave a channel undecided."
        )
        form = QFormLayout(box)
        self.switches: dict[Channel, ChoiceBox] = {}
        self.frequencies: dict[Channel, QComboBox] = {}
        self.channel_notes: dict[Channel, _VendorNote] = {}
        for channel in Channel:
            switch = ChoiceBox(channel.label, box)
            switch.setAccessibleName(f"Allow {channel.label}")
            combo = _combo(box)
            combo.setAccessibleName(f"{channel.label}: at most how often")
            switch.chosen.connect(lambda ch=channel: self._on_switch(ch))
            combo.activated.connect(lambda _, ch=channel: self._on_frequency(ch))
            row = QHBoxLayout()
            row.addWidget(switch)
            row.addWidget(combo)
            form.addRow(row)
            note = _VendorNote(f"{channel.label}", box)
            note.refuse.clicked.connect(lambda _=False, ch=channel: self._refuse(("channel", ch)))
            form.addRow(note)
            self.switches[channel] = switch
            self.frequencies[channel] = combo
            self.channel_notes[channel] = note
        return box

    def _build_add_use(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.add_category = _combo(self)
        self.add_category.setAccessibleName("Data to add")
        for category in DataCategory:
            self.add_category.addItem(category.label, category.value)
        self.add_purpose = _combo(self)
        self.add_purpose.setAccessibleName("Purpose to add")
        for purpose in Purpose:
            self.add_purpose.addItem(purpose.label, purpose.value)
        self.add_use = QPushButton("&Add", self)
        self.add_use.setAccessibleName("Add a data use")
        self.add_use.setToolTip("Decide about another use of your data (refused at first)")
        self.add_use.clicked.connect(self._on_add_use)
        row.addWidget(self.add_category)
        row.addWidget(self.add_purpose)
        row.addWidget(self.add_use)
        return row

    def _build_quiet_hours(self) -> QGroupBox:
        box = QGroupBox("Quiet hours", self)
        row = QHBoxLayout()
        self.quiet = QCheckBox("No contact from", box)
        self.quiet.setAccessibleName("Quiet hours")
        self.quiet_start = WheelSafeTimeEdit(box)
        self.quiet_start.setDisplayFormat("HH:mm")
        self.quiet_start.setAccessibleName("Quiet hours start")
        self.quiet_end = WheelSafeTimeEdit(box)
        self.quiet_end.setDisplayFormat("HH:mm")
        self.quiet_end.setAccessibleName("Quiet hours end")
        self.quiet.clicked.connect(lambda _=False: self._on_quiet())
        self.quiet_start.editingFinished.connect(self._on_quiet)
        self.quiet_end.editingFinished.connect(self._on_quiet)
        row.addWidget(self.quiet)
        row.addWidget(self.quiet_start)
        row.addWidget(QLabel("to", box))
        row.addWidget(self.quiet_end)
        row.addStretch(1)
        outer = QVBoxLayout()
        outer.addLayout(row)
        self.quiet_note = _VendorNote("Quiet hours", box, refusable=False)
        outer.addWidget(self.quiet_note)
        box.setLayout(outer)
        self.quiet_box = box
        return box

    def first_control(self) -> QWidget:
        """Where keyboard focus goes when the user jumps to the editor (Ctrl+3)."""
        return self.switches[Channel.EMAIL]

    # --- showing a brand ------------------------------------------------------------------

    def show_brand(self, slug: str) -> None:
        """Load the brand (and, once per session, its vendor's catalog) in the background."""
        self.slug = slug
        services = self.services

        def load() -> tuple[str, str, PreferenceSet, dict[str, Any], PreferenceSet | None]:
            view = services.brands.get_brand(slug)
            brand = view.brand
            return brand.slug, brand.name, brand.preferences, brand_details(view), view.vendor

        asked = self._edits
        self.runner.run(load, lambda loaded: self._loaded(loaded, asked), self._on_failed)
        if slug in self._catalogs:
            self.catalog, self.catalog_known = self._catalogs[slug], True
        else:
            self.catalog, self.catalog_known = None, False
            self.runner.run(
                lambda: (slug, services.connections.catalog(slug)),
                self._catalog_loaded,
                lambda exc: self._catalog_failed(slug, exc),
            )

    def _loaded(
        self,
        loaded: tuple[str, str, PreferenceSet, dict[str, Any], PreferenceSet | None],
        asked: int,
    ) -> None:
        slug, name, prefs, details, vendor = loaded
        if slug != self.slug:
            return  # the user moved on meanwhile
        self.title.setText(name)
        self.name = name
        self.vendor = vendor
        if asked == self._edits:  # else an edit made since is newer than what was read
            self.prefs, self.details = prefs, details
            self.refresh()
        self.setEnabled(True)

    def _catalog_loaded(self, loaded: tuple[str, Catalog | None]) -> None:
        slug, catalog = loaded
        self._catalogs[slug] = catalog
        if slug == self.slug:
            self.catalog, self.catalog_known = catalog, True
            self.refresh()

    def _catalog_failed(self, slug: str, error: Exception) -> None:
        if slug == self.slug:
            self.catalog, self.catalog_known = None, True
            self.refresh()
            self.catalog_note.setText(
                f"Could not ask the vendor what it offers ({error}); everything is shown."
            )

    def refresh(self, kind: str | None = None) -> None:
        """Show ``self.prefs``, ``self.details`` and the catalog in the controls (``kind``:
        only the section of that kind of field, after an edit of one)."""
        self._loading = True
        try:
            if kind is None:
                self._show_note()
                self._show_details()
            if kind in (None, "channel", "frequency"):
                self._show_channels()
            if kind in (None, "topic"):
                self._show_topics()
            if kind in (None, "grant"):
                self._show_uses()
            if kind in (None, "quiet_hours"):
                self._show_quiet()
        finally:
            self._loading = False

    def _offered(self, what: Callable[[Catalog], bool]) -> bool:
        return self.catalog is None or what(self.catalog)

    def _show_note(self) -> None:
        if not self.catalog_known:
            self.catalog_note.setText("Asking the vendor what it offers…")
        elif self.catalog is None:
            self.catalog_note.setText("Handled by hand: every choice is offered.")
        else:
            self.catalog_note.setText("Only what this vendor offers can be chosen.")

    def _show_details(self) -> None:
        index = self.status.findData(self.details.get("status", "active"))
        self.status.setCurrentIndex(max(index, 0))
        for name, edit in self.detail_edits.items():
            edit.setText(str(self.details.get(name, "")))
            edit.setCursorPosition(0)

    def _show_channels(self) -> None:
        prefs, catalog = self.prefs, self.catalog
        for channel in Channel:
            switch, combo = self.switches[channel], self.frequencies[channel]
            allowed = prefs.channels.get(channel)
            _set_tristate(switch, allowed)
            offered = catalog is None or channel in catalog.channels
            switch.setEnabled(offered or allowed is not None)
            switch.setToolTip("" if offered else "This vendor does not offer this channel")
            current = prefs.frequencies.get(channel)
            choices = list(Frequency) if catalog is None else sorted(catalog.frequencies)
            if current is not None and current not in choices:
                choices.append(current)
            ordered = sorted(choices, key=lambda f: f.rank)  # the strictest first
            if [combo.itemData(i) for i in range(1, combo.count())] != [f.value for f in ordered]:
                combo.clear()  # rebuilt only when the choices change (an edit keeps them)
                combo.addItem(_DEFAULT, None)
                for freq in ordered:
                    combo.addItem(freq.label, freq.value)
            combo.setCurrentIndex(max(0, combo.findData(current.value if current else None)))
            combo.setEnabled(allowed is not False and combo.count() > 1)
            combo.setToolTip("" if combo.count() > 1 else "This vendor cannot limit how often")
            self.channel_notes[channel].show_for(("channel", channel), allowed, self.vendor)

    def _show_topics(self) -> None:
        topics: list[Topic] = list(self.catalog.topics) if self.catalog else []
        known = {t.id for t in topics}
        vendor_topics = set(self.vendor.topics) if self.vendor is not None else set()
        topics += [
            Topic(t, topic_words(t))
            for t in sorted(set(self.prefs.topics) | vendor_topics)
            if t not in known
        ]
        if self.topic_boxes and [t.id for t in topics] == list(self.topic_boxes):
            # Same rows (an edit or an undo): update in place, keeping keyboard focus.
            for topic in topics:
                if not topic.required:
                    _set_tristate(self.topic_boxes[topic.id], self.prefs.topics.get(topic.id))
                    self.topic_notes[topic.id].show_for(
                        ("topic", topic.id), self.prefs.topics.get(topic.id), self.vendor
                    )
            return
        _clear(self.topics_layout)
        self.topic_boxes, self.topic_notes = {}, {}
        if not topics:
            empty = QLabel("This vendor lists no topics.", self.topics_box)
            self.topics_layout.addWidget(empty)
            return
        for topic in topics:
            box = QCheckBox(topic.label, self.topics_box)
            box.setAccessibleName(f"Topic {topic.label}")
            if topic.required:
                box.setCheckState(Qt.CheckState.Checked)
                box.setEnabled(False)
                reason = topic.reason or "The vendor always sends this topic."
                box.setToolTip(tooltip(f"Required by the vendor: {reason}"))
                self.topics_layout.addWidget(box)
                note = QLabel(reason, self.topics_box)
                note.setTextFormat(Qt.TextFormat.PlainText)  # vendor text: never markup
                note.setWordWrap(True)
                note.setIndent(22)
                dim(note)
                self.topics_layout.addWidget(note)
            else:
                box = ChoiceBox(topic.label, self.topics_box)
                box.setAccessibleName(f"Topic {topic.label}")
                _set_tristate(box, self.prefs.topics.get(topic.id))
                box.chosen.connect(lambda t=topic.id: self._on_topic(t))
                self.topics_layout.addWidget(box)
                theirs = _VendorNote(f"Topic {topic.label}", self.topics_box)
                theirs.refuse.clicked.connect(
                    lambda _=False, t=topic.id: self._refuse(("topic", t))
                )
                theirs.show_for(("topic", topic.id), self.prefs.topics.get(topic.id), self.vendor)
                self.topics_layout.addWidget(theirs)
                self.topic_notes[topic.id] = theirs
            self.topic_boxes[topic.id] = box

    def _show_uses(self) -> None:
        pairs = set(self.prefs.grants)
        if self.catalog is not None:
            pairs |= set(self.catalog.data_uses)
        if self.vendor is not None:
            pairs |= set(self.vendor.grants)  # undecided uses the vendor has: shown as theirs
        if self.use_rows and pairs == set(self.use_rows):
            same = self._uses_slug == self.slug  # a reload: keep a half-made end date
            for pair, (decision, until) in self.use_rows.items():  # in place, keeping focus
                self._show_grant(pair, decision, until, keep_draft=same)
            self._uses_slug = self.slug
            return
        self._uses_slug = self.slug
        _clear(self.uses_grid)
        self.use_rows, self.use_notes = {}, {}
        if not pairs:
            self.uses_grid.addWidget(QLabel("No use of your data decided yet.", self.uses_box))
        ordered = sorted(pairs, key=lambda p: (list(DataCategory).index(p[0]), p[1].label))
        for row, (category, purpose) in enumerate(ordered):
            what = field_label(("grant", category, purpose))
            label = QLabel(what, self.uses_box)
            decision = _combo(self.uses_box)
            decision.setAccessibleName(f"{what}: decision")
            decision.addItem(_UNDECIDED, None)
            decision.addItem("Allow", Decision.ALLOW.value)
            decision.addItem("Deny", Decision.DENY.value)
            until = EndDateField(what, self.services.today, self.uses_box)
            pair = (category, purpose)
            decision.activated.connect(lambda _, p=pair: self._on_use(p))
            until.chosen.connect(lambda p=pair: self._on_use(p))
            label.setBuddy(decision)
            label.setWordWrap(True)
            note = _VendorNote(what, self.uses_box)
            note.refuse.clicked.connect(lambda _=False, p=pair: self._refuse(("grant", p[0], p[1])))
            self.use_notes[pair] = note
            self.uses_grid.addWidget(label, 4 * row, 0, 1, 2)
            self.uses_grid.addWidget(note, 4 * row + 1, 0, 1, 2)
            self.uses_grid.addWidget(decision, 4 * row + 2, 0, Qt.AlignmentFlag.AlignTop)
            self.uses_grid.addWidget(until, 4 * row + 2, 1)
            self.uses_grid.addWidget(until.message, 4 * row + 3, 0, 1, 2)
            self.use_rows[pair] = (decision, until)
            self._show_grant(pair, decision, until)

    def _show_grant(
        self,
        pair: tuple[DataCategory, Purpose],
        decision: QComboBox,
        until: EndDateField,
        *,
        keep_draft: bool = False,
    ) -> None:
        grant = self.prefs.grants.get(pair)
        decision.setCurrentIndex(decision.findData(grant.decision.value if grant else None))
        until.set_value(grant.expires if grant is not None else None, keep_draft=keep_draft)
        until.setEnabled(grant is not None and grant.decision is Decision.ALLOW)
        note = self.use_notes.get(pair)
        if note is not None:
            note.show_for(("grant", pair[0], pair[1]), grant, self.vendor)

    def _show_quiet(self) -> None:
        quiet = self.prefs.quiet_hours
        offered = self._offered(lambda c: c.supports_quiet_hours)
        self.quiet.setChecked(quiet is not None)
        self.quiet_box.setEnabled(offered or quiet is not None)
        self.quiet_box.setToolTip("" if offered else "This vendor does not honour quiet hours")
        start, end = (quiet.start, quiet.end) if quiet else (dt.time(21), dt.time(8))
        self.quiet_start.setTime(QTime(start.hour, start.minute))
        self.quiet_end.setTime(QTime(end.hour, end.minute))
        self.quiet_start.setEnabled(quiet is not None)
        self.quiet_end.setEnabled(quiet is not None)
        self.quiet_note.show_for(("quiet_hours",), quiet, self.vendor)

    # --- edits ----------------------------------------------------------------------------

    def _on_switch(self, channel: Channel) -> None:
        if not self._loading:
            self._push(("channel", channel), _tristate_value(self.switches[channel]))

    def _refuse(self, key: FieldKey) -> None:
        """One click: the customer refuses what the vendor has open (a decision by name)."""
        value: FieldValue = Grant(Decision.DENY) if key[0] == "grant" else False
        self._push(key, value)

    def _on_frequency(self, channel: Channel) -> None:
        if self._loading:
            return
        value = self.frequencies[channel].currentData()
        self._push(("frequency", channel), Frequency(value) if value else None)

    def _on_topic(self, topic: str) -> None:
        if not self._loading:
            self._push(("topic", topic), _tristate_value(self.topic_boxes[topic]))

    def _on_use(self, pair: tuple[DataCategory, Purpose]) -> None:
        if self._loading or pair not in self.use_rows:
            return
        decision, until = self.use_rows[pair]
        value = decision.currentData()
        grant: Grant | None = None
        if value == Decision.DENY.value:
            grant = Grant(Decision.DENY)
        elif value == Decision.ALLOW.value:
            grant = Grant(Decision.ALLOW, until.value)
        until.setEnabled(value == Decision.ALLOW.value)
        self._push(("grant", pair[0], pair[1]), grant)

    def _on_add_use(self) -> None:
        category = DataCategory(self.add_category.currentData())
        purpose = Purpose(self.add_purpose.currentData())
        if (category, purpose) in self.prefs.grants:
            self.use_rows[(category, purpose)][0].setFocus()
            return
        self._push(("grant", category, purpose), Grant(Decision.DENY))

    def _on_quiet(self) -> None:
        if self._loading:
            return
        value: QuietHours | None = None
        if self.quiet.isChecked():
            s, e = self.quiet_start.time(), self.quiet_end.time()
            if (s.hour(), s.minute()) == (e.hour(), e.minute()):
                self.failed.emit("Quiet hours need a start and an end that differ.")
                return
            value = QuietHours(dt.time(s.hour(), s.minute()), dt.time(e.hour(), e.minute()))
        self.quiet_start.setEnabled(value is not None)
        self.quiet_end.setEnabled(value is not None)
        self._push(("quiet_hours",), value)

    def _on_status(self) -> None:
        if not self._loading:
            self._push_detail("status", self.status.currentData())

    def _on_detail(self, name: str) -> None:
        if not self._loading:
            self._push_detail(name, self.detail_edits[name].text().strip())

    def _push(self, key: FieldKey, new: FieldValue) -> None:
        if self.slug is None:
            return
        old = self.prefs.get(key)
        if old == new:
            return
        topics = {t.id: t.label for t in self.catalog.topics} if self.catalog else None
        command = SetField(self.writer, self.slug, key, old, new, name=self.name, topics=topics)
        self.writer.push(command)

    def _push_detail(self, name: str, new: Any) -> None:
        if self.slug is None:
            return
        old = self.details.get(name)
        if old == new:
            return
        self.writer.push(SetDetail(self.writer, self.slug, name, old, new, brand_name=self.name))

    # --- what the writer says ------------------------------------------------------------

    def _on_asked(self, outcome: Outcome) -> None:
        """A save was asked for (an edit, an undo, a redo): show it at once."""
        save = outcome.save
        if self.slug is None or brand_of(save) != self.slug:
            return
        self._edits += 1  # a read asked for before this is out of date
        if isinstance(save, FieldsSave):
            prefs = self.prefs
            for key, value in save.values:
                prefs = prefs.replace_field(key, value)
            self.prefs = prefs
            kinds = {key[0] for key, _ in save.values}
            self.refresh(kinds.pop() if len(kinds) == 1 else None)
        elif isinstance(save, DetailSave):
            self.details = {**self.details, save.name: save.value}
            self.refresh()

    def _on_stored(self, outcome: Outcome) -> None:
        """A save was stored: show the brand as stored, once no newer save of it is on its
        way (another program's changes come in with it)."""
        slug = brand_of(outcome.save)
        view = outcome.brand
        if (
            slug is not None
            and slug == self.slug
            and view is not None
            and not self.writer.pending(slug)
        ):
            self._show_stored(view)

    def _on_refused(self, outcome: Outcome) -> None:
        """A save was refused: show what the store holds again (the message is the
        window's). Newer saves of the brand still on their way keep their values."""
        save, view = outcome.save, outcome.brand
        if self.slug is None or brand_of(save) != self.slug:
            return
        if view is not None and not self.writer.pending(self.slug):
            self._show_stored(view)
            return
        if isinstance(save, FieldsSave):
            prefs = self.prefs
            for key, value in save.previous:  # as stored, or (unreadable) as before
                prefs = prefs.replace_field(key, view.brand.preferences.get(key) if view else value)
            self.prefs = prefs
        elif isinstance(save, DetailSave):
            stored = brand_details(view).get(save.name) if view else save.previous
            self.details = {**self.details, save.name: stored}
        self.refresh()

    def _show_stored(self, view: BrandView) -> None:
        prefs, details = view.brand.preferences, brand_details(view)
        if (prefs, details, view.vendor) != (self.prefs, self.details, self.vendor):
            self.prefs, self.details, self.vendor = prefs, details, view.vendor
            self.refresh()

    def _on_failed(self, error: Exception) -> None:
        self.failed.emit(f"Could not read the brand: {error}")
