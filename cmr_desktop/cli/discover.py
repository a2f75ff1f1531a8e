"""``cmr discover SOURCE`` and ``cmr measured``: the brands that write to you, from your
mailbox's headers, and how often they really do."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from cmr_desktop.cli.common import CONTEXT, Ctx, emit_json, pass_ctx
from cmr_desktop.cli.options import AsciiInt
from cmr_desktop.domain.vocabulary import Frequency
from cmr_desktop.domain.words import plural
from cmr_desktop.mail.errors import MailError
from cmr_desktop.mail.files import source_for_path
from cmr_desktop.mail.headers import MailSource
from cmr_desktop.services import FoundBrand, InputError, Measured, ScanProgress, ScanReport

_NO_CHOICE = ("none", "")
_SUGGESTED = "suggested"


def open_source(ctx: Ctx, spec: str) -> MailSource:
    """The mail source ``spec`` names: ``imap:ACCOUNT_ID``, an mbox file or a Maildir folder.

    Raises:
        InputError: no such file or folder, not a mailbox, or no such account.
    """
    if spec.startswith("imap:"):
        account = spec[5:].strip()
        if not account:
            raise InputError("imap: needs an account id (imap:ACCOUNT_ID; see your mail accounts)")
        try:
            source: MailSource = ctx.services.mail_accounts.source(account)
        except MailError as exc:
            raise InputError(f"{spec}: {exc}") from None
        return source
    try:
        return source_for_path(Path(spec).expanduser())
    except MailError as exc:
        raise InputError(
            f"{exc} (give an mbox file, a Maildir folder or imap:ACCOUNT_ID)"
        ) from None


def _choices(
    adds: tuple[str, ...], add_all: bool, found: list[FoundBrand]
) -> dict[str, Frequency | None]:
    """``KEY`` (no e-mail decision), ``KEY=FREQUENCY`` or ``KEY=suggested`` (the customer
    takes the suggestion) -> the customer's choices."""
    by_key = {f.key: f for f in found}
    choices: dict[str, Frequency | None] = {}
    if add_all:
        choices.update({f.key: None for f in found if not f.tracked_slug})
    for text in adds:
        key, _, value = text.partition("=")
        key, value = key.strip(), value.strip().lower()
        if key not in by_key:
            raise InputError(
                f"--add {text!r}: no brand with key {key!r} was found "
                "(`cmr discover --list` shows the keys)"
            )
        if value in _NO_CHOICE:
            choices[key] = None
        elif value == _SUGGESTED:
            choices[key] = by_key[key].suggested
        else:
            try:
                choices[key] = Frequency(value)
            except ValueError:
                allowed = ", ".join(f.value for f in Frequency)
                raise InputError(
                    f"--add {text!r}: the frequency must be one of {allowed}, suggested or none"
                ) from None
    return choices


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "-"


def found_json(f: FoundBrand) -> dict[str, Any]:
    return {
        "key": f.key,
        "name": f.name,
        "domain": f.domain,
        "directory_slug": f.directory_slug,
        "directory_name": f.directory_name,
        "privacy_contact": f.privacy_contact,
        "messages": f.messages,
        "per_week": round(f.per_week, 3),
        "first_seen": f.first_seen.isoformat(),
        "last_seen": f.last_seen.isoformat(),
        "methods": list(f.methods),
        "tracked_slug": f.tracked_slug,
        "suggested": f.suggested.value,
    }


def _print_found(found: list[FoundBrand]) -> None:
    if not found:
        click.echo("No brands found in the mail read so far.")
        return
    click.echo(
        f"{'KEY':<28} {'NAME':<24} {'PER WEEK':>8} {'MSGS':>5}  {'FIRST':<10} {'LAST':<10} "
        f"{'UNSUBSCRIBE':<22} {'SUGGESTED':<9}  TRACKED"
    )
    for f in found:
        click.echo(
            f"{f.key[:28]:<28} {f.name[:24]:<24} {f.per_week:>8.2f} {f.messages:>5}  "
            f"{_when(f.first_seen):<10} {_when(f.last_seen):<10} "
            f"{','.join(f.methods) or '-':<22} {f.suggested.value:<9}  {f.tracked_slug or '-'}"
        )


@click.command("discover", context_settings=CONTEXT)
@click.argument("source", required=False)
@click.option(
    "--list", "list_only", is_flag=True, help="Show the brands found so far; read no mail."
)
@click.option(
    "--add",
    "adds",
    multiple=True,
    metavar="KEY[=FREQUENCY]",
    help="Add the found brand KEY (repeatable). FREQUENCY is the e-mail frequency you allow "
    "(realtime, daily, weekly, monthly, quarterly), 'suggested' to take the suggestion, or "
    "none (the default): no e-mail decision recorded.",
)
@click.option(
    "--add-all", is_flag=True, help="Add every found brand not yet tracked (no decision)."
)
@click.option("--days", type=AsciiInt(1, 3650), default=90, show_default=True,
              help="Count messages of the mailbox's last DAYS days.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report and brands as JSON.")
@pass_ctx
def discover_cmd(
    ctx: Ctx,
    source: str | None,
    list_only: bool,
    adds: tuple[str, ...],
    add_all: bool,
    days: int,
    as_json: bool,
) -> int:
    """Find the brands that write to you in SOURCE: an mbox file (a Google Takeout export, say),
    a Maildir folder, or imap:ACCOUNT_ID. Only headers are read, never bodies; a second run
    reads only new mail. Progress goes to stderr, the brands found to stdout.

    Exit status 1 if the mailbox could not be read (what was read before stays stored).
    """
    if source is None and not list_only:
        raise InputError(
            "give a SOURCE to read (an mbox file, a Maildir folder or imap:ID), or --list"
        )
    if source is not None and list_only:
        raise InputError("--list reads no mail: give it without a SOURCE")
    services = ctx.services
    report: ScanReport | None = None
    if source is not None:
        mailbox = open_source(ctx, source)

        def progress(p: ScanProgress) -> None:
            of = f" of {p.total:,}" if p.total is not None else ""
            click.echo(f"read {p.read:,}{of}, skipped {p.skipped:,}", err=True)

        try:
            # Ctrl-C stops the scan; every batch stored before it stays, with its resume point.
            report = services.discovery.scan(mailbox, progress=progress)
        except KeyboardInterrupt:  # pragma: no cover - interactive only
            raise click.Abort() from None
        except MailError as exc:
            raise click.ClickException(f"{mailbox.describe()}: {exc}") from None
        for where, reason in report.skipped_reasons:
            click.echo(f"skipped {where}: {reason}", err=True)
        click.echo(
            f"Read {plural(report.read, 'message')} from {mailbox.describe()} "
            f"({report.stored:,} new from brands), skipped {report.skipped:,}.",
            err=True,
        )
    found = services.discovery.found(days=days)
    added: list[str] = []
    choices = _choices(adds, add_all, found)
    if choices:
        added = services.discovery.add_found(choices)
        found = services.discovery.found(days=days)
    if as_json:
        out: dict[str, Any] = {"found": [found_json(f) for f in found], "added": added}
        if report is not None:
            out["scan"] = {
                "read": report.read,
                "skipped": report.skipped,
                "stored": report.stored,
                "cancelled": report.cancelled,
                "skipped_reasons": [list(r) for r in report.skipped_reasons],
            }
        emit_json(out)
        return 0
    _print_found(found)
    if added:
        click.echo(f"Added or linked {plural(len(added), 'brand')}: {', '.join(added)}")
    return 0


def measured_json(slug: str, m: Measured) -> dict[str, Any]:
    ignored = m.ignored_unsubscribe
    return {
        "brand": slug,
        "per_week": round(m.per_week, 3),
        "messages": m.messages,
        "last_seen": m.last_seen.isoformat() if m.last_seen else None,
        "allowed_per_week": (
            round(m.allowed_per_week, 3) if m.allowed_per_week is not None else None
        ),
        "over_limit": m.over_limit,
        "ignored_unsubscribe": None
        if ignored is None
        else {
            "method": ignored.method,
            "unsubscribed_at": ignored.unsubscribed_at.isoformat(),
            "deadline": ignored.deadline.isoformat(),
            "evidence": [{"date": d.isoformat(), "message_id": i} for d, i in ignored.evidence],
        },
    }


@click.command("measured", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@pass_ctx
def measured_cmd(ctx: Ctx, as_json: bool) -> None:
    """How often each tracked brand really writes (its mail over the mailbox's last 90 days),
    against the e-mail frequency you chose; brands writing more often than allowed, or after
    an unsubscribe's deadline. The figures are the brands' behaviour, not your decisions."""
    measured = ctx.services.discovery.measured()
    if as_json:
        emit_json([measured_json(slug, m) for slug, m in sorted(measured.items())])
        return
    if not measured:
        click.echo("No mail of a tracked brand read yet: run `cmr discover SOURCE` first.")
        return
    click.echo(f"{'BRAND':<28} {'PER WEEK':>8} {'ALLOWED':>8} {'MSGS':>5}  {'LAST':<10} FLAG")
    for slug, m in sorted(measured.items()):
        allowed = f"{m.allowed_per_week:.2f}" if m.allowed_per_week is not None else "any"
        flags = []
        if m.over_limit:
            flags.append("writes more often than you allow")
        if m.ignored_unsubscribe is not None:
            i = m.ignored_unsubscribe
            flags.append(
                f"kept writing after your {i.method} unsubscribe: "
                f"{plural(len(i.evidence), 'message')} after {i.deadline:%Y-%m-%d %H:%M} UTC"
            )
        click.echo(
            f"{slug[:28]:<28} {m.per_week:>8.2f} {allowed:>8} {m.messages:>5}  "
            f"{_when(m.last_seen):<10} {'; '.join(flags) or '-'}"
        )
        if m.ignored_unsubscribe is not None:
            for date, ident in m.ignored_unsubscribe.evidence:
                click.echo(f"    evidence: {date:%Y-%m-%d %H:%M} UTC  {ident}")
