"""Review findings (fresh-eyes review of the decisions / vendor-state change).

Each test shows one problem found in review, through the real engine and the simulator over
loopback HTTP; each failed before its fix (see docs/review/2026-12-01-proposed-fixes.diff).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from cmr_desktop.connectors.api import Connector, PreferenceSet, RemoteState, TransientError
from cmr_desktop.domain import Channel
from cmr_desktop.services import Services
from cmr_desktop.storage import Store, migrate
from cmr_desktop.sync.engine import Result
from cmr_desktop.testing.simulator import VendorSimulator
from tests.integration.test_migration_decisions import TS, _journal
from tests.integration.test_sync_decisions import connect, engine, held, sim, svc

__all__ = ["sim", "svc"]  # fixtures shared with test_sync_decisions


def test_a_vendor_tightening_is_not_lost_when_the_customer_edits_another_field_during_the_sync(
    svc: Services, sim: VendorSimulator
) -> None:
    (slug,) = connect(svc, sim, "shop", 1)
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.EMAIL, True))
    assert svc.sync.run().ok
    sim.tamper("shop", "sub-0", {"channels": {"email": {"enabled": False}}})  # unsubscribed

    def read_then_customer_edits(inner: Connector) -> RemoteState:
        remote = inner.read()
        # Meanwhile, in the window, the customer turns SMS off (another field).
        svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.SMS, False))
        return remote

    report = engine(svc, lambda b: {"read": read_then_customer_edits}).run(verify=True)
    (outcome,) = report.outcomes
    assert outcome.result in (Result.SYNCED, Result.UNCHANGED)
    prefs = svc.brands.get_brand(slug).brand.preferences
    assert prefs.channels[Channel.SMS] is False
    taken = [e for e in svc.journal.entries(slug) if e.kind == "accepted"]
    if "took 1 stricter vendor setting" in outcome.detail or taken:  # what the app says ...
        # ... must be what happened (today: the decision still says e-mail on).
        assert prefs.channels[Channel.EMAIL] is False, "the tightening journaled as taken is lost"
    # The next sync (pending for the SMS edit) must not undo the customer's unsubscribe.
    assert svc.sync.run().ok
    assert held(sim, "shop", 0)["channels"]["email"]["enabled"] is False
    assert svc.brands.get_brand(slug).brand.preferences.channels[Channel.EMAIL] is False


def test_a_brand_reported_cancelled_and_pending_is_not_pushed_after_the_cancel(
    svc: Services, sim: VendorSimulator
) -> None:
    (slug,) = connect(svc, sim, "shop", 1)
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.EMAIL, False))
    started = threading.Event()
    release = threading.Event()
    workers: list[threading.Thread] = []

    def stuck(inner: Connector) -> RemoteState:
        workers.append(threading.current_thread())
        started.set()
        assert release.wait(30)
        return inner.read()

    eng = engine(svc, lambda b: {"read": stuck}, cancel_grace=0.0)
    result: list[Any] = []
    runner = threading.Thread(target=lambda: result.append(eng.run()))
    runner.start()
    assert started.wait(30)
    eng.cancel()
    runner.join(30)
    assert not runner.is_alive()
    (report,) = result
    (outcome,) = report.outcomes
    assert outcome.result is Result.CANCELLED
    assert "stays pending" in outcome.detail  # what the app told the customer
    release.set()
    for worker in workers:  # the late finisher ends
        worker.join(30)
        assert not worker.is_alive()
    # What happened must be what the app said: nothing sent after the cancel, still pending.
    assert sim.stats("shop").writes_applied == 0
    assert svc.brands.get_brand(slug).pending


def test_migration_makes_a_never_decided_field_undecided_even_after_a_later_vendor_tightening(
    tmp_path: Path,
) -> None:
    db = tmp_path / "cmr.sqlite3"
    migrate(db, "0004", backup=False)
    vendor_state: dict[str, Any] = {
        "channels": {"email": {"enabled": False}, "sms": {"enabled": False}},
        "topics": {},
        "grants": [],
        "quiet_hours": None,
    }
    # The customer decided only SMS off. The old first sync "recorded" the vendor's e-mail on;
    # later the vendor turned e-mail off itself and the old engine took that too.
    local: dict[str, Any] = {
        "channels": {"email": {"enabled": False}, "sms": {"enabled": False}},
        "topics": {},
        "grants": [],
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
        "confirmed_at, sync_status, sync_detail) VALUES (1, ?, ?, '\"v3\"', 3, ?, 'ok', '')",
        (json.dumps(local), json.dumps(vendor_state), TS),
    )
    _journal(
        con,
        [
            (
                "acme",
                "accepted",
                {
                    "version": '"v1"',
                    "fields": [{"field": "channel.email", "vendor": "on", "was": "default"}],
                },
            ),
            (
                "acme",
                "accepted",
                {
                    "version": '"v3"',
                    "fields": [{"field": "channel.email", "vendor": "off", "was": "on"}],
                },
            ),
        ],
    )
    con.commit()
    con.close()

    store = Store(tmp_path)
    try:
        with store.read() as uow:
            acme = uow.brands.get("acme")
            assert uow.journal.first_broken() is None
    finally:
        store.close()
    # E-mail was never the customer's decision: neither the default nor the later change.
    assert acme.preferences.channels == {Channel.SMS: False}


def test_a_vendor_loosening_a_field_after_applying_a_push_whose_answer_was_lost_is_drift(
    svc: Services, sim: VendorSimulator
) -> None:
    (slug,) = connect(svc, sim, "shop", 1)
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.EMAIL, True))
    assert svc.sync.run().ok
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.EMAIL, False))

    def applied_then_lost(inner: Connector, desired: PreferenceSet, **kw: Any) -> RemoteState:
        inner.write(desired, **kw)  # the vendor applies "e-mail off" ...
        raise TransientError("connection reset")  # ... and its answer is lost

    engine(svc, lambda b: {"write": applied_then_lost}, retries_per_brand=0).run()
    assert held(sim, "shop", 0)["channels"]["email"]["enabled"] is False
    sim.tamper("shop", "sub-0", {"channels": {"email": {"enabled": True}}})  # loosened again

    (outcome,) = svc.sync.run().outcomes
    assert held(sim, "shop", 0)["channels"]["email"]["enabled"] is False  # re-asserted
    assert outcome.result is Result.DRIFT, outcome
    assert "channel.email: vendor had on, you chose off" in outcome.detail


def test_a_lost_answer_to_a_push_that_carried_a_vendor_tightening_does_not_undo_the_tightening(
    svc: Services, sim: VendorSimulator
) -> None:
    (slug,) = connect(svc, sim, "shop", 1)
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.EMAIL, True))
    assert svc.sync.run().ok
    sim.tamper("shop", "sub-0", {"channels": {"email": {"enabled": False}}})  # unsubscribed
    svc.preferences.update_preferences(
        slug, lambda p: p.with_channel(Channel.SMS, False)
    )  # and an edit

    def applied_then_lost(inner: Connector, desired: PreferenceSet, **kw: Any) -> RemoteState:
        inner.write(desired, **kw)  # the vendor applies e-mail off (its own) and SMS off ...
        raise TransientError("connection reset")  # ... and the answer is lost (or a crash)

    engine(svc, lambda b: {"write": applied_then_lost}, retries_per_brand=0).run()
    assert held(sim, "shop", 0)["channels"]["email"]["enabled"] is False

    report = svc.sync.run()
    assert report.ok, report.outcomes
    assert held(sim, "shop", 0)["channels"]["email"]["enabled"] is False, "unsubscribe undone"
    assert svc.brands.get_brand(slug).brand.preferences.channels[Channel.EMAIL] is False


def test_a_retried_lost_answer_does_not_undo_a_vendor_tightening_in_the_same_run(
    svc: Services, sim: VendorSimulator
) -> None:
    (slug,) = connect(svc, sim, "shop", 1)
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.EMAIL, True))
    assert svc.sync.run().ok
    sim.tamper("shop", "sub-0", {"channels": {"email": {"enabled": False}}})  # unsubscribed
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.SMS, False))
    lost = {"left": 1}

    def write_then_lose(inner: Connector, desired: PreferenceSet, **kw: Any) -> RemoteState:
        answer = inner.write(desired, **kw)
        if lost["left"]:
            lost["left"] -= 1
            raise TransientError("connection reset")
        return answer

    (outcome,) = engine(svc, lambda b: {"write": write_then_lose}).run().outcomes
    assert outcome.result is Result.SYNCED
    assert held(sim, "shop", 0)["channels"]["email"]["enabled"] is False, "unsubscribe undone"
    assert svc.brands.get_brand(slug).brand.preferences.channels[Channel.EMAIL] is False
