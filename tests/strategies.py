"""Hypothesis strategies for the domain: preference sets, their fields, and My Terms rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from cmr_desktop.domain import (
    Channel,
    DataCategory,
    Decision,
    Frequency,
    Grant,
    PreferenceSet,
    Purpose,
    QuietHours,
)
from cmr_desktop.domain.policy import GrantMaxMonths, MaxFrequency, NeverPurpose, NoChannel

#: A few vendor topic ids (all valid per ``check_topic_id``).
TOPIC_IDS: tuple[str, ...] = ("news", "offers", "product.updates", "surveys-2025")

#: Every (data category, purpose) pair of the vocabulary.
ALL_GRANT_KEYS: tuple[tuple[DataCategory, Purpose], ...] = tuple(
    (c, p) for c in DataCategory for p in Purpose
)

#: A handful of grant keys, so that independently drawn sets share fields often.
FEW_GRANT_KEYS: tuple[tuple[DataCategory, Purpose], ...] = tuple(
    (c, p)
    for c in (DataCategory.CONTACT, DataCategory.LOCATION, DataCategory.PURCHASE_HISTORY)
    for p in (Purpose.MARKETING, Purpose.SALE, Purpose.ANALYTICS)
)

channels = st.sampled_from(list(Channel))
frequencies = st.sampled_from(list(Frequency))
topic_ids = st.sampled_from(TOPIC_IDS)
expiry_dates = st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2028, 12, 31))


def grants(dates: st.SearchStrategy[dt.date] = expiry_dates) -> st.SearchStrategy[Grant]:
    """A deny (never with an expiry: Grant forbids it) or an allow with an optional expiry."""
    return st.one_of(
        st.just(Grant(Decision.DENY)),
        st.builds(Grant, st.just(Decision.ALLOW), st.none() | dates),
    )


@st.composite
def quiet_hours(draw: st.DrawFn) -> QuietHours:
    """A window on whole minutes whose start and end differ (what QuietHours.parse accepts)."""
    start = draw(st.integers(0, 24 * 60 - 1))
    width = draw(st.integers(1, 24 * 60 - 1))
    end = (start + width) % (24 * 60)
    return QuietHours(dt.time(start // 60, start % 60), dt.time(end // 60, end % 60))


@st.composite
def preference_sets(
    draw: st.DrawFn,
    grant_keys: Sequence[tuple[DataCategory, Purpose]] = ALL_GRANT_KEYS,
    max_grants: int = 6,
) -> PreferenceSet:
    """Any valid preference set (every field optional)."""
    return PreferenceSet(
        channels=draw(st.dictionaries(channels, st.booleans(), max_size=len(Channel))),
        frequencies=draw(st.dictionaries(channels, frequencies, max_size=len(Channel))),
        topics=draw(st.dictionaries(topic_ids, st.booleans(), max_size=len(TOPIC_IDS))),
        grants=draw(
            st.dictionaries(st.sampled_from(list(grant_keys)), grants(), max_size=max_grants)
        ),
        quiet_hours=draw(st.none() | quiet_hours()),
    )


def field_keys(
    grant_keys: Sequence[tuple[DataCategory, Purpose]] = FEW_GRANT_KEYS,
) -> st.SearchStrategy[tuple[Any, ...]]:
    """A field key of a preference set (see ``FieldKey`` in preferences.py)."""
    return st.one_of(
        st.tuples(st.just("channel"), channels),
        st.tuples(st.just("frequency"), channels),
        st.tuples(st.just("topic"), topic_ids),
        st.sampled_from([("grant", c, p) for c, p in grant_keys]),
        st.just(("quiet_hours",)),
    )


def field_values(key: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """A decided value for the field ``key``."""
    kind = key[0]
    if kind in ("channel", "topic"):
        return st.booleans()
    if kind == "frequency":
        return frequencies
    if kind == "grant":
        return grants()
    return quiet_hours()


@st.composite
def edited(
    draw: st.DrawFn,
    prefs: PreferenceSet,
    grant_keys: Sequence[tuple[DataCategory, Purpose]] = FEW_GRANT_KEYS,
) -> PreferenceSet:
    """``prefs`` with a few fields set to another value or removed."""
    out = prefs
    for key in draw(st.lists(field_keys(grant_keys), max_size=5)):
        value = draw(st.none() | field_values(key))
        out = out.replace_field(key, value)  # type: ignore[arg-type]
    return out


@st.composite
def merge_inputs(
    draw: st.DrawFn,
) -> tuple[PreferenceSet | None, PreferenceSet, PreferenceSet]:
    """(base, local, remote): local and remote are often edits of base, sometimes unrelated."""
    base = draw(preference_sets(grant_keys=FEW_GRANT_KEYS))

    def side() -> PreferenceSet:
        return draw(
            st.one_of(
                st.just(base),
                edited(base),
                preference_sets(grant_keys=FEW_GRANT_KEYS),
            )
        )

    local, remote = side(), side()
    # Now and then there is no base yet (first sync): the merge treats it as the empty set.
    return (None if draw(st.integers(0, 9)) == 0 else base), local, remote


rules = st.one_of(
    st.builds(NoChannel, channels),
    st.builds(MaxFrequency, channels, frequencies),
    st.builds(NeverPurpose, st.sampled_from(list(Purpose))),
    st.builds(GrantMaxMonths, st.integers(1, 120)),
)
