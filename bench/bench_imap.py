"""Benchmark an IMAP scan on loopback: 20,000 generated messages, headers only.

A real server (Dovecot when installed, else pymap: the output says which) gets ``n``
realistic messages from ``cmr_desktop.testing.mailgen`` (folded DKIM signatures, list
headers, bodies) in INBOX through MULTIAPPEND; then :class:`~cmr_desktop.mail.imap.ImapSource`
scans them over TLS as the app does (sign in, EXAMINE, UID SEARCH, ``UID FETCH`` of the
header fields in chunks, ``parse_headers``). Prints messages per second for the whole scan
(sign-in included) and per chunk size tried.

Target on the 2-core reference machine: >= 5,000 messages/s (issue 12).

Run: python bench/bench_imap.py [--messages 20000] [--chunks 100,500,1000] [--server dovecot|pymap]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from pathlib import Path

from cmr_desktop.mail.headers import MailHeaders
from cmr_desktop.mail.imap import CHUNK_SIZE, ImapSource
from cmr_desktop.testing import mailgen
from cmr_desktop.testing.mailserver import (
    DovecotServer,
    ImapServer,
    PymapServer,
    dovecot_binary,
)


def _load(server: ImapServer, n: int) -> None:
    raw = (
        m.raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        for m in mailgen.messages(seed=12, n=n)
    )
    server.append("INBOX", raw, batch=1000)


def _scan(server: ImapServer, chunk: int) -> tuple[float, int]:
    source = ImapSource(
        server.account("tls", folders=("INBOX",)), server.password(),
        ssl_context=server.tls.client_context(), chunk_size=chunk,
    )  # fmt: skip
    gc.collect()
    start = time.perf_counter()
    cpu = time.process_time()
    run = source.scan()
    read = 0
    try:
        for item in run:
            read += isinstance(item, MailHeaders)
    finally:
        run.close()
    return time.perf_counter() - start, time.process_time() - cpu, read


def run(
    n: int = 20_000, *, chunks: tuple[int, ...] = (CHUNK_SIZE,), server: str = ""
) -> dict[str, float]:
    """Scan ``n`` messages; figures by name (``messages_per_s`` for the default chunk size)."""
    which = server or ("dovecot" if dovecot_binary() else "pymap")
    with tempfile.TemporaryDirectory(prefix="cmr-bench-imap-") as tmp:
        launcher = DovecotServer() if which == "dovecot" else PymapServer(Path(tmp))
        with launcher as imap:
            t0 = time.perf_counter()
            _load(imap, n)
            load_s = time.perf_counter() - t0
            print(f"server: {which}; {n} messages put in INBOX in {load_s:.1f} s")
            _scan(imap, CHUNK_SIZE)  # warm the server's caches and indexes once
            figures: dict[str, float] = {"messages": float(n), "dovecot": float(which == "dovecot")}
            for chunk in chunks:
                seconds, cpu, read = _scan(imap, chunk)
                if read != n:
                    raise SystemExit(f"read {read} of {n} messages")
                rate = n / seconds
                figures[f"messages_per_s_chunk_{chunk}"] = rate
                figures[f"client_cpu_s_chunk_{chunk}"] = cpu
                print(
                    f"chunk {chunk:5}: {n} messages in {seconds:.2f} s = {rate:,.0f} messages/s "
                    f"(this process's CPU: {cpu:.2f} s = {n / cpu:,.0f} messages per CPU-second)"
                )
            figures["messages_per_s"] = figures.get(
                f"messages_per_s_chunk_{CHUNK_SIZE}",
                max(v for k, v in figures.items() if k.startswith("messages_per_s_")),
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--chunks", default=str(CHUNK_SIZE), help="comma-separated chunk sizes")
    parser.add_argument("--server", choices=("dovecot", "pymap"), default="")
    args = parser.parse_args()
    chunks = tuple(int(c) for c in args.chunks.split(","))
    figures = run(args.messages, chunks=chunks, server=args.server)
    rate = figures["messages_per_s"]
    verdict = "meets" if rate >= 5000 else "misses"
    print(f"IMAP scan: {rate:,.0f} messages/s ({verdict} the 5,000 messages/s target)")


if __name__ == "__main__":
    main()
