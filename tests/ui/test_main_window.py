"""The main window against a real home and the vendor simulator (offscreen)."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QProcess, QSettings, Qt, QTimer
from PySide6.QtWidgets import QMenu

from cmr_desktop.domain import Channel
from cmr_desktop.testing.simulator import Knobs, SimulatorProcess, VendorSimulator
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.runner import Runner
from tests.conftest import open_services
from tests.ui.conftest import connect_brands

NOT_RUNNING = QProcess.ProcessState.NotRunning


def test_dashboard_lists_every_brand_and_filters_as_you_type(
    qtbot: Any, window: MainWindow
) -> None:
    assert window.model.rowCount() == 13
    qtbot.keyClicks(window.search, "corner")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=10_000)
    assert window.model.row_at(0).name == "Corner Shop"
    window.search.clear()
    qtbot.waitUntil(lambda: window.model.rowCount() == 13, timeout=10_000)
    labels = [window.sidebar.item(i).text() for i in range(window.sidebar.count())]
    assert labels[0] == "All  13"
    attention = next(i for i, t in enumerate(labels) if t.startswith("Needs attention"))
    window.sidebar.setCurrentRow(attention)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=10_000)  # the manual one
    assert window.model.row_at(0).status == "manual"


def test_details_are_plain_text_in_customer_words(qtbot: Any, window: MainWindow) -> None:
    row = next(
        i for i in range(window.model.rowCount()) if window.model.row_at(i).slug == "shop-001"
    )
    window.table.selectRow(row)
    qtbot.waitUntil(lambda: "Shop 001 may not email you." in window.detail.text(), timeout=10_000)
    assert window.detail.textFormat() is Qt.TextFormat.PlainText


def test_sync_all_runs_in_the_background_and_rows_update(
    qtbot: Any, window: MainWindow, sim: VendorSimulator
) -> None:
    window.sync_all.trigger()
    assert window.progress.isVisible()
    qtbot.waitUntil(lambda: not window.is_syncing(), timeout=20_000)

    def statuses() -> set[str]:
        return {window.model.row_at(i).status for i in range(window.model.rowCount())}

    # The last rows are re-read in the background after the process ends.
    qtbot.waitUntil(lambda: statuses() == {"in_sync", "manual"}, timeout=5000)
    # Corner Shop is handled by hand and still to do: the status bar says what the sidebar
    # says, never "All in order".
    qtbot.waitUntil(lambda: window.summary.text() == "Needs attention 1", timeout=5000)
    state = sim.state(sim.vendor_ids[0])["s-0"]["preferences"]
    assert state["channels"]["email"]["enabled"] is False


@pytest.mark.slow  # 200 brands through a real sync process
def test_the_event_loop_keeps_turning_during_a_200_brand_sync(qtbot: Any, tmp_path: Path) -> None:
    # How long the loop's gaps are is a benchmark (bench/bench_stall.py): load alone moves
    # it. What a test can hold by construction: the sync is another process, and the
    # window's own timers and signals keep running while it works. One brand sits on a
    # vendor that hangs every request (2 s, then the connection is closed), so the sync
    # cannot end (it would take well over 30 s of retries) until a timer in this window has
    # run after the first finished brand arrived, and released that vendor.
    # The vendors live in their own process, as real vendors do.
    held = "vendor-004"
    with SimulatorProcess(4, seed=9, knobs=Knobs(latency_ms=50)) as sim:
        svc = open_services(tmp_path / "big")
        connect_brands(svc, sim, 200)  # on vendors 1-3
        sim.set_knobs(held, timeout_rate=1.0, hang_seconds=2.0)
        sim.add_subject(held, "s-held")
        svc.brands.add_brand(
            "Held Shop",
            connector="openpref",
            connector_config={"base_url": sim.base_url(held), "subject": "s-held"},
            secrets={"token": sim.token(held)},
        )
        svc.preferences.update_preferences(
            "held-shop", lambda p: p.with_channel(Channel.EMAIL, False)
        )
        win = MainWindow(
            svc, Runner(), QSettings(str(tmp_path / "u.ini"), QSettings.Format.IniFormat)
        )
        qtbot.addWidget(win)
        win.show()
        qtbot.waitUntil(lambda: win.model.rowCount() == 201, timeout=10_000)
        ticks: list[dict[str, Any]] = []
        children: list[QProcess] = []

        def tick() -> None:
            if ticks or not win.last_sync:
                return  # wait for the first brand the sync process reported
            (child,) = children
            ticks.append(
                {
                    "syncing": win.is_syncing(),
                    "child": child.state(),
                    "brands_seen": len(win.last_sync),
                    "sync_threads_here": [
                        t.name for t in threading.enumerate() if t.name.startswith("cmr-sync")
                    ],
                }
            )
            sim.set_knobs(held, timeout_rate=0.0)  # now the sync can end

        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(tick)
        timer.start()
        try:
            win.start_sync()
            children.extend(p for p in win.findChildren(QProcess) if p.state() is not NOT_RUNNING)
            (child,) = children
            # The sync runs in a child process (cmr sync --jsonl), not in this one.
            assert child.processId() not in (0, os.getpid())
            assert {"sync", "--jsonl"} <= set(child.arguments())
            qtbot.waitUntil(lambda: not win.is_syncing(), timeout=90_000)
        finally:
            timer.stop()
            sim.set_knobs(held, timeout_rate=0.0)
        # A timer of this window ran after a brand had arrived, while the sync went on.
        (seen,) = ticks
        assert seen["syncing"] is True
        assert seen["child"] is not NOT_RUNNING
        assert seen["brands_seen"] >= 1
        assert seen["sync_threads_here"] == []
        # and every row updated, the held brand too (it finished only after the timer ran)
        qtbot.waitUntil(
            lambda: {win.model.row_at(i).status for i in range(201)} == {"in_sync"}, timeout=10_000
        )
        held_event = next(e for e in win.last_sync if e["brand"] == "held-shop")
        assert held_event["result"] == "synced"
        assert sim.state(held)["s-held"]["preferences"]["channels"]["email"]["enabled"] is False
        win.runner.wait()
        svc.store.close()


def test_window_state_is_kept_for_the_next_start(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    window.resize(1000, 650)
    window.close()
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    assert settings.value("main/geometry") is not None
    assert settings.value("main/splitter") is not None


def test_editing_saves_at_once_and_undo_redo_work(qtbot: Any, window: MainWindow) -> None:
    row = next(
        i for i in range(window.model.rowCount()) if window.model.row_at(i).slug == "shop-002"
    )
    window.table.selectRow(row)
    qtbot.waitUntil(
        lambda: window.editor.isEnabled() and window.editor.slug == "shop-002", timeout=10_000
    )
    qtbot.waitUntil(lambda: window.editor.title.text() == "Shop 002", timeout=10_000)
    email = window.editor.switches[Channel.EMAIL]
    assert not email.isChecked()  # the fixture turned email off

    def stored() -> Any:
        return window.services.brands.get_brand("shop-002").brand.preferences.channels.get(
            Channel.EMAIL
        )

    email.click()  # on
    qtbot.waitUntil(lambda: stored() is True, timeout=10_000)
    # the table row shows the change too (updated in place)
    qtbot.waitUntil(lambda: "email" in window.model.row_at(row).channels, timeout=10_000)
    assert window.services.brands.get_brand("shop-002").pending
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: stored() is False, timeout=10_000)
    assert not window.editor.switches[Channel.EMAIL].isChecked()
    window.undo_stack.redo()
    qtbot.waitUntil(lambda: stored() is True, timeout=10_000)
    assert window.editor.switches[Channel.EMAIL].isChecked()
    edit_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    assert isinstance(edit_menu, QMenu)  # QAction.menu() is typed as a QObject
    texts = [a.text() for a in edit_menu.actions()]
    assert any(t.startswith("&Undo") for t in texts)


def test_sync_selected_syncs_only_those_brands(
    qtbot: Any, window: MainWindow, sim: VendorSimulator
) -> None:
    rows = [
        i
        for i in range(window.model.rowCount())
        if window.model.row_at(i).slug in ("shop-000", "shop-001")
    ]
    window.table.selectRow(rows[0])
    window.table.selectionModel().select(
        window.model.index(rows[1], 0),
        window.table.selectionModel().SelectionFlag.Select
        | window.table.selectionModel().SelectionFlag.Rows,
    )
    assert window.selected_slugs() == ["shop-000", "shop-001"]
    window.sync_selected.trigger()
    qtbot.waitUntil(lambda: not window.is_syncing(), timeout=10_000)
    qtbot.waitUntil(
        lambda: {window.model.row_at(i).status for i in rows} == {"in_sync"}, timeout=5000
    )
    others = {
        window.model.row_at(i).status
        for i in range(window.model.rowCount())
        if i not in rows and window.model.row_at(i).slug.startswith("shop-")
    }
    assert others == {"new"}


def test_cancel_stops_the_sync_and_unfinished_brands_stay_pending(
    qtbot: Any, tmp_path: Path
) -> None:
    # The cancel must find work left whatever the load: besides 60 quick brands, one sits
    # on a vendor that hangs every request (600 s, far past the client's read timeout and
    # its retries), so it cannot finish before the cancel. The sync child then reports it
    # cancelled after its grace.
    held = "vendor-004"
    with SimulatorProcess(4, seed=2, knobs=Knobs(latency_ms=80)) as sim:
        svc = open_services(tmp_path / "slow")
        connect_brands(svc, sim, 60)  # on vendors 1-3
        sim.set_knobs(held, timeout_rate=1.0, hang_seconds=600)
        sim.add_subject(held, "s-held")
        svc.brands.add_brand(
            "Held Shop",
            connector="openpref",
            connector_config={"base_url": sim.base_url(held), "subject": "s-held"},
            secrets={"token": sim.token(held)},
        )
        svc.preferences.update_preferences(
            "held-shop", lambda p: p.with_channel(Channel.EMAIL, False)
        )
        win = MainWindow(
            svc, Runner(), QSettings(str(tmp_path / "u.ini"), QSettings.Format.IniFormat)
        )
        qtbot.addWidget(win)
        win.show()
        qtbot.waitUntil(lambda: win.model.rowCount() == 61, timeout=10_000)
        try:
            win.start_sync()
            assert win.cancel.isVisible()
            qtbot.waitUntil(lambda: len(win.last_sync) > 0, timeout=20_000)
            win.cancel.click()
            assert not win.cancel.isEnabled()
            qtbot.waitUntil(lambda: not win.is_syncing(), timeout=30_000)
        finally:
            sim.set_knobs(held, timeout_rate=0.0)
        assert "cancelled" in win.statusBar().currentMessage()
        qtbot.waitUntil(lambda: "pending" in win.summary.text(), timeout=10_000)
        assert svc.brands.get_brand("held-shop").pending
        assert not any(e["brand"] == "held-shop" and e["result"] == "synced" for e in win.last_sync)
        assert win.sync_all.isEnabled()
        assert not win.progress.isVisible()
        win.runner.wait()
        svc.store.close()


def test_a_sync_that_cannot_start_says_so_and_the_window_recovers(
    qtbot: Any, tmp_path: Path
) -> None:
    svc = open_services(tmp_path / "home")
    svc.brands.add_brand("Corner Shop")
    win = MainWindow(
        svc,
        Runner(),
        QSettings(str(tmp_path / "u.ini"), QSettings.Format.IniFormat),
        sync_command=[str(tmp_path / "no-such-program")],
    )
    qtbot.addWidget(win)
    win.show()
    # Its brand listed first: Sync waits for a brand (an empty home has nothing to sync).
    qtbot.waitUntil(lambda: win.model.rowCount() == 1, timeout=10_000)
    win.start_sync()
    qtbot.waitUntil(lambda: not win.is_syncing(), timeout=10_000)
    assert "Could not start the sync" in win.statusBar().currentMessage()
    assert win.sync_all.isEnabled()
    win.runner.wait()
    svc.store.close()


def test_a_sync_process_that_dies_is_reported(qtbot: Any, tmp_path: Path) -> None:
    svc = open_services(tmp_path / "home")
    svc.brands.add_brand("Corner Shop")
    script = "import sys; sys.stderr.write('boom: the connector exploded\\n'); sys.exit(3)"
    win = MainWindow(
        svc,
        Runner(),
        QSettings(str(tmp_path / "u.ini"), QSettings.Format.IniFormat),
        sync_command=[sys.executable, "-c", script],
    )
    qtbot.addWidget(win)
    win.show()
    win.start_sync()
    qtbot.waitUntil(lambda: not win.is_syncing(), timeout=10_000)
    message = win.statusBar().currentMessage()
    assert "stopped unexpectedly" in message
    assert "the connector exploded" in message
    win.runner.wait()
    svc.store.close()


def test_needs_attention_lists_brands_breaking_my_terms_and_ending_permissions(
    qtbot: Any, window: MainWindow
) -> None:
    import datetime as dt

    from cmr_desktop.domain import DataCategory, Decision, Grant, Purpose
    from cmr_desktop.domain.policy import MyTerms, NoChannel
    from tests.conftest import NOW

    svc = window.services
    svc.preferences.set_policy(MyTerms.of([NoChannel(Channel.SMS)]))
    svc.preferences.update_preferences("shop-003", lambda p: p.with_channel(Channel.SMS, False))
    ends = NOW.date() + dt.timedelta(days=20)
    svc.preferences.update_preferences(
        "shop-004",
        lambda p: p.with_grant(
            DataCategory.CONTACT, Purpose.MARKETING, Grant(Decision.ALLOW, ends)
        ),
    )
    window.reload()

    def labels() -> list[str]:
        return [window.sidebar.item(i).text().strip() for i in range(window.sidebar.count())]

    qtbot.waitUntil(lambda: "Breaks My Terms  12" in labels(), timeout=5000)
    assert "Permission ends soon  1" in labels()
    window.sidebar.setCurrentRow(labels().index("Permission ends soon  1"))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=10_000)
    assert window.model.row_at(0).slug == "shop-004"
    window.sidebar.setCurrentRow(labels().index("Breaks My Terms  12"))
    qtbot.waitUntil(lambda: window.model.rowCount() == 12, timeout=10_000)
    shown = {window.model.row_at(i).slug for i in range(12)}
    assert "shop-003" not in shown  # it said no to SMS
