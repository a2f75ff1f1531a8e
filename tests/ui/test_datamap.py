"""The data-sharing map: who may use what, ending permissions, filtering the dashboard."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtGui import QBrush

from cmr_desktop.domain import DataCategory, Decision, Grant, Purpose
from cmr_desktop.ui.datamap import CATEGORIES
from cmr_desktop.ui.main_window import MainWindow
from tests.conftest import NOW


def test_the_map_shows_who_may_use_what_and_filters_the_dashboard(
    qtbot: Any, window: MainWindow
) -> None:
    soon = NOW.date() + dt.timedelta(days=10)
    svc = window.services
    svc.preferences.update_preferences(
        "shop-000",
        lambda p: (
            p.with_grant(DataCategory.CONTACT, Purpose.MARKETING, Grant(Decision.ALLOW, soon))
            .with_grant(DataCategory.CONTACT, Purpose.SERVICE, Grant(Decision.ALLOW))
            .with_grant(DataCategory.HEALTH, Purpose.SALE, Grant(Decision.DENY))
        ),
    )
    svc.preferences.update_preferences(
        "shop-001",
        lambda p: p.with_grant(DataCategory.HEALTH, Purpose.RESEARCH, Grant(Decision.ALLOW)),
    )
    svc.preferences.update_preferences(  # expired: a refusal now
        "shop-002",
        lambda p: p.with_grant(
            DataCategory.LOCATION, Purpose.ANALYTICS, Grant(Decision.ALLOW, dt.date(2020, 1, 1))
        ),
    )
    window.map_action.trigger()
    data_map = window.map_window
    assert data_map is not None
    qtbot.waitUntil(lambda: data_map.model.rowCount() == 2, timeout=5000)
    assert "2 brands may use some of your data; 1 permission ends within 30 days" in (
        data_map.summary.text()
    )
    model = data_map.model
    contact = CATEGORIES.index(DataCategory.CONTACT)
    health = CATEGORIES.index(DataCategory.HEALTH)
    cell = model.index(0, contact)  # Shop 000 (rows by name)
    assert model.data(cell) == "2!"  # two purposes, one ending soon
    assert isinstance(model.data(cell, 8), QBrush)  # BackgroundRole
    assert "marketing until" in model.data(cell, 3)  # ToolTipRole
    assert model.data(model.index(0, health)) == ""  # a refusal is not a use
    assert model.data(model.index(1, health)) == "1"
    data_map.table.clicked.emit(model.index(1, health))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=3000)
    assert window.model.row_at(0).slug == "shop-001"
    assert window.sidebar.currentItem().text() == "May use health data  1"
    window.sidebar.setCurrentRow(0)
    qtbot.waitUntil(lambda: window.model.rowCount() == 13, timeout=3000)
