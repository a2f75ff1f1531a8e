"""``cmr log``: the audit journal."""

from __future__ import annotations

import json

import click

from cmr_desktop.cli.common import CONTEXT, Ctx, emit_json, pass_ctx


@click.command("log", context_settings=CONTEXT)
@click.argument("ref", required=False, metavar="[BRAND]")
@click.option("--json", "as_json", is_flag=True)
@click.option("--verify", is_flag=True, help="Check the hash chain; exit 1 if it is broken.")
@pass_ctx
def log_cmd(ctx: Ctx, ref: str | None, as_json: bool, verify: bool) -> int:
    """The audit journal: every push, drift and error, hash-chained."""
    if verify:
        broken = ctx.services.journal.verify()
        if broken is None:
            click.echo("The journal is intact.")
            return 0
        click.echo(f"The journal is broken at entry {broken}: it was changed or removed.")
        return 1
    entries = ctx.services.journal.entries(ref)
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
