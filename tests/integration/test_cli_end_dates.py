"""`cmr prefs set --share ...=allow@DATE`: a new end date in the past, or a date that is not
one, is refused with one line that names the value and the rule; nothing is stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest


@pytest.mark.parametrize(
    ("value", "needles"),
    [
        (
            "allow@2020-01-01",
            ["'contact:marketing=allow@2020-01-01'", "2020-01-01 is in the past", "today"],
        ),
        ("allow@2026-13-45", ["'2026-13-45'", "there is no month 13", "YYYY-MM-DD"]),
        ("allow@2027-02-30", ["'2027-02-30'", "February 2027 has 28 days, not 30"]),
        ("allow@soon", ["'soon'", "expected YYYY-MM-DD"]),
    ],
)
def test_a_past_or_impossible_end_date_is_refused_in_one_line_and_nothing_is_stored(
    cmr: Any, value: str, needles: list[str]
) -> None:
    assert cmr("brand", "add", "Acme").code == 0
    res = cmr("prefs", "set", "acme", "--share", f"contact:marketing={value}")
    assert res.code != 0, res
    lines = res.err.strip().splitlines()
    assert len(lines) == 1, res
    assert "Traceback" not in res.err
    for needle in needles:
        assert needle in lines[0], res
    shown = cmr("brand", "show", "acme", "--json").json()
    assert shown["preferences"]["grants"] == []


def test_an_end_date_of_today_or_later_is_stored(cmr: Any) -> None:
    assert cmr("brand", "add", "Acme").code == 0
    today = dt.datetime.now(dt.UTC).date()
    for day in (today, today + dt.timedelta(days=400)):
        res = cmr("prefs", "set", "acme", "--share", f"contact:marketing=allow@{day}", "--json")
        assert res.code == 0, res
        grants = res.json()["preferences"]["grants"]
        assert grants == [
            {
                "category": "contact",
                "purpose": "marketing",
                "decision": "allow",
                "expires": day.isoformat(),
            }
        ]
