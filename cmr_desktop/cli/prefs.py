"""``cmr prefs ...``: what a brand may do."""

from __future__ import annotations

import click

from cmr_desktop.cli.common import CONTEXT, Ctx, emit_json, pass_ctx, print_brand, view_dict
from cmr_desktop.cli.options import compose, preference_edits
from cmr_desktop.domain.vocabulary import Channel, Frequency
from cmr_desktop.services import InputError


@click.group(context_settings=CONTEXT)
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
    view = ctx.services.preferences.update_preferences(ref, compose(edits))
    if as_json:
        emit_json(view_dict(view))
        return
    print_brand(ctx, view.brand, ctx.services.today())
