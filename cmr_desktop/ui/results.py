"""The sync result panel: what failed, and what vendors had changed behind your back (drift).

For drift, the sync has already put your own value back at the vendor. The panel shows each
drifted field with the vendor's value and yours, and lets you decide:

- **Accept theirs**: take the vendor's value as your choice (an undoable edit; the brand is
  pending until the next sync sends it). Saved through the preference writer
  (``ui/writer.py``), as every edit.
- **Keep mine**: confirm your value (already re-asserted); the brand is no longer in drift.

Everything shown comes from vendors or the journal and is plain text (QTreeWidgetItem text
is never interpreted as markup).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cmr_desktop.domain.preferences import FieldKey
from cmr_desktop.services import DriftItem, Services
from cmr_desktop.ui.editor import field_label
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.text import describe_value, plural
from cmr_desktop.ui.writer import (
    AcceptSave,
    FieldsSave,
    KeepSave,
    Outcome,
    PreferenceWriter,
    Save,
    SaveCommand,
    Step,
)

__all__ = ["AcceptTheirs", "ResultsDock", "SyncResults", "describe_value"]

_SLUG = Qt.ItemDataRole.UserRole
_ITEM = Qt.ItemDataRole.UserRole + 1
#: The share of the main window's height the results dock takes at most when it opens or
#: the window shrinks: the brand list keeps priority.
DOCK_SHARE = 1 / 3
_PUT_BACK = "put back to yours"
_ACCEPTED = "accepted: sent at the next sync"
_UNDONE = "acceptance undone: yours again"


class AcceptTheirs(SaveCommand):
    """Accept the vendor's values of some drifted fields (journaled ``accepted_theirs``);
    undo puts the customer's own values back. Holds the drift items (data) only."""

    def __init__(
        self, writer: PreferenceWriter, slug: str, name: str, items: Sequence[DriftItem]
    ) -> None:
        super().__init__(writer, f"Accept the vendor's values for {name}")
        self.slug, self.items = slug, tuple(items)

    def forward(self) -> Save:
        # The first time as the last drift recorded it; a redo after an undo (the drift is
        # decided by then) sends the same values again.
        keys = tuple(i.key for i in self.items)
        values = None if self.first else tuple((i.key, i.vendor) for i in self.items)
        return AcceptSave(self.slug, keys, values)

    def backward(self) -> Save:
        yours = tuple((i.key, i.yours) for i in self.items)
        theirs = tuple((i.key, i.vendor) for i in self.items)
        return FieldsSave(self.slug, yours, theirs)


class SyncResults(QWidget):
    """Failures and drift of the last sync, with a decision for each drift.

    Decisions are saved through the preference writer; the panel's notes follow what it
    stored or refused (a refused decision is open again).

    Signals:
        show_brand(str): the user wants to see a brand in the table.
    """

    show_brand = Signal(str)

    def __init__(
        self,
        services: Services,
        runner: Runner,
        writer: PreferenceWriter,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.services, self.runner, self.writer = services, runner, writer
        writer.stored.connect(self._on_stored)
        writer.refused.connect(self._on_refused)
        layout = QVBoxLayout(self)
        self.heading = QLabel("No sync yet.", self)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.heading)
        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName("Sync results")
        self.tree.setHeaderLabels(["Brand / setting", "Vendor had", "Yours", "What happened"])
        self.tree.setColumnWidth(0, 240)
        self.tree.setColumnWidth(1, 150)
        self.tree.setColumnWidth(2, 150)
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.tree.itemActivated.connect(self._on_activated)
        layout.addWidget(self.tree)
        buttons = QHBoxLayout()
        self.accept_theirs = QPushButton("&Accept theirs", self)
        self.accept_theirs.setToolTip(
            "Take the vendor's value as your choice (undo with Ctrl+Z); it is sent at the next sync"
        )
        self.accept_theirs.clicked.connect(self.accept_selected)
        self.keep_mine = QPushButton("&Keep mine", self)
        self.keep_mine.setToolTip("Your value was already put back at the vendor: confirm it")
        self.keep_mine.clicked.connect(self.keep_selected)
        buttons.addWidget(self.accept_theirs)
        buttons.addWidget(self.keep_mine)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self._items: dict[str, list[DriftItem]] = {}  # per brand, as listed
        self._open: dict[str, set[int]] = {}  # per brand, the items not decided yet
        self._update_buttons()

    # --- filling --------------------------------------------------------------------------

    def show_outcomes(self, outcomes: Sequence[dict[str, Any]]) -> int:
        """List the failed and drifted brands of a sync; returns how many are listed."""
        self.tree.clear()
        self._items, self._open = {}, {}
        listed = [o for o in outcomes if o.get("result") in ("failed", "drift")]
        drift = sum(1 for o in listed if o.get("result") == "drift")
        failed = len(listed) - drift
        if not listed:
            self.heading.setText("The last sync found nothing to decide.")
        else:
            parts = []
            if drift:
                parts.append(
                    f"{plural(drift, 'brand')} had changed your choices; they were put back. "
                    "Accept theirs or keep yours for each change."
                )
            if failed:
                parts.append(f"{plural(failed, 'brand')} failed.")
            self.heading.setText(" ".join(parts))
        for outcome in sorted(listed, key=lambda o: (o.get("result") != "drift", o["name"])):
            slug = str(outcome["brand"])
            item = QTreeWidgetItem(self.tree, [str(outcome.get("name", slug)), "", "", ""])
            item.setData(0, _SLUG, slug)
            if outcome.get("result") == "failed":
                item.setText(3, f"Failed: {outcome.get('detail', '')}")
            else:
                item.setText(3, "Drift: loading…")
                self._load_drift(slug)
        self._update_buttons()
        return len(listed)

    def _load_drift(self, slug: str) -> None:
        services = self.services
        self.runner.run(
            lambda: (slug, services.preferences.drift(slug)),
            self._drift_loaded,
            lambda exc: self._set_note(slug, f"Could not read the drift: {exc}"),
            latest=f"drift:{slug}",
        )

    def _brand_item(self, slug: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item is not None and item.data(0, _SLUG) == slug:
                return item
        return None

    def _set_note(self, slug: str, text: str) -> None:
        item = self._brand_item(slug)
        if item is not None:
            item.setText(3, text)
            self._update_buttons()

    def _drift_loaded(self, loaded: tuple[str, list[DriftItem]]) -> None:
        slug, items = loaded
        brand = self._brand_item(slug)
        if brand is None:
            return
        self._items[slug] = items
        self._open[slug] = set(range(len(items)))
        if not items:
            brand.setText(3, "Drift: already decided")
        else:
            brand.setText(3, f"Drift: {plural(len(items), 'setting')} changed by the vendor")
        for index, drift in enumerate(items):
            child = QTreeWidgetItem(
                brand,
                [
                    field_label(drift.key),
                    describe_value(drift.vendor),
                    describe_value(drift.yours),
                    _PUT_BACK,
                ],
            )
            child.setData(0, _SLUG, slug)
            child.setData(0, _ITEM, index)
        brand.setExpanded(True)
        self._update_buttons()

    # --- decisions ------------------------------------------------------------------------

    def _selection(self) -> tuple[str | None, list[int]]:
        """The selected brand and its undecided drift items (one, or all of the brand's)."""
        item = self.tree.currentItem()
        if item is None:
            return None, []
        slug = item.data(0, _SLUG)
        undecided = self._open.get(slug, set())
        index = item.data(0, _ITEM)
        chosen = [int(index)] if index is not None else sorted(undecided)
        return slug, [i for i in chosen if i in undecided]

    def _update_buttons(self) -> None:
        slug, chosen = self._selection()
        self.accept_theirs.setEnabled(bool(chosen))
        self.keep_mine.setEnabled(slug is not None and bool(self._open.get(slug)))

    def accept_selected(self) -> None:
        """Take the vendor's values of the selected drift (a brand: all its fields) as the
        customer's own decisions, by name: journaled (``accepted_theirs``) with the edit, and
        undoable."""
        slug, chosen = self._selection()
        if slug is None or not chosen:
            return
        items = [self._items[slug][i] for i in chosen]
        self.writer.push(AcceptTheirs(self.writer, slug, self._name(slug), items))
        self._decided(slug, chosen, _ACCEPTED)

    def keep_selected(self) -> None:
        """Keep the customer's values for the selected brand (they were re-asserted)."""
        slug, _ = self._selection()
        if slug is None or not self._open.get(slug):
            return
        chosen = sorted(self._open[slug])
        keys = tuple(self._items[slug][i].key for i in chosen)
        self.writer.save(KeepSave(slug, keys), f"Keep your values for {self._name(slug)}")
        self._decided(slug, chosen, "kept yours")

    def _name(self, slug: str) -> str:
        item = self._brand_item(slug)
        return item.text(0) if item is not None else slug

    # --- what the writer says ------------------------------------------------------------

    def _indexes(self, slug: str, keys: Sequence[FieldKey]) -> list[int]:
        return [i for i, item in enumerate(self._items.get(slug, [])) if item.key in keys]

    def _on_stored(self, outcome: Outcome) -> None:
        """An acceptance undone or done again: its lines say so."""
        save = outcome.save
        if outcome.origin is not AcceptTheirs or not isinstance(save, AcceptSave | FieldsSave):
            return
        if isinstance(save, AcceptSave):
            chosen, note = self._indexes(save.slug, save.keys), _ACCEPTED
        else:
            chosen, note = self._indexes(save.slug, [k for k, _ in save.values]), _UNDONE
        self._note(save.slug, chosen, note)

    def _on_refused(self, outcome: Outcome) -> None:
        """A decision the store refused is open again, with the reason on its brand."""
        save = outcome.save
        if not isinstance(save, AcceptSave | KeepSave) or save.slug not in self._items:
            return
        if outcome.step in (Step.DO, Step.ONCE):
            chosen = self._indexes(save.slug, save.keys)
            self._open[save.slug] |= set(chosen)
            self._note(save.slug, chosen, _PUT_BACK)
        self._set_note(save.slug, f"Drift: {outcome.message}")

    def _decided(self, slug: str, chosen: list[int], note: str) -> None:
        self._open[slug] -= set(chosen)
        self._note(slug, chosen, note)
        brand = self._brand_item(slug)
        if brand is not None and not self._open[slug]:
            brand.setText(3, "Drift: decided")

    def _note(self, slug: str, chosen: Sequence[int], note: str) -> None:
        """Say what became of some drift lines of a brand."""
        brand = self._brand_item(slug)
        if brand is not None:
            for i in range(brand.childCount()):
                child = brand.child(i)
                if child is not None and child.data(0, _ITEM) in chosen:
                    child.setText(3, note)
        self._update_buttons()

    def _on_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        slug = item.data(0, _SLUG)
        if slug:
            self.show_brand.emit(str(slug))

    def undecided(self, slug: str) -> list[DriftItem]:
        """The drift of a brand still to decide (tests and the window)."""
        return [self._items[slug][i] for i in sorted(self._open.get(slug, set()))]


class ResultsDock(QDockWidget):
    """The dock that holds the results panel, at the bottom of the main window.

    It opens at most a third of the window high, and shrinks to a third when the window
    gets smaller: at small sizes the brand list keeps priority. A height the user drags
    it to within a window of one size is kept.
    """

    def __init__(self, results: SyncResults, window: QMainWindow) -> None:
        super().__init__("Sync results", window)
        self.setObjectName("sync-results")
        self.setWidget(results)
        self.main = window
        window.installEventFilter(self)

    def limit(self) -> int:
        return max(self.minimumSizeHint().height(), int(self.main.height() * DOCK_SHARE))

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(hint.width(), min(hint.height(), self.limit()))

    def fit(self) -> None:
        """At most a third of the window high (the user's own smaller height stays)."""
        if self.isVisible() and not self.isFloating() and self.height() > self.limit():
            self.main.resizeDocks([self], [self.limit()], Qt.Orientation.Vertical)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if shiboken6.isValid(self) and watched is self.main and event.type() == QEvent.Type.Resize:
            self.fit()
        return False
