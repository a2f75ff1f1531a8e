"""``cmr discover`` and ``cmr measured`` through the real entry point (a separate process)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from cmr_desktop.mail.headers import MailHeaders
from tests.conftest import NOW, open_services
from tests.integration.test_discover_service import ListSource, unsubscribe, weekly


def scanned(home: Path, mail: list[MailHeaders]) -> None:
    """Scan ``mail`` into ``home`` in this process (the CLI then reads the stored headers)."""
    services = open_services(home)
    try:
        services.discovery.scan(ListSource(mail))
    finally:
        services.close()


def test_discover_without_a_source_or_list_is_a_usage_error(cmr: Any) -> None:
    res = cmr("discover")
    assert res.code == 2
    assert res.err.strip().splitlines() == [
        "cmr: error: give a SOURCE to read (an mbox file, a Maildir folder or imap:ID), or --list"
    ]


def test_a_mailbox_that_does_not_exist_is_one_line_naming_it(cmr: Any, tmp_path: Path) -> None:
    res = cmr("discover", str(tmp_path / "nope.mbox"))
    assert res.code == 2
    assert res.err.strip() == (
        f"cmr: error: no such file or folder: {tmp_path / 'nope.mbox'} "
        "(give an mbox file, a Maildir folder or imap:ACCOUNT_ID)"
    )


def test_a_file_that_is_not_a_mailbox_is_one_line(cmr: Any, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    res = cmr("discover", str(tmp_path / "notes.txt"))
    assert (res.code, res.err.count("\n")) == (2, 1)
    assert "not an mbox file" in res.err


def test_imap_needs_an_account_id(cmr: Any) -> None:
    res = cmr("discover", "imap:")
    assert (res.code, res.err.count("\n")) == (2, 1)
    assert "imap: needs an account id" in res.err


def test_discover_list_shows_the_brands_found_so_far(cmr: Any) -> None:
    scanned(cmr.home, weekly("shop.com", 13, "Shop"))
    res = cmr("discover", "--list")
    assert res.code == 0, res
    header, row = res.out.splitlines()
    assert header.split()[:3] == ["KEY", "NAME", "PER"]
    assert row.split()[:4] == ["shop.com", "Shop", "1.08", "13"]
    assert "one-click,mailto,web" in row
    found = cmr("discover", "--list", "--json").json()
    assert found["added"] == []
    [brand] = found["found"]
    assert (brand["key"], brand["messages"], brand["suggested"]) == ("shop.com", 13, "weekly")


def test_add_records_the_frequency_the_customer_typed(cmr: Any) -> None:
    scanned(cmr.home, weekly("shop.com", 13, "Shop") + weekly("bakery.fr", 2, "Bakery", 50))
    res = cmr("discover", "--list", "--add", "shop.com=monthly", "--add", "bakery.fr", "--json")
    assert res.code == 0, res
    assert res.json()["added"] == ["shop", "bakery"]
    shop = cmr("brand", "show", "shop", "--json").json()
    assert shop["preferences"]["channels"] == {"email": {"enabled": True, "frequency": "monthly"}}
    bakery = cmr("brand", "show", "bakery", "--json").json()
    assert bakery["preferences"]["channels"] == {}


def test_add_suggested_takes_the_suggestion_only_when_asked(cmr: Any) -> None:
    scanned(cmr.home, weekly("shop.com", 13, "Shop"))
    assert cmr("discover", "--list", "--add", "shop.com=suggested").code == 0
    shop = cmr("brand", "show", "shop", "--json").json()
    assert shop["preferences"]["channels"]["email"]["frequency"] == "weekly"


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("nope.com", "no brand with key 'nope.com' was found"),
        ("shop.com=hourly", "the frequency must be one of realtime, daily, weekly, monthly"),
    ],
)
def test_a_bad_add_is_one_line_and_adds_nothing(cmr: Any, option: str, message: str) -> None:
    scanned(cmr.home, weekly("shop.com", 2, "Shop"))
    res = cmr("discover", "--list", "--add", option)
    assert (res.code, res.err.count("\n")) == (2, 1)
    assert message in res.err
    assert cmr("brand", "list", "--json").json() == []


def test_measured_shows_the_rate_the_limit_and_the_evidence_of_an_ignored_unsubscribe(
    cmr: Any,
) -> None:
    scanned(cmr.home, weekly("shop.com", 13, "Shop"))
    assert cmr("discover", "--list", "--add", "shop.com=monthly").code == 0
    services = open_services(cmr.home)
    try:
        unsubscribe(services, "shop", "one-click", NOW - dt.timedelta(days=10))
    finally:
        services.close()
    res = cmr("measured")
    assert res.code == 0, res
    lines = res.out.splitlines()
    assert lines[1].split()[:4] == ["shop", "1.08", "0.23", "13"]
    assert "writes more often than you allow" in lines[1]
    assert "kept writing after your one-click unsubscribe: 1 message after" in lines[1]
    assert lines[2].split()[-1] == "m0.shop.com@test"
    [item] = cmr("measured", "--json").json()
    assert item["over_limit"] is True
    assert item["ignored_unsubscribe"]["evidence"][0]["message_id"] == "m0.shop.com@test"


def test_measured_with_no_mail_says_what_to_do(cmr: Any) -> None:
    res = cmr("measured")
    assert (res.code, res.out.strip()) == (
        0,
        "No mail of a tracked brand read yet: run `cmr discover SOURCE` first.",
    )
