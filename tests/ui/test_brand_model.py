"""The brand table model: Qt's model checks, sorting, filtering, live updates."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon

from cmr_desktop.domain import Channel, DataCategory, Decision, Frequency, Grant, Purpose
from cmr_desktop.testing.sample import sample_brands
from cmr_desktop.ui.brand_model import OBJECT_ROLE, BrandRow, BrandTableModel, Column
from tests.conftest import NOW, open_services


def _rows(tmp_path: Path, n: int = 40) -> list[BrandRow]:
    svc = open_services(tmp_path / "home")
    with svc.store.write() as uow:
        uow.brands.add_many(sample_brands(n), now=NOW)
    svc.preferences.update_preferences(
        "brand-000001",
        lambda p: (
            p.with_channel(Channel.EMAIL, True)
            .with_frequency(Channel.EMAIL, Frequency.REALTIME)
            .with_grant(DataCategory.CONTACT, Purpose.SALE, Grant(Decision.ALLOW))
        ),
    )
    rows = [BrandRow.from_record(r) for r in svc.brands.brand_records()]
    svc.store.close()
    return rows


def test_model_passes_qt_model_tests(qtmodeltester: Any, tmp_path: Path) -> None:
    model = BrandTableModel()
    model.set_rows(_rows(tmp_path))
    qtmodeltester.check(model, force_py=True)
    model.set_filter("bank")
    qtmodeltester.check(model, force_py=True)


def test_rows_show_what_a_customer_reads(qapp: Any, tmp_path: Path) -> None:
    model = BrandTableModel()
    model.set_rows(_rows(tmp_path))
    row = next(i for i in range(model.rowCount()) if model.row_at(i).slug == "brand-000001")
    text = {c: model.data(model.index(row, c)) for c in Column}
    assert text[Column.CHANNELS] == ""  # icons, with the words for screen readers and tips
    channels = model.index(row, Column.CHANNELS)
    assert "Email" in model.data(channels, Qt.ItemDataRole.AccessibleTextRole)
    assert "Email" in model.data(channels, Qt.ItemDataRole.ToolTipRole)
    strip = model.data(channels, Qt.ItemDataRole.DecorationRole)
    assert isinstance(strip, QIcon)  # with a Selected pixmap that stays visible
    assert not strip.isNull()
    assert strip.availableSizes()[0].width() >= 16 * len(model.row_at(row).channels)
    status = model.data(model.index(row, Column.STATUS), Qt.ItemDataRole.DecorationRole)
    assert isinstance(status, QIcon)
    assert not status.isNull()
    assert not status.pixmap(16, 16).isNull()
    assert text[Column.FREQUENCY] == "as it happens"
    assert text[Column.STATUS] == "By hand"  # sample brands have no connector
    assert text[Column.SYNCED] == "never"
    tooltip = model.data(model.index(row, Column.STATUS), Qt.ItemDataRole.ToolTipRole)
    assert "No vendor API" in tooltip
    assert model.headerData(0, Qt.Orientation.Horizontal) == "Brand"


def test_sorting_and_filtering_happen_in_the_model(qapp: Any, tmp_path: Path) -> None:
    model = BrandTableModel()
    model.set_rows(_rows(tmp_path, 60))
    names = [model.row_at(i).name.casefold() for i in range(model.rowCount())]
    assert names == sorted(names)
    model.sort(Column.GRANTS, Qt.SortOrder.DescendingOrder)
    grants = [model.row_at(i).grants for i in range(model.rowCount())]
    assert grants == sorted(grants, reverse=True)

    model.set_filter("ban")
    wide = {model.row_at(i).slug for i in range(model.rowCount())}
    model.set_filter("bank")  # extends the query: only visible rows are scanned
    narrow = [model.row_at(i) for i in range(model.rowCount())]
    assert narrow
    assert all("bank" in r.search for r in narrow)
    assert {r.slug for r in narrow} <= wide
    model.set_filter("bank", predicate=lambda r: r.category == "finance")
    assert all(model.row_at(i).category == "finance" for i in range(model.rowCount()))
    model.set_filter("")
    assert model.rowCount() == 60
    assert sum(model.counts().values()) == 60


def test_update_row_changes_one_row_in_place(qtbot: Any, qapp: Any, tmp_path: Path) -> None:
    model = BrandTableModel()
    model.set_rows(_rows(tmp_path, 10))
    first = model.row_at(0)
    changed = dataclasses.replace(first, status="drift", synced=dt.datetime.now(dt.UTC).isoformat())
    with qtbot.waitSignal(model.dataChanged, timeout=1000):
        model.update_row(changed)
    assert model.data(model.index(0, Column.STATUS)) == "Drift"
    assert model.data(model.index(0, Column.NAME), OBJECT_ROLE) is changed


def test_every_channel_and_status_has_an_icon(qapp: Any) -> None:
    from cmr_desktop.domain import Channel
    from cmr_desktop.ui.brand_model import STATUSES
    from cmr_desktop.ui.icons import channel_icon, status_icon

    for channel in Channel:
        assert not channel_icon(channel.value).pixmap(16, 16).isNull(), channel
    for status in STATUSES:
        assert not status_icon(status).pixmap(16, 16).isNull(), status


def test_counts_follow_each_updated_row_without_a_reload(qapp: Any) -> None:
    def row(slug: str, status: str, **flags: Any) -> BrandRow:
        return BrandRow(slug, slug.title(), "retail", (), "", 0, status, "", **flags)

    model = BrandTableModel()
    model.set_rows([row("a", "in_sync"), row("b", "pending"), row("c", "drift")])
    assert model.counts() == {"in_sync": 1, "pending": 1, "drift": 1}
    assert model.flag_counts() == {"attention": 1, "terms": 0, "ending": 0, "vendor": 0}
    model.update_rows([row("a", "in_sync", breaks_terms=True, vendor_open=2)])
    model.update_rows([row("c", "pending")])
    assert model.counts() == {"in_sync": 1, "pending": 2}
    assert model.flag_counts() == {"attention": 1, "terms": 1, "ending": 0, "vendor": 1}
    assert model.category_counts() == {"retail": 3}


def test_an_ended_permission_is_not_counted_as_a_data_use(tmp_path: Path) -> None:
    svc = open_services(tmp_path / "home")
    svc.brands.add_brand("Acme")
    ended = NOW.date() - dt.timedelta(days=1)
    svc.preferences.update_preferences(
        "acme",
        lambda p: p.with_grant(
            DataCategory.CONTACT, Purpose.SALE, Grant(Decision.ALLOW, ended)
        ).with_grant(DataCategory.CONTACT, Purpose.SERVICE, Grant(Decision.ALLOW)),
    )
    [(record, summary)] = svc.brands.brand_summaries()
    assert BrandRow.of(record, summary).grants == 1
    svc.store.close()
