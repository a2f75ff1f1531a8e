"""Example tests (and a few properties) for the pure domain layer."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cmr_desktop.domain import (
    MANUAL_CONNECTOR,
    Brand,
    Channel,
    DataCategory,
    Decision,
    DomainError,
    FixedClock,
    Frequency,
    Grant,
    MyTerms,
    PreferenceSet,
    Purpose,
    QuietHours,
    RelationshipStatus,
    VocabularyError,
    slugify,
)
from cmr_desktop.domain.brand import check_slug
from cmr_desktop.domain.clock import today
from cmr_desktop.domain.merge import at_least_as_restrictive
from cmr_desktop.domain.policy import (
    GrantMaxMonths,
    MaxFrequency,
    NeverPurpose,
    NoChannel,
    add_months,
    rule_from_dict,
)
from cmr_desktop.domain.preferences import parse_date, parse_grant
from cmr_desktop.domain.vocabulary import parse
from tests.strategies import preference_sets, rules

PROPS = settings(deadline=None)  # examples: the profile (tests/conftest.py)
UTC = dt.UTC


# --- vocabulary -----------------------------------------------------------------------------


def test_vocabulary_ids_are_the_stable_contract() -> None:
    """ARCHITECTURE 3.3: these ids are used in exports, the CLI and the plugin API."""
    assert [c.value for c in Channel] == [
        "email",
        "sms",
        "phone",
        "postal",
        "push",
        "in_app",
        "messaging",
    ]
    assert {f.value for f in Frequency} == {"realtime", "daily", "weekly", "monthly", "quarterly"}
    assert [c.value for c in DataCategory] == [
        "contact",
        "identifiers",
        "purchase_history",
        "browsing",
        "location",
        "demographics",
        "financial",
        "health",
        "communications",
        "inferred_profile",
    ]
    assert [p.value for p in Purpose] == [
        "service",
        "personalization",
        "marketing",
        "analytics",
        "advertising",
        "third_party_sharing",
        "sale",
        "research",
        "ai_training",
    ]
    assert {d.value for d in Decision} == {"allow", "deny"}


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        (Channel, "channel"),
        (Frequency, "frequency"),
        (DataCategory, "data category"),
        (Purpose, "purpose"),
        (Decision, "decision"),
        (RelationshipStatus, "status"),
    ],
)
def test_parse_error_names_the_kind_and_lists_every_valid_id(kind: Any, name: str) -> None:
    with pytest.raises(VocabularyError) as info:
        parse(kind, "bogus-id")
    message = str(info.value)
    assert f"unknown {name} 'bogus-id'" in message
    for member in kind:
        assert member.value in message
    assert isinstance(info.value, DomainError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("kind", [Channel, Frequency, DataCategory, Purpose, Decision])
def test_parse_accepts_every_valid_id(kind: Any) -> None:
    for member in kind:
        assert parse(kind, member.value) is member


def test_parse_is_case_sensitive() -> None:
    with pytest.raises(VocabularyError, match="expected one of: email, sms"):
        parse(Channel, "Email")


# --- preference sets: immutability and round trip -------------------------------------------


def _sample() -> PreferenceSet:
    return PreferenceSet(
        channels={Channel.EMAIL: True, Channel.SMS: False},
        frequencies={Channel.EMAIL: Frequency.WEEKLY},
        topics={"news": True, "offers": False},
        grants={
            (DataCategory.LOCATION, Purpose.ADVERTISING): Grant(Decision.DENY),
            (DataCategory.CONTACT, Purpose.MARKETING): Grant(Decision.ALLOW, dt.date(2026, 6, 30)),
        },
        quiet_hours=QuietHours.parse("21:00-08:00"),
    )


@pytest.mark.parametrize(
    ("attr", "key", "value"),
    [
        ("channels", Channel.EMAIL, False),
        ("channels", Channel.PUSH, True),
        ("frequencies", Channel.EMAIL, Frequency.DAILY),
        ("topics", "news", False),
        ("grants", (DataCategory.LOCATION, Purpose.ADVERTISING), Grant(Decision.ALLOW)),
    ],
)
def test_preference_mappings_cannot_be_assigned_to(attr: str, key: Any, value: Any) -> None:
    prefs = _sample()
    before = prefs.to_dict()
    with pytest.raises(TypeError):
        getattr(prefs, attr)[key] = value
    with pytest.raises(TypeError):
        del getattr(prefs, attr)[key]
    assert prefs.to_dict() == before


def test_preference_set_attributes_are_frozen() -> None:
    prefs = _sample()
    with pytest.raises(dataclasses.FrozenInstanceError):
        prefs.quiet_hours = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        prefs.channels = {}  # type: ignore[misc]


def test_the_callers_dict_is_copied() -> None:
    channels = {Channel.EMAIL: True}
    prefs = PreferenceSet(channels=channels)
    channels[Channel.EMAIL] = False
    channels[Channel.SMS] = True
    assert dict(prefs.channels) == {Channel.EMAIL: True}


def test_a_callers_mapping_proxy_is_copied_too() -> None:
    backing = {Channel.EMAIL: True}
    prefs = PreferenceSet(channels=MappingProxyType(backing))
    backing[Channel.EMAIL] = False
    assert dict(prefs.channels) == {Channel.EMAIL: True}


def test_with_methods_return_new_sets_and_leave_the_original_alone() -> None:
    prefs = _sample()
    before = prefs.to_dict()
    changed = (
        prefs.with_channel(Channel.SMS, True)
        .with_frequency(Channel.EMAIL, None)
        .with_topic("offers", None)
        .with_grant(DataCategory.LOCATION, Purpose.ADVERTISING, None)
        .with_quiet_hours(None)
    )
    assert prefs.to_dict() == before
    assert changed.channels == {Channel.EMAIL: True, Channel.SMS: True}
    assert dict(changed.frequencies) == {}
    assert dict(changed.topics) == {"news": True}
    assert list(changed.grants) == [(DataCategory.CONTACT, Purpose.MARKETING)]
    assert changed.quiet_hours is None


def test_with_topic_checks_the_id() -> None:
    with pytest.raises(DomainError, match="invalid topic id 'Bad Topic'"):
        PreferenceSet().with_topic("Bad Topic", True)


def test_round_trip_of_a_known_set() -> None:
    prefs = _sample()
    data = prefs.to_dict()
    assert data["channels"] == {
        "email": {"enabled": True, "frequency": "weekly"},
        "sms": {"enabled": False},
    }
    assert data["quiet_hours"] == {"start": "21:00", "end": "08:00"}
    assert {
        "category": "contact",
        "purpose": "marketing",
        "decision": "allow",
        "expires": "2026-06-30",
    } in data["grants"]
    assert PreferenceSet.from_dict(data) == prefs
    assert PreferenceSet.from_dict({}) == PreferenceSet()


@PROPS
@given(preference_sets())
def test_to_dict_from_dict_round_trip(prefs: PreferenceSet) -> None:
    data = prefs.to_dict()
    again = PreferenceSet.from_dict(json.loads(json.dumps(data)))
    assert again == prefs
    assert hash(again) == hash(prefs)
    assert again.to_dict() == data
    assert PreferenceSet.from_fields(prefs.fields()) == prefs


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"channels": {"fax": {"enabled": True}}}, "unknown channel 'fax'"),
        ({"channels": {"email": {"frequency": "hourly"}}}, "unknown frequency 'hourly'"),
        ({"topics": {"Not A Topic": True}}, "invalid topic id"),
        (
            {"grants": [{"category": "dna", "purpose": "sale", "decision": "deny"}]},
            "unknown data category 'dna'",
        ),
        (
            {
                "grants": [
                    {
                        "category": "health",
                        "purpose": "sale",
                        "decision": "deny",
                        "expires": "2027-01-01",
                    }
                ]
            },
            "deny grant has no expiry",
        ),
        (
            {
                "grants": [
                    {
                        "category": "health",
                        "purpose": "sale",
                        "decision": "allow",
                        "expires": "soon",
                    }
                ]
            },
            "invalid date 'soon'",
        ),
        ({"quiet_hours": {"start": "25:00", "end": "08:00"}}, "invalid quiet hours"),
    ],
)
def test_from_dict_rejects_bad_values(data: dict[str, Any], match: str) -> None:
    with pytest.raises(DomainError, match=match):
        PreferenceSet.from_dict(data)


# --- grants and expiry ----------------------------------------------------------------------


def test_a_deny_grant_cannot_expire() -> None:
    with pytest.raises(DomainError, match="deny grant has no expiry"):
        Grant(Decision.DENY, dt.date(2027, 1, 1))


def test_an_allow_expiring_june_30_is_deny_on_july_1() -> None:
    key = (DataCategory.PURCHASE_HISTORY, Purpose.PERSONALIZATION)
    prefs = PreferenceSet(grants={key: Grant(Decision.ALLOW, dt.date(2026, 6, 30))})
    clock = FixedClock(dt.datetime(2026, 6, 30, 23, 59, tzinfo=UTC))

    # The expiry date is the last day the grant holds.
    assert prefs.effective_grants(today(clock)) == {key: Decision.ALLOW}
    assert prefs.expired_grants(today(clock)) == []
    assert prefs.with_expired_revoked(today(clock)) == prefs

    clock.advance(dt.timedelta(minutes=1))
    assert today(clock) == dt.date(2026, 7, 1)
    assert prefs.effective_grants(today(clock)) == {key: Decision.DENY}
    assert prefs.expired_grants(today(clock)) == [key]
    revoked = prefs.with_expired_revoked(today(clock))
    assert revoked.grants[key] == Grant(Decision.DENY)
    assert revoked.grants[key].expires is None
    # The original is untouched, and revoking again changes nothing.
    assert prefs.grants[key].decision is Decision.ALLOW
    assert revoked.with_expired_revoked(today(clock)) == revoked


def test_with_expired_revoked_leaves_other_grants_alone() -> None:
    expired = (DataCategory.CONTACT, Purpose.MARKETING)
    later = (DataCategory.CONTACT, Purpose.ANALYTICS)
    forever = (DataCategory.CONTACT, Purpose.SERVICE)
    denied = (DataCategory.HEALTH, Purpose.SALE)
    prefs = PreferenceSet(
        grants={
            expired: Grant(Decision.ALLOW, dt.date(2026, 6, 30)),
            later: Grant(Decision.ALLOW, dt.date(2026, 7, 1)),
            forever: Grant(Decision.ALLOW),
            denied: Grant(Decision.DENY),
        }
    )
    out = prefs.with_expired_revoked(today(FixedClock(dt.datetime(2026, 7, 1, 9, 0))))
    assert out.grants[expired] == Grant(Decision.DENY)
    assert out.grants[later] == prefs.grants[later]
    assert out.grants[forever] == prefs.grants[forever]
    assert out.grants[denied] == prefs.grants[denied]


def test_fixed_clock_treats_naive_time_as_utc() -> None:
    clock = FixedClock(dt.datetime(2026, 7, 1, 12, 0))
    assert clock.now() == dt.datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    clock.advance(dt.timedelta(days=1))
    assert clock.now() == dt.datetime(2026, 7, 2, 12, 0, tzinfo=UTC)


def test_today_is_the_utc_date_whatever_zone_the_clock_was_given() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    clock = FixedClock(dt.datetime(2026, 7, 1, 0, 30, tzinfo=plus_two))  # 2026-06-30 22:30 UTC
    assert today(clock) == dt.date(2026, 6, 30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("allow", Grant(Decision.ALLOW)),
        ("deny", Grant(Decision.DENY)),
        ("allow@2027-06-30", Grant(Decision.ALLOW, dt.date(2027, 6, 30))),
    ],
)
def test_parse_grant(text: str, expected: Grant) -> None:
    assert parse_grant(text) == expected
    assert str(parse_grant(text)) == text


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("deny@2027-06-30", DomainError, "a deny has no expiry date"),
        ("maybe", VocabularyError, "expected one of: allow, deny"),
        ("allow@2027-13-01", DomainError, "invalid date '2027-13-01'"),
        ("allow@27-06-30", DomainError, "expected YYYY-MM-DD"),
        ("allow@tomorrow", DomainError, "invalid date"),
    ],
)
def test_parse_grant_errors(text: str, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        parse_grant(text)


def test_parse_date() -> None:
    assert parse_date("2028-02-29") == dt.date(2028, 2, 29)
    with pytest.raises(DomainError, match="invalid date '2027-02-29'"):
        parse_date("2027-02-29")


# --- quiet hours ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end", "minutes"),
    [
        ("21:00-08:00", dt.time(21, 0), dt.time(8, 0), 11 * 60),
        (" 9:05 - 17:35 ", dt.time(9, 5), dt.time(17, 35), 8 * 60 + 30),
        ("00:00-23:59", dt.time(0, 0), dt.time(23, 59), 24 * 60 - 1),
    ],
)
def test_quiet_hours_parse(text: str, start: dt.time, end: dt.time, minutes: int) -> None:
    q = QuietHours.parse(text)
    assert (q.start, q.end, q.minutes) == (start, end, minutes)
    assert QuietHours.parse(str(q)) == q


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("9pm-8am", "expected HH:MM-HH:MM"),
        ("21:00", "expected HH:MM-HH:MM"),
        ("21:00-08:00-09:00", "expected HH:MM-HH:MM"),
        ("", "expected HH:MM-HH:MM"),
        ("24:00-08:00", "hours 0-23, minutes 0-59"),
        ("21:60-08:00", "hours 0-23, minutes 0-59"),
        ("21:00-21:00", "start and end are the same"),
    ],
)
def test_quiet_hours_parse_errors(text: str, match: str) -> None:
    with pytest.raises(DomainError, match=match):
        QuietHours.parse(text)


# --- brands ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Café Müller & Co", "cafe-muller-co"),
        ("ACME", "acme"),
        ("  --Hello,   World!--  ", "hello-world"),
        ("Zoë's 24/7 Store", "zoe-s-24-7-store"),
        ("x" * 70, "x" * 64),
        ("a" * 63 + " b", "a" * 63),  # cut at 64, then the trailing '-' goes
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


@pytest.mark.parametrize("name", ["", "   ", "!!!", "東京"])
def test_slugify_refuses_names_without_latin_letters_or_digits(name: str) -> None:
    with pytest.raises(DomainError, match="--slug"):
        slugify(name)


@PROPS
@given(st.text(max_size=100))
def test_slugify_output_is_always_a_valid_brand_id(name: str) -> None:
    try:
        slug = slugify(name)
    except DomainError:
        return
    assert check_slug(slug) == slug
    assert slugify(slug) == slug


def test_brand_defaults_and_tags() -> None:
    brand = Brand("acme", "Acme", tags=("shopping", "b&b", "shopping", "Deals"))
    assert brand.connector == MANUAL_CONNECTOR
    assert brand.is_manual
    assert brand.status is RelationshipStatus.ACTIVE
    assert brand.tags == ("Deals", "b&b", "shopping")  # unique and sorted
    prefs = PreferenceSet(channels={Channel.SMS: False})
    assert brand.with_preferences(prefs).preferences == prefs
    assert brand.preferences == PreferenceSet()
    assert not Brand("acme", "Acme", connector="openpref").is_manual


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"slug": "Acme", "name": "Acme"}, "invalid brand id 'Acme'"),
        ({"slug": "-acme", "name": "Acme"}, "invalid brand id"),
        ({"slug": "acme-", "name": "Acme"}, "invalid brand id"),
        ({"slug": "ac me", "name": "Acme"}, "invalid brand id"),
        ({"slug": "", "name": "Acme"}, "invalid brand id"),
        ({"slug": "a" * 65, "name": "Acme"}, "invalid brand id"),
        ({"slug": "acme", "name": "   "}, "empty name"),
        ({"slug": "acme", "name": "Acme", "tags": ("",)}, "invalid tag"),
        ({"slug": "acme", "name": "Acme", "tags": ("a/b",)}, "invalid tag"),
        ({"slug": "acme", "name": "Acme", "tags": ("x" * 41,)}, "invalid tag"),
    ],
)
def test_brand_validation(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(DomainError, match=match):
        Brand(**kwargs)


def test_brand_accepts_boundary_ids() -> None:
    assert Brand("a", "A").slug == "a"
    assert Brand("a" * 64, "A").slug == "a" * 64
    assert Brand("a", "A", tags=("x" * 40,)).tags == ("x" * 40,)


# --- My Terms -------------------------------------------------------------------------------

NO_SMS = NoChannel(Channel.SMS)
EMAIL_WEEKLY = MaxFrequency(Channel.EMAIL, Frequency.WEEKLY)
NEVER_SALE = NeverPurpose(Purpose.SALE)
TWELVE_MONTHS = GrantMaxMonths(12)
CLOCK = FixedClock(dt.datetime(2026, 1, 31, 10, 0, tzinfo=UTC))


def test_no_sms_anywhere() -> None:
    terms = MyTerms.of([NO_SMS])
    day = today(CLOCK)
    allowed = terms.evaluate(PreferenceSet(channels={Channel.SMS: True}), day, "Acme")
    assert [(v.rule, v.message) for v in allowed] == [("no SMS anywhere", "Acme may text you.")]
    undecided = terms.evaluate(PreferenceSet(), day, "Acme")
    assert [v.message for v in undecided] == ["Acme may still text you: you have not said no yet."]
    assert terms.evaluate(PreferenceSet(channels={Channel.SMS: False}), day) == []
    assert terms.apply(PreferenceSet(channels={Channel.SMS: True}), day).channels == {
        Channel.SMS: False
    }


@pytest.mark.parametrize(
    ("channels", "frequency", "violates"),
    [
        ({}, None, True),  # may email as often as it likes
        ({Channel.EMAIL: True}, Frequency.REALTIME, True),
        ({Channel.EMAIL: True}, Frequency.DAILY, True),
        ({Channel.EMAIL: True}, Frequency.WEEKLY, False),
        ({Channel.EMAIL: True}, Frequency.MONTHLY, False),
        ({}, Frequency.QUARTERLY, False),
        ({Channel.EMAIL: False}, Frequency.REALTIME, False),  # off: nothing to limit
    ],
)
def test_email_at_most_weekly(
    channels: dict[Channel, bool], frequency: Frequency | None, violates: bool
) -> None:
    prefs = PreferenceSet(channels=channels).with_frequency(Channel.EMAIL, frequency)
    terms = MyTerms.of([EMAIL_WEEKLY])
    found = terms.evaluate(prefs, today(CLOCK), "Acme")
    assert bool(found) is violates
    assert all(v.rule == "email at most weekly" for v in found)
    fixed = terms.apply(prefs, today(CLOCK))
    assert terms.evaluate(fixed, today(CLOCK)) == []
    if violates:
        assert fixed.frequencies[Channel.EMAIL] is Frequency.WEEKLY
    else:
        assert fixed == prefs  # unchanged when the terms are already kept


def test_never_sale() -> None:
    day = today(CLOCK)
    prefs = PreferenceSet(
        grants={
            (DataCategory.CONTACT, Purpose.SALE): Grant(Decision.ALLOW),
            (DataCategory.BROWSING, Purpose.SALE): Grant(Decision.ALLOW, dt.date(2027, 1, 1)),
            (DataCategory.LOCATION, Purpose.SALE): Grant(Decision.ALLOW, dt.date(2025, 12, 31)),
            (DataCategory.HEALTH, Purpose.SALE): Grant(Decision.DENY),
            (DataCategory.CONTACT, Purpose.MARKETING): Grant(Decision.ALLOW),
        }
    )
    terms = MyTerms.of([NEVER_SALE])
    found = terms.evaluate(prefs, day, "Acme")
    # The expired allow already reads as deny; the deny and the marketing grant are fine.
    assert [v.message for v in found] == [  # in (category id, purpose id) order
        "Acme may use browsing data for sale.",
        "Acme may use contact data for sale.",
        # 10 categories, 4 decided: an undecided use is the brand's default, like a channel
        "Acme may still use your data for sale: you have not said no for 6 kinds of data.",
    ]
    assert {v.rule for v in found} == {"never sale"}
    fixed = terms.apply(prefs, day)
    assert terms.evaluate(fixed, day) == []
    for (cat, purpose), grant in fixed.grants.items():
        if purpose is Purpose.SALE:
            assert grant == Grant(Decision.DENY), cat
    assert fixed.grants[(DataCategory.CONTACT, Purpose.MARKETING)] == Grant(Decision.ALLOW)


def test_grants_expire_after_n_months_uses_the_clocks_date() -> None:
    clock = FixedClock(dt.datetime(2026, 1, 31, 23, 0, tzinfo=UTC))
    limit = dt.date(2027, 1, 31)
    forever = (DataCategory.CONTACT, Purpose.MARKETING)
    too_late = (DataCategory.BROWSING, Purpose.ANALYTICS)
    on_limit = (DataCategory.LOCATION, Purpose.SERVICE)
    expired = (DataCategory.HEALTH, Purpose.RESEARCH)
    denied = (DataCategory.FINANCIAL, Purpose.SALE)
    prefs = PreferenceSet(
        grants={
            forever: Grant(Decision.ALLOW),
            too_late: Grant(Decision.ALLOW, limit + dt.timedelta(days=1)),
            on_limit: Grant(Decision.ALLOW, limit),
            expired: Grant(Decision.ALLOW, dt.date(2026, 1, 30)),
            denied: Grant(Decision.DENY),
        }
    )
    terms = MyTerms.of([TWELVE_MONTHS])
    found = terms.evaluate(prefs, today(clock), "Acme")
    assert [v.message for v in found] == [  # in (category id, purpose id) order
        "Acme may use browsing data for analytics until 2027-02-01.",
        "Acme may use contact data for marketing with no end date.",
    ]
    assert {v.rule for v in found} == {"grants expire after 12 months"}

    fixed = terms.apply(prefs, today(clock))
    assert terms.evaluate(fixed, today(clock)) == []
    assert fixed.grants[forever] == Grant(Decision.ALLOW, limit)
    assert fixed.grants[too_late] == Grant(Decision.ALLOW, limit)
    for key in (on_limit, expired, denied):
        assert fixed.grants[key] == prefs.grants[key]

    # A day later on the clock the limit moves, and the same grants are judged again.
    clock.advance(dt.timedelta(days=1))
    assert today(clock) == dt.date(2026, 2, 1)
    assert [v.message for v in terms.evaluate(prefs, today(clock), "Acme")] == [
        "Acme may use contact data for marketing with no end date.",
    ]


@pytest.mark.parametrize("months", [0, -1, 121])
def test_grant_lifetime_must_be_1_to_120_months(months: int) -> None:
    with pytest.raises(DomainError, match="1-120 months"):
        GrantMaxMonths(months)


def test_all_four_terms_together_are_fixed_by_apply() -> None:
    day = today(CLOCK)
    terms = MyTerms.of([NO_SMS, EMAIL_WEEKLY, NEVER_SALE, TWELVE_MONTHS])
    prefs = PreferenceSet(
        channels={Channel.SMS: True, Channel.EMAIL: True},
        frequencies={Channel.EMAIL: Frequency.DAILY},
        grants={
            (DataCategory.CONTACT, Purpose.SALE): Grant(Decision.ALLOW),
            (DataCategory.CONTACT, Purpose.MARKETING): Grant(Decision.ALLOW),
        },
    )
    # sms, email, sale, the undecided sale uses, and two open-ended grants
    assert len(terms.evaluate(prefs, day)) == 6
    fixed = terms.apply(prefs, day)
    assert terms.evaluate(fixed, day) == []
    assert terms.apply(fixed, day) == fixed


@PROPS
@given(
    st.lists(rules, max_size=6),
    preference_sets(),
    st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)),
)
def test_apply_keeps_the_terms_and_is_idempotent(
    rule_list: list[Any], prefs: PreferenceSet, day: dt.date
) -> None:
    terms = MyTerms.of(rule_list)
    fixed = terms.apply(prefs, day)
    assert terms.evaluate(fixed, day) == []
    assert terms.apply(fixed, day) == fixed
    if not terms.evaluate(prefs, day):
        assert fixed == prefs


def _spec_at_least_as_restrictive(key: tuple[Any, ...], a: Any, b: Any) -> bool:
    """ARCHITECTURE 3.6, written out independently (absent = vendor default = loosest)."""
    if a == b or b is None:
        return True
    if a is None:
        return False
    kind = key[0]
    if kind in ("channel", "topic"):
        return a is False  # off < on
    if kind == "frequency":
        return a.rank <= b.rank
    if kind == "grant":
        if a.decision is Decision.DENY:
            return True
        if b.decision is Decision.DENY:
            return False
        return a.expires is not None and (b.expires is None or a.expires <= b.expires)
    return a.minutes >= b.minutes


@PROPS
@given(
    st.lists(rules, max_size=6),
    preference_sets(),
    st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)),
)
def test_apply_never_loosens_anything_by_the_spec(
    rule_list: list[Any], prefs: PreferenceSet, day: dt.date
) -> None:
    applied = MyTerms.of(rule_list).apply(prefs, day)
    for key in set(prefs.fields()) | set(applied.fields()):
        assert _spec_at_least_as_restrictive(key, applied.get(key), prefs.get(key)), (
            key,
            applied.get(key),
            prefs.get(key),
        )


@PROPS
@given(
    st.lists(rules, max_size=6),
    preference_sets(),
    st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)),
)
@example([NO_SMS], PreferenceSet(channels={Channel.SMS: True}), dt.date(2026, 1, 31))
def test_apply_never_loosens_anything(
    rule_list: list[Any], prefs: PreferenceSet, day: dt.date
) -> None:
    applied = MyTerms.of(rule_list).apply(prefs, day)
    for key in set(prefs.fields()) | set(applied.fields()):
        assert at_least_as_restrictive(key, applied.get(key), prefs.get(key)), (
            key,
            applied.get(key),
            prefs.get(key),
        )


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),  # leap year
        (dt.date(2026, 3, 31), 1, dt.date(2026, 4, 30)),
        (dt.date(2026, 11, 30), 3, dt.date(2027, 2, 28)),
        (dt.date(2026, 12, 15), 1, dt.date(2027, 1, 15)),
        (dt.date(2026, 1, 31), 12, dt.date(2027, 1, 31)),
        (dt.date(2028, 2, 29), 12, dt.date(2029, 2, 28)),
        (dt.date(2026, 6, 30), 120, dt.date(2036, 6, 30)),
    ],
)
def test_add_months_clamps_to_the_end_of_a_shorter_month(
    day: dt.date, months: int, expected: dt.date
) -> None:
    assert add_months(day, months) == expected


@PROPS
@given(st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 31)), st.integers(1, 120))
def test_add_months_property(day: dt.date, months: int) -> None:
    out = add_months(day, months)
    assert (out.year * 12 + out.month) - (day.year * 12 + day.month) == months
    assert out.day <= day.day
    if out.day < day.day:  # clamped: it is the last day of its month
        assert (out + dt.timedelta(days=1)).day == 1


def test_my_terms_round_trip_and_dedup() -> None:
    terms = MyTerms.of([NO_SMS, EMAIL_WEEKLY, NEVER_SALE, TWELVE_MONTHS, NO_SMS])
    assert terms.rules == (NO_SMS, EMAIL_WEEKLY, NEVER_SALE, TWELVE_MONTHS)
    data = terms.to_dict()
    assert data == {
        "rules": [
            {"rule": "no_channel", "channel": "sms"},
            {"rule": "max_frequency", "channel": "email", "frequency": "weekly"},
            {"rule": "never_purpose", "purpose": "sale"},
            {"rule": "grant_max_months", "months": 12},
        ]
    }
    assert MyTerms.from_dict(json.loads(json.dumps(data))) == terms
    assert terms.describe() == [
        "no SMS anywhere",
        "email at most weekly",
        "never sale",
        "grants expire after 12 months",
    ]
    assert MyTerms.from_dict({}) == MyTerms()


@PROPS
@given(st.lists(rules, max_size=8))
def test_my_terms_round_trip_property(rule_list: list[Any]) -> None:
    terms = MyTerms.of(rule_list)
    assert MyTerms.from_dict(json.loads(json.dumps(terms.to_dict()))) == terms


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (
            {"rule": "no_fax"},
            DomainError,
            "unknown rule 'no_fax' .expected one of: no_channel, max_frequency, never_purpose, "
            "grant_max_months.",
        ),
        ({}, DomainError, "unknown rule None"),
        ({"rule": "no_channel"}, DomainError, "rule 'no_channel' is missing 'channel'"),
        ({"rule": "max_frequency", "channel": "email"}, DomainError, "missing 'frequency'"),
        ({"rule": "no_channel", "channel": "fax"}, VocabularyError, "unknown channel 'fax'"),
        ({"rule": "never_purpose", "purpose": "selling"}, VocabularyError, "unknown purpose"),
        ({"rule": "grant_max_months", "months": "12"}, DomainError, "whole number of months"),
        ({"rule": "grant_max_months", "months": True}, DomainError, "whole number of months"),
        ({"rule": "grant_max_months", "months": 200}, DomainError, "1-120 months"),
    ],
)
def test_rule_from_dict_errors(data: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        rule_from_dict(data)
    with pytest.raises(error, match=match):
        MyTerms.from_dict({"rules": [{"rule": "no_channel", "channel": "sms"}, data]})
