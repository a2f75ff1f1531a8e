"""A small window of brands handled by hand (no vendor needed), for the words and dates
tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from cmr_desktop.domain import DataCategory, Decision, Grant, Purpose
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.runner import Runner
from tests.conftest import open_services
from tests.ui.conftest import settle

PAIR = (DataCategory.DEMOGRAPHICS, Purpose.ANALYTICS)
ENDED = (DataCategory.CONTACT, Purpose.MARKETING)


@pytest.fixture
def small_window(qtbot: Any, tmp_path: Path) -> Iterator[MainWindow]:
    """Contoso Bank (demographics for analytics: allowed; contact for marketing: allowed
    until a day that has passed) and Deutsche Bahn AG, both handled by hand."""
    svc = open_services(tmp_path / "home")
    svc.brands.add_brand("Contoso Bank", category="finance")
    svc.brands.add_brand("Deutsche Bahn AG", category="travel")
    ended = svc.today() - dt.timedelta(days=30)
    svc.preferences.update_preferences(
        "contoso-bank",
        lambda p: p.with_grant(*PAIR, Grant(Decision.ALLOW)).with_grant(
            *ENDED, Grant(Decision.ALLOW, ended)
        ),
    )
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    win = MainWindow(svc, Runner(), settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.model.rowCount() == 2, timeout=5000)
    yield win
    settle(qtbot, win.runner)
    svc.store.close()


def select(qtbot: Any, window: MainWindow, slug: str) -> None:
    row = next(i for i in range(window.model.rowCount()) if window.model.row_at(i).slug == slug)
    window.table.selectRow(row)
    editor = window.editor
    qtbot.waitUntil(lambda: editor.slug == slug and editor.isEnabled(), timeout=5000)
    qtbot.waitUntil(lambda: editor.catalog_known, timeout=5000)
    qtbot.waitUntil(lambda: bool(editor.use_rows), timeout=5000)
    # New rows are shown when the event loop turns (QLayout shows added widgets queued).
    qtbot.waitUntil(lambda: all(f.isVisible() for _d, f in editor.use_rows.values()), timeout=5000)


def stored_grant(window: MainWindow, slug: str, pair: tuple[DataCategory, Purpose]) -> Any:
    return window.services.brands.get_brand(slug).brand.preferences.grants.get(pair)
