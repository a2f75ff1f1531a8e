"""domain.summary: one read model of a brand's preferences and status."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cmr_desktop.domain import BrandSummary, Status, Tally
from cmr_desktop.domain.policy import GrantMaxMonths, MaxFrequency, MyTerms, NeverPurpose, NoChannel
from cmr_desktop.domain.vocabulary import Channel, DataCategory, Frequency, Purpose

TODAY = dt.date(2026, 12, 1)
NO_TERMS = MyTerms()


def _summary(
    decisions: dict[str, Any],
    vendor: dict[str, Any] | None = None,
    *,
    terms: MyTerms = NO_TERMS,
    pending: bool = False,
    sync_status: str = "ok",
    confirmed: str | None = "2026-11-30T10:00:00Z",
    connector: str = "openpref",
) -> BrandSummary:
    return BrandSummary.build(
        slug="acme",
        name="Acme",
        connector=connector,
        decisions=decisions,
        vendor=vendor,
        pending=pending,
        sync_status=sync_status,
        confirmed_at=confirmed,
        today=TODAY,
        terms=terms,
    )


def _grant(purpose: str, decision: str = "allow", expires: str | None = None) -> dict[str, Any]:
    g = {"category": "contact", "purpose": purpose, "decision": decision}
    if expires:
        g["expires"] = expires
    return g


def test_an_ended_permission_is_not_an_active_data_use_nor_ending_soon() -> None:
    s = _summary(
        {
            "grants": [
                _grant("marketing", expires="2026-11-30"),  # ended yesterday
                _grant("service"),
                _grant("analytics", expires="2026-12-20"),  # ends soon
                _grant("sale", "deny"),
            ]
        }
    )
    assert [u.purpose for u in s.data_uses] == [Purpose.SERVICE, Purpose.ANALYTICS]
    assert [u.purpose for u in s.ending_soon] == [Purpose.ANALYTICS]
    assert s.needs_attention  # the ending permission


def test_one_status_vocabulary_for_every_view() -> None:
    assert _summary({}, pending=True, confirmed=None).status is Status.NEW
    assert _summary({}, pending=True).status is Status.PENDING
    assert _summary({}).status is Status.IN_SYNC
    assert _summary({}, sync_status="drift").status is Status.DRIFT
    assert _summary({}, sync_status="needs_reauth").status is Status.NEEDS_REAUTH
    assert _summary({}, pending=True, connector="manual").status is Status.MANUAL
    assert Status.DRIFT.needs_attention
    assert not Status.PENDING.needs_attention
    assert Status.NEEDS_REAUTH.label == "Needs sign-in"


def test_a_vendor_value_of_an_undecided_field_is_listed_and_never_a_decision() -> None:
    vendor = {
        "channels": {"sms": {"enabled": True}, "email": {"enabled": True, "frequency": "daily"}},
        "topics": {"offers": True, "news": False},
        "grants": [_grant("sale"), _grant("service")],
    }
    terms = MyTerms.of(
        [
            NoChannel(Channel.SMS),
            MaxFrequency(Channel.EMAIL, Frequency.WEEKLY),
            NeverPurpose(Purpose.SALE),
        ]
    )
    s = _summary({"channels": {"email": {"enabled": True}}}, vendor, terms=terms)
    opened = {v.key: v.objections for v in s.vendor_open}
    assert ("channel", Channel.EMAIL) not in opened  # decided by the customer
    assert opened[("channel", Channel.SMS)] == ("no SMS anywhere",)
    assert opened[("frequency", Channel.EMAIL)] == ("email at most weekly",)
    assert opened[("topic", "offers")] == ()  # open, but no rule objects
    assert ("topic", "news") not in opened  # the vendor has it off: nothing open
    assert opened[("grant", DataCategory.CONTACT, Purpose.SALE)] == ("never sale",)
    assert s.vendor_allows_undecided
    assert s.needs_attention
    assert s.channels == ("email",)  # decisions only: the vendor's SMS is not "may reach you"


def test_nothing_objected_without_terms_and_nothing_open_before_the_first_sync() -> None:
    vendor = {"channels": {"sms": {"enabled": True}}}
    assert not _summary({}, vendor).vendor_allows_undecided
    assert _summary({}, None, terms=MyTerms.of([NoChannel(Channel.SMS)])).vendor_open == ()


def test_a_grant_without_end_is_objected_by_a_grant_lifetime_rule() -> None:
    s = _summary({}, {"grants": [_grant("service")]}, terms=MyTerms.of([GrantMaxMonths(12)]))
    assert s.objected[0].objections == ("grants expire after 12 months",)


def test_a_tally_counts_what_the_summaries_say() -> None:
    terms = MyTerms.of([NoChannel(Channel.SMS)])
    summaries = [
        _summary({"channels": {"sms": {"enabled": False}}}, terms=terms),
        _summary({}, terms=terms, sync_status="drift"),
        _summary({"channels": {"sms": {"enabled": False}}}, terms=terms, pending=True),
    ]
    tally = Tally.of(summaries)
    assert tally.total == 3
    assert tally.attention == 1
    assert tally.breaks_terms == 1
    assert tally.by_status == {Status.IN_SYNC: 1, Status.DRIFT: 1, Status.PENDING: 1}
