"""The activity journal: everything sent to vendors and what came back, with the hash
chain's verification, filters, and consent receipts for a brand.

Journal details come partly from vendors: they are shown as plain text (a table model's
display role is never interpreted as markup).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSettings,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.fields import Field
from cmr_desktop.interop.files import write_atomically
from cmr_desktop.services import Services
from cmr_desktop.storage import JournalEntry
from cmr_desktop.ui.geometry import secondary_window
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.text import plural, tooltip

Index = QModelIndex | QPersistentModelIndex

KINDS = {
    "push": "Sent",
    "answer": "Confirmed",
    "drift": "Vendor changed it",
    "accepted": "Took over",
    "error": "Failed",
    "by_hand": "Done by hand",
    "kept": "Kept yours",
    "accepted_theirs": "You took theirs",
    "terms": "My Terms applied",
    "undecided": "Made undecided",
    "removed": "Removed",
    "restored": "Put back",
    "unsubscribe": "Unsubscribed",
    "from_mailbox": "From the mailbox",
}


def field_words(name: str) -> str:
    """A journal field name (``grant.contact.marketing``) in the customer's words; a name
    that is no preference field is shown as it is."""
    try:
        return Field.from_journal_name(name).journal_words
    except DomainError:
        return name


def value_words(value: object) -> str:
    """A journal value (``on``, ``default``, ``allow@2027-06-30`` ...) in words."""
    text = str(value)
    words = {"on": "allowed", "off": "refused", "default": "their default"}
    if text in words:
        return words[text]
    if text == "allow":
        return "allowed"
    if text == "deny":
        return "refused"
    if text.startswith("allow@"):
        return f"allowed until {text[6:]}"
    return text


def summarize(entry: JournalEntry) -> str:
    """One line in the customer's words."""
    d = entry.detail
    if entry.kind == "push":
        return f"sent your choices (request {d.get('key', '?')})"
    if entry.kind == "answer":
        return f"the vendor confirmed them (version {d.get('version', '?')})"
    if entry.kind == "drift" and d.get("source") == "mailbox":
        return (
            f"kept writing after your {d.get('method', '')} unsubscribe: "
            f"{d.get('evidence_count', '?')} messages after the deadline {d.get('deadline', '?')}"
        )
    if entry.kind == "unsubscribe":
        state = "done" if d.get("done") else "not done"
        return f"{d.get('method', '?')} unsubscribe ({state}): {d.get('result', '')}"
    if entry.kind == "from_mailbox":
        freq = d.get("email_frequency")
        measured = d.get("measured") or {}
        return (
            f"{d.get('action', 'added')} from the mailbox; e-mail "
            + (f"allowed {freq} (your choice)" if freq else "left undecided")
            + f"; the sender wrote {measured.get('per_week', '?')} a week (its behaviour)"
        )
    if entry.kind in ("drift", "accepted"):
        parts = [
            f"{field_words(str(f.get('field')))}: vendor had {value_words(f.get('vendor'))}, "
            + (
                f"you chose {value_words(f.get('yours'))}"
                if "yours" in f
                else f"was {value_words(f.get('was'))}"
            )
            for f in d.get("fields", [])
            if isinstance(f, dict)
        ]
        return "; ".join(parts) or entry.kind
    if entry.kind == "error":
        return f"{d.get('status', 'failed')}: {d.get('reason', '')}"
    if entry.kind == "by_hand":
        done = d.get("done") or []
        return "done by hand: " + ("; ".join(map(str, done)) if done else "nothing to do")
    if entry.kind == "kept":
        return "you kept your own values after the vendor had changed them"
    fields = [f for f in d.get("fields", []) if isinstance(f, dict)]
    if entry.kind == "accepted_theirs":
        return "you took the vendor's values: " + "; ".join(
            f"{field_words(str(f.get('field')))}: {value_words(f.get('vendor'))}" for f in fields
        )
    if entry.kind == "terms":
        return "My Terms decided, as you asked: " + "; ".join(
            f"{field_words(str(f.get('field')))}: {value_words(f.get('value'))}" for f in fields
        )
    if entry.kind == "undecided":
        return "undecided again (taken over from the vendor, never decided by you): " + ", ".join(
            field_words(str(f.get("field"))) for f in fields
        )
    if entry.kind == "removed":
        return (
            f"{d.get('name', entry.brand)} removed from CMR Desktop "
            "(its decisions, vendor state and secrets deleted)"
        )
    if entry.kind == "restored":
        return f"{d.get('name', entry.brand)} put back (undo of its removal)"
    return str(d)[:200]


class JournalModel(QAbstractTableModel):
    """Journal entries, newest first."""

    HEADERS = ("When", "Brand", "What", "Details")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.entries: list[JournalEntry] = []
        self._text: list[tuple[str, str, str, str]] = []

    def set_entries(self, entries: list[JournalEntry], names: dict[str, str]) -> None:
        self.beginResetModel()
        self.entries = entries
        self._text = [
            (
                e.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                names.get(e.brand, e.brand),  # a removed brand keeps its id
                KINDS.get(e.kind, e.kind),
                summarize(e),
            )
            for e in entries
        ]
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section] if 0 <= section < len(self.HEADERS) else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._text):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._text[index.row()][index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:  # vendor text: never as markup
            return tooltip(self._text[index.row()][index.column()])
        return None


class JournalWindow(QWidget):
    """The audit journal, all brands or one, with filters and the chain's state.

    Signals:
        message(str): something for the status bar.
    """

    message = Signal(str)

    def __init__(
        self,
        services: Services,
        runner: Runner,
        parent: QWidget | None = None,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.services, self.runner = services, runner
        self.setWindowTitle("Activity journal")
        self._all: list[JournalEntry] = []
        self._names: dict[str, str] = {}
        layout = QVBoxLayout(self)
        self.chain = QLabel("Checking the journal…", self)
        self.chain.setTextFormat(Qt.TextFormat.PlainText)
        # Wrapped, and the brand list sized by a fixed length, so that what loads later
        # (the chain's sentence, long brand names) never widens the window's minimum: a
        # minimum that grows after a saved size was put back would undo the user's size.
        self.chain.setWordWrap(True)
        self.chain.setAccessibleName("Journal verification")
        layout.addWidget(self.chain)
        filters = QHBoxLayout()
        self.brand = QComboBox(self)
        self.brand.setAccessibleName("Brand")
        self.brand.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.brand.setMinimumContentsLength(18)
        self.brand.addItem("All brands", None)
        self.kind = QComboBox(self)
        self.kind.setAccessibleName("Kind of entry")
        self.kind.addItem("Everything", None)
        for kind, label in KINDS.items():
            self.kind.addItem(label, kind)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search the journal…")
        self.search.setAccessibleName("Search the journal")
        self.search.setClearButtonEnabled(True)
        for widget in (self.brand, self.kind):
            widget.currentIndexChanged.connect(lambda _: self._filter())
        self.search.textChanged.connect(lambda _: self._filter())
        filters.addWidget(self.brand)
        filters.addWidget(self.kind)
        filters.addWidget(self.search, 1)
        layout.addLayout(filters)
        self.model = JournalModel(self)
        self.table = QTableView(self)
        self.table.setAccessibleName("Journal entries")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.resizeSection(0, 150)
        header.resizeSection(1, 150)
        header.resizeSection(2, 130)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        layout.addWidget(self.table)
        buttons = QHBoxLayout()
        self.receipts = QPushButton("Export consent &receipts…", self)
        self.receipts.setToolTip(
            "The brand's history as consent receipts (Kantara Consent Receipt v1.1 JSON)"
        )
        self.receipts.clicked.connect(self.ask_receipts)
        self.count = QLabel("", self)
        buttons.addWidget(self.count)
        buttons.addStretch(1)
        buttons.addWidget(self.receipts)
        layout.addLayout(buttons)
        self.resize(980, 560)
        self.placement = secondary_window(self, "journal", settings)  # Esc closes it
        self._update_buttons()

    def load(self, brand: str | None = None) -> None:
        """Read the journal (and check its chain) in the background; show ``brand``'s."""
        services = self.services

        def read() -> tuple[list[JournalEntry], int | None, dict[str, str]]:
            names = {r.slug: r.name for r in services.brands.brand_records()}
            return services.journal.entries(), services.journal.verify(), names

        self.runner.run(
            read, lambda result: self._loaded(result, brand), self._failed, latest="journal"
        )

    def _failed(self, error: Exception) -> None:
        self.message.emit(f"Journal: {error}")

    def _loaded(
        self, result: tuple[list[JournalEntry], int | None, dict[str, str]], brand: str | None
    ) -> None:
        entries, broken, self._names = result
        self._all = list(reversed(entries))
        if broken is None:
            self.chain.setText(
                f"The journal is intact: {len(entries)} entries, each sealed by the one "
                "before it (SHA-256 chain verified)."
            )
        else:
            self.chain.setText(
                f"Warning: the journal was changed at entry {broken}; entries from there on "
                "cannot be trusted."
            )
        wanted = brand  # None: every brand
        self.brand.blockSignals(True)
        self.brand.clear()
        self.brand.addItem("All brands", None)
        for slug in sorted({e.brand for e in entries}, key=lambda s: self._name(s).casefold()):
            self.brand.addItem(self._name(slug), slug)
        self.brand.setCurrentIndex(max(0, self.brand.findData(wanted)))
        self.brand.blockSignals(False)
        self._filter()

    def _filter(self) -> None:
        brand, kind = self.brand.currentData(), self.kind.currentData()
        text = self.search.text().strip().casefold()
        shown = [
            e
            for e in self._all
            if (brand is None or e.brand == brand)
            and (kind is None or e.kind == kind)
            and (not text or text in f"{e.brand} {self._name(e.brand)} {summarize(e)}".casefold())
        ]
        self.model.set_entries(shown, self._names)
        self.count.setText(f"{len(shown)} of {len(self._all)} entries")
        self._update_buttons()

    def _name(self, slug: str) -> str:
        return self._names.get(slug, slug)

    def _update_buttons(self) -> None:
        self.receipts.setEnabled(self.brand.currentData() is not None)

    def ask_receipts(self) -> None:
        brand = self.brand.currentData()
        if brand is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Consent receipts", str(Path.home() / f"{brand}-receipts.json"), "JSON (*.json)"
        )
        if path:
            self.export_receipts(str(brand), Path(path))

    def export_receipts(self, brand: str, path: Path) -> None:
        services = self.services

        def write() -> tuple[int, int]:
            n = write_atomically(path, lambda out: services.transfer.export_receipts(out, [brand]))
            return n, len(services.transfer.withdrawals([brand]) if not n else ())

        def said(counts: tuple[int, int]) -> str:
            n, withdrawn = counts
            if n:
                return f"Wrote {plural(n, 'consent receipt')} to {path}."
            text = f"No consent receipt: you have not allowed {brand} to use any of your data."
            if withdrawn:
                text += f" Wrote what you asked it to stop (a withdrawal record) to {path}."
            return text

        self.runner.run(write, lambda counts: self.message.emit(said(counts)), self._failed)

    def shown_entries(self) -> list[JournalEntry]:
        return list(self.model.entries)
