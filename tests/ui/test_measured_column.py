"""The dashboard's Measured column: how often each brand really writes (the real discovery
service over a generated mbox in a real SQLite home), beside the chosen frequency, with
flags and their evidence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel

from cmr_desktop.domain.vocabulary import Channel, Frequency
from cmr_desktop.mail.mbox import MboxSource
from cmr_desktop.services import Services
from cmr_desktop.testing.mailgen import messages, write_mbox
from cmr_desktop.ui.brand_model import HEADERS, Column, measured_cells, per_week_text
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.writer import FieldsSave
from tests.conftest import NOW, open_services
from tests.ui.conftest import settle

START = NOW - dt.timedelta(days=89)


def scanned_home(
    tmp_path: Path, choices: dict[str, Frequency | None]
) -> tuple[Services, dict[str, str]]:
    """A home whose mbox was scanned and the named brands added at the chosen frequency;
    returns the services and name -> slug."""
    svc = open_services(tmp_path / "home")
    mbox = tmp_path / "inbox.mbox"
    write_mbox(mbox, messages(seed=3, n=600, start=START, days=88))
    report = svc.discovery.scan(MboxSource(mbox.resolve()))
    by_name = {f.name: f.key for f in report.found}
    slugs = svc.discovery.add_found({by_name[name]: f for name, f in choices.items()})
    return svc, dict(zip(choices, slugs, strict=True))


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[Services, dict[str, str]]]:
    svc, slugs = scanned_home(
        tmp_path, {"Zalando": Frequency.MONTHLY, "Spotify": Frequency.DAILY, "Etsy": None}
    )
    svc.brands.add_brand("Corner Shop")  # never wrote: not measured
    yield svc, slugs
    svc.store.close()


def open_window(qtbot: Any, tmp_path: Path, svc: Services) -> MainWindow:
    win = MainWindow(svc, Runner(), QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.model.rowCount() == 4, timeout=5000)
    return win


@pytest.fixture
def window(
    qtbot: Any, tmp_path: Path, home: tuple[Services, dict[str, str]]
) -> Iterator[MainWindow]:
    win = open_window(qtbot, tmp_path, home[0])
    yield win
    settle(qtbot, win.runner)


def cell(window: MainWindow, slug: str, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
    row = window.model.visible_row(slug)
    assert row is not None
    return window.model.index(row, Column.MEASURED).data(role)


def test_the_measured_column_sits_beside_the_chosen_frequency() -> None:
    assert Column.MEASURED == Column.FREQUENCY + 1
    assert HEADERS[Column.MEASURED] == "Measured"


def test_the_measured_column_shows_how_often_each_brand_really_writes(
    qtbot: Any, window: MainWindow, home: tuple[Services, dict[str, str]]
) -> None:
    svc, slugs = home
    measured = svc.discovery.measured()
    zalando = slugs["Zalando"]
    qtbot.waitUntil(lambda: window.model.measured(zalando) is not None, timeout=5000)
    assert cell(window, zalando) == per_week_text(measured[zalando].per_week)
    assert cell(window, zalando).endswith(" a week")
    tip = cell(window, zalando, Qt.ItemDataRole.ToolTipRole)
    assert f"{measured[zalando].messages} messages" in tip
    assert "Measured in your mailbox over the last 90 days" in tip
    corner = next(r.slug for r in window.model.all_rows() if r.name == "Corner Shop")
    assert cell(window, corner) == "–"
    assert "Not measured" in cell(window, corner, Qt.ItemDataRole.ToolTipRole)


def test_a_brand_writing_more_often_than_allowed_is_flagged_and_one_within_it_is_not(
    qtbot: Any, window: MainWindow, home: tuple[Services, dict[str, str]]
) -> None:
    svc, slugs = home
    measured = svc.discovery.measured()
    zalando, spotify = slugs["Zalando"], slugs["Spotify"]
    assert measured[zalando].over_limit  # about 5 a week, allowed monthly
    assert not measured[spotify].over_limit  # about 2 a week, allowed daily
    qtbot.waitUntil(lambda: window.model.measured(zalando) is not None, timeout=5000)
    assert cell(window, zalando, Qt.ItemDataRole.DecorationRole) is not None
    assert "writes more often than you allow" in cell(
        window, zalando, Qt.ItemDataRole.AccessibleTextRole
    )
    assert "It writes more often than you allow." in cell(
        window, zalando, Qt.ItemDataRole.ToolTipRole
    )
    assert cell(window, spotify, Qt.ItemDataRole.DecorationRole) is None
    assert "more often" not in cell(window, spotify, Qt.ItemDataRole.ToolTipRole)
    assert window.model.measured_flag_counts()["over_limit"] == 1


def test_a_brand_the_mailbox_flags_is_counted_and_listed_under_needs_attention(
    qtbot: Any, window: MainWindow, home: tuple[Services, dict[str, str]]
) -> None:
    _svc, slugs = home
    zalando = slugs["Zalando"]  # writes about 5 a week, allowed monthly; nothing else wrong
    qtbot.waitUntil(lambda: window.model.measured(zalando) is not None, timeout=5000)
    rows = window.model.all_rows()
    (row,) = [r for r in rows if r.slug == zalando]
    assert not row.attention  # its own record needs nothing: only the mailbox flags it
    others = {r.slug for r in rows if r.attention}  # e.g. new brands not yet sent
    count = len(others) + 1
    assert window.model.flag_counts()["attention"] == count
    entries = [window.sidebar.item(i) for i in range(window.sidebar.count())]
    (attention,) = [e for e in entries if e.data(Qt.ItemDataRole.UserRole) == ("attention", None)]
    assert attention.text() == f"Needs attention  {count}"
    window.sidebar.setCurrentItem(attention)
    qtbot.waitUntil(lambda: window.model.rowCount() == count, timeout=5000)
    assert window.model.visible_row(zalando) is not None
    assert f"Needs attention {count}" in " ".join(
        [window.statusBar().currentMessage()]
        + [w.text() for w in window.statusBar().findChildren(QLabel)]
    )


def test_a_brand_still_writing_after_an_unsubscribe_shows_the_dates_and_message_ids(
    qtbot: Any, tmp_path: Path, home: tuple[Services, dict[str, str]]
) -> None:
    svc, slugs = home
    etsy = slugs["Etsy"]
    at = START + dt.timedelta(days=20)
    with svc.store.write() as uow:  # the customer unsubscribed (one click) long ago
        uow.journal.append(
            at=at,
            brand=etsy,
            kind="unsubscribe",
            detail={
                "method": "one-click",
                "target": "https://etsy.example/u",
                "result": "HTTP 200: the sender accepted the unsubscribe",
                "done": True,  # as services.unsubscribe journals an accepted one-click
                "at": at.isoformat(),
            },
        )
    ignored = svc.discovery.measured()[etsy].ignored_unsubscribe
    assert ignored is not None
    window = open_window(qtbot, tmp_path, svc)
    qtbot.waitUntil(lambda: window.model.measured(etsy) is not None, timeout=5000)
    tip = cell(window, etsy, Qt.ItemDataRole.ToolTipRole)
    assert "still writing after you unsubscribed (one-click)" in tip
    assert at.strftime("%Y-%m-%d") in tip
    when, message_id = ignored.evidence[0]
    assert message_id in tip
    assert when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") in tip
    assert "still writing after you unsubscribed" in cell(
        window, etsy, Qt.ItemDataRole.AccessibleTextRole
    )
    assert cell(window, etsy, Qt.ItemDataRole.DecorationRole) is not None
    assert window.model.measured_flag_counts()["ignored_unsubscribe"] == 1
    settle(qtbot, window.runner)


def test_an_edit_does_not_read_the_measured_figures_again(
    qtbot: Any, window: MainWindow, home: tuple[Services, dict[str, str]], monkeypatch: Any
) -> None:
    svc, slugs = home
    zalando = slugs["Zalando"]
    qtbot.waitUntil(lambda: window.model.measured(zalando) is not None, timeout=5000)
    settle(qtbot, window.runner)
    calls: list[int] = []
    real = svc.discovery.measured
    monkeypatch.setattr(svc.discovery, "measured", lambda: calls.append(1) or real())
    key = ("frequency", Channel.EMAIL)
    with qtbot.waitSignal(window.writer.brand_stored, timeout=5000):
        window.writer.save(
            FieldsSave(zalando, ((key, Frequency.WEEKLY),), ((key, Frequency.MONTHLY),)),
            "Allow e-mail weekly",
        )
    settle(qtbot, window.runner)
    assert svc.brands.get_brand(zalando).brand.preferences.get(key) == Frequency.WEEKLY
    assert calls == []  # the edit re-read one brand, not every brand's measured figures
    assert window.model.measured(zalando) is not None
    window.reload()  # a reload (after a sync, an import, a scan) reads them once
    qtbot.waitUntil(lambda: calls == [1], timeout=5000)


def test_an_e_mail_frequency_edit_judges_the_measured_mail_again_without_reading_it(
    qtbot: Any, window: MainWindow, home: tuple[Services, dict[str, str]], monkeypatch: Any
) -> None:
    svc, slugs = home
    zalando = slugs["Zalando"]  # about 5 a week, allowed monthly: over the limit
    qtbot.waitUntil(lambda: window.model.measured(zalando) is not None, timeout=5000)
    settle(qtbot, window.runner)
    assert window.model.measured_flag_counts()["over_limit"] == 1
    calls: list[int] = []
    real = svc.discovery.measured
    monkeypatch.setattr(svc.discovery, "measured", lambda: calls.append(1) or real())
    key = ("frequency", Channel.EMAIL)
    window.writer.save(
        FieldsSave(zalando, ((key, Frequency.DAILY),), ((key, Frequency.MONTHLY),)),
        "Allow e-mail daily",
    )
    qtbot.waitUntil(lambda: not window.model.measured(zalando).over_limit, timeout=5000)
    assert "It writes more often than you allow." not in cell(
        window, zalando, Qt.ItemDataRole.ToolTipRole
    )
    assert cell(window, zalando, Qt.ItemDataRole.DecorationRole) is None
    assert window.model.measured_flag_counts()["over_limit"] == 0
    assert calls == []  # judged again from what was measured: no read of the mailbox
    window.writer.save(
        FieldsSave(zalando, ((key, Frequency.MONTHLY),), ((key, Frequency.DAILY),)),
        "Allow e-mail monthly",
    )
    qtbot.waitUntil(lambda: window.model.measured(zalando).over_limit, timeout=5000)
    assert window.model.measured_flag_counts()["over_limit"] == 1
    assert window.model.measured(zalando) == measured_cells(svc.discovery.measured())[zalando]
    settle(qtbot, window.runner)


def test_sorting_by_measured_puts_the_busiest_sender_first(
    qtbot: Any, window: MainWindow, home: tuple[Services, dict[str, str]]
) -> None:
    svc, _slugs = home
    measured = svc.discovery.measured()
    qtbot.waitUntil(lambda: len(window.model._measured) == len(measured), timeout=5000)
    window.table.sortByColumn(Column.MEASURED, Qt.SortOrder.DescendingOrder)
    order = [window.model.row_at(i).slug for i in range(window.model.rowCount())]
    busiest = max(measured, key=lambda s: measured[s].per_week)
    assert order[0] == busiest
    assert window.model.row_at(window.model.rowCount() - 1).name == "Corner Shop"
