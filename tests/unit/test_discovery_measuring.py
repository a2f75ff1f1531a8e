"""Measuring (cmr_desktop.discovery.measuring) and matching (cmr_desktop.discovery.matching)."""

from __future__ import annotations

import datetime as dt

import pytest

from cmr_desktop.discovery.matching import DirectoryIndex, TrackedBrand, TrackedIndex, host_domain
from cmr_desktop.discovery.measuring import (
    add_business_days,
    allowed_per_week,
    deadline_after,
    over_limit,
    suggest_frequency,
    window_weeks,
)
from cmr_desktop.domain.directory import DirectoryEntry
from cmr_desktop.domain.vocabulary import Frequency

UTC = dt.UTC


@pytest.mark.parametrize(
    ("frequency", "per_week"),
    [
        (Frequency.REALTIME, None),
        (Frequency.DAILY, 7.0),
        (Frequency.WEEKLY, 1.0),
        (Frequency.MONTHLY, 12 / 52),
        (Frequency.QUARTERLY, 4 / 52),
        (None, None),
    ],
)
def test_each_frequency_allows_its_messages_per_week(
    frequency: Frequency | None, per_week: float | None
) -> None:
    assert allowed_per_week(frequency) == per_week


def test_a_weekly_brand_may_send_a_few_extra_messages_before_it_is_over_the_limit() -> None:
    assert not over_limit(17, 13.0, Frequency.WEEKLY)  # 13 * 1.25 + 1 = 17.25
    assert over_limit(18, 13.0, Frequency.WEEKLY)


def test_one_message_too_many_on_a_small_count_is_not_over_the_limit() -> None:
    assert not over_limit(4, 13.0, Frequency.MONTHLY)  # 3 allowed: 3 * 1.25 + 1 = 4.75
    assert over_limit(5, 13.0, Frequency.MONTHLY)


def test_realtime_and_no_choice_are_never_over_the_limit() -> None:
    assert not over_limit(10_000, 1.0, Frequency.REALTIME)
    assert not over_limit(10_000, 1.0, None)


def test_the_suggestion_is_the_most_restrictive_frequency_the_count_keeps_to() -> None:
    assert suggest_frequency(1, 13.0) is Frequency.QUARTERLY
    assert suggest_frequency(13, 13.0) is Frequency.WEEKLY
    assert suggest_frequency(60, 13.0) is Frequency.DAILY
    assert suggest_frequency(500, 13.0) is Frequency.REALTIME


def test_taking_the_suggestion_never_flags_the_brand() -> None:
    for count in range(0, 300, 7):
        assert not over_limit(count, 13.0, suggest_frequency(count, 13.0))


def test_the_window_is_shortened_to_what_the_mailbox_covers_but_is_at_least_a_week() -> None:
    now = dt.datetime(2026, 12, 1, tzinfo=UTC)
    assert window_weeks(90, None, now) == pytest.approx(90 / 7)
    assert window_weeks(90, now - dt.timedelta(days=28), now) == pytest.approx(4.0)
    assert window_weeks(90, now - dt.timedelta(days=2), now) == 1.0


def test_one_click_gives_the_brand_48_hours() -> None:
    at = dt.datetime(2026, 11, 6, 10, 0, tzinfo=UTC)
    assert deadline_after("one-click", at) == at + dt.timedelta(hours=48)


def test_mailto_and_web_give_the_brand_ten_business_days() -> None:
    friday = dt.datetime(2026, 11, 6, 10, 0, tzinfo=UTC)
    expected = dt.datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # two weeks: weekends skipped
    assert deadline_after("mailto", friday) == expected
    assert deadline_after("web", friday) == expected
    saturday = dt.datetime(2026, 11, 7, 10, 0, tzinfo=UTC)
    assert add_business_days(saturday, 1) == dt.datetime(2026, 11, 9, 10, 0, tzinfo=UTC)


def test_host_domain_reads_urls_bare_hosts_and_addresses() -> None:
    assert host_domain("https://www.brand.co.uk/privacy") == "brand.co.uk"
    assert host_domain("brand.co.uk") == "brand.co.uk"
    assert host_domain("privacy@mail.brand.co.uk") == "brand.co.uk"
    assert host_domain("mailto:dpo@shop.com?subject=x") == "shop.com"
    assert host_domain("") == ""


def test_the_directory_matches_by_website_before_e_mail_domain() -> None:
    index = DirectoryIndex(
        [
            DirectoryEntry("agency", "Agency", email="dpo@brand.com", web="https://agency.com"),
            DirectoryEntry("brand", "Brand", email="dpo@brand-legal.com", web="www.brand.com"),
            DirectoryEntry("other", "Other", email="privacy@other.org"),
        ]
    )
    assert index.lookup("brand.com") is not None
    assert index.lookup("brand.com").slug == "brand"  # type: ignore[union-attr]
    assert index.lookup("other.org").slug == "other"  # type: ignore[union-attr]
    assert index.lookup("nobody.net") is None
    assert index.lookup("") is None


def test_a_tracked_brand_matches_by_sender_domain_then_website_then_privacy_then_name() -> None:
    index = TrackedIndex(
        [
            TrackedBrand("by-name", "Bakery"),
            TrackedBrand("by-privacy", "P", privacy_contact="dpo@shop.com"),
            TrackedBrand("by-site", "S", website="https://www.shop.com"),
            TrackedBrand("by-sender", "E", connector_config={"sender_domain": "mail.shop.com"}),
        ]
    )
    assert index.match("shop.com", "shop.com", ["Shop"]) == "by-sender"
    assert index.match("bakery.fr", "bakery.fr", ["Bakery "]) == "by-name"
    assert index.match("list:x", "", ["nobody"]) == ""
    only_site = TrackedIndex([TrackedBrand("by-site", "S", website="shop.com")])
    assert only_site.match("shop.com", "shop.com") == "by-site"


def test_the_directory_prefers_a_site_s_home_page_to_a_part_of_it() -> None:
    index = DirectoryIndex(
        [
            DirectoryEntry("mytoys", "myToys", web="https://www.otto.de/mytoys/"),
            DirectoryEntry("otto-handel", "OTTO", web="https://www.otto.de/"),
        ]
    )
    assert index.lookup("otto.de").slug == "otto-handel"  # type: ignore[union-attr]
