"""``cmr directory ...``: the company directory."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from cmr_desktop.cli.common import CONTEXT, Ctx, emit_json, pass_ctx
from cmr_desktop.cli.options import AsciiInt
from cmr_desktop.domain.words import plural


@click.group(context_settings=CONTEXT)
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
    result = ctx.services.directory.import_directory(Path(file) if file else None, dry_run=dry_run)
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
    found = ctx.services.directory.search_directory(" ".join(query), limit)
    if as_json:
        emit_json([dataclasses.asdict(e) for e in found])
        return
    if not found and not ctx.services.directory.directory_size():
        click.echo("The directory is empty: run `cmr directory import` first.")
    for e in found:
        click.echo(f"{e.slug:<32} {e.name}  ({e.category or 'no category'}; {e.privacy_contact})")
