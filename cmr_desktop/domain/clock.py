"""An injectable clock, so expiry and timestamps can be tested without waiting."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    """Tells the current time (timezone-aware, UTC)."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock that stands still until told otherwise (for tests and the demo)."""

    def __init__(self, when: dt.datetime) -> None:
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        self._when = when.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self._when

    def advance(self, delta: dt.timedelta) -> None:
        self._when += delta


def today(clock: Clock) -> dt.date:
    """The customer's date for ``clock``: the date where they are (this machine's time zone),
    as a permission's last day and "today" in messages mean it; not the UTC date, which is
    already tomorrow on an evening west of Greenwich."""
    return clock.now().astimezone().date()
