"""``cmr``: the command line for power users (ARCHITECTURE 3.2).

Exit codes: 0 success, 1 the work ran but some of it failed (or a check found problems),
2 usage or input error. Errors are one line on stderr: ``cmr: error: ...``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import io
import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from cmr_desktop import __version__
from cmr_desktop.cli.connector_template import new_connector
from cmr_desktop.cli.options import AsciiInt, compose, preference_edits
from cmr_desktop.connectors.quality import quality_of
from cmr_desktop.domain.brand import MANUAL_CONNECTOR, Brand
from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.policy import (
    GrantMaxMonths,
    MaxFrequency,
    MyTerms,
    NeverPurpose,
    NoChannel,
    QuietHoursRule,
)
from cmr_desktop.domain.preferences import QuietHours
from cmr_desktop.domain.vocabulary import Channel, Frequency, Purpose, RelationshipStatus, parse
from cmr_desktop.domain.words import plural
from cmr_desktop.interop import ImportProblem
from cmr_desktop.interop.document import brand_to_dict, join_array, record_json
from cmr_desktop.interop.files import write_atomically
from cmr_desktop.secrets import SecretsUnavailable
from cmr_desktop.services import BrandView, InputError, ServiceError, Services, StoreError
from cmr_desktop.sync.engine import BUSY, Result, SyncBusy

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


ServicesFactory = Callable[[str | None], Services]


class Ctx:
    """Lazily opens the home: `cmr --help` must not create a database."""

    def __init__(self, home: str | None, factory: ServicesFactory) -> None:
        self.home = home
        self._factory = factory
        self._services: Services | None = None

    @property
    def services(self) -> Services:
        if self._services is None:
            self._services = self._factory(self.home)
        return self._services


pass_ctx = click.make_pass_decorator(Ctx)


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


@click.group(context_settings=CONTEXT)
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    envvar="CMR_HOME",
    show_envvar=True,
    help="Data folder (default: the platform's user data folder for cmr-desktop).",
)
@click.version_option(__version__, prog_name="cmr")
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """CMR Desktop: decide, per brand, who may reach you, how often, and what they may do
    with your data."""
    ctx.obj = Ctx(home, ctx.meta["cmr.factory"])


# --- brand ----------------------------------------------------------------------------------


@cli.group(context_settings=CONTEXT)
def brand() -> None:
    """Add, list, show, edit and remove brands."""


def _status(value: str | None) -> RelationshipStatus | None:
    if value is None:
        return None
    try:
        return parse(RelationshipStatus, value)
    except DomainError as exc:
        raise InputError(f"--status: {exc}") from None


@brand.command("add")
@click.argument("name")
@click.option("--slug", help="Id to use (default: made from the name).")
@click.option("--category", default="", help='Grouping such as "retail" or "finance".')
@click.option("--website", default="")
@click.option("--account", "account_id", default="", help="Your account id or login there.")
@click.option("--contact", "privacy_contact", default="", help="Privacy e-mail address or URL.")
@click.option("--notes", default="")
@click.option("--tag", "tags", multiple=True, help="A label (repeatable).")
@click.option("--status", default="active", show_default=True, help="active, paused or closed.")
@click.option(
    "--connector",
    default=MANUAL_CONNECTOR,
    show_default=True,
    help="How choices reach the brand (manual: you handle them by hand).",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="FIELD=VALUE",
    help="A connector setting, e.g. --set base_url=https://... (see `cmr connectors`).",
)
@click.option(
    "--secret-env",
    multiple=True,
    metavar="FIELD=VAR",
    help="Read a secret connector setting from environment variable VAR (for scripts); "
    "otherwise secrets are asked for at a hidden prompt.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the new brand as JSON.")
@pass_ctx
def brand_add(
    ctx: Ctx,
    /,
    name: str,
    slug: str | None,
    status: str,
    connector: str,
    settings: tuple[str, ...],
    secret_env: tuple[str, ...],
    as_json: bool,
    **fields: Any,
) -> None:
    """Add a brand called NAME.

    Without --connector the brand is handled by hand: you record your choices and carry them
    out yourself. With a connector, give its settings with --set and its secrets with
    --secret-env or at the prompt.
    """
    fields["tags"] = tuple(fields["tags"])
    config = dict(_pairs("--set", settings))
    secrets = {key: _from_env(key, var) for key, var in _pairs("--secret-env", secret_env)}
    for f in ctx.services.connector_class(connector).config_fields:
        if f.secret and f.required and f.name not in secrets and f.name not in config:
            if not sys.stdin.isatty():
                raise InputError(
                    f"connector {connector!r} needs the secret {f.label!r}: give "
                    f"--secret-env {f.name}=VAR, or run interactively to be asked"
                )
            secrets[f.name] = click.prompt(f"{f.label} for {name}", hide_input=True)
    added = ctx.services.add_brand(
        name,
        slug=slug,
        status=_status(status),
        connector=connector,
        connector_config=config,
        secrets=secrets,
        **fields,
    )
    if as_json:
        emit_json(brand_to_dict(added))
    else:
        how = "by hand" if added.is_manual else f"through connector {added.connector}"
        click.echo(f"Added {added.name} ({added.slug}), handled {how}.")


def _pairs(option: str, values: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for text in values:
        key, found, value = text.partition("=")
        if not found or not key.strip():
            raise InputError(f"{option} {text!r}: expected FIELD=VALUE")
        out.append((key.strip(), value))
    return out


def _from_env(field: str, var: str) -> str:
    value = os.environ.get(var)
    if not value:
        raise InputError(f"--secret-env {field}={var}: environment variable {var} is not set")
    return value


def _view_dict(view: BrandView) -> dict[str, Any]:
    return {
        **brand_to_dict(view.brand),
        "pending": view.pending,
        # The vendor's last reported state: its own settings, never the customer's decisions.
        "vendor_state": view.vendor.to_dict() if view.vendor is not None else None,
    }


@brand.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (stable shape).")
@click.option("--category", help="Only brands in this category.")
@click.option("--tag", help="Only brands with this tag.")
@click.option("--pending", is_flag=True, help="Only brands with changes not yet confirmed.")
@pass_ctx
def brand_list(
    ctx: Ctx, as_json: bool, category: str | None, tag: str | None, pending: bool
) -> None:
    """List brands, sorted by name."""
    items = ctx.services.brand_records()
    if category is not None:
        items = [b for b in items if b.category.casefold() == category.casefold()]
    if tag is not None:
        items = [b for b in items if tag in b.tags]
    if pending:
        items = [b for b in items if b.pending]
    if as_json:
        click.echo(join_array(record_json(b, pending=b.pending) for b in items))
        return
    if not items:
        filtered = category is not None or tag is not None or pending
        click.echo(
            "No brands match." if filtered else "No brands yet. Add one with: cmr brand add NAME"
        )
        return
    out = io.StringIO()
    width = min(max(len(b.slug) for b in items), 40)
    # One status vocabulary with the window (domain.summary.Status).
    statuses = {r.slug: s.status for r, s in ctx.services.brand_summaries([b.slug for b in items])}
    for b in items:
        channels = b.preferences["channels"]
        on = ",".join(ch for ch, entry in channels.items() if entry.get("enabled")) or "-"
        sync = statuses.get(b.slug)
        out.write(
            f"{b.slug:<{width}}  {b.name[:40]:<40}  {b.category[:14]:<14}  "
            f"{on:<24} {b.status} · {sync.label.lower() if sync else '?'}\n"
        )
    click.echo(out.getvalue(), nl=False)
    click.echo(plural(len(items), "brand"))


@brand.command("show")
@click.argument("ref", metavar="BRAND")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def brand_show(ctx: Ctx, ref: str, as_json: bool) -> None:
    """Show one brand (by id or exact name) and what it may do."""
    view = ctx.services.get_brand(ref)
    if as_json:
        emit_json(_view_dict(view))
        return
    _print_brand(ctx, view.brand, ctx.services.today())
    if view.vendor is not None:
        theirs = list(view.brand.preferences.undecided_in(view.vendor).describe(view.brand.name))
        if theirs:
            click.echo(
                "  Undecided by you; the vendor's own settings apply (decide to change them):"
            )
            for line in theirs:
                click.echo(f"    undecided — their setting: {line}")
    violations = ctx.services.check_policy([view.brand.slug]).get(view.brand.slug, [])
    for v in violations:
        click.echo(f"  ! breaks My Terms ({v.rule}): {v.message}")


def _print_brand(ctx: Ctx, b: Brand, today: dt.date | None = None) -> None:
    click.echo(f"{b.name} ({b.slug})")
    how = "by hand" if b.is_manual else f"connector {b.connector}"
    found = ctx.services.brand_summaries([b.slug])
    state = found[0][1].status.description.rstrip(".") if found else ""
    click.echo(f"  {b.status.value} · {b.category or 'no category'} · {how} · {state}")
    for label, value in (
        ("Website", b.website),
        ("Account", b.account_id),
        ("Privacy contact", b.privacy_contact),
        ("Tags", ", ".join(b.tags)),
        ("Notes", b.notes),
    ):
        if value:
            click.echo(f"  {label}: {value}")
    lines = list(b.preferences.describe(b.name, today))
    click.echo("  Your choices:" if lines else "  No choices recorded yet (vendor defaults apply).")
    for line in lines:
        click.echo(f"    {line}")


@brand.command("edit")
@click.argument("ref", metavar="BRAND")
@click.option("--name")
@click.option("--category")
@click.option("--website")
@click.option("--account", "account_id")
@click.option("--contact", "privacy_contact")
@click.option("--notes")
@click.option("--status")
@click.option("--add-tag", multiple=True)
@click.option("--remove-tag", multiple=True)
@pass_ctx
def brand_edit(
    ctx: Ctx,
    /,
    ref: str,
    status: str | None,
    add_tag: tuple[str, ...],
    remove_tag: tuple[str, ...],
    **fields: Any,
) -> None:
    """Change a brand's details."""
    changes = {k: v for k, v in fields.items() if v is not None}
    if status is not None:
        changes["status"] = _status(status)
    if add_tag or remove_tag:
        current = ctx.services.get_brand(ref).brand.tags
        changes["tags"] = tuple((set(current) | set(add_tag)) - set(remove_tag))
    if not changes:
        raise InputError("nothing to change (see cmr brand edit --help)")
    updated = ctx.services.edit_brand(ref, **changes)
    click.echo(f"Updated {updated.name} ({updated.slug}).")


@brand.command("remove")
@click.argument("ref", metavar="BRAND")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def brand_remove(ctx: Ctx, ref: str, yes: bool) -> None:
    """Remove a brand and everything recorded about it."""
    view = ctx.services.get_brand(ref)
    if not yes:
        if not sys.stdin.isatty():
            raise InputError(f"removing {view.brand.slug!r} needs --yes when not run interactively")
        click.confirm(f"Remove {view.brand.name} and all your choices for it?", abort=True)
    removed = ctx.services.remove_brand(view.brand.slug)
    click.echo(f"Removed {removed.name} ({removed.slug}).")


@brand.command("check")
@click.argument("ref", metavar="BRAND")
@pass_ctx
def brand_check(ctx: Ctx, ref: str) -> None:
    """Check that BRAND's connector can reach the vendor (exit 1 if not)."""
    click.echo(ctx.services.check_connection(ref))


@brand.command("done")
@click.argument("ref", metavar="BRAND")
@pass_ctx
def brand_done(ctx: Ctx, ref: str) -> None:
    """Record that you carried out a manual brand's choices yourself (clears pending)."""
    done = ctx.services.confirm_done_by_hand(ref)
    click.echo(f"Recorded as done by hand: {'; '.join(done) if done else 'nothing had changed'}.")


@brand.command("set-secret")
@click.argument("ref", metavar="BRAND")
@click.argument("field")
@pass_ctx
def brand_set_secret(ctx: Ctx, ref: str, field: str) -> None:
    """Keep a secret FIELD (e.g. token) for BRAND in the system keyring.

    The value is read from a hidden prompt, or from standard input when piped. It is never
    written to the database, exports or logs.
    """
    if sys.stdin.isatty():
        value = click.prompt(f"{field}", hide_input=True)
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    ctx.services.set_secret(ref, field, value)
    click.echo(f"Stored {field} for {ref} in the system keyring.")


# --- sync and journal ---------------------------------------------------------------------


@cli.command("sync", context_settings=CONTEXT)
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
    slugs = ctx.services.resolve_slugs(refs)
    if jsonl:
        return _sync_jsonl(ctx.services, slugs, verify, jobs)
    engine = ctx.services.sync_engine(jobs=jobs)
    total = len(engine.targets(slugs, verify=verify))
    tty = sys.stderr.isatty() and not as_json
    bar: Any = click.progressbar(length=total, label="Syncing", file=sys.stderr) if tty else None

    def progress(outcome: Any, done: int, count: int) -> None:
        if bar is not None:
            bar.update(1)
        elif not as_json:
            click.echo(f"[{done}/{count}] {outcome.slug}: {outcome.result}", err=True)

    try:
        if bar is not None:
            with bar:
                report = engine.run(slugs, verify=verify, progress=progress)
        else:
            report = engine.run(slugs, verify=verify, progress=progress)
    except KeyboardInterrupt:
        engine.cancel()
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


def _sync_jsonl(services: Any, slugs: list[str], verify: bool, jobs: int) -> int:
    """``cmr sync --jsonl``: the line protocol between the desktop app and its sync process.

    Lines (one JSON object each, flushed at once): ``{"event": "start", "total": N}``, then
    ``{"event": "brand", "done": i, "total": N, "brand": ..., "result": ..., ...}`` per
    brand, then ``{"event": "end", "ok": bool, "counts": {result: n}, "cancelled": n}``
    (``cancelled``: how many brands were left pending by a cancel) or
    ``{"event": "error", "message": ...}``. Reading ``cancel`` on stdin cancels the sync, at
    any time: a cancel that arrives before the run starts leaves every brand pending, and
    brands still talking to their vendor are waited for at most ``JSONL_CANCEL_GRACE`` s.
    """
    engine = services.sync_engine(jobs=jobs, cancel_grace=JSONL_CANCEL_GRACE)
    lock = threading.Lock()

    def send(obj: dict[str, Any]) -> None:
        line = json.dumps(obj, ensure_ascii=False) + "\n"
        with lock:
            try:
                sys.stdout.write(line)
                sys.stdout.flush()
            except (BrokenPipeError, OSError, ValueError):
                engine.cancel()  # nobody is listening any more: stop starting work

    def listen() -> None:
        for line in sys.stdin:
            if line.strip() == "cancel":
                engine.cancel()
                return

    # Listening starts before anything else, so an early cancel is never missed.
    threading.Thread(target=listen, name="cmr-sync-stdin", daemon=True).start()
    try:
        total = len(engine.targets(slugs, verify=verify))
        send({"event": "start", "total": total})
        if engine.cancelled:  # cancelled before the run began: nothing is started
            send(
                {
                    "event": "end",
                    "ok": total == 0,
                    "counts": {str(Result.CANCELLED): total} if total else {},
                    "cancelled": total,
                }
            )
            return 0 if total == 0 else 1
        report = engine.run(
            slugs,
            verify=verify,
            progress=lambda o, done, total: send(
                {"event": "brand", "done": done, "total": total, **_outcome_json(o)}
            ),
        )
    except SyncBusy as exc:
        send({"event": "error", "message": str(exc)})
        return 1
    counts = {str(r): report.count(r) for r in Result if report.count(r)}
    cancelled = report.count(Result.CANCELLED)
    send({"event": "end", "ok": report.ok, "counts": counts, "cancelled": cancelled})
    return 0 if report.ok else 1


@cli.command("log", context_settings=CONTEXT)
@click.argument("ref", required=False, metavar="[BRAND]")
@click.option("--json", "as_json", is_flag=True)
@click.option("--verify", is_flag=True, help="Check the hash chain; exit 1 if it is broken.")
@pass_ctx
def log_cmd(ctx: Ctx, ref: str | None, as_json: bool, verify: bool) -> int:
    """The audit journal: every push, drift and error, hash-chained."""
    if verify:
        broken = ctx.services.verify_journal()
        if broken is None:
            click.echo("The journal is intact.")
            return 0
        click.echo(f"The journal is broken at entry {broken}: it was changed or removed.")
        return 1
    entries = ctx.services.journal(ref)
    if as_json:
        emit_json(
            [
                {
                    "id": e.id,
                    "at": e.at.isoformat(),
                    "brand": e.brand,
                    "kind": e.kind,
                    "detail": e.detail,
                    "hash": e.hash,
                }
                for e in entries
            ]
        )
        return 0
    if not entries:
        click.echo("The journal is empty." if ref is None else f"No journal entries for {ref}.")
    for e in entries:
        click.echo(
            f"{e.id:>5} {e.at:%Y-%m-%d %H:%M:%S} {e.brand:<24} {e.kind:<9} "
            + json.dumps(e.detail, ensure_ascii=False)[:160]
        )
    return 0


# --- connectors ---------------------------------------------------------------------------


@cli.group("connectors", context_settings=CONTEXT, invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (stable shape).")
@pass_ctx
def connectors_cmd(ctx: Ctx, as_json: bool) -> None:
    """List installed connectors: id, name, version, package and status."""
    if click.get_current_context().invoked_subcommand:  # `cmr connectors new`
        return
    entries = ctx.services.connector_entries()
    if as_json:
        items = []
        for e in entries:
            item: dict[str, Any] = e.to_dict()
            if e.cls is not None:
                item["settings"] = [
                    {"name": f.name, "label": f.label, "required": f.required, "secret": f.secret}
                    for f in e.cls.config_fields
                ]
                item["quality"] = quality_of(e.cls).to_dict()
            items.append(item)
        emit_json(items)
        return
    for e in entries:
        line = f"{e.id:<20} {e.name or '-':<28} {e.version or '-':<10} {e.package:<32} {e.status}"
        click.echo(line + (f"  ({e.reason})" if e.reason else ""))
        if e.cls is not None and e.cls.config_fields:
            settings = ", ".join(
                f.name + (" (secret)" if f.secret else "") for f in e.cls.config_fields
            )
            click.echo(f"{'':<20} settings: {settings}")
        if e.cls is not None:
            click.echo(f"{'':<20} quality: {quality_of(e.cls).summary()}")


connectors_cmd.add_command(new_connector)


# --- prefs ----------------------------------------------------------------------------------


@cli.group(context_settings=CONTEXT)
def prefs() -> None:
    """Set what a brand may do."""


@prefs.command("set")
@click.argument("ref", metavar="BRAND")
@click.option(
    "--channel",
    "channels",
    multiple=True,
    metavar="CHANNEL=on|off|default",
    help="Allow or refuse a channel: " + ", ".join(c.value for c in Channel),
)
@click.option(
    "--frequency",
    "frequencies",
    multiple=True,
    metavar="CHANNEL=FREQ|default",
    help="At most how often: " + ", ".join(f.value for f in Frequency),
)
@click.option("--topic", "topics", multiple=True, metavar="TOPIC=on|off|default")
@click.option(
    "--share",
    "shares",
    multiple=True,
    metavar="CATEGORY:PURPOSE=allow[@YYYY-MM-DD]|deny|default",
    help="May the brand use this data for this purpose (until when)?",
)
@click.option("--quiet-hours", metavar="HH:MM-HH:MM|none")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def prefs_set(
    ctx: Ctx,
    ref: str,
    channels: tuple[str, ...],
    frequencies: tuple[str, ...],
    topics: tuple[str, ...],
    shares: tuple[str, ...],
    quiet_hours: str | None,
    as_json: bool,
) -> None:
    """Change BRAND's preferences. All values are checked before anything is saved."""
    edits = preference_edits(
        channels, frequencies, topics, shares, quiet_hours, today=ctx.services.today()
    )
    if not edits:
        raise InputError("nothing to change (see cmr prefs set --help)")
    view = ctx.services.update_preferences(ref, compose(edits))
    if as_json:
        emit_json(_view_dict(view))
        return
    _print_brand(ctx, view.brand, ctx.services.today())


# --- policy ---------------------------------------------------------------------------------


@cli.group(context_settings=CONTEXT)
def policy() -> None:
    """My Terms: your rules for every brand."""


@policy.command("show")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def policy_show(ctx: Ctx, as_json: bool) -> None:
    """Show My Terms."""
    terms = ctx.services.policy()
    if as_json:
        emit_json(terms.to_dict())
        return
    if not terms.rules:
        click.echo("My Terms: no rules yet. Set some with: cmr policy set --help")
    for line in terms.describe():
        click.echo(f"- {line}")


@policy.command("set")
@click.option("--no-channel", multiple=True, metavar="CHANNEL", help="No brand may use it.")
@click.option(
    "--max-frequency",
    multiple=True,
    metavar="CHANNEL=FREQ",
    help="No brand may use CHANNEL more often.",
)
@click.option(
    "--never",
    multiple=True,
    metavar="PURPOSE",
    help="No brand may use your data for it, e.g. sale.",
)
@click.option(
    "--grant-max-months",
    type=AsciiInt(),
    metavar="N",
    help="Every data-use grant expires within N months.",
)
@click.option(
    "--quiet-hours",
    metavar="HH:MM-HH:MM",
    help="No brand may contact you then, e.g. 21:00-08:00.",
)
@click.option("--clear", is_flag=True, help="Remove every rule.")
@pass_ctx
def policy_set(
    ctx: Ctx,
    no_channel: tuple[str, ...],
    max_frequency: tuple[str, ...],
    never: tuple[str, ...],
    grant_max_months: int | None,
    quiet_hours: str | None,
    clear: bool,
) -> None:
    """Replace My Terms with the rules given."""
    rules: list[Any] = []
    try:
        rules += [NoChannel(parse(Channel, c)) for c in no_channel]
        for text in max_frequency:
            ch, found, freq = text.partition("=")
            if not found:
                raise InputError(f"--max-frequency {text!r}: expected CHANNEL=FREQUENCY")
            rules.append(MaxFrequency(parse(Channel, ch), parse(Frequency, freq)))
        rules += [NeverPurpose(parse(Purpose, p)) for p in never]
        if grant_max_months is not None:
            rules.append(GrantMaxMonths(grant_max_months))
        if quiet_hours is not None:
            rules.append(QuietHoursRule(QuietHours.parse(quiet_hours)))
    except DomainError as exc:
        raise InputError(str(exc)) from None
    if not rules and not clear:
        raise InputError("give at least one rule, or --clear to remove them all")
    if rules and clear:
        raise InputError("--clear removes every rule; give it alone")
    terms = MyTerms.of(rules)
    ctx.services.set_policy(terms)
    click.echo("My Terms: " + ("; ".join(terms.describe()) or "no rules"))


@policy.command("check")
@click.argument("refs", nargs=-1, metavar="[BRAND]...")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def policy_check(ctx: Ctx, refs: tuple[str, ...], as_json: bool) -> int:
    """List brands whose choices break My Terms (exit 1 if any do)."""
    found = ctx.services.check_policy(refs)
    if as_json:
        emit_json(
            {
                slug: [{"rule": v.rule, "message": v.message} for v in vs]
                for slug, vs in found.items()
            }
        )
    else:
        for slug, vs in found.items():
            for v in vs:
                click.echo(f"{slug}: {v.message} (My Terms: {v.rule})")
        click.echo(
            f"{plural(len(found), 'brand')} {'breaks' if len(found) == 1 else 'break'} My Terms."
            if found
            else "Every brand keeps My Terms."
        )
    return 1 if found else 0


@policy.command("apply")
@click.argument("refs", nargs=-1, metavar="[BRAND]...")
@pass_ctx
def policy_apply(ctx: Ctx, refs: tuple[str, ...]) -> None:
    """Change brands' choices so they keep My Terms (never loosens anything)."""
    changed = ctx.services.apply_policy(refs)
    click.echo(
        f"Changed {plural(len(changed), 'brand')}" + (": " + ", ".join(changed) if changed else ".")
    )


# --- export / import ------------------------------------------------------------------------


@cli.command("export", context_settings=CONTEXT)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="File to write (default: standard output).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv", "receipts"]),
    default="json",
    show_default=True,
    help="json: everything (re-importable); csv: a table; receipts: consent receipts "
    "(Kantara Consent Receipt v1.1 JSON), one per state a brand confirmed.",
)
@click.option(
    "--brand",
    "brands",
    multiple=True,
    metavar="BRAND",
    help="With --format receipts: only this brand (repeatable).",
)
@pass_ctx
def export_cmd(ctx: Ctx, output: str | None, fmt: str, brands: tuple[str, ...]) -> None:
    """Export every brand, your choices and My Terms (never secrets)."""
    if brands and fmt != "receipts":
        raise InputError("--brand goes with --format receipts")
    writer: Any = {
        "json": ctx.services.export_json,
        "csv": ctx.services.export_csv,
        "receipts": lambda out: ctx.services.export_receipts(out, brands),
    }[fmt]
    if output is None:
        writer(sys.stdout)
    else:
        count = _write_atomically(Path(output), writer, newline="" if fmt == "csv" else None)
        what = plural(count, "receipt" if fmt == "receipts" else "brand")
        click.echo(f"Exported {what} to {output}.", err=True)
    if fmt == "receipts":
        without = ctx.services.brands_without_receipts(brands)
        if without:
            names = ", ".join(without[:10]) + (
                f" and {len(without) - 10} more" if len(without) > 10 else ""
            )
            click.echo(
                f"No receipt for {plural(len(without), 'brand')} with nothing you consented to: "
                f"{names}.",
                err=True,
            )


def _write_atomically(path: Path, writer: Any, newline: str | None) -> int:
    """``write_atomically`` with its complaints as input errors naming ``-o``."""
    try:
        return write_atomically(path, writer, newline)
    except ValueError as exc:
        raise InputError(f"-o {path}: {exc}" if str(path).strip() else f"-o: {exc}") from None
    except OSError as exc:
        raise InputError(f"cannot write {path.resolve()}: {exc.strerror or exc}") from None


@cli.command("import", context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@pass_ctx
def import_cmd(ctx: Ctx, file: str, dry_run: bool) -> None:
    """Import an export file: adds and updates brands, never deletes. All or nothing."""
    result = ctx.services.import_file(Path(file), dry_run=dry_run)
    for line in result.plan.lines():
        click.echo(line)
    if dry_run:
        click.echo("Dry run: nothing was changed.")
    elif result.applied:
        click.echo("Imported.")
    else:
        click.echo("Nothing to import: everything is already up to date.")


# --- company directory ---------------------------------------------------------------------


@cli.group(context_settings=CONTEXT)
def directory() -> None:
    """The company directory: organisations and their privacy contacts (for adding brands)."""


@directory.command("import", context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@click.option("--dry-run", is_flag=True, help="Only count what would change.")
@pass_ctx
def directory_import(ctx: Ctx, file: str | None, dry_run: bool) -> int:
    """Import a company directory in the datenanfragen/data format (default: the bundled one,
    3,069 organisations, CC0). Records that do not match its schema are listed and skipped.

    Exit status 1 if any record was skipped.
    """
    result = ctx.services.import_directory(Path(file) if file else None, dry_run=dry_run)
    for line in result.skipped:
        click.echo(f"skipped {line}", err=True)
    verb = "Would add" if dry_run else "Added"
    click.echo(
        f"{verb} {result.added} and {'update' if dry_run else 'updated'} {result.updated} "
        f"of {plural(result.total, 'organisation')} in {result.source}; "
        f"skipped {len(result.skipped)}."
    )
    return 1 if result.skipped else 0


@directory.command("search", context_settings=CONTEXT)
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", type=AsciiInt(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the organisations as JSON.")
@pass_ctx
def directory_search(ctx: Ctx, query: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Find organisations whose name contains every word of QUERY."""
    found = ctx.services.search_directory(" ".join(query), limit)
    if as_json:
        emit_json([dataclasses.asdict(e) for e in found])
        return
    if not found and not ctx.services.directory_size():
        click.echo("The directory is empty: run `cmr directory import` first.")
    for e in found:
        click.echo(f"{e.slug:<32} {e.name}  ({e.category or 'no category'}; {e.privacy_contact})")


# --- entry point ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None, factory: ServicesFactory) -> int:
    """Run ``cmr`` and return its exit code (0 ok, 1 partly failed, 2 usage or input error).

    Args:
        argv: the arguments (None: ``sys.argv[1:]``).
        factory: opens the services for a home folder (the composition root passes it in).
    """
    args = list(argv) if argv is not None else sys.argv[1:]
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "replace").decode()
            click.echo(f"cmr: error: argument {shown!r} is not valid UTF-8 text", err=True)
            return 2
    # Text stored before imports refused it (a lone surrogate) must not crash a listing.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    # A short-lived process that may read 10,000 brands: the cyclic garbage collector would
    # rescan that heap again and again for cycles we do not make (about 30% of the time).
    gc.disable()
    try:
        with cli.make_context("cmr", args) as ctx:
            ctx.meta["cmr.factory"] = factory
            result = cli.invoke(ctx)
    except click.exceptions.Exit as exc:  # --help, --version
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
        return 0
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except click.ClickException as exc:
        click.echo(f"cmr: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except (InputError, DomainError, ImportProblem) as exc:
        click.echo(f"cmr: error: {exc}", err=True)
        return 2
    except (ServiceError, SecretsUnavailable, StoreError) as exc:
        click.echo(f"cmr: error: {exc}", err=True)
        return 1
    except BrokenPipeError:
        # `cmr brand list | head`: the reader left; that is not an error.
        sys.stderr.close()
        return 0
    return result if isinstance(result, int) else 0
