"""Properties of the three-way merge (ARCHITECTURE 3.6) and of the restrictiveness order.

The order is checked against an oracle written here straight from ARCHITECTURE 3.6, so a
mistake in ``merge.restrictiveness`` cannot hide behind the merge that uses it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cmr_desktop.domain import (
    Channel,
    DataCategory,
    Decision,
    Frequency,
    Grant,
    Outcome,
    PreferenceSet,
    Purpose,
    QuietHours,
    three_way_merge,
)
from cmr_desktop.domain.merge import at_least_as_restrictive, more_restrictive
from tests.strategies import FEW_GRANT_KEYS, field_keys, field_values, merge_inputs, preference_sets

MERGE = settings(deadline=None)  # examples: the profile (tests/conftest.py)

# --- an independent oracle for ARCHITECTURE 3.6 ----------------------------------------

#: Most restrictive first, literally as the architecture lists it.
SPEC_FREQUENCY_ORDER = ["quarterly", "monthly", "weekly", "daily", "realtime"]


def _width(q: QuietHours) -> int:
    start = q.start.hour * 60 + q.start.minute
    end = q.end.hour * 60 + q.end.minute
    return (end - start) % (24 * 60)


def spec_more_restrictive(key: tuple[Any, ...], a: Any, b: Any) -> bool:
    """``a`` is strictly more restrictive than ``b`` for field ``key``, per ARCHITECTURE 3.6.

    An absent value is the vendor's default: the least restrictive thing to assume.
    """
    if a == b or a is None:
        return False
    if b is None:
        return True
    kind = key[0]
    if kind in ("channel", "topic"):
        return a is False and b is True  # off < on
    if kind == "frequency":
        return SPEC_FREQUENCY_ORDER.index(a.value) < SPEC_FREQUENCY_ORDER.index(b.value)
    if kind == "grant":
        if a.decision is Decision.DENY or b.decision is Decision.DENY:
            return a.decision is Decision.DENY and b.decision is Decision.ALLOW
        return a.expires is not None and (b.expires is None or a.expires < b.expires)
    # Quiet hours: stricter only when the window covers every minute of the other one (a
    # wider window elsewhere in the day would let brands call when the customer said no).
    return _covers(a, b)


def _covers(a: QuietHours, b: QuietHours) -> bool:
    def minutes(q: QuietHours) -> set[int]:
        start = q.start.hour * 60 + q.start.minute
        return {(start + i) % 1440 for i in range(_width(q))}

    return minutes(b) <= minutes(a)


def spec_at_least_as_restrictive(key: tuple[Any, ...], a: Any, b: Any) -> bool:
    return a == b or spec_more_restrictive(key, a, b)


def all_keys(*sets: PreferenceSet | None) -> set[tuple[Any, ...]]:
    keys: set[tuple[Any, ...]] = set()
    for s in sets:
        if s is not None:
            keys |= set(s.fields())
    return keys


def as_set(base: PreferenceSet | None) -> PreferenceSet:
    return base if base is not None else PreferenceSet()


EMPTY = PreferenceSet()
SMS_OFF = PreferenceSet(channels={Channel.SMS: False})
SMS_ON = PreferenceSet(channels={Channel.SMS: True})


# --- 1. never loses a decision -------------------------------------------------------------


@MERGE
@given(merge_inputs())
def test_never_loses_a_decision(inputs: tuple[Any, PreferenceSet, PreferenceSet]) -> None:
    base, local, remote = inputs
    result = three_way_merge(base, local, remote)
    b = as_set(base)
    for key, value in local.fields().items():
        if value != b.get(key):  # the customer decided it since the last agreement
            assert result.merged.get(key) == value, key
            assert result.decisions.get(key) == value, key


# --- 2. never less restrictive than a decision --------------------------------------------


@MERGE
@given(merge_inputs())
def test_never_less_restrictive_than_a_decision(
    inputs: tuple[Any, PreferenceSet, PreferenceSet],
) -> None:
    base, local, remote = inputs
    result = three_way_merge(base, local, remote)
    for key, value in local.fields().items():
        for out in (result.merged, result.decisions):
            assert at_least_as_restrictive(key, out.get(key), value), (key, out.get(key), value)


@MERGE
@given(merge_inputs())
@example((SMS_OFF, SMS_OFF, SMS_ON))
def test_never_less_restrictive_than_a_decision_by_the_spec(
    inputs: tuple[Any, PreferenceSet, PreferenceSet],
) -> None:
    base, local, remote = inputs
    merged = three_way_merge(base, local, remote).merged
    for key, value in local.fields().items():
        assert spec_at_least_as_restrictive(key, merged.get(key), value), (
            key,
            merged.get(key),
            value,
        )


# --- 3. undecided stays undecided ------------------------------------------------------------


@MERGE
@given(merge_inputs())
@example((SMS_ON, PreferenceSet(), SMS_ON))  # the vendor allows SMS; the customer never said
@example((None, PreferenceSet(), SMS_OFF))
def test_undecided_stays_undecided_and_is_sent_as_the_vendor_has_it(
    inputs: tuple[Any, PreferenceSet, PreferenceSet],
) -> None:
    """A vendor's value never becomes a decision: the decisions after a merge have exactly
    the fields the customer decided, and an undecided field goes to the vendor unchanged."""
    base, local, remote = inputs
    result = three_way_merge(base, local, remote)
    assert set(result.decisions.fields()) == set(local.fields())
    for key in all_keys(base, local, remote) - set(local.fields()):
        assert result.merged.get(key) == remote.get(key), key
        assert key not in {c.key for c in result.changes}  # nothing to push, no drift


def test_a_first_sync_takes_no_vendor_default_as_a_decision() -> None:
    """The demo's bug: "Identifiers for sale" undecided became Allow after the first sync."""
    sale = ("grant", DataCategory.IDENTIFIERS, Purpose.SALE)
    vendor = PreferenceSet(
        channels={Channel.PUSH: True},
        topics={"offers": True},
        grants={(DataCategory.IDENTIFIERS, Purpose.SALE): Grant(Decision.ALLOW)},
    )
    decided = PreferenceSet(channels={Channel.EMAIL: True})
    result = three_way_merge(None, decided, vendor)
    assert result.decisions == decided
    assert result.merged.get(sale) == Grant(Decision.ALLOW)  # the vendor's, sent back as is
    assert [(c.key, c.outcome) for c in result.changes] == [
        (("channel", Channel.EMAIL), Outcome.PUSH)
    ]
    assert result.accepted == []


# --- 4. idempotent -------------------------------------------------------------------------


@MERGE
@given(merge_inputs())
def test_merge_is_idempotent(inputs: tuple[Any, PreferenceSet, PreferenceSet]) -> None:
    base, local, remote = inputs
    result = three_way_merge(base, local, remote)
    merged, decisions = result.merged, result.decisions

    # After a successful push the vendor holds `merged`: nothing left to do.
    settled = three_way_merge(merged, decisions, merged)
    assert settled.changes == ()
    assert settled.merged == merged
    assert settled.decisions == decisions
    assert not settled.needs_push

    # Merging the result again against the same base and remote is stable.
    again = three_way_merge(base, decisions, remote)
    assert again.merged == merged
    assert again.decisions == decisions


# --- local == remote: nothing to push --------------------------------------------------------


@MERGE
@given(st.one_of(st.none(), preference_sets(grant_keys=FEW_GRANT_KEYS)), preference_sets())
def test_nothing_to_push_when_local_equals_remote(
    base: PreferenceSet | None, both: PreferenceSet
) -> None:
    # A distinct but equal object for remote, so identity cannot be what the merge relies on.
    remote = PreferenceSet.from_dict(both.to_dict())
    result = three_way_merge(base, both, remote)
    assert result.to_push == []
    assert not result.needs_push
    assert result.changes == ()
    assert result.merged == both
    assert result.decisions == both


# --- 5. vendor-only changes: accepted when stricter, drift when looser ---------------------


@st.composite
def vendor_only_changes(draw: st.DrawFn) -> tuple[PreferenceSet, PreferenceSet]:
    """(base, remote): the customer has not touched base; the vendor changed some fields."""
    base = draw(preference_sets(grant_keys=FEW_GRANT_KEYS))
    remote = base
    for key in draw(st.lists(field_keys(FEW_GRANT_KEYS), min_size=1, max_size=6)):
        remote = remote.replace_field(key, draw(st.none() | field_values(key)))
    return base, remote


@MERGE
@given(vendor_only_changes())
def test_vendor_only_changes_follow_spec_order(
    inputs: tuple[PreferenceSet, PreferenceSet],
) -> None:
    """Frequencies, grants and quiet hours, judged by the ARCHITECTURE 3.6 oracle."""
    base, remote = inputs
    local = base
    result = three_way_merge(base, local, remote)
    by_key = {c.key: c for c in result.changes}
    keys = set(base.fields())  # the decided fields (local is base)
    changed = {
        k for k in keys if remote.get(k) != base.get(k) and not _frequency_of_off_channel(result, k)
    }
    assert set(by_key) == changed  # fields nobody changed, and undecided ones, are not reported

    for key in sorted(changed, key=str):
        if key[0] not in ("frequency", "grant", "quiet_hours"):
            continue
        change, rv, lv = by_key[key], remote.get(key), local.get(key)
        if spec_more_restrictive(key, rv, lv):
            assert change.outcome is Outcome.ACCEPTED, change
            assert result.merged.get(key) == rv
            assert result.decisions.get(key) == rv  # a tightening of a decided field is taken
        elif spec_more_restrictive(key, lv, rv):
            assert change.outcome is Outcome.DRIFT, change
            assert result.merged.get(key) == lv
            assert result.decisions.get(key) == lv
            assert key in {c.key for c in result.to_push}


@MERGE
@given(vendor_only_changes())
def test_vendor_only_changes_follow_the_modules_own_order(
    inputs: tuple[PreferenceSet, PreferenceSet],
) -> None:
    """Every field kind: the merge is consistent with ``more_restrictive``."""
    base, remote = inputs
    local = base
    result = three_way_merge(base, local, remote)
    by_key = {c.key: c for c in result.changes}
    for key in base.fields():
        if remote.get(key) == base.get(key) or _frequency_of_off_channel(result, key):
            assert key not in by_key
            continue
        expected = (
            Outcome.ACCEPTED
            if more_restrictive(key, remote.get(key), local.get(key))
            else Outcome.DRIFT
        )
        assert by_key[key].outcome is expected
        assert result.merged.get(key) == (
            remote.get(key) if expected is Outcome.ACCEPTED else local.get(key)
        )


def _frequency_of_off_channel(result: Any, key: tuple[Any, ...]) -> bool:
    return key[0] == "frequency" and result.merged.channels.get(key[1]) is False


def test_vendor_tightening_a_frequency_is_accepted_and_loosening_is_drift() -> None:
    base = PreferenceSet(frequencies={Channel.EMAIL: Frequency.WEEKLY})
    key = ("frequency", Channel.EMAIL)

    tighter = base.with_frequency(Channel.EMAIL, Frequency.MONTHLY)
    r = three_way_merge(base, base, tighter)
    assert [(c.key, c.outcome) for c in r.changes] == [(key, Outcome.ACCEPTED)]
    assert r.merged == tighter
    assert not r.needs_push

    looser = base.with_frequency(Channel.EMAIL, Frequency.DAILY)
    r = three_way_merge(base, base, looser)
    assert [(c.key, c.outcome) for c in r.changes] == [(key, Outcome.DRIFT)]
    assert r.merged == base
    assert [c.key for c in r.to_push] == [key]


@pytest.mark.parametrize("kind", ["channel", "topic"])
def test_vendor_turning_off_is_accepted_and_turning_on_is_drift(kind: str) -> None:
    key: tuple[Any, ...] = ("channel", Channel.SMS) if kind == "channel" else ("topic", "news")
    on = PreferenceSet().replace_field(key, True)  # type: ignore[arg-type]
    off = PreferenceSet().replace_field(key, False)  # type: ignore[arg-type]

    r = three_way_merge(on, on, off)  # the vendor turned it off: stricter
    assert [c.outcome for c in r.changes] == [Outcome.ACCEPTED]
    assert r.merged == off

    r = three_way_merge(off, off, on)  # the vendor turned it back on: looser
    assert [c.outcome for c in r.changes] == [Outcome.DRIFT]
    assert r.merged == off


def test_both_changed_customer_wins_and_is_pushed() -> None:
    base = PreferenceSet(frequencies={Channel.EMAIL: Frequency.WEEKLY})
    local = base.with_frequency(Channel.EMAIL, Frequency.DAILY)
    remote = base.with_frequency(Channel.EMAIL, Frequency.QUARTERLY)
    r = three_way_merge(base, local, remote)
    assert [c.outcome for c in r.changes] == [Outcome.CONFLICT]
    assert r.merged == local
    assert r.needs_push


def test_first_sync_without_base_pushes_local_choices() -> None:
    local = PreferenceSet(frequencies={Channel.EMAIL: Frequency.MONTHLY})
    r = three_way_merge(None, local, PreferenceSet())
    assert [c.outcome for c in r.changes] == [Outcome.PUSH]
    assert r.merged == local


# --- restrictiveness, example by example (ARCHITECTURE 3.6) -------------------------------


def test_frequency_order_quarterly_is_strictest() -> None:
    key = ("frequency", Channel.EMAIL)
    order = [
        Frequency.QUARTERLY,
        Frequency.MONTHLY,
        Frequency.WEEKLY,
        Frequency.DAILY,
        Frequency.REALTIME,
    ]
    for i, stricter in enumerate(order):
        for looser in order[i + 1 :]:
            assert more_restrictive(key, stricter, looser), (stricter, looser)
            assert not more_restrictive(key, looser, stricter), (looser, stricter)
        assert not more_restrictive(key, stricter, stricter)
        assert more_restrictive(key, stricter, None)  # absent = vendor default


def test_deny_is_stricter_than_any_allow() -> None:
    key = ("grant", DataCategory.LOCATION, Purpose.ADVERTISING)
    deny = Grant(Decision.DENY)
    for allow in (Grant(Decision.ALLOW), Grant(Decision.ALLOW, dt.date(2026, 1, 1))):
        assert more_restrictive(key, deny, allow)
        assert not more_restrictive(key, allow, deny)


def test_earlier_expiry_is_stricter_than_later_or_none() -> None:
    key = ("grant", DataCategory.LOCATION, Purpose.ADVERTISING)
    early = Grant(Decision.ALLOW, dt.date(2026, 6, 30))
    late = Grant(Decision.ALLOW, dt.date(2027, 6, 30))
    forever = Grant(Decision.ALLOW)
    assert more_restrictive(key, early, late)
    assert more_restrictive(key, early, forever)
    assert more_restrictive(key, late, forever)
    assert not more_restrictive(key, late, early)
    assert not more_restrictive(key, forever, early)


def test_quiet_hours_are_stricter_only_when_they_cover_the_other_window() -> None:
    key = ("quiet_hours",)
    narrow = QuietHours.parse("22:00-07:00")  # 9 h, over midnight
    wide = QuietHours.parse("20:00-08:00")  # 12 h, covers narrow
    daytime = QuietHours.parse("08:30-20:00")  # 11.5 h, wider than narrow but by day
    assert more_restrictive(key, wide, narrow)
    assert not more_restrictive(key, narrow, wide)
    assert not more_restrictive(key, daytime, narrow)  # wider, yet allows calls at night
    assert not more_restrictive(key, narrow, daytime)
    assert more_restrictive(key, daytime, None)
    base = PreferenceSet(quiet_hours=narrow)
    result = three_way_merge(base, base, PreferenceSet(quiet_hours=daytime))
    assert [c.outcome for c in result.changes] == [Outcome.DRIFT]
    assert result.merged.quiet_hours == narrow


def test_an_off_channels_frequency_is_neither_drift_nor_taken_over() -> None:
    base = PreferenceSet(
        channels={Channel.EMAIL: True}, frequencies={Channel.EMAIL: Frequency.WEEKLY}
    )
    remote = PreferenceSet(channels={Channel.EMAIL: False})  # vendor turned it off, dropped freq
    result = three_way_merge(base, base, remote)
    assert [(c.key, c.outcome) for c in result.changes] == [
        (("channel", Channel.EMAIL), Outcome.ACCEPTED)
    ]
    assert result.merged.channels[Channel.EMAIL] is False
    assert result.merged.frequencies[Channel.EMAIL] is Frequency.WEEKLY  # the choice is kept


@pytest.mark.parametrize("key", [("channel", Channel.SMS), ("topic", "news")])
def test_off_is_stricter_than_on(key: tuple[Any, ...]) -> None:
    assert more_restrictive(key, False, True)
    assert not more_restrictive(key, True, False)


@MERGE
@given(field_keys().filter(lambda k: k[0] not in ("channel", "topic")), st.data())
def test_order_matches_the_spec_for_non_boolean_fields(key: tuple[Any, ...], data: Any) -> None:
    a = data.draw(st.none() | field_values(key))
    b = data.draw(st.none() | field_values(key))
    assert more_restrictive(key, a, b) == spec_more_restrictive(key, a, b), (key, a, b)


# --- required topics -----------------------------------------------------------------------


def test_required_topic_is_sent_on_and_the_decision_left_alone() -> None:
    off = PreferenceSet(topics={"service.updates": False})
    r = three_way_merge(None, off, off, required_topics=["service.updates"])
    assert r.merged.topics["service.updates"] is True
    assert r.decisions == off  # the customer's word is kept; the vendor must send it anyway
    assert r.needs_push  # the vendor is told it is on


@pytest.mark.parametrize("remote_value", [False, None])
def test_required_topic_stays_on_and_never_drifts(remote_value: bool | None) -> None:
    on = PreferenceSet(topics={"service.updates": True})
    remote = on.with_topic("service.updates", remote_value)
    r = three_way_merge(on, on, remote, required_topics=["service.updates"])
    assert r.merged.topics.get("service.updates") is True
    assert r.drift == []
