"""``cmr export`` and ``cmr import``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from cmr_desktop.cli.common import CONTEXT, Ctx, pass_ctx
from cmr_desktop.domain.words import plural
from cmr_desktop.interop.files import write_atomically
from cmr_desktop.services import InputError


@click.command("export", context_settings=CONTEXT)
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
    "(Kantara Consent Receipt v1.1 JSON), one per state a brand confirmed, with the brand's "
    "unsubscribes (cmrHistory); brands with no receipt but unsubscribes get a withdrawal record.",
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
        "json": ctx.services.transfer.export_json,
        "csv": ctx.services.transfer.export_csv,
        "receipts": lambda out: ctx.services.transfer.export_receipts(out, brands),
    }[fmt]
    if output is None:
        writer(sys.stdout)
    else:
        count = _write_atomically(Path(output), writer, newline="" if fmt == "csv" else None)
        what = plural(count, "receipt" if fmt == "receipts" else "brand")
        click.echo(f"Exported {what} to {output}.", err=True)
    if fmt == "receipts":
        without = ctx.services.transfer.brands_without_receipts(brands)
        if without:
            names = ", ".join(without[:10]) + (
                f" and {len(without) - 10} more" if len(without) > 10 else ""
            )
            click.echo(
                f"No receipt for {plural(len(without), 'brand')} with nothing you consented to: "
                f"{names}.",
                err=True,
            )
        withdrawn = ctx.services.transfer.withdrawals(brands)
        if withdrawn:
            click.echo(
                f"Wrote {plural(len(withdrawn), 'withdrawal record')} (not receipts: what you "
                "asked brands you consented nothing to stop, with each request's outcome).",
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


@click.command("import", context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@pass_ctx
def import_cmd(ctx: Ctx, file: str, dry_run: bool) -> None:
    """Import an export file: adds and updates brands, never deletes. All or nothing."""
    result = ctx.services.transfer.import_file(Path(file), dry_run=dry_run)
    for line in result.plan.lines():
        click.echo(line)
    if dry_run:
        click.echo("Dry run: nothing was changed.")
    elif result.applied:
        click.echo("Imported.")
    else:
        click.echo("Nothing to import: everything is already up to date.")
