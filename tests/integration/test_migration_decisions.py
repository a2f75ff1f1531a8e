"""Migration 0005 carries existing homes over: what was only ever taken over from a vendor
becomes undecided again, the vendor's value is kept as the vendor's, and the journal says so."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from cmr_desktop.domain import Channel
from cmr_desktop.storage import SCHEMA_HEAD, Store, current_revision, migrate
from cmr_desktop.storage.repositories import GENESIS, entry_hash

TS = "2026-11-20T10:00:00.000000Z"


def _journal(con: sqlite3.Connection, rows: list[tuple[str, str, dict[str, object]]]) -> None:
    prev = GENESIS
    at = dt.datetime.fromisoformat(TS)
    for i, (brand, kind, detail) in enumerate(rows, start=1):
        text = json.dumps(detail, ensure_ascii=False, sort_keys=True)
        digest = entry_hash(i, at, brand, kind, text, prev)
        con.execute(
            "INSERT INTO journal (id, at, brand, kind, detail, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (i, TS, brand, kind, text, prev, digest),
        )
        prev = digest


def test_fields_only_taken_over_from_a_vendor_become_undecided_again(tmp_path: Path) -> None:
    db = tmp_path / "cmr.sqlite3"
    migrate(db, "0004", backup=False)
    vendor_state = {
        "channels": {"email": {"enabled": True, "frequency": "weekly"}, "sms": {"enabled": True}},
        "topics": {"offers": True},
        "grants": [{"category": "identifiers", "purpose": "sale", "decision": "allow"}],
        "quiet_hours": None,
    }
    # What the old first sync left: the customer decided SMS off; everything else was
    # "recorded" from the vendor. Later the customer changed the frequency themselves.
    local = {
        "channels": {"email": {"enabled": True, "frequency": "monthly"}, "sms": {"enabled": False}},
        "topics": {"offers": True},
        "grants": [{"category": "identifiers", "purpose": "sale", "decision": "allow"}],
        "quiet_hours": None,
    }
    con = sqlite3.connect(db)
    con.execute(
        "INSERT INTO brands (id, slug, name, account_id, status, category, website, "
        "privacy_contact, notes, connector, connector_config, created_at, updated_at) "
        "VALUES (1, 'acme', 'Acme', '', 'active', '', '', '', '', 'openpref', '{}', ?, ?)",
        (TS, TS),
    )
    con.execute(
        "INSERT INTO preferences (brand_id, local, base, remote_version, revision, "
        "confirmed_at, sync_status, sync_detail) VALUES (1, ?, ?, '\"v2\"', 3, ?, 'ok', '')",
        (json.dumps(local), json.dumps(vendor_state), TS),
    )
    taken = [
        {"field": "channel.email", "vendor": "on", "was": "default"},
        {"field": "frequency.email", "vendor": "weekly", "was": "default"},
        {"field": "grant.identifiers.sale", "vendor": "allow", "was": "default"},
        {"field": "topic.offers", "vendor": "on", "was": "default"},
        {"field": "channel.sms", "vendor": "off", "was": "on"},  # a real tightening: kept
    ]
    _journal(con, [("acme", "accepted", {"version": '"v1"', "fields": taken})])
    con.commit()
    con.close()

    store = Store(tmp_path)
    try:
        assert current_revision(db) == SCHEMA_HEAD
        with store.read() as uow:
            acme = uow.brands.get("acme")
            vendor = uow.brands.vendor_state("acme")
            assert uow.journal.first_broken() is None
            entries = uow.journal.entries("acme")
    finally:
        store.close()
    prefs = acme.preferences
    assert prefs.channels == {Channel.SMS: False}  # e-mail on was the vendor's default
    assert prefs.frequencies[Channel.EMAIL].value == "monthly"  # changed by the customer: kept
    assert prefs.topics == {}  # only ever the vendor's
    assert prefs.grants == {}  # "identifiers for sale" is undecided again
    assert vendor is not None
    assert vendor.channels[Channel.EMAIL] is True  # the vendor's value, kept as the vendor's
    (undone,) = [e for e in entries if e.kind == "undecided"]
    names = [f["field"] for f in undone.detail["fields"]]
    assert names == ["channel.email", "grant.identifiers.sale", "topic.offers"]
