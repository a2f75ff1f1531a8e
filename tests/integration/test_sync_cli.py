"""`cmr sync` and `cmr log` through the real entry point; crash safety under SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest

from cmr_desktop.domain import Channel
from cmr_desktop.services import Services, SyncCancel
from cmr_desktop.testing.keyring import InMemoryKeyring
from cmr_desktop.testing.simulator import Knobs, VendorSimulator, default_vendors
from tests.conftest import BIN, open_services
from tests.reads import list_brands

VENDORS = ("vendor-001", "vendor-002", "vendor-003")


@pytest.fixture
def shared_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Secrets this process stores, `cmr` subprocesses can read (a test keyring file)."""
    path = tmp_path / "test-keyring.json"
    monkeypatch.setenv("CMR_TEST_KEYRING_FILE", str(path))
    keyring.set_keyring(InMemoryKeyring())
    return path


def _brands(svc: Services, sim: VendorSimulator, n: int) -> None:
    for i in range(n):
        vendor = VENDORS[i % 3]
        sim.add_subject(vendor, f"sub-{i}")
        svc.brands.add_brand(
            f"Brand {i}",
            connector="openpref",
            connector_config={"base_url": sim.base_url(vendor), "subject": f"sub-{i}"},
            secrets={"token": sim.token(vendor)},
        )
        svc.preferences.update_preferences(
            f"brand-{i}", lambda p: p.with_channel(Channel.EMAIL, False)
        )


def _cmr_env(home: Path, keyring_file: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CMR_HOME": str(home),
        "PYTHON_KEYRING_BACKEND": "cmr_desktop.testing.keyring.InMemoryKeyring",
        "CMR_TEST_KEYRING_FILE": str(keyring_file),
    }


def _run(home: Path, keyring_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "cmr"), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=_cmr_env(home, keyring_file),
    )


@pytest.fixture
def sim() -> Iterator[VendorSimulator]:
    with VendorSimulator(default_vendors(3), seed=11) as s:
        yield s


def test_sync_and_log_commands(tmp_path: Path, shared_keyring: Path, sim: VendorSimulator) -> None:
    home = tmp_path / "home"
    svc = open_services(home)
    _brands(svc, sim, 4)
    svc.brands.add_brand("Corner Shop")
    svc.preferences.update_preferences("corner-shop", lambda p: p.with_channel(Channel.SMS, False))
    svc.connections.set_secret("brand-3", "token", "wrong")
    svc.store.close()

    res = _run(home, shared_keyring, "sync", "--json")
    assert res.returncode == 1, res.stderr  # brand-3 failed
    outcomes = {o["brand"]: o for o in json.loads(res.stdout)}
    assert outcomes["brand-0"]["result"] == "synced"
    assert outcomes["corner-shop"]["result"] == "manual"
    assert "do by hand: channel.sms: default -> off" in outcomes["corner-shop"]["detail"]
    assert outcomes["brand-3"]["result"] == "failed"
    assert "needs re-authentication" in outcomes["brand-3"]["detail"]

    text = _run(home, shared_keyring, "sync", "brand-0", "--verify")
    assert text.returncode == 0, text.stderr
    assert "brand-0" in text.stdout
    assert "Summary: 1 unchanged" in text.stdout
    assert "[1/1] brand-0: unchanged" in text.stderr  # plain progress lines without a TTY

    log = _run(home, shared_keyring, "log", "brand-0", "--json")
    kinds = [e["kind"] for e in json.loads(log.stdout)]
    assert "push" in kinds
    assert "answer" in kinds
    ok = _run(home, shared_keyring, "log", "--verify")
    assert ok.returncode == 0
    assert "intact" in ok.stdout


HELD = "vendor-004"  # a vendor that never answers while the kills go on


def _held_brand(svc: Services, sim: VendorSimulator, *, hang_seconds: float) -> None:
    """Brand ``held-brand`` on vendor HELD, which hangs every request for ``hang_seconds``
    and then closes the connection unanswered: the brand cannot finish before the client
    has tried (and retried) for several times that long. ``set_knobs(HELD,
    timeout_rate=0.0)`` lets it through."""
    sim.set_knobs(HELD, timeout_rate=1.0, hang_seconds=hang_seconds)
    sim.add_subject(HELD, "sub-held")
    svc.brands.add_brand(
        "Held Brand",
        connector="openpref",
        connector_config={"base_url": sim.base_url(HELD), "subject": "sub-held"},
        secrets={"token": sim.token(HELD)},
    )
    svc.preferences.update_preferences("held-brand", lambda p: p.with_channel(Channel.EMAIL, False))


def _sync_until_killed(env: dict[str, str], pick_k: Callable[[int], int]) -> list[dict[str, Any]]:
    """Run ``cmr sync --jsonl`` and SIGKILL it right after it reports its k-th finished brand
    (``k = pick_k(total)``, ``total`` from its start line). Returns the lines it printed."""
    proc = subprocess.Popen(
        [str(BIN / "cmr"), "sync", "--jsonl", "--jobs", "4"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    # Only a safety net for a broken build (no k-th line would ever come): not a timing.
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    events: list[dict[str, Any]] = []
    k, killed = 0, False
    try:
        for line in proc.stdout:
            event = json.loads(line)
            events.append(event)
            if event["event"] == "start":
                k = pick_k(event["total"])
            elif event["event"] == "brand" and event["done"] == k:
                proc.send_signal(signal.SIGKILL)  # mid-sync: brands in flight, pushes unanswered
                killed = True
                break
    finally:
        watchdog.cancel()
        proc.stdout.close()
        proc.wait()
    assert killed, f"cmr sync ended before its {k}th brand: {events[-3:]}"
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, events[-3:])
    assert [e["done"] for e in events if e["event"] == "brand"] == list(range(1, k + 1)), events
    return events


@pytest.mark.slow  # 11 `cmr sync` processes on 200 brands
def test_killed_syncs_lose_nothing_and_apply_nothing_twice(
    tmp_path: Path, shared_keyring: Path
) -> None:
    n = 200
    with VendorSimulator(default_vendors(4), seed=5, knobs=Knobs(latency_ms=30)) as sim:
        home = tmp_path / "home"
        svc = open_services(home)
        _brands(svc, sim, n)
        # One more brand on a vendor that hangs every request: while the kills go on, that
        # brand can never finish, so each run is killed before its end and something is
        # always left pending, whatever the machine's load.
        _held_brand(svc, sim, hang_seconds=600)
        svc.store.close()
        rng = random.Random(2026)
        env = _cmr_env(home, shared_keyring)
        pending = n + 1
        for _ in range(10):
            # k-th finished brand, varied per run; at most 15, so 10 runs cannot finish all.
            events = _sync_until_killed(env, lambda total: rng.randint(1, min(15, total - 1)))
            start, *brands = events
            assert start == {"event": "start", "total": pending}
            assert {b["result"] for b in brands} == {"synced"}, brands
            interrupted = open_services(home)
            left = [v.brand.slug for v in list_brands(interrupted) if v.pending]
            interrupted.store.close()
            # Every brand reported done is done, so each run got fewer left; the held one
            # is never done.
            assert not {b["brand"] for b in brands} & set(left)
            assert "held-brand" in left
            assert 0 < len(left) <= pending - len(brands)
            pending = len(left)

        sim.set_knobs(HELD, timeout_rate=0.0)
        final = _run(home, shared_keyring, "sync", "--jobs", "16")
        assert final.returncode == 0, final.stdout[-2000:] + final.stderr[-2000:]

        svc = open_services(home)
        try:
            views = list_brands(svc)
            assert not [v.brand.slug for v in views if v.pending]
            for v in views:  # every local edit survived
                assert v.brand.preferences.channels[Channel.EMAIL] is False
            for i in range(n):  # every vendor holds the choice
                state = sim.state(VENDORS[i % 3])[f"sub-{i}"]["preferences"]
                assert state["channels"]["email"]["enabled"] is False, i
            held = sim.state(HELD)["sub-held"]["preferences"]
            assert held["channels"]["email"]["enabled"] is False
            # one revision per brand: applied exactly once each, however often we crashed
            assert sum(sim.stats(v).writes_applied for v in (*VENDORS, HELD)) == n + 1
            assert svc.journal.verify() is None
        finally:
            svc.store.close()


def test_cancelling_stops_new_work_and_leaves_brands_consistent(
    tmp_path: Path, shared_keyring: Path
) -> None:
    with VendorSimulator(default_vendors(3), seed=2, knobs=Knobs(latency_ms=50)) as sim:
        svc = open_services(tmp_path / "home")
        _brands(svc, sim, 30)
        cancel = SyncCancel()
        seen: list[Any] = []

        def progress(outcome: Any, done: int, total: int) -> None:
            seen.append(outcome)
            if done == 3:
                cancel.cancel()

        report = svc.sync.run(jobs=2, on_progress=progress, cancel=cancel)
        results = {str(o.result) for o in report.outcomes}
        assert "cancelled" in results
        assert len([o for o in report.outcomes if str(o.result) == "synced"]) < 30
        pending = {v.brand.slug for v in list_brands(svc) if v.pending}
        synced = {o.slug for o in report.outcomes if str(o.result) == "synced"}
        assert pending.isdisjoint(synced)
        assert len(pending) + len(synced) == 30
        assert svc.sync.run().ok  # the rest goes through next time
        assert not any(v.pending for v in list_brands(svc))
        svc.store.close()


def test_a_second_sync_of_the_same_home_is_refused(tmp_path: Path, shared_keyring: Path) -> None:
    from filelock import FileLock

    from cmr_desktop.sync.engine import SyncBusy

    home = tmp_path / "home"
    svc = open_services(home)
    svc.brands.add_brand("Corner Shop")
    with FileLock(home / "sync.lock", timeout=0):
        (home / "sync.owner").write_text("pid 4242", encoding="utf-8")
        with pytest.raises(SyncBusy, match=r"already running \(pid 4242\)"):
            svc.sync.run()
        res = _run(home, shared_keyring, "sync")
        assert res.returncode == 1
        assert "a sync of this home is already running" in res.stderr
    assert svc.sync.run().ok  # free again
    svc.store.close()


def test_sync_jsonl_streams_one_line_per_brand_and_cancels_on_request(
    tmp_path: Path, shared_keyring: Path
) -> None:
    # The desktop app's protocol: start, one line per finished brand, end; "cancel" on stdin.
    home = tmp_path / "home"
    with VendorSimulator(default_vendors(4), seed=5, knobs=Knobs(latency_ms=60)) as slow:
        svc = open_services(home)
        _brands(svc, slow, 40)
        # It cannot end well for about 10 s (5 attempts of 3 half-second hangs, and the
        # waits between), so however late the cancel comes on a loaded machine, something is
        # still to do: it is cancelled (in flight: it gives up at its next failure) or never
        # started.
        _held_brand(svc, slow, hang_seconds=0.5)
        svc.store.close()
        proc = subprocess.Popen(
            [str(BIN / "cmr"), "sync", "--jsonl", "--jobs", "2"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_cmr_env(home, shared_keyring),
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        events = [json.loads(proc.stdout.readline())]
        assert events[0] == {"event": "start", "total": 41}
        events.append(json.loads(proc.stdout.readline()))
        proc.stdin.write("cancel\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=60)
    events += [json.loads(line) for line in out.splitlines()]
    brands = [e for e in events if e["event"] == "brand"]
    assert brands[0]["result"] == "synced"
    assert brands[0]["done"] == 1
    assert {"brand", "name", "result", "detail", "attempts", "total"} <= set(brands[0])
    assert events[-1]["event"] == "end"
    assert events[-1]["ok"] is False  # cancelled brands are not ok
    assert events[-1]["counts"]["cancelled"] > 0
    # (a brand that never started has no line of its own: it is only counted)
    assert [e["result"] for e in brands if e["brand"] == "held-brand"] in ([], ["cancelled"])
    assert sum(events[-1]["counts"].values()) == 41
    assert proc.returncode == 1, err
