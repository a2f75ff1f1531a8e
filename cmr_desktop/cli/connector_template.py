"""``cmr connectors new NAME``: a new connector plugin package (cmr_desktop.connectors.template)."""

from __future__ import annotations

from pathlib import Path

import click

from cmr_desktop.connectors.template import TemplateError, create, names_for


@click.command(
    "new",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    short_help="Write a new connector plugin package (cmr-NAME) that passes its tests.",
)
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to make the package's folder (cmr-NAME).",
)
@click.option("--vendor", help="The vendor's name as customers know it (default: from NAME).")
def new_connector(name: str, parent: Path, vendor: str | None) -> None:
    """Write a new connector plugin package, cmr-NAME, that passes its own tests.

    NAME is the connector's id, such as acme-loyalty (lower-case words joined by '-').
    """
    try:
        target = create(name, parent=parent, vendor=vendor)
    except TemplateError as exc:
        raise click.UsageError(str(exc)) from None
    names = names_for(name, vendor)
    click.echo(f"Created {target}: connector {names.name!r} ({names.vendor}), class {names.cls}.")
    click.echo("Next, in the environment where CMR Desktop is installed:")
    click.echo(f'  cd {target} && pip install -e ".[test]" && python -m pytest -q')
    click.echo("  cmr connectors   # lists it as ok; docs/plugins.md says what to change next")
