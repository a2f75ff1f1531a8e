"""Benchmark reading mail headers from an mbox file (issue 12, point 5).

A generated 100,000-message mbox (testing.mailgen: brand newsletters and personal mail with
realistic header mixes and bodies, about 1 GB; cached in the temp folder, or ``--path``),
then, each in its own subprocess (so peak memory is the measurement's own):

- our ``MboxSource`` scan of the first 10,000 messages and of all 100,000: messages/s and
  peak resident memory (``ru_maxrss``, this process's plus its worker's), to show the memory
  is flat in the mailbox size; CPU seconds include the worker process that splits large
  files (``mail.mbox.SPLIT_IN_WORKER_FROM``);
- the same 100,000 in one process (no worker), to show what the worker brings;
- the standard library's ``mailbox.mbox`` with a full ``email`` parse (policy.default) of
  each message, on the 10,000-message prefix (at its speed the whole file would take
  minutes), and the ratio.

With ``--imap`` and ``bench/bench_imap.py`` present (``run(n) -> dict[str, float]``), its
figures for a loopback IMAP scan of 20,000 messages are printed too.

Targets on the 2-core reference machine: >= 50,000 messages/s, >= 10x the standard library,
peak <= 150 MB at 100k. Figures are best of ``--repeat`` runs; the load average is printed,
since the machine is shared.

Run: python bench/bench_discovery.py [--n 100000] [--path FILE.mbox] [--imap]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 12


def _generate(path: Path, prefix: Path, n: int, prefix_n: int) -> None:
    from cmr_desktop.testing.mailgen import mbox_entry, messages

    tmp, tmp_prefix = path.with_suffix(".part"), prefix.with_suffix(".part")
    t = time.perf_counter()
    with open(tmp, "wb", buffering=1 << 20) as f, open(tmp_prefix, "wb") as g:
        for i, m in enumerate(messages(seed=SEED, n=n, days=365, body_bytes=9000)):
            entry = mbox_entry(m)
            f.write(entry)
            if i < prefix_n:
                g.write(entry)
    tmp.replace(path)
    tmp_prefix.replace(prefix)
    size = path.stat().st_size
    print(f"generated {n:,} messages, {size / 1e9:.2f} GB in {time.perf_counter() - t:.0f} s")


def _measure(kind: str, path: Path, repeat: int) -> None:
    """In the subprocess: scan ``path`` ``repeat`` times; print JSON figures."""
    best = cpu = float("inf")
    count = 0
    if kind == "ours1":  # one process: no worker splits the file
        from cmr_desktop.mail import mbox

        mbox.SPLIT_IN_WORKER_FROM = 1 << 62
    for _ in range(repeat):
        t, c = time.perf_counter(), _cpu()
        count = _scan_stdlib(path) if kind == "stdlib" else _scan_ours(path)
        best = min(best, time.perf_counter() - t)
        cpu = min(cpu, _cpu() - c)
    # Peak: this process's, plus the largest worker process's (mbox._worker_cuts).
    rss_mb = sum(resource.getrusage(who).ru_maxrss for who in _WHO) / 1024
    print(json.dumps({"messages": count, "seconds": best, "cpu": cpu, "peak_mb": rss_mb}))


_WHO = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)


def _cpu() -> float:
    """CPU seconds of this process and of its ended worker processes."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(who) for who in _WHO))


def _scan_ours(path: Path) -> int:
    from cmr_desktop.mail.mbox import MboxSource

    run = MboxSource(path).scan()
    count = 0
    for _item in run:
        count += 1
    run.close()
    return count


def _scan_stdlib(path: Path) -> int:
    import email
    import email.message
    import email.policy
    import mailbox
    from typing import IO, Any

    def factory(f: IO[bytes]) -> email.message.EmailMessage:
        return email.message_from_binary_file(f, policy=email.policy.default)

    box = mailbox.mbox(path, factory=factory, create=False)  # type: ignore[arg-type]
    count = 0
    msg: Any
    for msg in box:
        for field in ("From", "Date", "Message-ID", "List-Id", "List-Unsubscribe"):
            msg.get(field)
        count += 1
    box.close()
    return count


def _run(kind: str, path: Path, repeat: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", kind, "--path", str(path), "--repeat", str(repeat)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _imap(n: int) -> None:
    file = HERE / "bench_imap.py"
    if not file.exists():
        print("imap: bench/bench_imap.py is not there (the imap part brings it)")
        return
    spec = importlib.util.spec_from_file_location("bench_imap", file)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.run(n)
    print(
        f"imap scan of {n:,} messages on loopback: "
        + ", ".join(f"{k} {v:,.1f}" for k, v in figures.items())
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="messages in the mbox")
    parser.add_argument("--prefix", type=int, default=10_000, help="messages in the small one")
    parser.add_argument("--path", type=Path, help="an mbox to use (generated if missing)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--imap", action="store_true", help="also run bench/bench_imap.py")
    parser.add_argument("--measure", choices=("ours", "ours1", "stdlib"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        _measure(args.measure, args.path, args.repeat)
        return 0

    # Timing with bytecode compiled (PYTHONDONTWRITEBYTECODE=1 on this machine).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(HERE.parent / "cmr_desktop")], check=True
    )
    path = args.path or Path(tempfile.gettempdir()) / f"cmr-bench-mail-{args.n}-{SEED}.mbox"
    prefix = path.with_name(path.stem + f"-first{args.prefix}.mbox")
    if not path.exists() or not prefix.exists():
        _generate(path, prefix, args.n, args.prefix)
    print(f"mbox: {path} ({path.stat().st_size / 1e9:.2f} GB); load average {os.getloadavg()}")

    small = _run("ours", prefix, args.repeat)
    big = _run("ours", path, args.repeat)
    one = _run("ours1", path, args.repeat)
    std = _run("stdlib", prefix, 1)
    rates, cpu_rates = {}, {}
    runs = (("ours, 10k", small), ("ours, 100k", big), ("1 process", one), ("stdlib, 10k", std))
    for label, f in runs:
        rates[label] = f["messages"] / f["seconds"]
        cpu_rates[label] = f["messages"] / f["cpu"]
        print(
            f"{label:12} {int(f['messages']):>8,} messages in {f['seconds']:6.2f} s: "
            f"{rates[label]:>9,.0f} messages/s ({cpu_rates[label]:,.0f} per CPU second), "
            f"peak {f['peak_mb']:5.1f} MB"
        )
    ratio = rates["ours, 100k"] / rates["stdlib, 10k"]
    print(
        f"ratio: ours (100k) / stdlib mailbox.mbox + email parse (10k prefix) = {ratio:.1f}x; "
        f"peak memory 10k -> 100k: {small['peak_mb']:.1f} -> {big['peak_mb']:.1f} MB"
    )
    print(
        "targets: >= 50,000 messages/s "
        f"({'met' if rates['ours, 100k'] >= 50_000 else 'NOT met'}), >= 10x "
        f"({'met' if ratio >= 10 else 'NOT met'}), <= 150 MB at 100k "
        f"({'met' if big['peak_mb'] <= 150 else 'NOT met'}); load average {os.getloadavg()}"
    )
    if args.imap:
        _imap(20_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
