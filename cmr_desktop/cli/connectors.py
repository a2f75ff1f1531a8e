"""``cmr connectors``: the installed connectors."""

from __future__ import annotations

from typing import Any

import click

from cmr_desktop.cli.common import CONTEXT, Ctx, emit_json, pass_ctx
from cmr_desktop.cli.connector_template import new_connector
from cmr_desktop.connectors.quality import quality_of


@click.group("connectors", context_settings=CONTEXT, invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (stable shape).")
@pass_ctx
def connectors_cmd(ctx: Ctx, as_json: bool) -> None:
    """List installed connectors: id, name, version, package and status."""
    if click.get_current_context().invoked_subcommand:  # `cmr connectors new`
        return
    entries = ctx.services.connections.connector_entries()
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
