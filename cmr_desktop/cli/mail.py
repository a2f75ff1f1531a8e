"""``cmr mail``: the customer's mail accounts (IMAP to read the brands' mail, SMTP to send an
unsubscribe e-mail). A password is read hidden from the terminal or as one line of stdin,
never from the command line or the environment, and kept only in the OS keyring."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any, get_args

import click

from cmr_desktop.cli.common import CONTEXT, Ctx, emit_json, pass_ctx
from cmr_desktop.cli.options import AsciiInt
from cmr_desktop.mail.accounts import MailAccount, Security
from cmr_desktop.mail.errors import MailError
from cmr_desktop.services import InputError

#: The usual port for each security when none is given.
IMAP_PORTS: dict[str, int] = {"tls": 993, "starttls": 143}
SMTP_PORTS: dict[str, int] = {"tls": 465, "starttls": 587}
_SECURITY = click.Choice(get_args(Security))


def read_password(account_id: str, from_stdin: bool) -> str:
    """The account's password: one line of stdin (``--password-stdin``), else asked hidden.

    Raises:
        InputError: no terminal to ask on, or an empty password.
    """
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
    else:
        if not sys.stdin.isatty():
            raise InputError(
                f"mail account {account_id!r}: no terminal to ask the password on; "
                "give it as one line on stdin with --password-stdin"
            )
        password = str(
            click.prompt(f"Password (or app password) for {account_id}", hide_input=True, err=True)
        )
    if not password:
        raise InputError(f"mail account {account_id!r} needs a password (or app password)")
    return password


def mail_failed(what: str, exc: MailError) -> click.ClickException:
    """A mail problem as one line, exit status 1."""
    return click.ClickException(f"{what}: {exc}")


def account_json(a: MailAccount) -> dict[str, Any]:
    """What ``cmr mail list --json`` shows of an account (the password is never in it)."""
    return {**dataclasses.asdict(a), "folders": list(a.folders)}


@click.group("mail", context_settings=CONTEXT)
def mail_group() -> None:
    """Your mail accounts: IMAP to find the brands that write to you (`cmr discover
    imap:ID`), SMTP to send an unsubscribe e-mail. Passwords are kept only in the OS
    keyring."""


@mail_group.command("add", context_settings=CONTEXT)
@click.argument("account_id", metavar="ID")
@click.option(
    "--address", required=True, help="Your e-mail address (the From of an unsubscribe e-mail)."
)
@click.option("--user", "username", help="The sign-in name (default: the address).")
@click.option("--imap-host", required=True, help="The IMAP server.")
@click.option("--imap-port", type=AsciiInt(1, 65535), help="Default: 993 (tls), 143 (starttls).")
@click.option("--imap-security", type=_SECURITY, default="tls", show_default=True)
@click.option(
    "--smtp-host", default="", help="The SMTP submission server (to send unsubscribe e-mails)."
)
@click.option("--smtp-port", type=AsciiInt(1, 65535), help="Default: 465 (tls), 587 (starttls).")
@click.option("--smtp-security", type=_SECURITY, default="tls", show_default=True)
@click.option(
    "--folder",
    "folders",
    multiple=True,
    help="A folder to scan (repeatable; default: the server's choice).",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password as one line of stdin (else it is asked, hidden).",
)
@click.option("--no-check", is_flag=True, help="Add it without signing in first.")
@pass_ctx
def add_cmd(
    ctx: Ctx,
    account_id: str,
    address: str,
    username: str | None,
    imap_host: str,
    imap_port: int | None,
    imap_security: Security,
    smtp_host: str,
    smtp_port: int | None,
    smtp_security: Security,
    folders: tuple[str, ...],
    password_stdin: bool,
    no_check: bool,
) -> None:
    """Add the mail account ID (a short name of your choice: lower-case letters, digits, '.',
    '-', '_'). Signs in first, unless --no-check: nothing is kept if that fails. The password
    is never taken from the command line or the environment."""
    account = MailAccount(
        id=account_id,
        address=address.strip(),
        username=(username if username is not None else address).strip(),
        imap_host=imap_host.strip(),
        imap_port=imap_port or IMAP_PORTS[imap_security],
        imap_security=imap_security,
        smtp_host=smtp_host.strip(),
        smtp_port=smtp_port or SMTP_PORTS[smtp_security],
        smtp_security=smtp_security,
        folders=tuple(folders),
    )
    password = read_password(account_id, password_stdin)
    services = ctx.services
    if not no_check:
        try:
            said = services.mail_accounts.check(account, password)
        except MailError as exc:
            raise mail_failed(f"mail account {account_id!r} not added", exc) from None
        click.echo(f"{account_id}: {said}", err=True)
    services.mail_accounts.add(account, password)
    click.echo(f"Added mail account {account_id} ({account.address}).")


@mail_group.command("list", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the accounts as JSON.")
@pass_ctx
def list_cmd(ctx: Ctx, as_json: bool) -> None:
    """Your mail accounts (never their passwords)."""
    accounts = ctx.services.mail_accounts.list()
    if as_json:
        emit_json([account_json(a) for a in accounts])
        return
    if not accounts:
        click.echo("No mail accounts yet: `cmr mail add ID --address ... --imap-host ...`.")
        return
    click.echo(f"{'ID':<20} {'ADDRESS':<28} {'IMAP':<34} SMTP")
    for a in accounts:
        imap = f"{a.imap_host}:{a.imap_port} {a.imap_security}"
        smtp = f"{a.smtp_host}:{a.smtp_port} {a.smtp_security}" if a.smtp_host else "-"
        click.echo(f"{a.id[:20]:<20} {a.address[:28]:<28} {imap[:34]:<34} {smtp}")


@mail_group.command("check", context_settings=CONTEXT)
@click.argument("account_id", metavar="ID")
@pass_ctx
def check_cmd(ctx: Ctx, account_id: str) -> None:
    """Sign in to the mail account ID with its password from the keyring, and list its
    folders. Exit status 1 if that fails."""
    accounts = ctx.services.mail_accounts
    account = accounts.get(account_id)
    try:
        said = accounts.check(account, accounts.password(account_id))
    except MailError as exc:
        raise mail_failed(f"mail account {account_id!r}", exc) from None
    click.echo(f"{account_id}: {said}")


@mail_group.command("remove", context_settings=CONTEXT)
@click.argument("account_id", metavar="ID")
@pass_ctx
def remove_cmd(ctx: Ctx, account_id: str) -> None:
    """Forget the mail account ID and its password (the mail read from it stays)."""
    ctx.services.mail_accounts.remove(account_id)
    click.echo(f"Removed mail account {account_id} and its password.")
