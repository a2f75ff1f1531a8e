"""Find my brands: read the headers of the customer's mail and add the brands that write.

One non-modal dialog, three pages:

1. **Source**: an mbox file (a Google Takeout export), a Maildir folder, or an IMAP account
   (a saved one, or one added in ui/mail_accounts.py).
2. **Progress**: the scan (``services.discovery.scan``) runs on a thread of its own, never
   on the GUI thread nor in the runner's small pool (a mail server that stops answering
   holds that one thread); it reports through a callback that only stores the latest
   figures, and a timer shows them ten times a second ("12,345 messages read (3 skipped)").
   Cancel (or closing the dialog) sets the scan's cancel event: what was read is kept, and
   the next scan goes on from there.
3. **Found**: one row per brand that writes (name or domain, directory match, messages per
   week over 90 days, first and last seen, the unsubscribe methods its mail offers) with a
   check box and *Allow e-mail*, pre-filled with the frequency nearest to what it sends now:
   the customer decides, nothing is checked until they do. Brands already tracked are shown
   as such and cannot be added twice. *Add selected* stores the choices on the runner's
   write thread (``services.discovery.add_found``).

Everything a vendor wrote (names, domains, message ids) is shown as plain text.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSettings,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QCloseEvent, QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDialog,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cmr_desktop.domain.vocabulary import Frequency
from cmr_desktop.services import Services
from cmr_desktop.ui.geometry import secondary_window
from cmr_desktop.ui.mail_accounts import MailAccountDialog, one_line, plain_label
from cmr_desktop.ui.plugin_calls import PluginCalls
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.text import plural, tooltip

Index = QModelIndex | QPersistentModelIndex

#: How often the progress page shows the scan's latest figures.
PROGRESS_MS = 100
#: The words of the unsubscribe methods a brand's mail offers.
METHOD_WORDS = {"one-click": "one click", "mailto": "e-mail", "web": "web page"}
#: The choices of *Allow e-mail*: a frequency, or no decision about e-mail yet.
NO_DECISION = "no decision"
ALLOW_CHOICES: tuple[tuple[str, Frequency | None], ...] = (
    *((f.label, f) for f in sorted(Frequency, key=lambda f: -f.rank)),
    (NO_DECISION, None),
)


def read_text(read: int, skipped: int) -> str:
    """ "12,345 messages read (3 skipped)"."""
    return f"{read:,} {'message' if read == 1 else 'messages'} read ({skipped:,} skipped)"


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return "–"


# --- the found brands -----------------------------------------------------------------


class FoundModel(QAbstractTableModel):
    """The found brands, each with a check box and the e-mail frequency to allow."""

    COLUMNS = ("Brand", "In the directory", "Per week", "First seen", "Last seen", "Unsubscribe")
    ALLOW = len(COLUMNS)  # the editable column
    HEADERS = (*COLUMNS, "Allow e-mail")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []  # FoundBrand
        self.checked: set[str] = set()
        self.allow: dict[str, Frequency | None] = {}

    def set_found(self, found: Sequence[Any]) -> None:
        """New rows; a choice already made for a key (checked, its frequency) is kept."""
        self.beginResetModel()
        self.rows = sorted(found, key=lambda f: (bool(f.tracked_slug), -f.per_week, f.key))
        keys = {f.key for f in self.rows if not f.tracked_slug}
        self.checked &= keys
        self.allow = {f.key: self.allow.get(f.key, f.suggested) for f in self.rows}
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section] if 0 <= section < len(self.HEADERS) else None
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        found = self.rows[index.row()]
        if found.tracked_slug:
            return flags
        if index.column() == 0:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        if index.column() == self.ALLOW:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def text(self, found: Any, column: int) -> str:
        if column == 0:
            return str(found.name or found.domain)
        if column == 1:
            return str(found.directory_name) or "–"
        if column == 2:
            return f"{found.per_week:.1f}"
        if column == 3:
            return _date(found.first_seen)
        if column == 4:
            return _date(found.last_seen)
        if column == 5:
            return ", ".join(METHOD_WORDS.get(m, m) for m in found.methods) or "none found"
        if found.tracked_slug:
            return "already tracked"
        frequency = self.allow.get(found.key)
        return frequency.label if frequency is not None else NO_DECISION

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        found, column = self.rows[index.row()], index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.text(found, column)
        if role == Qt.ItemDataRole.EditRole and column == self.ALLOW:
            return self.allow.get(found.key)
        if role == Qt.ItemDataRole.CheckStateRole and column == 0 and not found.tracked_slug:
            checked = found.key in self.checked
            return Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ForegroundRole and found.tracked_slug:
            return QPalette().brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(self.tip(found))
        return None

    @staticmethod
    def tip(found: Any) -> str:
        lines = [
            f"{found.name or found.domain}: mail from {found.domain}",
            f"{found.messages} messages in the last 90 days, about {found.per_week:.1f} a week",
        ]
        if found.directory_name:
            lines.append(f"In the company directory as {found.directory_name}")
        if found.privacy_contact:
            lines.append(f"Privacy contact: {found.privacy_contact}")
        if found.tracked_slug:
            lines.append("You already track this brand: it is not added again.")
        return "\n".join(lines)

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid():
            return False
        found = self.rows[index.row()]
        if found.tracked_slug:
            return False
        if role == Qt.ItemDataRole.CheckStateRole and index.column() == 0:
            state = Qt.CheckState(value) if isinstance(value, int) else value
            if state == Qt.CheckState.Checked:
                self.checked.add(found.key)
            else:
                self.checked.discard(found.key)
            self.dataChanged.emit(index, index)
            return True
        if role == Qt.ItemDataRole.EditRole and index.column() == self.ALLOW:
            if value is not None and not isinstance(value, Frequency):
                return False
            self.allow[found.key] = value
            self.dataChanged.emit(index, index)
            return True
        return False

    def toggle(self, row: int) -> None:
        """Check or uncheck a row (Space anywhere on it)."""
        found = self.rows[row]
        if not found.tracked_slug:
            on = found.key not in self.checked
            state = Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
            self.setData(self.index(row, 0), state, Qt.ItemDataRole.CheckStateRole)

    def check_all(self, on: bool) -> None:
        self.checked = {f.key for f in self.rows if not f.tracked_slug} if on else set()
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, 0))

    def choices(self) -> dict[str, Frequency | None]:
        """What to add: key -> the e-mail frequency the customer chose (None: no decision)."""
        return {f.key: self.allow.get(f.key) for f in self.rows if f.key in self.checked}

    def names(self, keys: Sequence[str]) -> list[str]:
        by_key = {f.key: str(f.name or f.domain) for f in self.rows}
        return [by_key.get(k, k) for k in keys]


class AllowDelegate(QStyledItemDelegate):
    """*Allow e-mail* is edited with a drop-down of the frequencies and "no decision"."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        box = QComboBox(parent)
        box.setAccessibleName("Allow e-mail")
        for label, frequency in ALLOW_CHOICES:
            box.addItem(label, frequency)
        return box

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        assert isinstance(editor, QComboBox)
        current = index.data(Qt.ItemDataRole.EditRole)
        for i, (_label, frequency) in enumerate(ALLOW_CHOICES):
            if frequency == current:
                editor.setCurrentIndex(i)

    def setModelData(self, editor: QWidget, model: Any, index: Index) -> None:
        assert isinstance(editor, QComboBox)
        model.setData(index, ALLOW_CHOICES[editor.currentIndex()][1], Qt.ItemDataRole.EditRole)


class FoundTable(QTableView):
    """The found brands: Space checks the current row from any column, F2 (or typing)
    edits *Allow e-mail*."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        model, current = self.model(), self.currentIndex()
        if (
            event.key() == Qt.Key.Key_Space
            and isinstance(model, FoundModel)
            and current.isValid()
            and self.state() != QAbstractItemView.State.EditingState
        ):
            model.toggle(current.row())
            return
        super().keyPressEvent(event)


# --- the dialog -----------------------------------------------------------------------


def open_source(services: Services, kind: str, value: str) -> Any:
    """The MailSource to scan (called on the scan's thread: an IMAP source reads its
    password from the keyring)."""
    if kind == "imap":
        return services.mail_accounts.source(value)
    from cmr_desktop.mail.files import source_for_path  # says what a file is not, in one line

    return source_for_path(Path(value).expanduser().resolve())


def source_problem(kind: str, value: str) -> str:
    """What is wrong with the chosen source, in one line ("" if nothing)."""
    if kind == "imap":
        return "" if value else "IMAP account: add an account first, or choose a file."
    if not value.strip():
        return f"{'Mbox file' if kind == 'mbox' else 'Maildir folder'}: choose where it is."
    path = Path(value.strip()).expanduser()
    if kind == "mbox" and not path.is_file():
        return f"Mbox file: {path} is not a file."
    if kind == "maildir" and not path.is_dir():
        return f"Maildir folder: {path} is not a folder."
    return ""


class DiscoverDialog(QDialog):
    """Find my brands (see the module docstring). Not modal: the window stays usable.

    Signals:
        added(list, str): brands were added or linked (their slugs) and the message to show.
        scanned(): a scan ended (finished or cancelled): measured figures may have changed.
    """

    added = Signal(list, str)
    scanned = Signal()

    def __init__(
        self,
        services: Services,
        runner: Runner,
        parent: QWidget | None = None,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__(parent)
        self.services, self.runner = services, runner
        self.calls = PluginCalls(self)
        self.setWindowTitle("Find my brands in my mailbox")
        self.resize(1120, 640)
        self.pages = QStackedWidget(self)
        self._build_source()
        self._build_progress()
        self._build_found()
        box = QVBoxLayout(self)
        box.addWidget(self.pages)
        secondary_window(self, "discover", settings)  # Esc closes; on the window's screen
        self._cancel: threading.Event | None = None
        self._latest: list[Any] = [None]  # the scan's latest ScanProgress (any thread)
        self._timer = QTimer(self)
        self._timer.setInterval(PROGRESS_MS)
        self._timer.timeout.connect(self._show_progress)
        self.report: Any = None  # the last ScanReport
        self.account_dialog: MailAccountDialog | None = None
        # Seams: the file dialogs (tests type the path instead).
        self.choose_file: Callable[[], str] = lambda: QFileDialog.getOpenFileName(
            self, "Choose an mbox file", str(Path.home()), "Mailbox files (*.mbox *.mbx);;All (*)"
        )[0]
        self.choose_folder: Callable[[], str] = lambda: QFileDialog.getExistingDirectory(
            self, "Choose a Maildir folder", str(Path.home())
        )
        self.load_accounts()
        self.show_page(self.source_page)

    # --- pages ----------------------------------------------------------------------------

    def _build_source(self) -> None:
        page = self.source_page = QWidget(self)
        grid = QGridLayout(page)
        intro = plain_label(
            "Where is your mail? Only the headers are read (who wrote, when, how to "
            "unsubscribe), never a message's text, and nothing is changed in your mailbox.",
            page,
        )
        grid.addWidget(intro, 0, 0, 1, 3)
        self.kinds = QButtonGroup(page)
        self.mbox = QRadioButton("An &mbox file (for example a Google Takeout export)", page)
        self.maildir = QRadioButton("A Mail&dir folder", page)
        self.imap = QRadioButton("An &IMAP account", page)
        self.mbox.setChecked(True)
        self.mbox_path = QLineEdit(page)
        self.mbox_path.setPlaceholderText("…/Takeout/Mail/All mail Including Spam and Trash.mbox")
        self.mbox_path.setAccessibleName("Mbox file")
        self.maildir_path = QLineEdit(page)
        self.maildir_path.setPlaceholderText("~/Maildir")
        self.maildir_path.setAccessibleName("Maildir folder")
        self.accounts = QComboBox(page)
        self.accounts.setAccessibleName("Mail account")
        self.add_account = QPushButton("&Add an account…", page)
        choose_mbox = QPushButton("C&hoose…", page)
        choose_mbox.setAccessibleName("Choose the mbox file")
        choose_maildir = QPushButton("Ch&oose…", page)
        choose_maildir.setAccessibleName("Choose the Maildir folder")
        choose_mbox.clicked.connect(
            lambda: self._chosen(self.mbox, self.mbox_path, self.choose_file)
        )
        choose_maildir.clicked.connect(
            lambda: self._chosen(self.maildir, self.maildir_path, self.choose_folder)
        )
        self.add_account.clicked.connect(self.show_add_account)
        for row, (radio, field, button) in enumerate(
            (
                (self.mbox, self.mbox_path, choose_mbox),
                (self.maildir, self.maildir_path, choose_maildir),
                (self.imap, self.accounts, self.add_account),
            ),
            start=1,
        ):
            self.kinds.addButton(radio)
            grid.addWidget(radio, row * 2 - 1, 0, 1, 3)
            grid.addWidget(field, row * 2, 1)
            grid.addWidget(button, row * 2, 2)
            for button_or_field in (field, button):
                button_or_field.setEnabled(radio.isChecked())
            radio.toggled.connect(field.setEnabled)
            radio.toggled.connect(button.setEnabled)
        # Typing a path chooses its kind of source.
        self.mbox_path.textEdited.connect(lambda _: self.mbox.setChecked(True))
        self.maildir_path.textEdited.connect(lambda _: self.maildir.setChecked(True))
        grid.setColumnMinimumWidth(0, 24)
        grid.setColumnStretch(1, 1)
        self.source_error = plain_label("", page)
        self.source_error.setAccessibleName("Problem with the source")
        grid.addWidget(self.source_error, 7, 0, 1, 3)
        grid.setRowStretch(8, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.scan_button = QPushButton("&Scan", page)
        self.scan_button.clicked.connect(self.start_scan)
        close = QPushButton("Close", page)
        close.clicked.connect(self.close)
        buttons.addWidget(self.scan_button)
        buttons.addWidget(close)
        grid.addLayout(buttons, 9, 0, 1, 3)
        self.pages.addWidget(page)

    def _build_progress(self) -> None:
        page = self.progress_page = QWidget(self)
        box = QVBoxLayout(page)
        box.addStretch(1)
        self.reading = plain_label("Reading…", page)
        box.addWidget(self.reading)
        self.bar = QProgressBar(page)
        self.bar.setAccessibleName("Scan progress")
        self.bar.setTextVisible(False)
        box.addWidget(self.bar)
        self.count = plain_label(read_text(0, 0), page)
        self.count.setAccessibleName("Messages read")
        box.addWidget(self.count)
        box.addStretch(2)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("&Cancel", page)
        self.cancel_button.setToolTip("Stop reading: what was read is kept (Esc)")
        self.cancel_button.clicked.connect(self.cancel_scan)
        buttons.addWidget(self.cancel_button)
        box.addLayout(buttons)
        self.pages.addWidget(page)

    def _build_found(self) -> None:
        page = self.found_page = QWidget(self)
        box = QVBoxLayout(page)
        self.found_summary = plain_label("", page)
        self.found_summary.setAccessibleName("What the scan found")
        box.addWidget(self.found_summary)
        self.found = FoundModel(self)
        self.table = FoundTable(page)
        self.table.setAccessibleName("Brands found in your mail")
        self.table.setModel(self.found)
        self.table.setItemDelegateForColumn(FoundModel.ALLOW, AllowDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.SelectedClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the buttons
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        box.addWidget(self.table, 1)
        self.found_status = plain_label(
            "Check the brands to add (Space). Allow e-mail starts at how often each writes "
            "now: change it to what you want (F2).",
            page,
        )
        self.found_status.setAccessibleName("Adding status")
        box.addWidget(self.found_status)
        buttons = QHBoxLayout()
        self.select_all = QPushButton("Select a&ll", page)
        self.select_all.clicked.connect(lambda: self.found.check_all(True))
        self.select_none = QPushButton("Select &none", page)
        self.select_none.clicked.connect(lambda: self.found.check_all(False))
        self.again_button = QPushButton("Scan &another source", page)
        self.again_button.clicked.connect(lambda: self.show_page(self.source_page))
        self.add_button = QPushButton("Add &selected", page)
        self.add_button.clicked.connect(self.add_selected)
        close = QPushButton("Close", page)
        close.clicked.connect(self.close)
        for button in (self.select_all, self.select_none, self.again_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.add_button)
        buttons.addWidget(close)
        box.addLayout(buttons)
        self.pages.addWidget(page)

    def show_page(self, page: QWidget) -> None:
        """Show a page with its default button (Enter) and its first control focused."""
        self.pages.setCurrentWidget(page)
        default, first = {
            self.source_page: (self.scan_button, self.kinds.checkedButton()),
            self.progress_page: (self.cancel_button, self.cancel_button),
            self.found_page: (self.add_button, self.table),
        }[page]
        for button in self.findChildren(QPushButton):
            button.setDefault(button is default)
        if first is not None:
            first.setFocus()

    def accept(self) -> None:  # Enter presses the page's default button, never just closes
        for button in self.findChildren(QPushButton):
            if button.isDefault() and button.isVisible() and button.isEnabled():
                button.click()
                return

    # --- the source -----------------------------------------------------------------------

    def _chosen(self, radio: QRadioButton, field: QLineEdit, choose: Callable[[], str]) -> None:
        path = choose()
        if path:
            radio.setChecked(True)
            field.setText(path)

    def load_accounts(self, select: str | None = None) -> None:
        """Fill the account list (off the GUI thread); ``select`` that account."""
        services = self.services

        def show(found: Any) -> None:
            self.accounts.clear()
            for account in found:
                self.accounts.addItem(f"{account.address} ({account.imap_host})", account.id)
            if not found:
                self.accounts.addItem("No account yet: add one", "")
            if select is not None:
                self.accounts.setCurrentIndex(max(0, self.accounts.findData(select)))

        self.runner.run(
            lambda: services.mail_accounts.list(),
            show,
            self._accounts_failed,
            latest="mail-accounts",
        )

    def _accounts_failed(self, error: Exception) -> None:
        self.accounts.clear()
        self.accounts.addItem("No account yet: add one", "")
        self.source_error.setText(f"Your mail accounts could not be read: {one_line(error)}")

    def show_add_account(self) -> MailAccountDialog:
        """The add-account form; the account it saves becomes the chosen source."""
        if self.account_dialog is None:
            dialog = MailAccountDialog(self.services, self.runner, self)
            dialog.saved.connect(self._account_saved)
            self.account_dialog = dialog
        self.account_dialog.show()
        self.account_dialog.raise_()
        self.account_dialog.activateWindow()
        return self.account_dialog

    def _account_saved(self, account_id: str) -> None:
        self.imap.setChecked(True)
        self.load_accounts(select=account_id)

    def chosen(self) -> tuple[str, str]:
        """The kind of source chosen and its path or account id."""
        if self.imap.isChecked():
            return "imap", str(self.accounts.currentData() or "")
        if self.maildir.isChecked():
            return "maildir", self.maildir_path.text().strip()
        return "mbox", self.mbox_path.text().strip()

    # --- the scan -------------------------------------------------------------------------

    def is_scanning(self) -> bool:
        return self._cancel is not None

    def start_scan(self) -> None:
        """Scan the chosen source on a thread of its own, with progress and Cancel."""
        if self.is_scanning():
            return
        kind, value = self.chosen()
        problem = source_problem(kind, value)
        if problem:
            self.source_error.setText(problem)
            return
        self.source_error.setText("")
        services, cancel, latest = self.services, threading.Event(), self._latest
        latest[0] = None
        self._cancel = cancel
        what = {"mbox": "the mbox file", "maildir": "the Maildir folder", "imap": "the account"}
        label = value if kind != "imap" else self.accounts.currentText()
        self.reading.setText(f"Reading the headers of {what[kind]} {label}…")
        self.count.setText(read_text(0, 0))
        self.bar.setRange(0, 0)  # busy until the source says how many
        self.cancel_button.setEnabled(True)
        self.show_page(self.progress_page)
        self._timer.start()

        def progress(figures: Any) -> None:  # on the scan's thread: only store them
            latest[0] = figures

        def work() -> Any:
            # The found brands are matched to the company directory: a home that has none
            # yet gets the bundled one first (as the demo does), once.
            if not services.directory.directory_size():
                services.directory.import_directory()
            source = open_source(services, kind, value)
            return services.discovery.scan(source, progress=progress, cancel=cancel)

        self.calls.run(work, self._scanned, self._scan_failed)

    def _show_progress(self) -> None:
        figures = self._latest[0]
        if figures is None:
            return
        if figures.total:
            self.bar.setRange(0, figures.total)
            self.bar.setValue(min(figures.read + figures.skipped, figures.total))
        self.count.setText(read_text(figures.read, figures.skipped))

    def cancel_scan(self) -> None:
        """Stop the scan: what was read is kept, and the next scan goes on from there."""
        if self._cancel is not None:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self.reading.setText("Cancelling: keeping what was read…")

    def _scan_ended(self) -> None:
        self._timer.stop()
        self._cancel = None
        self.scanned.emit()

    def _scanned(self, report: Any) -> None:
        self._scan_ended()
        self.report = report
        read = read_text(report.read, report.skipped)
        found = list(report.found)
        new = sum(1 for f in found if not f.tracked_slug)
        tracked = len(found) - new
        head = "Cancelled: " if report.cancelled else ""
        tail = (
            " What was read is kept: the next scan of this source goes on from there."
            if report.cancelled
            else ""
        )
        self.found_summary.setText(
            f"{head}{read}. {plural(len(found), 'brand')} writing to you"
            + (f", {tracked} of them already tracked" if tracked else "")
            + f".{tail}"
        )
        reasons = list(report.skipped_reasons)[:10]
        self.found_summary.setToolTip(
            tooltip("\n".join(f"{where}: {why}" for where, why in reasons)) if reasons else ""
        )
        self.found.set_found(found)
        self.add_button.setEnabled(new > 0)
        self.show_page(self.found_page)
        if self.found.rowCount():
            self.table.setCurrentIndex(self.found.index(0, 0))

    def _scan_failed(self, error: Exception) -> None:
        self._scan_ended()
        self.source_error.setText(f"The scan stopped: {one_line(error)}")
        self.show_page(self.source_page)

    # --- adding ---------------------------------------------------------------------------

    def add_selected(self) -> None:
        """Add the checked brands with the e-mail frequency chosen for each (the runner's
        write thread, as every write of the window)."""
        choices = self.found.choices()
        if not choices:
            self.found_status.setText("Check the brands to add first (Space checks a row).")
            return
        discovery, names = self.services.discovery, self.found.names(list(choices))
        self.add_button.setEnabled(False)
        self.found_status.setText(f"Adding {plural(len(choices), 'brand')}…")

        def added(slugs: Any) -> None:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            message = f"Added {plural(len(list(slugs)), 'brand')} from your mailbox: {shown}."
            self.found_status.setText(message)
            self.added.emit(list(slugs), message)
            self.runner.run(discovery.found, self._refound, self._add_failed, latest="found")

        self.runner.run(lambda: discovery.add_found(choices), added, self._add_failed, write=True)

    def _refound(self, found: Any) -> None:
        """After adding: the added brands show as tracked now."""
        self.found.set_found(list(found))
        self.add_button.setEnabled(any(not f.tracked_slug for f in self.found.rows))

    def _add_failed(self, error: Exception) -> None:
        self.add_button.setEnabled(True)
        self.found_status.setText(f"Nothing was added: {one_line(error)}")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.cancel_scan()  # closing while reading stops the scan (what was read is kept)
        super().closeEvent(event)
