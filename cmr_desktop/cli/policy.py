"""``cmr policy ...``: My Terms, the customer's rules for every brand."""

from __future__ import annotations

from typing import Any

import click

from cmr_desktop.cli.common import CONTEXT, Ctx, emit_json, pass_ctx
from cmr_desktop.cli.options import AsciiInt
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
from cmr_desktop.domain.vocabulary import Channel, Frequency, Purpose, parse
from cmr_desktop.domain.words import plural
from cmr_desktop.services import InputError


@click.group(context_settings=CONTEXT)
def policy() -> None:
    """My Terms: your rules for every brand."""


@policy.command("show")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def policy_show(ctx: Ctx, as_json: bool) -> None:
    """Show My Terms."""
    terms = ctx.services.preferences.policy()
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
    ctx.services.preferences.set_policy(terms)
    click.echo("My Terms: " + ("; ".join(terms.describe()) or "no rules"))


@policy.command("check")
@click.argument("refs", nargs=-1, metavar="[BRAND]...")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def policy_check(ctx: Ctx, refs: tuple[str, ...], as_json: bool) -> int:
    """List brands whose choices break My Terms (exit 1 if any do)."""
    found = ctx.services.preferences.check_policy(refs)
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
    changed = ctx.services.preferences.apply_policy(refs)
    click.echo(
        f"Changed {plural(len(changed), 'brand')}" + (": " + ", ".join(changed) if changed else ".")
    )
