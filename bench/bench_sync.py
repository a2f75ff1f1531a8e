"""Benchmark a full sync: 1,000 brands on the vendor simulator with 100 ms per request.

Prints wall seconds and peak RSS for the engine's full sync, then, in the same run, a plain
sequential loop doing the same requests (read, then write, per brand), and the ratio.
Targets on the 2-core reference machine: full sync <= 5 s, and >= 20x the sequential loop.

The simulator runs as its own process (`cmr-vendor-sim`), as real vendors would: in the
same process it would compete with the sync for the interpreter lock.

Run: python bench/bench_sync.py [--brands 1000] [--latency-ms 100] [--jobs 128]
     [--sequential N]   (time the sequential loop on N brands and scale; default: all)
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import keyring
import requests

from cmr_desktop.domain import Brand, Channel, PreferenceSet, SystemClock
from cmr_desktop.secrets import SecretStore
from cmr_desktop.services import Services
from cmr_desktop.storage import Store
from cmr_desktop.sync.engine import Result
from cmr_desktop.testing.keyring import InMemoryKeyring
from cmr_desktop.testing.simulator import SimulatorProcess

VENDORS = 10


class Simulator(SimulatorProcess):
    """The simulator in its own process (its threads must not share this one's GIL)."""

    def vendor(self, i: int) -> tuple[str, str, str]:
        vid = self.vendor_ids[i % len(self.vendor_ids)]
        return vid, self.base_url(vid), self.token(vid)

    def set_latency(self, latency_ms: float) -> None:
        for vid in self.vendor_ids:
            self.set_knobs(vid, latency_ms=latency_ms)

    def writes_applied(self) -> int:
        return sum(self.stats(vid)["writes_applied"] for vid in self.vendor_ids)


def _setup(sim: Simulator, home: Path, n: int) -> Services:
    services = Services(Store(home), SecretStore(), clock=SystemClock(), app_version="bench")
    brands = []
    for i in range(n):
        vendor, url, _ = sim.vendor(i)
        sim.add_subject(vendor, f"sub-{i}")
        brands.append(
            Brand(
                slug=f"brand-{i:05d}",
                name=f"Brand {i}",
                connector="openpref",
                connector_config={"base_url": url, "subject": f"sub-{i}"},
                preferences=PreferenceSet().with_channel(Channel.EMAIL, False),
            )
        )
    with services.store.write() as uow:
        uow.brands.add_many(brands, now=dt.datetime.now(dt.UTC))
    for i, b in enumerate(brands):
        services.secrets.set(b.slug, "token", sim.vendor(i)[2])
    return services


def _sequential(sim: Simulator, n: int) -> float:
    session = requests.Session()
    started = time.perf_counter()
    for i in range(n):
        _, base, token = sim.vendor(i)
        url = f"{base}/subjects/sub-{i}/preferences"
        headers = {"Authorization": f"Bearer {token}"}
        got = session.get(url, headers=headers, timeout=10)
        prefs = got.json()["preferences"]
        prefs["channels"]["email"] = {"enabled": True}
        session.put(
            url,
            json={"preferences": prefs},
            headers={
                **headers,
                "If-Match": got.headers["ETag"],
                "Idempotency-Key": uuid.uuid4().hex,
            },
            timeout=10,
        )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--brands", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--jobs", type=int, default=128)
    parser.add_argument("--sequential", type=int, default=None)
    args = parser.parse_args()
    keyring.set_keyring(InMemoryKeyring())
    gc.disable()  # as `cmr` runs: a short-lived process with the cyclic collector off
    n = args.brands
    sim = Simulator(VENDORS)
    try:
        with tempfile.TemporaryDirectory(prefix="cmr-bench-sync-") as tmp:
            services = _setup(sim, Path(tmp) / "home", n)
            sim.set_latency(args.latency_ms)
            started, cpu0 = time.perf_counter(), time.process_time()
            report = services.sync.run(jobs=args.jobs, per_vendor=args.jobs)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            synced = report.count(Result.SYNCED)
            print(
                f"full sync of {n} brands ({args.latency_ms:.0f} ms per request, "
                f"{args.jobs} jobs): {wall:.2f} s wall; {synced} synced, "
                f"{sim.writes_applied()} writes applied; {cpu:.2f} s CPU in this process; "
                f"peak RSS {peak:.0f} MB"
            )
            if not report.ok:
                failed = [o for o in report.outcomes if o.result is not Result.SYNCED]
                print(f"  not all synced: {failed[:3]}")
            m = args.sequential or n
            scaled = _sequential(sim, m) * n / m
            note = "" if m == n else f" (measured on {m} brands, scaled to {n})"
            print(f"sequential loop, same requests: {scaled:.2f} s{note}")
            print(f"speed-up: {scaled / wall:.1f}x")
            services.store.close()
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
