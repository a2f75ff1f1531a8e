"""The sync engine against the real vendor simulator over loopback."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cmr_desktop.connectors.api import Connector, RemoteState
from cmr_desktop.domain import Channel, DataCategory, Decision, FixedClock, Grant, Purpose
from cmr_desktop.domain.brand import Brand
from cmr_desktop.services import Services
from cmr_desktop.sync.engine import Result, SyncEngine
from cmr_desktop.testing.simulator import VendorSimulator, default_vendors
from tests.conftest import NOW, open_services
from tests.reads import list_brands

VENDORS = ("vendor-001", "vendor-002", "vendor-003")
CONTACT_MARKETING = (DataCategory.CONTACT, Purpose.MARKETING)


@pytest.fixture
def sim() -> Iterator[VendorSimulator]:
    with VendorSimulator(default_vendors(3), seed=3) as s:
        yield s


@pytest.fixture
def svc(tmp_path: Path, clock: FixedClock) -> Iterator[Services]:
    s = open_services(tmp_path / "home", clock)
    yield s
    s.store.close()


def connect(svc: Services, sim: VendorSimulator, n: int) -> list[str]:
    """n brands, spread over the vendors, each its own subscriber; all with an email choice."""
    slugs = []
    for i in range(n):
        vendor = VENDORS[i % len(VENDORS)]
        sim.add_subject(vendor, f"sub-{i}")
        svc.brands.add_brand(
            f"Brand {i}",
            connector="openpref",
            connector_config={"base_url": sim.base_url(vendor), "subject": f"sub-{i}"},
            secrets={"token": sim.token(vendor)},
        )
        slug = f"brand-{i}"
        svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.EMAIL, False))
        slugs.append(slug)
    return slugs


def vendor_of(i: int) -> str:
    return VENDORS[i % len(VENDORS)]


def remote_email(sim: VendorSimulator, i: int) -> Any:
    subject = sim.state(vendor_of(i))[f"sub-{i}"]
    return subject["preferences"]["channels"].get("email", {}).get("enabled")


def test_pending_choices_reach_every_vendor_once_and_are_journaled(
    svc: Services, sim: VendorSimulator
) -> None:
    slugs = connect(svc, sim, 9)
    report = svc.sync.run(jobs=4)
    assert report.ok
    assert {o.result for o in report.outcomes} == {Result.SYNCED}
    assert all(remote_email(sim, i) is False for i in range(9))
    assert sum(sim.stats(v).writes_applied for v in VENDORS) == 9
    assert [b.slug for b in (v.brand for v in list_brands(svc)) if False] == []
    assert not any(v.pending for v in list_brands(svc))
    kinds = [e.kind for e in svc.journal.entries(slugs[0])]
    assert "push" in kinds
    assert "answer" in kinds
    assert svc.journal.verify() is None
    # Nothing pending: a plain run does nothing; a verify run re-reads and finds all in order.
    assert svc.sync.run().outcomes == []
    again = svc.sync.run(verify=True)
    assert {o.result for o in again.outcomes} == {Result.UNCHANGED}
    assert sum(sim.stats(v).writes_applied for v in VENDORS) == 9


def test_drift_is_detected_reasserted_and_journaled(svc: Services, sim: VendorSimulator) -> None:
    connect(svc, sim, 1)
    svc.sync.run()
    sim.tamper("vendor-001", "sub-0", {"channels": {"email": {"enabled": True}}})
    report = svc.sync.run(verify=True)
    (outcome,) = report.outcomes
    assert outcome.result is Result.DRIFT
    assert "channel.email: vendor had on, you chose off" in outcome.detail
    assert remote_email(sim, 0) is False  # re-asserted
    drift = [e for e in svc.journal.entries("brand-0") if e.kind == "drift"]
    assert drift[-1].detail["fields"][0]["field"] == "channel.email"
    assert svc.journal.verify() is None


def test_a_vendor_tightening_is_taken_over_without_a_push(
    svc: Services, sim: VendorSimulator
) -> None:
    connect(svc, sim, 1)
    svc.preferences.update_preferences("brand-0", lambda p: p.with_channel(Channel.EMAIL, True))
    svc.sync.run()
    writes = sim.stats("vendor-001").writes_applied
    sim.tamper("vendor-001", "sub-0", {"channels": {"email": {"enabled": False}}})
    (outcome,) = svc.sync.run(verify=True).outcomes
    assert outcome.result is Result.SYNCED
    assert svc.brands.get_brand("brand-0").brand.preferences.channels[Channel.EMAIL] is False
    assert sim.stats("vendor-001").writes_applied == writes


def test_an_expired_grant_is_revoked_at_the_vendor(
    svc: Services, sim: VendorSimulator, clock: FixedClock
) -> None:
    connect(svc, sim, 1)
    until = NOW.date() + dt.timedelta(days=10)
    svc.preferences.update_preferences(
        "brand-0", lambda p: p.with_grant(*CONTACT_MARKETING, Grant(Decision.ALLOW, until))
    )
    svc.sync.run()

    def grant() -> Any:
        grants = sim.state("vendor-001")["sub-0"]["preferences"]["grants"]
        return next(g for g in grants if (g["category"], g["purpose"]) == ("contact", "marketing"))

    assert grant()["decision"] == "allow"
    clock.advance(dt.timedelta(days=11))
    (outcome,) = svc.sync.run(verify=True).outcomes
    assert outcome.result is Result.SYNCED
    assert grant()["decision"] == "deny"


def test_manual_brands_are_reported_with_what_to_do_until_done(svc: Services) -> None:
    svc.brands.add_brand("Corner Shop")
    svc.preferences.update_preferences("corner-shop", lambda p: p.with_channel(Channel.SMS, False))
    (outcome,) = svc.sync.run().outcomes
    assert outcome.result is Result.MANUAL
    assert "channel.sms: default -> off" in outcome.detail
    assert "cmr brand done corner-shop" in outcome.detail
    assert svc.sync.run().outcomes  # still pending: nobody did it yet
    done = svc.sync.confirm_done_by_hand("Corner Shop")
    assert done == ["channel.sms: default -> off"]
    assert svc.sync.run().outcomes == []  # nothing pending any more
    assert [e.kind for e in svc.journal.entries("corner-shop")] == ["by_hand"]


def test_a_refused_token_marks_the_brand_and_others_go_on(
    svc: Services, sim: VendorSimulator
) -> None:
    connect(svc, sim, 3)
    svc.connections.set_secret("brand-1", "token", "wrong-token")
    report = svc.sync.run()
    by_slug = {o.slug: o for o in report.outcomes}
    assert by_slug["brand-1"].result is Result.FAILED
    assert "needs re-authentication" in by_slug["brand-1"].detail
    assert by_slug["brand-0"].result is Result.SYNCED
    assert by_slug["brand-2"].result is Result.SYNCED
    assert not report.ok
    assert [v.brand.slug for v in list_brands(svc) if v.pending] == ["brand-1"]


def _engine_without_waiting(svc: Services, **options: Any) -> tuple[SyncEngine, list[float]]:
    """An engine whose retry delays are noted instead of waited for."""
    delays: list[float] = []

    def no_wait(delay: float) -> bool:
        delays.append(delay)
        return False  # never cancelled in these tests

    engine = SyncEngine(
        svc.store, svc.connections.connector_for, svc.clock, wait=no_wait, **options
    )
    return engine, delays


def test_flaky_vendors_converge_and_nothing_is_applied_twice(
    svc: Services, sim: VendorSimulator
) -> None:
    connect(svc, sim, 30)
    for vendor in VENDORS:
        sim.set_knobs(
            vendor,
            error_rate=0.1,
            # A "hang" ends with the connection closed and no answer (the client's read
            # timeout is far longer): at once is the same fault as after 3 s, without the 3 s.
            timeout_rate=0.05,
            hang_seconds=0.0,
            garbage_rate=0.05,
            rate_limit=200,
        )
    engine, delays = _engine_without_waiting(svc, jobs=8, seed=5)
    report = engine.run()
    for o in report.outcomes:
        assert o.result is Result.SYNCED or o.detail, o  # failures say why
    assert any(o.attempts > 1 for o in report.outcomes)  # the faults were met, and retried
    # The retry delays went to the injected waiter, not to real time.
    assert delays
    assert all(d > 0 for d in delays)
    for vendor in VENDORS:
        sim.set_knobs(vendor, error_rate=0, timeout_rate=0, garbage_rate=0, rate_limit=0)
    svc.sync.run()  # whatever failed converges once the vendors behave
    assert all(remote_email(sim, i) is False for i in range(30))
    applied = sum(sim.stats(v).writes_applied for v in VENDORS)
    assert applied == 30  # garbage answers to applied writes were replayed, not re-applied
    assert not any(v.pending for v in list_brands(svc))
    assert svc.journal.verify() is None


def test_a_changed_journal_entry_is_found(svc: Services, sim: VendorSimulator) -> None:
    connect(svc, sim, 2)
    svc.sync.run()
    entries = svc.journal.entries()
    assert len(entries) >= 4
    con = sqlite3.connect(svc.store.path)
    con.execute("UPDATE journal SET detail = '{}' WHERE id = ?", (entries[2].id,))
    con.commit()
    con.close()
    assert svc.journal.verify() == entries[2].id


def test_a_slow_vendor_delays_only_itself(svc: Services, sim: VendorSimulator) -> None:
    connect(svc, sim, 15)  # 5 brands per vendor
    slow = {f"brand-{i}" for i in range(0, 15, 3)}  # the vendor-001 brands
    # vendor-001 does not answer a read until every other brand is done (or 60 s, only so
    # that a scheduler that lets it hold every worker fails instead of hanging).
    slow_url = sim.base_url("vendor-001")
    others_done = threading.Event()
    lock = threading.Lock()
    inside = [0, 0]  # reads of vendor-001 held now, most held at once

    def connector_for(brand: Brand) -> Connector:
        connector = svc.connections.connector_for(brand)
        if brand.connector_config.get("base_url") != slow_url:
            return connector
        real_read = connector.read

        def held_read() -> RemoteState:
            with lock:
                inside[0] += 1
                inside[1] = max(inside)
            try:
                others_done.wait(60)
                return real_read()
            finally:
                with lock:
                    inside[0] -= 1

        connector.read = held_read  # type: ignore[method-assign]
        return connector

    order: list[str] = []

    def progress(outcome: Any, done: int, total: int) -> None:
        order.append(outcome.slug)
        if set(order) >= set(f"brand-{i}" for i in range(15)) - slow:
            others_done.set()

    engine = SyncEngine(svc.store, connector_for, svc.clock, jobs=6, per_vendor=2)
    report = engine.run(progress=progress)
    assert report.ok
    assert set(order[:10]) == {f"brand-{i}" for i in range(15)} - slow
    assert inside[1] <= 2  # the slow vendor never held more than its per-vendor share
