"""My Terms are broken only where the brand can do what a rule forbids (domain.policy.Reach).

A decision of the customer's that contradicts their terms always breaks them; an undecided
field breaks them only where the vendor offers it (or what it offers is unknown) and its own
last known setting does not already refuse it. What the vendor's own setting keeps is shown
as the vendor's (``kept``), never as a break and never as a decision.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cmr_desktop.domain import BrandSummary, Tally
from cmr_desktop.domain.policy import (
    UNKNOWN,
    MaxFrequency,
    MyTerms,
    NeverPurpose,
    NoChannel,
    QuietHoursRule,
    Reach,
)
from cmr_desktop.domain.preferences import Grant, PreferenceSet, QuietHours
from cmr_desktop.domain.summary import judge_terms, offered_text
from cmr_desktop.domain.vocabulary import Channel, DataCategory, Decision, Frequency, Purpose
from tests.strategies import preference_sets, rules

PROPS = settings(deadline=None)
DAY = dt.date(2026, 12, 1)
NO_SMS = NoChannel(Channel.SMS)
NEVER_SALE = NeverPurpose(Purpose.SALE)
TERMS = MyTerms.of([NO_SMS, NEVER_SALE])

#: A vendor (as read at the first sync) that offers email and phone, no SMS, and asks for
#: contact data for marketing and service: everything on, as a new subject's defaults.
NO_SMS_VENDOR = PreferenceSet(
    channels={Channel.EMAIL: True, Channel.PHONE: True},
    grants={
        (DataCategory.CONTACT, Purpose.MARKETING): Grant(Decision.ALLOW),
        (DataCategory.CONTACT, Purpose.SERVICE): Grant(Decision.ALLOW),
    },
)


#: What that vendor's catalog offers, as the sync stores it.
NO_SMS_OFFER = offered_text(
    [Channel.EMAIL, Channel.PHONE],
    [(DataCategory.CONTACT, Purpose.MARKETING), (DataCategory.CONTACT, Purpose.SERVICE)],
)


def _synced(vendor: PreferenceSet | None) -> Reach:
    """What a sync knows of a vendor whose catalog offers exactly what its state lists."""
    if vendor is None:
        return UNKNOWN
    return Reach(
        channels=frozenset(vendor.channels) | frozenset(vendor.frequencies),
        data_uses=frozenset(vendor.grants),
        vendor=vendor,
    )


def _messages(prefs: PreferenceSet, reach: Reach, terms: MyTerms = TERMS) -> list[str]:
    return [v.message for v in terms.evaluate(prefs, DAY, "Acme", reach)]


def test_undecided_sms_is_no_break_where_the_vendor_offers_no_sms() -> None:
    reach = _synced(NO_SMS_VENDOR)
    assert _messages(PreferenceSet(), reach, MyTerms.of([NO_SMS])) == []
    # Nor does a catalog without SMS (the same judgement from a catalog, when one is known).
    catalog = Reach(channels=frozenset({Channel.EMAIL}), data_uses=frozenset())
    assert _messages(PreferenceSet(), catalog, MyTerms.of([NO_SMS])) == []


def test_undecided_sms_that_the_vendor_has_off_is_kept_by_the_vendor_not_broken() -> None:
    vendor = PreferenceSet(channels={Channel.EMAIL: True, Channel.SMS: False})
    reach = _synced(vendor)
    assert _messages(PreferenceSet(), reach, MyTerms.of([NO_SMS])) == []
    kept = MyTerms.of([NO_SMS]).judge(PreferenceSet(), DAY, "Acme", reach)
    assert [(v.message, v.kept) for v in kept] == [("Acme has SMS off (its own setting).", True)]


def test_undecided_sms_with_nothing_known_of_the_brand_may_still_text_you() -> None:
    for reach in (UNKNOWN, _synced(None)):
        assert _messages(PreferenceSet(), reach, MyTerms.of([NO_SMS])) == [
            "Acme may still text you: you have not said no yet."
        ]


def test_undecided_sms_that_the_vendor_offers_and_has_on_is_a_break() -> None:
    vendor = PreferenceSet(channels={Channel.EMAIL: True, Channel.SMS: True})
    assert _messages(PreferenceSet(), _synced(vendor), MyTerms.of([NO_SMS])) == [
        "Acme may still text you: you have not said no yet."
    ]


def test_a_decided_allow_breaks_the_terms_whatever_the_vendor_offers_or_holds() -> None:
    prefs = PreferenceSet(
        channels={Channel.SMS: True},
        grants={(DataCategory.HEALTH, Purpose.SALE): Grant(Decision.ALLOW)},
    )
    for reach in (
        UNKNOWN,
        _synced(NO_SMS_VENDOR),  # offers neither SMS nor health data for sale
        _synced(PreferenceSet(channels={Channel.SMS: False})),
    ):
        found = _messages(prefs, reach)
        assert "Acme may text you." in found
        assert "Acme may use health data for sale." in found


def test_never_sale_counts_only_the_data_uses_the_vendor_asks_for() -> None:
    # The vendor asks for contact data for marketing and service: nothing for sale.
    assert _messages(PreferenceSet(), _synced(NO_SMS_VENDOR), MyTerms.of([NEVER_SALE])) == []
    selling = NO_SMS_VENDOR.with_grant(
        DataCategory.CONTACT, Purpose.SALE, Grant(Decision.ALLOW)
    ).with_grant(DataCategory.LOCATION, Purpose.SALE, Grant(Decision.DENY))
    judged = MyTerms.of([NEVER_SALE]).judge(PreferenceSet(), DAY, "Acme", _synced(selling))
    assert [(v.message, v.kept) for v in judged] == [
        ("Acme may still use your data for sale: you have not said no for contact data.", False),
        ("Acme does not use location data for sale (its own setting).", True),
    ]
    # Nothing known: every undecided kind of data, in words with a real plural.
    assert _messages(PreferenceSet(), UNKNOWN, MyTerms.of([NEVER_SALE])) == [
        "Acme may still use your data for sale: you have not said no for 10 kinds of data."
    ]


def test_frequency_and_quiet_hours_kept_by_the_vendors_own_setting() -> None:
    weekly = MaxFrequency(Channel.EMAIL, Frequency.WEEKLY)
    quiet = QuietHoursRule(QuietHours.parse("22:00-07:00"))
    vendor = PreferenceSet(
        channels={Channel.EMAIL: True},
        frequencies={Channel.EMAIL: Frequency.MONTHLY},
        quiet_hours=QuietHours.parse("21:00-08:00"),
    )
    terms = MyTerms.of([weekly, quiet])
    assert _messages(PreferenceSet(), _synced(vendor), terms) == []
    assert [v.kept for v in terms.judge(PreferenceSet(), DAY, "Acme", _synced(vendor))] == [
        True,
        True,
    ]
    assert len(_messages(PreferenceSet(), UNKNOWN, terms)) == 2


def _summary(
    connector: str,
    decisions: dict[str, Any],
    vendor: PreferenceSet | None,
    offered: str | None = None,
) -> BrandSummary:
    return BrandSummary.build(
        slug="acme",
        name="Acme",
        connector=connector,
        decisions=decisions,
        vendor=vendor.to_dict() if vendor is not None else None,
        pending=False,
        sync_status="ok",
        confirmed_at="2026-11-30T10:00:00Z",
        today=DAY,
        terms=TERMS,
        offered=offered,
    )


def test_the_summary_counts_the_same_judgement_and_keeps_what_the_vendor_keeps_apart() -> None:
    synced = _summary("openpref", {}, NO_SMS_VENDOR, NO_SMS_OFFER)
    assert not synced.breaks_terms
    assert synced.violations == ()
    never_synced = _summary("openpref", {}, None)
    assert never_synced.breaks_terms  # nothing known yet: "may"
    sms_only = offered_text([Channel.SMS], [])
    refusing = _summary("openpref", {}, PreferenceSet(channels={Channel.SMS: False}), sms_only)
    assert not refusing.breaks_terms
    assert [v.message for v in refusing.kept_by_vendor] == ["Acme has SMS off (its own setting)."]
    # A brand handled by hand has no vendor to tell what it can do: as before.
    manual = _summary("manual", {}, NO_SMS_VENDOR, NO_SMS_OFFER)
    assert manual.breaks_terms
    tally = Tally.of([synced, never_synced, refusing, manual])
    assert tally.breaks_terms == 2
    cases = (
        (synced, "openpref", NO_SMS_VENDOR, NO_SMS_OFFER),
        (never_synced, "openpref", None, None),
        (refusing, "openpref", PreferenceSet(channels={Channel.SMS: False}), sms_only),
        (manual, "manual", NO_SMS_VENDOR, NO_SMS_OFFER),
    )
    for s, connector, vendor, offered in cases:
        breaks, kept = judge_terms(
            TERMS,
            name="Acme",
            connector=connector,
            decisions=PreferenceSet(),
            vendor=vendor,
            today=DAY,
            offered=offered,
        )
        assert (breaks, kept) == (s.violations, s.kept_by_vendor)


def test_what_the_vendors_state_has_on_counts_even_where_its_catalog_leaves_it_out() -> None:
    """A catalog lists what the customer can switch; a vendor whose own state has SMS on, or
    sells contact data, can do it whatever its catalog says."""
    vendor = PreferenceSet(
        channels={Channel.SMS: True},
        grants={(DataCategory.CONTACT, Purpose.SALE): Grant(Decision.ALLOW)},
    )
    offer = offered_text([Channel.EMAIL], [(DataCategory.CONTACT, Purpose.SERVICE)])
    breaks, kept = judge_terms(
        TERMS,
        name="Acme",
        connector="openpref",
        decisions=PreferenceSet(),
        vendor=vendor,
        today=DAY,
        offered=offer,
    )
    assert [v.rule for v in breaks] == ["no SMS anywhere", "never sale"]
    assert kept == ()


def test_what_the_vendor_did_not_report_is_not_taken_as_not_offered() -> None:
    """Absent from a vendor's state means "the vendor's default" (Open Preference API), not
    "not offered": without the stored catalog (a home synced before it was kept) the brand
    may still text, and says so."""
    older_home = _summary("openpref", {}, NO_SMS_VENDOR)
    assert older_home.violations[0].message.startswith("Acme may still text you")
    garbled = _summary("openpref", {}, NO_SMS_VENDOR, "{not json")
    assert garbled.breaks_terms  # an unreadable offer is unknown, never "offers nothing"


def test_judging_the_terms_never_writes_a_decision() -> None:
    prefs = PreferenceSet()
    summary = _summary("openpref", prefs.to_dict(), PreferenceSet(channels={Channel.SMS: False}))
    assert summary.channels == ()  # the vendor's "off" is not the customer's
    assert prefs == PreferenceSet()


@st.composite
def reaches(draw: st.DrawFn) -> Reach:
    kind = draw(st.sampled_from(["unknown", "vendor", "catalog"]))
    if kind == "unknown":
        return UNKNOWN
    vendor = draw(preference_sets())
    if kind == "vendor":
        return _synced(vendor)
    channels = draw(st.frozensets(st.sampled_from(list(Channel))))
    uses = draw(
        st.frozensets(
            st.tuples(st.sampled_from(list(DataCategory)), st.sampled_from(list(Purpose)))
        )
    )
    return Reach(channels, uses, draw(st.none() | st.just(vendor)))


@PROPS
@given(st.lists(rules, max_size=6), preference_sets(), reaches())
def test_knowing_what_a_brand_can_do_never_adds_a_break(
    rule_list: list[Any], prefs: PreferenceSet, reach: Reach
) -> None:
    terms = MyTerms.of(rule_list)
    known = {v.rule for v in terms.evaluate(prefs, DAY, "Acme", reach)}
    unknown = {v.rule for v in terms.evaluate(prefs, DAY, "Acme")}
    assert known <= unknown
    assert not any(v.kept for v in terms.judge(prefs, DAY, "Acme"))  # nothing known: no vendor


@PROPS
@given(st.lists(rules, max_size=6), preference_sets(), reaches())
def test_applied_terms_are_kept_whatever_is_known_of_the_brand(
    rule_list: list[Any], prefs: PreferenceSet, reach: Reach
) -> None:
    terms = MyTerms.of(rule_list)
    assert terms.evaluate(terms.apply(prefs, DAY), DAY, "Acme", reach) == []


@PROPS
@given(preference_sets(), reaches())
def test_a_decided_sms_allow_always_breaks_no_sms(prefs: PreferenceSet, reach: Reach) -> None:
    allowed = prefs.with_channel(Channel.SMS, True)
    assert "Acme may text you." in _messages(allowed, reach, MyTerms.of([NO_SMS]))
