"""``cmr``: the command line for power users (ARCHITECTURE 3.2).

Exit codes: 0 success, 1 the work ran but some of it failed (or a check found problems),
2 usage or input error. Errors are one line on stderr: ``cmr: error: ...``.
"""

from __future__ import annotations

import gc
import io
import sys
from collections.abc import Sequence

import click

from cmr_desktop import __version__
from cmr_desktop.cli import (
    brands,
    connectors,
    directory,
    discover,
    journal,
    mail,
    policy,
    prefs,
    sync,
    transfer,
    unsubscribe,
)
from cmr_desktop.cli.common import CONTEXT, Ctx, ServicesFactory
from cmr_desktop.domain.errors import DomainError
from cmr_desktop.interop import ImportProblem
from cmr_desktop.secrets import SecretsUnavailable
from cmr_desktop.services import InputError, ServiceError, StoreError


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


for command in (
    brands.brand,
    sync.sync_cmd,
    journal.log_cmd,
    connectors.connectors_cmd,
    prefs.prefs,
    policy.policy,
    transfer.export_cmd,
    transfer.import_cmd,
    directory.directory,
    discover.discover_cmd,
    discover.measured_cmd,
    mail.mail_group,
    unsubscribe.unsubscribe_cmd,
):
    cli.add_command(command)


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
