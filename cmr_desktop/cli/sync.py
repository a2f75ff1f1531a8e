"""``cmr sync``: push the customer's pending choices to every vendor (``--jsonl``: the line
protocol the desktop app reads, ``cmr_desktop.sync.events``)."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Sequence
from typing import Any

import click

from cmr_desktop.cli.common import CONTEXT, Ctx, emit_json, pass_ctx
from cmr_desktop.cli.options import AsciiInt
from cmr_desktop.domain.words import plural
from cmr_desktop.services import BUSY, BrandOutcome, Result, Services, SyncBusy, SyncCancel
from cmr_desktop.sync.events import BrandSynced, SyncEnded, SyncEvent, SyncFailed, SyncStarted


@click.command("sync", context_settings=CONTEXT)
@click.argument("refs", nargs=-1, metavar="[BRAND]...")
@click.option(
    "--jobs",
    type=AsciiInt(1, 256),
    default=32,
    show_default=True,
    help="Brands synced at once.",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Re-read every vendor, even brands with no pending change (finds drift).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcomes as JSON.")
@click.option(
    "--jsonl",
    is_flag=True,
    help="Stream one JSON object per line as brands finish (the desktop app reads this); "
    "a line 'cancel' on standard input stops the sync.",
)
@pass_ctx
def sync_cmd(
    ctx: Ctx, refs: tuple[str, ...], jobs: int, verify: bool, as_json: bool, jsonl: bool
) -> int:
    """Push your pending choices to every vendor and check they keep them.

    Exit status 1 if any brand failed (the summary says why).
    """
    if jsonl:
        return _sync_jsonl(ctx.services, refs, verify, jobs)
    tty = sys.stderr.isatty() and not as_json
    bars = contextlib.ExitStack()
    shown: list[Any] = []  # the progress bar, once the number of brands is known

    def start(total: int) -> None:
        if tty:
            bar = click.progressbar(length=total, label="Syncing", file=sys.stderr)
            shown.append(bars.enter_context(bar))

    def progress(outcome: BrandOutcome, done: int, count: int) -> None:
        if shown:
            shown[0].update(1)
        elif not as_json:
            click.echo(f"[{done}/{count}] {outcome.slug}: {outcome.result}", err=True)

    try:
        with bars:
            report = ctx.services.sync.run(
                refs, verify=verify, jobs=jobs, on_start=start, on_progress=progress
            )
    except KeyboardInterrupt:
        click.echo("Cancelled: brands not finished stay pending.", err=True)
        return 1
    except SyncBusy as exc:
        click.echo(f"cmr: error: {exc}", err=True)
        return 1
    if as_json:
        emit_json([_outcome_json(o) for o in report.outcomes])
    else:
        if not report.outcomes:
            click.echo("Nothing to sync: every brand is up to date.")
        waiting = [o for o in report.outcomes if BUSY in o.detail]
        for o in report.outcomes:
            if BUSY in o.detail:
                continue  # said once, below
            if o.detail:
                click.echo(f"{o.slug:<24} {o.result:<10} {o.detail}")
            else:
                click.echo(f"{o.slug:<24} {o.result}")
        counts = [f"{report.count(r)} {r}" for r in Result if report.count(r)]
        if counts:
            click.echo("Summary: " + ", ".join(counts))
        if waiting:
            click.echo(
                f"cmr: the database is busy (another program is writing to it): "
                f"{plural(len(waiting), 'brand')} left pending; "
                "run cmr sync again when it is done.",
                err=True,
            )
    return 0 if report.ok else 1


def _outcome_json(o: Any) -> dict[str, Any]:
    return {
        "brand": o.slug,
        "name": o.name,
        "result": str(o.result),
        "detail": o.detail,
        "attempts": o.attempts,
    }


#: After "cancel", how long the jsonl sync waits for brands still talking to their vendor
#: before it ends and reports them cancelled (they stay pending).
JSONL_CANCEL_GRACE = 1.0


def _sync_jsonl(services: Services, refs: Sequence[str], verify: bool, jobs: int) -> int:
    """``cmr sync --jsonl``: the line protocol between the desktop app and its sync process.

    Lines (one JSON object each, flushed at once; the events of ``cmr_desktop.sync.events``):
    :class:`SyncStarted`, then :class:`BrandSynced` per brand, then :class:`SyncEnded` (its
    ``cancelled``: how many brands were left pending by a cancel) or :class:`SyncFailed`.
    Reading ``cancel`` on stdin cancels the sync, at any time: a cancel that arrives before
    the run starts leaves every brand pending, and brands still talking to their vendor are
    waited for at most ``JSONL_CANCEL_GRACE`` s.
    """
    cancel = SyncCancel()
    lock = threading.Lock()

    def send(event: SyncEvent) -> None:
        line = event.to_json() + "\n"
        with lock:
            try:
                sys.stdout.write(line)
                sys.stdout.flush()
            except (BrokenPipeError, OSError, ValueError):
                cancel.cancel()  # nobody is listening any more: stop starting work

    def listen() -> None:
        for line in sys.stdin:
            if line.strip() == "cancel":
                cancel.cancel()
                return

    # Listening starts before anything else, so an early cancel is never missed.
    threading.Thread(target=listen, name="cmr-sync-stdin", daemon=True).start()
    try:
        report = services.sync.run(
            refs,
            verify=verify,
            jobs=jobs,
            on_start=lambda total: send(SyncStarted(total)),
            on_progress=lambda o, done, total: send(BrandSynced.of(o, done, total)),
            cancel=cancel,
            cancel_grace=JSONL_CANCEL_GRACE,
        )
    except SyncBusy as exc:
        send(SyncFailed(str(exc)))
        return 1
    send(SyncEnded.of(report))
    return 0 if report.ok else 1
