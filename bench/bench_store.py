"""Benchmark the store, the CLI listing, export and import at 10,000 brands.

Prints one line per figure. Targets on the 2-core reference machine:
``cmr brand list --json`` <= 1.0 s, export <= 1.0 s, import <= 3.0 s.

Run: python bench/bench_store.py [--brands N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cmr_desktop.domain.clock import SystemClock
from cmr_desktop.secrets import SecretStore
from cmr_desktop.services import Services
from cmr_desktop.storage import Store
from cmr_desktop.testing.sample import sample_brands


def _services(home: Path) -> Services:
    return Services(Store(home), SecretStore(), clock=SystemClock(), app_version="bench")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--brands", type=int, default=10_000)
    args = parser.parse_args()
    n = args.brands
    with tempfile.TemporaryDirectory(prefix="cmr-bench-") as tmp:
        root = Path(tmp)
        brands = sample_brands(n)
        services = _services(root / "home")

        t = time.perf_counter()
        with services.store.write() as uow:
            uow.brands.add_many(brands, now=dt.datetime.now(dt.UTC))
        print(f"insert {n} brands: {time.perf_counter() - t:.3f} s")

        cmr = Path(sys.executable).parent / "cmr"
        env = {**os.environ, "CMR_HOME": str(root / "home")}
        timings = []
        for _ in range(3):
            t = time.perf_counter()
            proc = subprocess.run(
                [str(cmr), "brand", "list", "--json"], capture_output=True, env=env, check=True
            )
            timings.append(time.perf_counter() - t)
        print(
            f"cmr brand list --json (whole process, best of 3): {min(timings):.3f} s "
            f"({len(proc.stdout) / 1e6:.1f} MB of JSON)"
        )

        export_file = root / "export.json"
        t = time.perf_counter()
        with export_file.open("w", encoding="utf-8") as fh:
            services.transfer.export_json(fh)
        print(
            f"export JSON: {time.perf_counter() - t:.3f} s "
            f"({export_file.stat().st_size / 1e6:.1f} MB)"
        )

        t = time.perf_counter()
        services.transfer.export_csv(io.StringIO())
        print(f"export CSV: {time.perf_counter() - t:.3f} s")

        empty = _services(root / "empty")
        t = time.perf_counter()
        result = empty.transfer.import_file(export_file)
        elapsed = time.perf_counter() - t
        assert len(result.plan.added) == n
        print(f"import JSON into an empty home: {elapsed:.3f} s")

        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"peak RSS (this process): {peak_kb / 1024:.0f} MB")
        services.store.close()
        empty.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
