"""The customer's decisions against the vendor's state, through the real sync engine.

Vendors are the simulator over loopback HTTP. Where a fault cannot be made by the simulator
(an answer lost after the vendor applied the write, a vendor that never answers), the real
connector is wrapped so that it does the real request and then fails, which leaves the home
exactly as a crash at that moment would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cmr_desktop.connectors.api import (
    Connector,
    ConnectorTimeout,
    PreferenceSet,
    RateLimited,
    RemoteState,
    TransientError,
)
from cmr_desktop.domain import Channel, DataCategory, FixedClock, Frequency, Purpose, QuietHours
from cmr_desktop.domain.brand import Brand
from cmr_desktop.services import Services, SyncCancel
from cmr_desktop.sync.engine import BREAKER_TIMEOUTS, Result, SyncEngine
from cmr_desktop.testing.simulator import (
    DataUse,
    Topic,
    VendorSimulator,
    VendorSpec,
    default_vendors,
)
from tests.conftest import open_services

VENDOR = "vendor-001"


@pytest.fixture
def sim() -> Iterator[VendorSimulator]:
    shop = VendorSpec(
        "shop",
        "Shop",
        "token-shop",
        channels=["email", "sms", "push"],
        frequencies=["daily", "weekly", "monthly"],
        topics=[Topic("offers", "Offers"), Topic("order-updates", "Orders", required=True)],
        data_uses=[DataUse("contact", "marketing"), DataUse("identifiers", "sale")],
    )
    plain = VendorSpec(
        "plain",
        "Plain",
        "token-plain",
        channels=["email", "sms"],
        frequencies=[],
        topics=[],
        data_uses=[DataUse("contact", "marketing")],
    )
    with VendorSimulator([*default_vendors(2), shop, plain], seed=11) as s:
        yield s


@pytest.fixture
def svc(tmp_path: Path, clock: FixedClock) -> Iterator[Services]:
    s = open_services(tmp_path / "home", clock)
    yield s
    s.store.close()


def connect(svc: Services, sim: VendorSimulator, vendor: str, n: int, start: int = 0) -> list[str]:
    slugs = []
    for i in range(start, start + n):
        sim.add_subject(vendor, f"sub-{i}")
        svc.brands.add_brand(
            f"{vendor} {i}",
            connector="openpref",
            connector_config={"base_url": sim.base_url(vendor), "subject": f"sub-{i}"},
            secrets={"token": sim.token(vendor)},
        )
        slugs.append(f"{vendor}-{i}")
    return slugs


def held(sim: VendorSimulator, vendor: str, i: int) -> dict[str, Any]:
    prefs: dict[str, Any] = sim.state(vendor)[f"sub-{i}"]["preferences"]
    return prefs


class Wrapped:
    """A real connector with hooks around its calls (see the module docstring)."""

    def __init__(self, inner: Connector, hooks: dict[str, Callable[..., Any]]) -> None:
        self.inner = inner
        self.hooks = hooks
        self.remote = inner.remote

    def catalog(self) -> Any:
        return self.inner.catalog()

    def read(self) -> RemoteState:
        if "read" in self.hooks:
            return self.hooks["read"](self.inner)  # type: ignore[no-any-return]
        return self.inner.read()

    def write(self, desired: PreferenceSet, **kw: Any) -> RemoteState:
        if "write" in self.hooks:
            return self.hooks["write"](self.inner, desired, **kw)  # type: ignore[no-any-return]
        return self.inner.write(desired, **kw)


def engine(
    svc: Services,
    hooks: Callable[[Brand], dict[str, Callable[..., Any]]] | None = None,
    **kw: Any,
) -> SyncEngine:
    def factory(brand: Brand) -> Any:
        inner = svc.connections.connector_for(brand)
        return Wrapped(inner, hooks(brand)) if hooks else inner

    kw.setdefault("wait", lambda delay: False)  # retries cost no real time
    return SyncEngine(svc.store, factory, svc.clock, **kw)


# --- 1. undecided stays undecided -------------------------------------------------------------


def test_a_first_sync_writes_no_vendor_default_into_the_decisions(
    svc: Services, sim: VendorSimulator
) -> None:
    (slug,) = connect(svc, sim, "shop", 1)
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.SMS, False))
    decided = svc.brands.get_brand(slug).brand.preferences

    report = svc.sync.run()
    assert [o.result for o in report.outcomes] == [Result.SYNCED]
    assert "had not decided" not in report.outcomes[0].detail

    view = svc.brands.get_brand(slug)
    assert view.brand.preferences == decided  # "identifiers for sale" is still undecided
    assert not view.pending
    assert view.vendor is not None  # ... and the vendor's own setting is kept as the vendor's
    assert view.vendor.grants[(DataCategory.IDENTIFIERS, Purpose.SALE)].decision == "allow"
    assert view.vendor.channels[Channel.SMS] is False
    vendor = held(sim, "shop", 0)
    assert vendor["channels"]["sms"]["enabled"] is False
    assert vendor["topics"]["offers"] is True  # the vendor's value, sent back unchanged
    assert "accepted" not in [e.kind for e in svc.journal.entries(slug)]
    # A verify run finds nothing to decide and nothing to push.
    again = svc.sync.run(verify=True)
    assert [o.result for o in again.outcomes] == [Result.UNCHANGED]
    assert svc.brands.get_brand(slug).brand.preferences == decided


def test_a_vendor_tightening_a_decided_field_is_taken_and_journaled(
    svc: Services, sim: VendorSimulator
) -> None:
    (slug,) = connect(svc, sim, "shop", 1)
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.EMAIL, True))
    assert svc.sync.run().ok
    sim.tamper("shop", "sub-0", {"channels": {"email": {"enabled": False}}})  # unsubscribed
    report = svc.sync.run(verify=True)
    assert [o.result for o in report.outcomes] == [Result.SYNCED]
    assert svc.brands.get_brand(slug).brand.preferences.channels[Channel.EMAIL] is False
    taken = [e for e in svc.journal.entries(slug) if e.kind == "accepted"]
    assert taken
    assert taken[-1].detail["fields"][0]["field"] == "channel.email"


# --- 2. the protocol kept -----------------------------------------------------------------


def test_a_vendor_that_answers_200_but_keeps_a_looser_value_is_drift(
    svc: Services, sim: VendorSimulator
) -> None:
    (slug,) = connect(svc, sim, "shop", 1)
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.EMAIL, False))

    def lax_write(inner: Connector, desired: PreferenceSet, **kw: Any) -> RemoteState:
        answer = inner.write(desired, **kw)
        return RemoteState(answer.preferences.with_channel(Channel.EMAIL, True), answer.version)

    report = engine(svc, lambda b: {"write": lax_write}).run()
    (outcome,) = report.outcomes
    assert outcome.result is Result.DRIFT
    assert "vendor answered but kept on" in outcome.detail
    view = svc.brands.get_brand(slug)
    assert view.pending  # not "up to date": the vendor does not hold the decision
    assert view.brand.preferences.channels[Channel.EMAIL] is False
    assert [e for e in svc.journal.entries(slug) if e.kind == "drift"]


def test_drift_is_still_reported_when_the_answer_to_its_fix_was_lost(
    svc: Services, sim: VendorSimulator
) -> None:
    (slug,) = connect(svc, sim, "shop", 1)
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.EMAIL, False))
    assert svc.sync.run().ok
    sim.tamper("shop", "sub-0", {"channels": {"email": {"enabled": True}}})  # loosened
    lost = {"left": 1}

    def write_then_lose(inner: Connector, desired: PreferenceSet, **kw: Any) -> RemoteState:
        answer = inner.write(desired, **kw)  # the vendor applies it ...
        if lost["left"]:
            lost["left"] -= 1
            raise TransientError("connection reset")  # ... and the answer never arrives
        return answer

    report = engine(svc, lambda b: {"write": write_then_lose}).run(verify=True)
    (outcome,) = report.outcomes
    assert outcome.result is Result.DRIFT, outcome
    assert "channel.email: vendor had on, you chose off" in outcome.detail
    drift = [e for e in svc.journal.entries(slug) if e.kind == "drift"]
    assert drift
    assert drift[-1].detail["fields"][0]["field"] == "channel.email"
    assert held(sim, "shop", 0)["channels"]["email"]["enabled"] is False
    assert sim.stats("shop").writes_applied == 2  # the first push and the fix, once each


def test_an_empty_frequency_list_means_no_frequency_is_sent(
    svc: Services, sim: VendorSimulator
) -> None:
    (slug,) = connect(svc, sim, "plain", 1)
    svc.preferences.update_preferences(
        slug,
        lambda p: (
            p.with_channel(Channel.EMAIL, True)
            .with_frequency(Channel.EMAIL, Frequency.WEEKLY)
            .with_channel(Channel.SMS, False)
        ),
    )
    report = svc.sync.run()
    (outcome,) = report.outcomes
    assert outcome.result is Result.SYNCED, outcome
    assert "offers no choice of how often" in outcome.detail
    assert held(sim, "plain", 0)["channels"]["sms"]["enabled"] is False  # the rest is pushed
    assert not svc.brands.get_brand(slug).pending
    # The decision itself is kept as the customer made it.
    assert (
        svc.brands.get_brand(slug).brand.preferences.frequencies[Channel.EMAIL] is Frequency.WEEKLY
    )


def test_a_frequency_the_vendor_does_not_offer_is_reported_and_the_nearest_sent(
    svc: Services, sim: VendorSimulator
) -> None:
    (slug,) = connect(svc, sim, "shop", 1)
    svc.preferences.update_preferences(
        slug, lambda p: p.with_frequency(Channel.EMAIL, Frequency.QUARTERLY)
    )
    (outcome,) = svc.sync.run().outcomes
    assert "shop 0 does not offer quarterly; nearest it offers: monthly" in outcome.detail
    assert held(sim, "shop", 0)["channels"]["email"]["frequency"] == "monthly"  # not "weekly"
    prefs = svc.brands.get_brand(slug).brand.preferences
    assert prefs.frequencies[Channel.EMAIL] is Frequency.QUARTERLY


def test_one_unresponsive_vendor_does_not_stall_the_sync(
    svc: Services, sim: VendorSimulator
) -> None:
    hanging = connect(svc, sim, VENDOR, 12)
    fine = connect(svc, sim, "vendor-002", 6, start=100)
    reads = {"n": 0}
    lock = threading.Lock()

    def never_answers(inner: Connector) -> RemoteState:
        with lock:
            reads["n"] += 1
        raise ConnectorTimeout("the vendor did not answer in time")

    def hooks(brand: Brand) -> dict[str, Callable[..., Any]]:
        return {"read": never_answers} if brand.slug in hanging else {}

    report = engine(svc, hooks, jobs=4, per_vendor=2, retries_per_brand=4).run(verify=True)
    by = {o.slug: o for o in report.outcomes}
    assert all(by[s].result is Result.FAILED for s in hanging)
    assert all("vendor not answering" in by[s].detail for s in hanging)
    assert all(by[s].result is not Result.FAILED for s in fine)
    # A few timeouts open the breaker; the rest of the vendor's brands are not even tried.
    assert reads["n"] <= BREAKER_TIMEOUTS + 2
    assert all(v.pending for v in map(svc.brands.get_brand, hanging))


def test_a_long_retry_after_is_reported_and_not_waited_for(
    svc: Services, sim: VendorSimulator
) -> None:
    (slug,) = connect(svc, sim, "shop", 1)
    waits: list[float] = []

    def busy(inner: Connector) -> RemoteState:
        raise RateLimited("too many requests", retry_after=3600)

    def wait(delay: float) -> bool:
        waits.append(delay)
        return False

    report = engine(svc, lambda b: {"read": busy}, wait=wait).run()
    (outcome,) = report.outcomes
    assert outcome.result is Result.FAILED
    assert "vendor asked to wait until" in outcome.detail
    assert waits == []
    assert svc.brands.get_brand(slug).pending


def test_a_short_retry_after_is_waited_for_as_the_vendor_says(
    svc: Services, sim: VendorSimulator
) -> None:
    connect(svc, sim, "shop", 1)
    waits: list[float] = []
    calls = {"n": 0}

    def once_busy(inner: Connector) -> RemoteState:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RateLimited("too many requests", retry_after=7)
        return inner.read()

    def wait(delay: float) -> bool:
        waits.append(delay)
        return False

    report = engine(svc, lambda b: {"read": once_busy}, wait=wait, backoff=0.01).run()
    assert report.ok
    assert len(waits) == 1
    assert waits[0] >= 7


# --- 3. a sync that cancels -------------------------------------------------------------------


def test_a_cancel_before_the_run_starts_cancels_every_brand(
    svc: Services, sim: VendorSimulator
) -> None:
    connect(svc, sim, "shop", 3)
    cancel = SyncCancel()
    cancel.cancel()
    report = svc.sync.run(cancel=cancel)
    assert {o.result for o in report.outcomes} == {Result.CANCELLED}
    assert sim.stats("shop").writes_applied == 0


def test_a_cancel_stops_new_work_at_once_and_reports_brands_in_flight(
    svc: Services, sim: VendorSimulator
) -> None:
    slugs = connect(svc, sim, "shop", 8)
    started = threading.Semaphore(0)
    release = threading.Event()

    def stuck(inner: Connector) -> RemoteState:
        started.release()
        release.wait(30)
        return inner.read()

    eng = engine(svc, lambda b: {"read": stuck}, jobs=2, per_vendor=2, cancel_grace=0.0)
    result: list[Any] = []
    runner = threading.Thread(target=lambda: result.append(eng.run()))
    runner.start()
    assert started.acquire(timeout=30)
    assert started.acquire(timeout=30)
    eng.cancel()
    runner.join(30)
    assert not runner.is_alive(), "run() must return once cancelled"
    (report,) = result
    assert {o.slug for o in report.outcomes} == set(slugs)
    assert {o.result for o in report.outcomes} == {Result.CANCELLED}
    in_flight = [o for o in report.outcomes if "while talking to the vendor" in o.detail]
    assert len(in_flight) == 2
    release.set()
    for t in threading.enumerate():
        if t.name.startswith("cmr-sync-"):
            t.join(30)
    assert all(v.pending for v in map(svc.brands.get_brand, slugs[2:]))


# --- 8. a crash never costs an edit -----------------------------------------------------------


def test_after_a_crash_between_the_vendors_write_and_its_record_the_newest_decision_wins(
    svc: Services, sim: VendorSimulator
) -> None:
    (slug,) = connect(svc, sim, "shop", 1)
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.EMAIL, True))
    assert svc.sync.run().ok
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.EMAIL, False))

    def applied_then_died(inner: Connector, desired: PreferenceSet, **kw: Any) -> RemoteState:
        inner.write(desired, **kw)  # the vendor applied "off" ...
        raise TransientError("the process died here")  # ... and nothing was recorded

    report = engine(svc, lambda b: {"write": applied_then_died}, retries_per_brand=0).run()
    assert report.outcomes[0].result is Result.FAILED
    assert held(sim, "shop", 0)["channels"]["email"]["enabled"] is False

    # The customer changes their mind: e-mail back on.
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.EMAIL, True))
    report = svc.sync.run()
    assert report.ok, report.outcomes
    assert svc.brands.get_brand(slug).brand.preferences.channels[Channel.EMAIL] is True
    assert held(sim, "shop", 0)["channels"]["email"]["enabled"] is True
    assert not svc.brands.get_brand(slug).pending


def test_a_lost_answer_to_an_applied_push_is_recognised_not_pushed_again(
    svc: Services, sim: VendorSimulator
) -> None:
    (slug,) = connect(svc, sim, "shop", 1)
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.SMS, False))

    def applied_then_lost(inner: Connector, desired: PreferenceSet, **kw: Any) -> RemoteState:
        inner.write(desired, **kw)
        raise TransientError("connection reset")

    engine(svc, lambda b: {"write": applied_then_lost}, retries_per_brand=0).run()
    report = svc.sync.run()
    (outcome,) = report.outcomes
    assert outcome.result is Result.SYNCED
    assert "its answer was lost" in outcome.detail
    assert sim.stats("shop").writes_applied == 1
    answers = [e for e in svc.journal.entries(slug) if e.kind == "answer"]
    assert answers
    assert answers[-1].detail.get("recovered") is True


def test_brand_show_tells_undecided_fields_with_the_vendors_setting(
    svc: Services, sim: VendorSimulator, cmr: Any, tmp_path: Path
) -> None:
    (slug,) = connect(svc, sim, "shop", 1)
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.SMS, False))
    assert svc.sync.run().ok
    res = cmr("brand", "show", slug, home_dir=tmp_path / "home")
    assert res.code == 0, res
    mine, _, theirs = res.out.partition("Undecided by you")
    assert "may not text you" in mine
    assert "undecided — their setting: shop 0 may email you" in theirs
    assert "identifiers data for sale" in theirs
    shown = cmr("brand", "show", slug, "--json", home_dir=tmp_path / "home").json()
    assert shown["preferences"]["channels"] == {"sms": {"enabled": False}}
    assert shown["vendor_state"]["channels"]["email"]["enabled"] is True


# --- quiet hours reach the vendor, and a push never erases the vendor's own -----------------


def test_quiet_hours_reach_the_vendor(svc: Services, sim: VendorSimulator) -> None:
    (slug,) = connect(svc, sim, "shop", 1)
    window = QuietHours.parse("21:00-08:00")
    svc.preferences.update_preferences(slug, lambda p: p.with_quiet_hours(window))
    (outcome,) = svc.sync.run().outcomes
    assert outcome.result is Result.SYNCED, outcome
    assert held(sim, "shop", 0)["quiet_hours"] == {"start": "21:00", "end": "08:00"}


def test_a_push_about_something_else_keeps_the_vendors_quiet_hours(
    svc: Services, sim: VendorSimulator
) -> None:
    (slug,) = connect(svc, sim, "shop", 1)
    sim.tamper("shop", "sub-0", {"quiet_hours": {"start": "22:00", "end": "07:00"}})
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.SMS, False))
    assert svc.sync.run().ok
    vendor = held(sim, "shop", 0)
    assert vendor["quiet_hours"] == {"start": "22:00", "end": "07:00"}  # not erased
    assert vendor["channels"]["sms"]["enabled"] is False
    view = svc.brands.get_brand(slug)
    assert view.brand.preferences.quiet_hours is None  # the vendor's window is not the customer's
    assert view.vendor is not None
    assert str(view.vendor.quiet_hours) == "22:00-07:00"


# --- 8, with a real kill ------------------------------------------------------------------------


def test_a_sync_killed_after_the_vendor_applied_its_write_loses_no_change_of_mind(
    tmp_path: Path, sim: VendorSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sequence that lost 20 edits in 12 trials: e-mail on and synced; turned off;
    ``cmr sync`` killed after the vendor applied the write and before the answer was
    recorded; turned back on; the next sync must keep "on"."""
    import os
    import signal
    import subprocess
    import sys

    import keyring

    from cmr_desktop.testing.keyring import InMemoryKeyring

    keyring_file = tmp_path / "test-keyring.json"
    monkeypatch.setenv("CMR_TEST_KEYRING_FILE", str(keyring_file))
    keyring.set_keyring(InMemoryKeyring())
    home = tmp_path / "home"
    svc = open_services(home)
    (slug,) = connect(svc, sim, "shop", 1)
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.EMAIL, True))
    assert svc.sync.run().ok
    svc.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.EMAIL, False))
    applied = sim.stats("shop").writes_applied
    sim.set_knobs("shop", hold_after_apply=True)
    env = {
        **os.environ,
        "CMR_HOME": str(home),
        "PYTHON_KEYRING_BACKEND": "cmr_desktop.testing.keyring.InMemoryKeyring",
        "CMR_TEST_KEYRING_FILE": str(keyring_file),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cmr_desktop", "sync"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        sim.wait_for_stats("shop", lambda s: s.writes_applied > applied, timeout=60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    sim.set_knobs("shop", hold_after_apply=False)
    assert held(sim, "shop", 0)["channels"]["email"]["enabled"] is False  # applied, unrecorded
    assert svc.brands.get_brand(slug).pending

    svc.preferences.update_preferences(
        slug, lambda p: p.with_channel(Channel.EMAIL, True)
    )  # mind changed
    report = svc.sync.run()
    assert report.ok, report.outcomes
    assert svc.brands.get_brand(slug).brand.preferences.channels[Channel.EMAIL] is True
    assert held(sim, "shop", 0)["channels"]["email"]["enabled"] is True
    assert svc.journal.verify() is None
    svc.store.close()


# --- 7. a database held by another program -----------------------------------------------------


def test_a_database_held_by_another_program_is_said_once_and_leaves_brands_pending(
    tmp_path: Path, sim: VendorSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    import sqlite3

    from cmr_desktop.secrets import SecretStore
    from cmr_desktop.storage import Store
    from cmr_desktop.sync.engine import BUSY
    from tests.conftest import NOW

    home = tmp_path / "home"
    svc = Services(Store(home, busy_timeout=0.05), SecretStore(), clock=FixedClock(NOW))
    slugs = connect(svc, sim, "shop", 6)
    holder = sqlite3.connect(home / "cmr.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # as a 40,000-brand import in another process does
    try:
        report = engine(svc, jobs=2).run()
    finally:
        holder.rollback()
        holder.close()
    assert report.busy
    assert {o.slug for o in report.outcomes} == set(slugs)
    assert all(BUSY in o.detail for o in report.outcomes)
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert all(v.pending for v in map(svc.brands.get_brand, slugs))
    assert svc.sync.run().ok  # free again: everything goes through
    svc.store.close()
