"""End dates of a permission in the editor: "no end" is a choice of its own, the calendar
opens at today, a past day or text that is not a date is refused with a message in the
window and nothing is stored; a permission that has ended still shows as ended."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QDate

from cmr_desktop.domain import Decision, Grant
from cmr_desktop.ui.editor import EndDateField
from cmr_desktop.ui.main_window import MainWindow
from tests.ui import words_fixtures
from tests.ui.test_editor import _choose
from tests.ui.words_fixtures import ENDED, PAIR, select, stored_grant

small_window = words_fixtures.small_window  # the fixture


def _field(window: MainWindow, pair: Any = PAIR) -> EndDateField:
    return window.editor.use_rows[pair][1]


def _type(field: EndDateField, text: str) -> None:
    field.edit.setText(text)
    field.edit.editingFinished.emit()


def test_no_end_is_an_explicit_choice_and_both_choices_are_stored(
    qtbot: Any, small_window: MainWindow
) -> None:
    window = small_window
    select(qtbot, window, "contoso-bank")
    field = _field(window)
    assert field.mode.currentText() == "No end"
    assert [field.mode.itemText(i) for i in range(field.mode.count())] == ["No end", "Until…"]
    assert not field.edit.isVisibleTo(window)  # no hidden date stands for "no end"
    day = window.services.today() + dt.timedelta(days=90)
    _choose(field.mode, "until")
    assert field.edit.isVisibleTo(window)
    assert stored_grant(window, "contoso-bank", PAIR) == Grant(Decision.ALLOW)  # no day yet
    _type(field, day.isoformat())
    qtbot.waitUntil(
        lambda: stored_grant(window, "contoso-bank", PAIR) == Grant(Decision.ALLOW, day),
        timeout=10_000,
    )
    _choose(_field(window).mode, None)
    qtbot.waitUntil(
        lambda: stored_grant(window, "contoso-bank", PAIR) == Grant(Decision.ALLOW),
        timeout=10_000,
    )
    assert _field(window).mode.currentText() == "No end"
    window.undo_stack.undo()
    qtbot.waitUntil(
        lambda: stored_grant(window, "contoso-bank", PAIR) == Grant(Decision.ALLOW, day),
        timeout=10_000,
    )
    assert _field(window).edit.text() == day.isoformat()


def test_the_calendar_opens_at_today_and_a_picked_day_is_stored(
    qtbot: Any, small_window: MainWindow
) -> None:
    window = small_window
    select(qtbot, window, "contoso-bank")
    field = _field(window)
    today = window.services.today()
    field.pick.click()  # opens the calendar (a popup)
    qtbot.waitUntil(field.menu.isVisible, timeout=5000)
    assert field.calendar.selectedDate() == QDate(today.year, today.month, today.day)
    assert (field.calendar.yearShown(), field.calendar.monthShown()) == (today.year, today.month)
    assert field.calendar.minimumDate() == QDate(today.year, today.month, today.day)
    picked = today + dt.timedelta(days=10)
    field.calendar.clicked.emit(QDate(picked.year, picked.month, picked.day))
    assert not field.menu.isVisible()
    qtbot.waitUntil(
        lambda: stored_grant(window, "contoso-bank", PAIR) == Grant(Decision.ALLOW, picked),
        timeout=10_000,
    )
    assert _field(window).mode.currentText() == "Until…"


def test_a_past_day_is_refused_with_a_message_and_nothing_is_stored(
    qtbot: Any, small_window: MainWindow
) -> None:
    window = small_window
    select(qtbot, window, "contoso-bank")
    field = _field(window)
    _choose(field.mode, "until")
    past = window.services.today() - dt.timedelta(days=1)
    _type(field, past.isoformat())
    assert field.message.isVisibleTo(window)
    assert field.message.property("problem") is True
    text = field.message.text()
    assert f"the end date {past.isoformat()} is in the past" in text
    assert "today" in text
    assert text.startswith("Not saved:")
    assert window.undo_stack.count() == 0
    assert stored_grant(window, "contoso-bank", PAIR) == Grant(Decision.ALLOW)
    # Fixing it stores it and the message goes.
    later = window.services.today() + dt.timedelta(days=5)
    _type(field, later.isoformat())
    qtbot.waitUntil(
        lambda: stored_grant(window, "contoso-bank", PAIR) == Grant(Decision.ALLOW, later),
        timeout=10_000,
    )
    assert not _field(window).message.isVisibleTo(window)


def test_typed_garbage_says_why_and_nothing_is_stored(qtbot: Any, small_window: MainWindow) -> None:
    window = small_window
    select(qtbot, window, "contoso-bank")
    field = _field(window)
    _choose(field.mode, "until")
    for text, why in (
        ("2026-13-45", "there is no month 13"),
        ("2027-02-30", "February 2027 has 28 days, not 30"),
        ("next week", "expected YYYY-MM-DD"),
    ):
        _type(field, text)
        assert field.message.isVisibleTo(window), text
        assert why in field.message.text()
        assert repr(text) in field.message.text()
    assert window.undo_stack.count() == 0
    assert stored_grant(window, "contoso-bank", PAIR) == Grant(Decision.ALLOW)


def test_a_permission_that_has_ended_loads_and_shows_as_ended(
    qtbot: Any, small_window: MainWindow
) -> None:
    window = small_window
    select(qtbot, window, "contoso-bank")
    grant = stored_grant(window, "contoso-bank", ENDED)
    assert grant.expires < window.services.today()
    field = _field(window, ENDED)
    assert field.mode.currentText() == "Until…"
    assert field.edit.text() == grant.expires.isoformat()
    assert field.message.isVisibleTo(window)
    assert field.message.text().startswith(f"Ended on {grant.expires.isoformat()}")
    assert field.message.property("problem") is False
    # Leaving the field unchanged is no new choice: nothing is refused or stored.
    field.edit.editingFinished.emit()
    assert window.undo_stack.count() == 0
    assert "Ended on" in field.message.text()


def test_a_reload_keeps_a_half_made_end_date(qtbot: Any, small_window: MainWindow) -> None:
    window = small_window
    select(qtbot, window, "contoso-bank")
    field = _field(window)
    _choose(field.mode, "until")
    window.editor.refresh()  # what a reload of the same brand does
    assert field.mode.currentText() == "Until…"
    assert field.edit.isVisibleTo(window)
    _type(field, "2026-13-45")
    window.editor.refresh()
    assert "there is no month 13" in field.message.text()
    assert field.edit.text() == "2026-13-45"
