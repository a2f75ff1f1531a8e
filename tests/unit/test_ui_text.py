"""Untrusted text in tooltips is escaped; receipts say the right end for mixed uses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cmr_desktop.domain import Brand, DataCategory, Decision, Grant, PreferenceSet, Purpose
from cmr_desktop.interop.receipts import receipt
from cmr_desktop.ui.text import tooltip


def test_tooltips_show_markup_as_text() -> None:
    shown = tooltip('<img src="file:///etc/passwd"> & <b>bold</b>')
    assert "<img" not in shown
    assert "&lt;img src=&quot;file:///etc/passwd&quot;&gt; &amp; &lt;b&gt;" in shown
    assert tooltip("") == ""


def test_a_purpose_with_one_open_ended_use_has_no_end_date() -> None:
    prefs = (
        PreferenceSet()
        .with_grant(DataCategory.CONTACT, Purpose.MARKETING, Grant(Decision.ALLOW))
        .with_grant(
            DataCategory.BROWSING, Purpose.MARKETING, Grant(Decision.ALLOW, dt.date(2027, 1, 1))
        )
        .with_grant(
            DataCategory.LOCATION, Purpose.ANALYTICS, Grant(Decision.ALLOW, dt.date(2027, 3, 1))
        )
    )
    at = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
    r = receipt(Brand(slug="acme", name="Acme"), prefs, at, method="m", key="k")
    purposes = {p["purpose"]: p["termination"] for p in r["services"][0]["purposes"]}
    assert purposes["Marketing"] == "until the customer withdraws it"
    assert purposes["Analytics"].startswith("ends on 2027-03-01")


def test_journal_fields_and_values_in_words() -> None:
    from cmr_desktop.ui.journal import field_words, value_words

    assert field_words("channel.email") == "Email"
    assert field_words("frequency.sms") == "SMS frequency"
    assert field_words("grant.contact.marketing") == "Contact for marketing"
    assert field_words("topic.offers") == "topic offers"
    assert field_words("grant.nonsense.x") == "grant.nonsense.x"
    assert [value_words(v) for v in ("on", "off", "default", "allow@2027-06-30", "weekly")] == [
        "allowed",
        "refused",
        "their default",
        "allowed until 2027-06-30",
        "weekly",
    ]


def test_write_atomically_keeps_the_umask_and_leaves_no_part_file(tmp_path: Any) -> None:
    import os
    import stat

    from cmr_desktop.interop.files import write_atomically

    mask = os.umask(0o027)
    try:
        target = tmp_path / "out.json"
        assert write_atomically(target, lambda out: out.write("[]") and 1) == 1
        assert os.umask(0o027) == 0o027  # unchanged by the write
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
        assert target.read_text() == "[]"
        assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    finally:
        os.umask(mask)
