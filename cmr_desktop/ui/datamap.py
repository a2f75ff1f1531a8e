"""The data-sharing map: brands x data categories, how many purposes each brand may use
each kind of data for, permissions that end within 30 days highlighted. Clicking a cell
shows, in the dashboard, every brand that may use that kind of data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSettings,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from cmr_desktop.domain.summary import SOON_DAYS, active_uses
from cmr_desktop.domain.vocabulary import DataCategory, Purpose
from cmr_desktop.services import Services
from cmr_desktop.ui.geometry import secondary_window
from cmr_desktop.ui.palette import over, readable_on
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.text import plural, tooltip

Index = QModelIndex | QPersistentModelIndex
SOON = dt.timedelta(days=SOON_DAYS)
CATEGORIES = list(DataCategory)


@dataclass(frozen=True, slots=True)
class MapRow:
    """One brand's allowed data uses: category -> [(purpose, end date or None)]."""

    slug: str
    name: str
    uses: dict[DataCategory, list[tuple[Purpose, dt.date | None]]]


def map_rows(records: Any, today: dt.date) -> list[MapRow]:
    """Brands that may use any data, from the fast record read-out (no domain objects).
    Active uses come from domain.summary: an ended permission is a refusal, as in the table."""
    rows = []
    for record in records:
        uses: dict[DataCategory, list[tuple[Purpose, dt.date | None]]] = {}
        for use in active_uses(record.preferences, today):
            uses.setdefault(use.category, []).append((use.purpose, use.expires))
        if uses:
            rows.append(MapRow(record.slug, record.name, uses))
    return sorted(rows, key=lambda r: r.name.casefold())


class DataMapModel(QAbstractTableModel):
    """Rows: brands that may use some data. Columns: data categories."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[MapRow] = []
        self.today = dt.date.today()

    def set_rows(self, rows: list[MapRow], today: dt.date) -> None:
        self.beginResetModel()
        self.rows, self.today = rows, today
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(CATEGORIES)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation is Qt.Orientation.Horizontal:
            return CATEGORIES[section].label if 0 <= section < len(CATEGORIES) else None
        return self.rows[section].name if 0 <= section < len(self.rows) else None

    def uses(self, index: Index) -> list[tuple[Purpose, dt.date | None]]:
        return self.rows[index.row()].uses.get(CATEGORIES[index.column()], [])

    def expiring(self, index: Index) -> bool:
        return any(e is not None and e - self.today <= SOON for _, e in self.uses(index))

    def background(self, index: Index) -> QColor:
        """A used cell's colour (darker: more purposes; orange: one ends soon), opaque over
        the palette's base so that its text colour can be chosen to read on it."""
        base = QGuiApplication.palette().color(QPalette.ColorRole.Base)
        if self.expiring(index):
            return over(QColor(230, 140, 0, 170), base)
        return over(QColor(59, 115, 185, min(60 + 40 * len(self.uses(index)), 230)), base)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        uses = self.uses(index)
        if role == Qt.ItemDataRole.DisplayRole:
            if not uses:
                return ""
            return f"{len(uses)}!" if self.expiring(index) else str(len(uses))
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter
        if role == Qt.ItemDataRole.BackgroundRole and uses:
            return QBrush(self.background(index))
        if role == Qt.ItemDataRole.ForegroundRole and uses:
            # The palette's text where it reads on the cell's colour, else black or white.
            ink = QGuiApplication.palette().color(QPalette.ColorRole.Text)
            return QBrush(readable_on(self.background(index), ink))
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            row, category = self.rows[index.row()], CATEGORIES[index.column()]
            if not uses:
                text = f"{row.name} may not use your {category.label.lower()} data."
            else:
                parts = [
                    p.label.lower() + (f" until {e.isoformat()}" if e else "") for p, e in uses
                ]
                text = f"{row.name} may use your {category.label.lower()} data for: " + ", ".join(
                    parts
                )
            return tooltip(text) if role == Qt.ItemDataRole.ToolTipRole else text
        return None


class DataMapWindow(QWidget):
    """The map. Signals:

    show_brands(str, list): a label and the brands to show in the dashboard.
    """

    show_brands = Signal(str, list)

    def __init__(
        self,
        services: Services,
        runner: Runner,
        parent: QWidget | None = None,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.services, self.runner = services, runner
        self.setWindowTitle("Who may use what")
        layout = QVBoxLayout(self)
        self.summary = QLabel("Reading every brand…", self)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.model = DataMapModel(self)
        self.table = QTableView(self)
        self.table.setAccessibleName("Data-sharing map")
        self.table.setModel(self.model)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.clicked.connect(self._clicked)
        self.table.activated.connect(self._clicked)
        layout.addWidget(self.table)
        legend = QLabel(
            "Each cell: for how many purposes the brand may use that kind of data (darker: "
            "more). Orange with '!': a permission ends within 30 days. Click a cell to list "
            "every brand that may use that kind of data.",
            self,
        )
        legend.setWordWrap(True)
        layout.addWidget(legend)
        self.resize(1100, 600)
        self.placement = secondary_window(self, "map", settings)  # Esc closes it
        # Brands imported, edited or synced: read again (once for a burst of changes).
        self._refresh_timer = QTimer(self, singleShot=True, interval=250)
        self._refresh_timer.timeout.connect(self._refresh_now)
        self.loads = 0  # how many reads were asked for (tests wait on it)

    def refresh(self) -> None:
        """The brands changed: read them again if the map is shown (soon, once for a burst
        of changes; a hidden map is read when it is shown)."""
        if self.isVisible():
            self._refresh_timer.start()

    def _refresh_now(self) -> None:
        if self.isVisible():
            self.load()

    def load(self) -> None:
        services = self.services
        self.loads += 1

        def read() -> tuple[list[MapRow], dt.date]:
            today = services.today()
            return map_rows(services.brands.brand_records(), today), today

        self.runner.run(
            read, self._loaded, lambda e: self.summary.setText(f"Error: {e}"), latest="map"
        )

    def _loaded(self, result: tuple[list[MapRow], dt.date]) -> None:
        rows, today = result
        self.model.set_rows(rows, today)
        soon = sum(
            1
            for r in rows
            for uses in r.uses.values()
            for _, e in uses
            if e is not None and e - today <= SOON
        )
        self.summary.setText(
            f"{plural(len(rows), 'brand')} may use some of your data; "
            f"{plural(soon, 'permission')} {'ends' if soon == 1 else 'end'} within 30 days."
            if rows
            else "No brand may use your data for anything."
        )

    def brands_using(self, category: DataCategory) -> list[str]:
        return [r.slug for r in self.model.rows if category in r.uses]

    def _clicked(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        category = CATEGORIES[index.column()]
        slugs = self.brands_using(category)
        self.show_brands.emit(f"May use {category.label.lower()} data", slugs)
