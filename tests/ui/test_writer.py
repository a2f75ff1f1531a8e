"""The preference writer: undo commands hold data, every view saves through the writer, and a
save the store refuses rolls the view back and leaves no undo step that did not happen.

The refusals are real: a brand removed by a second Services on the same home, a value the
domain refuses, and a database another connection keeps locked (a store opened with a short
busy timeout, so the refusal comes at once).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtWidgets import QWidget
from sqlalchemy import event

from cmr_desktop.domain import Channel
from cmr_desktop.domain.clock import FixedClock
from cmr_desktop.domain.policy import MyTerms, NoChannel
from cmr_desktop.secrets import SecretStore
from cmr_desktop.services import DriftItem, PolicyChange, Services
from cmr_desktop.storage import DB_FILENAME, Store
from cmr_desktop.testing.simulator import VendorSimulator
from cmr_desktop.ui.brand_actions import RemoveCommand
from cmr_desktop.ui.editor import SetDetail, SetField
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.results import AcceptTheirs
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.terms import ApplyTerms, SetTerms
from cmr_desktop.ui.writer import (
    AcceptSave,
    FieldsSave,
    ManySave,
    Outcome,
    PreferenceWriter,
    SaveCommand,
    Step,
    TermsSave,
    brand_of,
)
from tests.conftest import NOW, open_services
from tests.ui.conftest import connect_brands, settle
from tests.ui.test_results import _sync, _tamper_email_on

SMS = ("channel", Channel.SMS)


def _show(qtbot: Any, window: MainWindow, slug: str) -> None:
    window.select_brand(slug)
    editor = window.editor
    qtbot.waitUntil(
        lambda: editor.slug == slug and editor.isEnabled() and editor.catalog_known,
        timeout=10_000,
    )
    settle(qtbot, window.runner)  # the brand's stored values are shown


def _stored_sms(services: Services, slug: str) -> bool | None:
    value: bool | None = services.brands.get_brand(slug).brand.preferences.channels.get(Channel.SMS)
    return value


def _state(window: MainWindow, channel: Channel = Channel.SMS) -> Qt.CheckState:
    return window.editor.switches[channel].checkState()


class Outcomes:
    """Every outcome the writer reports, in order."""

    def __init__(self, writer: PreferenceWriter) -> None:
        self.asked: list[Outcome] = []
        self.stored: list[Outcome] = []
        self.refused: list[Outcome] = []
        writer.asked.connect(self.asked.append)
        writer.stored.connect(self.stored.append)
        writer.refused.connect(self.refused.append)

    def answered(self) -> int:
        return len(self.stored) + len(self.refused)


# --- commands hold data -------------------------------------------------------------------


def _widgets_in(value: Any, seen: set[int] | None = None) -> list[str]:
    """The widgets ``value`` holds: in its attributes, containers and dataclass fields
    (a QObject is not looked into: it is named, not walked)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, QWidget):
        return [type(value).__name__]
    if isinstance(value, QObject):
        return []
    if isinstance(value, dict):
        items: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = [getattr(value, f.name) for f in dataclasses.fields(value)]
    elif hasattr(value, "__dict__"):
        items = list(vars(value).values())
    else:
        return []
    return [w for item in items for w in _widgets_in(item, seen)]


def _qobjects_in(command: Any) -> list[Any]:
    return [v for v in vars(command).values() if isinstance(v, QObject)]


def test_undo_commands_hold_data_and_no_widget(qtbot: Any, window: MainWindow) -> None:
    writer, svc = window.writer, window.services
    prefs = svc.brands.get_brand("shop-001").brand.preferences
    change = PolicyChange("shop-001", "Shop 001", prefs, prefs.with_channel(Channel.SMS, False), ())
    commands: list[SaveCommand] = [
        SetField(writer, "shop-001", SMS, None, False, name="Shop 001"),
        SetDetail(writer, "shop-001", "website", "", "https://shop.example"),
        AcceptTheirs(writer, "shop-001", "Shop 001", [DriftItem(SMS, "channel.sms", True, False)]),
        SetTerms(writer, MyTerms(), MyTerms.of([NoChannel(Channel.SMS)])),
        ApplyTerms(writer, [change]),
    ]
    for command in commands:
        assert _widgets_in(command) == [], type(command).__name__
        # The writer is the only object with behaviour a command holds; the rest is data.
        assert _qobjects_in(command) == [writer], type(command).__name__
    # The removal's undo (ui/brand_actions.py) holds what was removed and the brand actions
    # (a controller QObject that calls the services, like the writer), no widget either.
    removal = RemoveCommand(window.brand_actions, svc.brands.remove_brands(["corner-shop"]))
    assert _widgets_in(removal) == []
    assert _qobjects_in(removal) == [window.brand_actions]


# --- one writer for every view ------------------------------------------------------------


def test_undo_and_redo_across_the_editor_the_results_panel_and_my_terms_go_through_the_writer(
    qtbot: Any, window: MainWindow, sim: VendorSimulator
) -> None:
    svc, stack = window.services, window.undo_stack
    seen = Outcomes(window.writer)
    _sync(qtbot, window)
    _tamper_email_on(sim, 0)
    _sync(qtbot, window, verify=True)
    qtbot.waitUntil(lambda: bool(window.results.undecided("shop-000")), timeout=10_000)

    def email() -> bool | None:
        value: bool | None = svc.brands.get_brand("shop-000").brand.preferences.channels.get(
            Channel.EMAIL
        )
        return value

    # 1. The results panel: accept the vendor's e-mail "on".
    brand = window.results._brand_item("shop-000")
    assert brand is not None
    window.results.tree.setCurrentItem(brand.child(0))
    window.results.accept_theirs.click()
    qtbot.waitUntil(lambda: seen.answered() == 1, timeout=10_000)
    assert email() is True
    # 2. The editor, on the same brand: it shows the accepted value, then SMS off.
    _show(qtbot, window, "shop-000")
    assert _state(window, Channel.EMAIL) == Qt.CheckState.Checked
    window.editor._refuse(SMS)  # what its Refuse button does
    qtbot.waitUntil(lambda: seen.answered() == 2, timeout=10_000)
    assert _stored_sms(svc, "shop-000") is False
    # 3. My Terms: no phone calls.
    terms = window.show_terms()
    qtbot.waitUntil(terms.form.isEnabled, timeout=10_000)
    terms.never_channel[Channel.PHONE].click()
    qtbot.waitUntil(lambda: seen.answered() == 3, timeout=10_000)
    assert svc.preferences.policy().rules == (NoChannel(Channel.PHONE),)
    assert [type(o.save) for o in seen.asked] == [AcceptSave, FieldsSave, TermsSave]
    assert stack.count() == 3
    assert [stack.text(i) for i in range(3)] == [
        "Accept the vendor's values for Shop 000",
        "SMS of Shop 000",
        "My Terms: no phone calls anywhere",
    ]

    # Undo all three, newest first; each view shows what is stored.
    for expected in (3 + 1, 3 + 2, 3 + 3):
        stack.undo()
        qtbot.waitUntil(lambda n=expected: seen.answered() == n, timeout=10_000)
    assert svc.preferences.policy().rules == ()
    assert not terms.never_channel[Channel.PHONE].isChecked()
    assert _stored_sms(svc, "shop-000") is None
    assert email() is False
    qtbot.waitUntil(lambda: _state(window, Channel.EMAIL) == Qt.CheckState.Unchecked, timeout=5000)
    assert _state(window) == Qt.CheckState.PartiallyChecked
    child = brand.child(0)
    assert child.text(3) == "acceptance undone: yours again"
    # Redo all three, oldest first.
    for expected in (6 + 1, 6 + 2, 6 + 3):
        stack.redo()
        qtbot.waitUntil(lambda n=expected: seen.answered() == n, timeout=10_000)
    assert email() is True
    assert _stored_sms(svc, "shop-000") is False
    assert svc.preferences.policy().rules == (NoChannel(Channel.PHONE),)
    assert terms.never_channel[Channel.PHONE].isChecked()
    qtbot.waitUntil(lambda: _state(window, Channel.EMAIL) == Qt.CheckState.Checked, timeout=5000)
    assert _state(window) == Qt.CheckState.Unchecked
    assert child.text(3) == "accepted: sent at the next sync"
    assert seen.refused == []
    steps = [o.step for o in seen.stored]
    assert steps == [Step.DO] * 3 + [Step.UNDO] * 3 + [Step.REDO] * 3
    assert [type(o.save) for o in seen.stored[3:6]] == [TermsSave, FieldsSave, FieldsSave]
    assert [type(o.save) for o in seen.stored[6:]] == [AcceptSave, FieldsSave, TermsSave]


def test_applying_my_terms_and_its_undo_are_saved_through_the_writer(
    qtbot: Any, window: MainWindow
) -> None:
    seen = Outcomes(window.writer)
    terms = window.show_terms()
    qtbot.waitUntil(terms.form.isEnabled, timeout=10_000)
    before = window.services.brands.get_brand("shop-004").brand.preferences
    change = PolicyChange(
        "shop-004", "Shop 004", before, before.with_channel(Channel.SMS, False), ()
    )
    terms.apply([change])
    qtbot.waitUntil(lambda: seen.answered() == 1, timeout=10_000)
    assert _stored_sms(window.services, "shop-004") is False
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: seen.answered() == 2, timeout=10_000)
    assert _stored_sms(window.services, "shop-004") is None
    assert [type(o.save) for o in seen.stored] == [ManySave, ManySave]
    assert [o.changed for o in seen.stored] == [("shop-004",), ("shop-004",)]


# --- refused saves ------------------------------------------------------------------------


def test_a_save_refused_because_another_program_removed_the_brand_rolls_the_editor_back(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    seen = Outcomes(window.writer)
    _show(qtbot, window, "corner-shop")
    assert _state(window) == Qt.CheckState.PartiallyChecked  # undecided
    other = open_services(tmp_path / "home")  # another program on the same home
    try:
        other.brands.remove_brands(["corner-shop"])
    finally:
        other.store.close()
    window.editor.switches[Channel.SMS].click()  # allow SMS
    assert _state(window) == Qt.CheckState.Checked  # shown at once
    assert window.undo_stack.count() == 1
    qtbot.waitUntil(lambda: bool(seen.refused), timeout=10_000)
    [refused] = seen.refused
    assert refused.gone
    assert refused.dropped
    assert _state(window) == Qt.CheckState.PartiallyChecked  # rolled back
    assert window.undo_stack.count() == 0  # no step that did not happen
    assert not window.undo_stack.canUndo()
    assert not window.undo_stack.canRedo()
    message = window.statusBar().currentMessage()
    assert message == (
        "Not saved: SMS of Corner Shop: the brand is no longer stored (another window or the "
        "cmr command removed it)."
    )


def test_a_value_the_domain_refuses_leaves_no_undo_step(qtbot: Any, window: MainWindow) -> None:
    _show(qtbot, window, "corner-shop")
    window.editor._push(SMS, True)  # one step that is kept
    settle(qtbot, window.runner)
    notes = window.editor.detail_edits["notes"]
    notes.setText("bad\x00note")  # control characters are refused by the domain
    notes.editingFinished.emit()
    qtbot.waitUntil(lambda: "Not saved" in window.statusBar().currentMessage(), timeout=10_000)
    assert window.statusBar().currentMessage().startswith("Not saved: Notes of Corner Shop: ")
    assert notes.text() == ""
    assert window.undo_stack.count() == 1
    assert window.undo_stack.undoText() == "SMS of Corner Shop"


def test_a_step_refused_after_the_user_moved_on_is_dropped_without_running(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    """Two edits before the first one's answer: the first is refused (its brand was removed
    elsewhere) but is no longer the top step; the stack drops it when it gets there, and
    never asks to write its undo."""
    seen = Outcomes(window.writer)
    other = open_services(tmp_path / "home")
    try:
        other.brands.remove_brands(["shop-003"])
    finally:
        other.store.close()
    writer, stack = window.writer, window.undo_stack
    writer.push(SetField(writer, "shop-003", SMS, None, False, name="Shop 003"))
    writer.push(SetField(writer, "shop-004", SMS, None, False, name="Shop 004"))
    qtbot.waitUntil(lambda: seen.answered() == 2, timeout=10_000)
    assert [brand_of(o.save) for o in seen.refused] == ["shop-003"]
    assert stack.count() == 2
    assert stack.undoText() == "SMS of Shop 004"
    stack.undo()  # Shop 004
    qtbot.waitUntil(lambda: seen.answered() == 3, timeout=10_000)
    stack.undo()  # the refused step: dropped, not run
    assert stack.count() == 1
    assert not stack.canUndo()
    assert stack.redoText() == "SMS of Shop 004"
    settle(qtbot, window.runner)
    assert [(brand_of(o.save), o.step) for o in seen.asked] == [
        ("shop-003", Step.DO),
        ("shop-004", Step.DO),
        ("shop-004", Step.UNDO),
    ]


def _quick_to_give_up(home: Path) -> Services:
    """Services whose store gives up on a locked database at once (the default waits 15 s)."""
    store = Store(home, busy_timeout=0.2)
    return Services(store, SecretStore(), clock=FixedClock(NOW), app_version="test")


@pytest.fixture
def busy_window(qtbot: Any, tmp_path: Path) -> Iterator[MainWindow]:
    home = tmp_path / "home"
    svc = _quick_to_give_up(home)
    svc.brands.add_brand("Corner Shop", category="food")
    svc.brands.add_brand("Bakery", category="food")
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    win = MainWindow(svc, Runner(), settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.model.rowCount() == 2, timeout=5000)
    yield win
    settle(qtbot, win.runner)
    svc.store.close()


class Lock:
    """Another connection that holds the database's write lock until released."""

    def __init__(self, home: Path) -> None:
        self.con = sqlite3.connect(home / DB_FILENAME, isolation_level=None)
        self.con.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.con.rollback()
        self.con.close()


def test_a_save_refused_by_a_locked_database_rolls_the_editor_back_and_keeps_earlier_steps(
    qtbot: Any, busy_window: MainWindow, tmp_path: Path
) -> None:
    window, svc, stack = busy_window, busy_window.services, busy_window.undo_stack
    seen = Outcomes(window.writer)
    _show(qtbot, window, "corner-shop")
    window.editor.switches[Channel.EMAIL].click()  # allowed: stored
    qtbot.waitUntil(lambda: seen.answered() == 1, timeout=10_000)
    lock = Lock(tmp_path / "home")
    try:
        window.editor.switches[Channel.SMS].click()
        qtbot.waitUntil(lambda: seen.answered() == 2, timeout=10_000)
    finally:
        lock.release()
    assert _state(window) == Qt.CheckState.PartiallyChecked  # the stored value again
    assert _state(window, Channel.EMAIL) == Qt.CheckState.Checked
    assert stack.count() == 1
    assert stack.undoText() == "Email of Corner Shop"
    assert (
        window.statusBar()
        .currentMessage()
        .startswith("Not saved: SMS of Corner Shop: the database is busy")
    )
    assert _stored_sms(svc, "corner-shop") is None
    window.editor.switches[Channel.SMS].click()  # once it is free, the same edit is kept
    qtbot.waitUntil(lambda: seen.answered() == 3, timeout=10_000)
    assert _stored_sms(svc, "corner-shop") is True
    assert stack.count() == 2


def test_a_refused_undo_or_redo_puts_the_stack_back_so_it_can_be_tried_again(
    qtbot: Any, busy_window: MainWindow, tmp_path: Path
) -> None:
    window, svc, stack = busy_window, busy_window.services, busy_window.undo_stack
    seen = Outcomes(window.writer)
    _show(qtbot, window, "bakery")
    window.editor.switches[Channel.SMS].click()
    qtbot.waitUntil(lambda: seen.answered() == 1, timeout=10_000)
    lock = Lock(tmp_path / "home")
    try:
        stack.undo()
        qtbot.waitUntil(lambda: seen.answered() == 2, timeout=10_000)
    finally:
        lock.release()
    assert seen.refused[-1].step is Step.UNDO
    assert not seen.refused[-1].dropped
    assert window.statusBar().currentMessage().startswith("Not undone: SMS of Bakery: ")
    assert _stored_sms(svc, "bakery") is True
    assert _state(window) == Qt.CheckState.Checked  # what is stored
    assert (stack.count(), stack.index()) == (1, 1)  # still done: undo it again
    stack.undo()
    qtbot.waitUntil(lambda: seen.answered() == 3, timeout=10_000)
    assert _stored_sms(svc, "bakery") is None
    assert _state(window) == Qt.CheckState.PartiallyChecked
    lock = Lock(tmp_path / "home")
    try:
        stack.redo()
        qtbot.waitUntil(lambda: seen.answered() == 4, timeout=10_000)
    finally:
        lock.release()
    assert window.statusBar().currentMessage().startswith("Not redone: SMS of Bakery: ")
    assert _state(window) == Qt.CheckState.PartiallyChecked
    assert (stack.count(), stack.index()) == (1, 0)  # still undone: redo it again
    stack.redo()
    qtbot.waitUntil(lambda: seen.answered() == 5, timeout=10_000)
    assert _stored_sms(svc, "bakery") is True
    assert _state(window) == Qt.CheckState.Checked


def test_refused_terms_show_the_stored_terms_again_and_leave_no_undo_step(
    qtbot: Any, busy_window: MainWindow, tmp_path: Path
) -> None:
    window = busy_window
    seen = Outcomes(window.writer)
    terms = window.show_terms()
    qtbot.waitUntil(terms.form.isEnabled, timeout=10_000)
    lock = Lock(tmp_path / "home")
    try:
        terms.never_channel[Channel.SMS].click()
        assert terms.never_channel[Channel.SMS].isChecked()
        qtbot.waitUntil(lambda: seen.answered() == 1, timeout=10_000)
    finally:
        lock.release()
    assert not terms.never_channel[Channel.SMS].isChecked()  # as stored
    assert terms.terms == MyTerms()
    assert terms.problem.isVisibleTo(terms)
    assert terms.problem.text().startswith(
        "Not saved: My Terms: no SMS anywhere: the database is busy"
    )
    assert window.undo_stack.count() == 0
    assert window.services.preferences.policy() == MyTerms()
    terms.never_channel[Channel.SMS].click()
    qtbot.waitUntil(lambda: seen.answered() == 2, timeout=10_000)
    assert window.services.preferences.policy().rules == (NoChannel(Channel.SMS),)
    assert not terms.problem.isVisibleTo(terms)


def test_a_refused_acceptance_is_open_again_in_the_results_panel(
    qtbot: Any, tmp_path: Path, sim: VendorSimulator
) -> None:
    home = tmp_path / "home"
    svc = _quick_to_give_up(home)
    connect_brands(svc, sim, 2)
    win = MainWindow(svc, Runner(), QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    try:
        qtbot.waitUntil(lambda: win.model.rowCount() == 2, timeout=5000)
        seen = Outcomes(win.writer)
        _sync(qtbot, win)
        _tamper_email_on(sim, 1)
        _sync(qtbot, win, verify=True)
        qtbot.waitUntil(lambda: bool(win.results.undecided("shop-001")), timeout=10_000)
        brand = win.results._brand_item("shop-001")
        assert brand is not None
        win.results.tree.setCurrentItem(brand.child(0))
        lock = Lock(home)
        try:
            win.results.accept_theirs.click()
            assert not win.results.undecided("shop-001")  # shown as decided at once
            qtbot.waitUntil(lambda: seen.answered() == 1, timeout=10_000)
        finally:
            lock.release()
        assert len(win.results.undecided("shop-001")) == 1  # open again
        assert brand.child(0).text(3) == "put back to yours"
        assert brand.text(3).startswith("Drift: Not saved: Accept the vendor's values for Shop 001")
        assert win.results.accept_theirs.isEnabled()
        assert win.undo_stack.count() == 0
        win.results.accept_theirs.click()  # and it can be accepted once the database is free
        qtbot.waitUntil(lambda: seen.answered() == 2, timeout=10_000)
        assert (
            svc.brands.get_brand("shop-001").brand.preferences.channels.get(Channel.EMAIL) is True
        )
        assert win.undo_stack.count() == 1
    finally:
        settle(qtbot, win.runner)
        svc.store.close()


def test_a_database_that_cannot_be_written_is_named_and_the_editor_rolls_back(
    qtbot: Any, busy_window: MainWindow
) -> None:
    """SQLite itself refuses every write (``PRAGMA query_only`` on each new connection: what
    a read-only file does, and the tests run as a user that may write any file)."""
    window, svc = busy_window, busy_window.services
    _show(qtbot, window, "bakery")
    engine = svc.store.db.engine

    def read_only(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only = ON")

    event.listen(engine, "connect", read_only)
    engine.dispose()  # the connections opened so far may still write
    seen = Outcomes(window.writer)
    window.editor.switches[Channel.SMS].click()
    qtbot.waitUntil(lambda: seen.answered() == 1, timeout=10_000)
    assert window.statusBar().currentMessage() == (
        "Not saved: SMS of Bakery: the database cannot be written (the file or its folder is "
        "read-only)."
    )
    assert _state(window) == Qt.CheckState.PartiallyChecked
    assert window.undo_stack.count() == 0
    event.remove(engine, "connect", read_only)
    engine.dispose()


def test_a_refused_undo_answered_after_a_quick_redo_keeps_the_step_undoable(
    qtbot: Any, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl+Z then at once Ctrl+Y: the undo is refused (the store was busy), the redo is
    stored. The step is done, and stored: a later Ctrl+Z must still undo it."""
    from cmr_desktop.storage import StoreBusy

    seen = Outcomes(window.writer)
    writer, stack, svc = window.writer, window.undo_stack, window.services
    writer.push(SetField(writer, "shop-001", SMS, None, True, name="Shop 001"))
    qtbot.waitUntil(lambda: seen.answered() == 1, timeout=10_000)
    real = svc.preferences.update_preferences
    calls: list[int] = []

    def busy_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise StoreBusy("the database is busy")
        return real(*args, **kwargs)

    monkeypatch.setattr(svc.preferences, "update_preferences", busy_once)
    stack.undo()
    stack.redo()  # before the undo is answered
    qtbot.waitUntil(lambda: seen.answered() == 3, timeout=10_000)
    assert [o.step for o in seen.refused] == [Step.UNDO]
    assert _stored_sms(svc, "shop-001") is True
    assert (stack.count(), stack.index()) == (1, 1)
    assert stack.canUndo()
    assert stack.undoText() == "SMS of Shop 001"
    monkeypatch.setattr(svc.preferences, "update_preferences", real)
    stack.undo()
    qtbot.waitUntil(lambda: seen.answered() == 4, timeout=10_000)
    assert _stored_sms(svc, "shop-001") is None
