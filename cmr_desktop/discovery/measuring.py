"""How often a brand really writes, against what the customer allows, and the deadline a
brand has after an unsubscribe. Measured figures are the vendor's behaviour, never a
decision of the customer's.

**Rate.** ``per_week`` is the number of distinct messages dated within the window divided by
the window in weeks. The window is the last ``days`` days (90 by default), shortened to the
span the mailbox actually covers (from its oldest stored brand message to now, at least one
week): a 30-day export is not read as a third of the real rate.

**Allowed per week** for the customer's chosen e-mail frequency: realtime has no limit;
daily 7; weekly 1; monthly 12/52; quarterly 4/52; no frequency chosen: no limit. E-mail
refused: 0, but never flagged as over the limit for that alone: a brand can only be blamed
once it was told (see the unsubscribe deadline).

**Tolerance.** A brand is over the limit when, within the window, it sent more than the
allowance times :data:`TOLERANCE` (1.25) plus one message: a weekly brand may send an extra
message now and then; small counts are not flagged for one message too many. The
frequency suggested to pre-fill the dialog is the most restrictive one the measured count
is within (with the same tolerance), so taking the suggestion never flags the brand.

**Deadline after an unsubscribe**: 48 hours for RFC 8058 one-click (the large mailbox
providers' bulk-sender rules); 10 business days (Monday to Friday; public holidays are not
known, so the deadline is never later than the law's) for ``mailto`` and web unsubscribes
(CAN-SPAM). Messages dated after the deadline are the evidence.
"""

from __future__ import annotations

import datetime as dt

from cmr_desktop.domain.vocabulary import Frequency

#: Measured counts may exceed the allowance by this factor (plus one message) before a
#: brand is flagged as writing more often than allowed.
TOLERANCE = 1.25
#: One-click unsubscribes must be honoured within this time.
ONE_CLICK_DEADLINE = dt.timedelta(hours=48)
#: Other unsubscribes (mailto, web) within this many business days.
BUSINESS_DAYS = 10

_PER_WEEK: dict[Frequency, float | None] = {
    Frequency.REALTIME: None,
    Frequency.DAILY: 7.0,
    Frequency.WEEKLY: 1.0,
    Frequency.MONTHLY: 12 / 52,
    Frequency.QUARTERLY: 4 / 52,
}


def allowed_per_week(frequency: Frequency | None) -> float | None:
    """Messages per week ``frequency`` allows (None: no limit)."""
    return _PER_WEEK[frequency] if frequency is not None else None


def window_weeks(days: int, oldest: dt.datetime | None, now: dt.datetime) -> float:
    """The measuring window in weeks: ``days``, shortened to what the mailbox covers
    (``oldest``: its oldest stored message), at least one week."""
    span = days / 7
    if oldest is not None:
        span = min(span, (now - oldest).total_seconds() / (7 * 86400))
    return max(span, 1.0)


def _within(count: int, per_week: float | None, weeks: float) -> bool:
    return per_week is None or count <= per_week * weeks * TOLERANCE + 1


def over_limit(count: int, weeks: float, frequency: Frequency | None) -> bool:
    """Whether ``count`` messages in ``weeks`` are more than ``frequency`` allows (with the
    tolerance)."""
    return not _within(count, allowed_per_week(frequency), weeks)


def suggest_frequency(count: int, weeks: float) -> Frequency:
    """The most restrictive frequency ``count`` messages in ``weeks`` keep to (tolerance
    included); a pre-fill for the customer's choice, never a choice itself."""
    for frequency in sorted(Frequency, key=lambda f: f.rank):
        if _within(count, allowed_per_week(frequency), weeks):
            return frequency
    return Frequency.REALTIME  # pragma: no cover - realtime has no limit


def add_business_days(start: dt.datetime, days: int) -> dt.datetime:
    """``start`` plus ``days`` weekdays (Saturdays and Sundays not counted), same time."""
    current = start
    left = days
    while left > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def deadline_after(method: str, at: dt.datetime) -> dt.datetime:
    """When a brand must have stopped writing after an unsubscribe by ``method`` at ``at``:
    48 hours for ``one-click``, 10 business days otherwise."""
    if method == "one-click":
        return at + ONE_CLICK_DEADLINE
    return add_business_days(at, BUSINESS_DAYS)
