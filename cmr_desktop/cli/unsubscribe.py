"""``cmr unsubscribe BRAND``: stop a brand's mail, by the methods its own mail offers, only
on the customer's explicit command (and, for an e-mail, after they saw the exact message)."""

from __future__ import annotations

import sys

import click

from cmr_desktop.cli.common import CONTEXT, Ctx, pass_ctx
from cmr_desktop.cli.mail import mail_failed
from cmr_desktop.mail.errors import MailError
from cmr_desktop.services import InputError

_KEEP = {"\n", "\t"}


def shown(text: str) -> str:
    """``text`` from a brand's mail made safe for a terminal: line ends as ``\\n``, any other
    control character written out (``\\x1b``), so that nothing in it can act on the terminal
    or hide part of what is shown."""
    text = text.replace("\r\n", "\n")
    return "".join(c if c.isprintable() or c in _KEEP else ascii(c)[1:-1] for c in text)


def _options_text(ctx: Ctx, ref: str) -> list[str]:
    services = ctx.services
    name = services.brands.get_brand(ref).brand.name
    opts = services.unsubscribe.options(ref)
    best = {opts.preferred: " (the best one)"} if opts.preferred else {}
    lines = [f"Unsubscribe from {name}: what its mail offers"]
    if opts.one_click:
        lines.append(f"  one-click{best.get('one-click', '')}: {shown(opts.one_click)}")
        lines.append(f"    send it now: cmr unsubscribe {ref} --one-click")
    elif opts.one_click_problem:
        lines.append(f"  one-click: not usable: {opts.one_click_problem}")
    if opts.mailto:
        lines.append(f"  e-mail{best.get('mailto', '')}: {shown(opts.mailto)}")
        lines.append(
            f"    see the message, then send it from your account: "
            f"cmr unsubscribe {ref} --mailto ACCOUNT_ID"
        )
    if opts.web:
        lines.append(f"  web page{best.get('web', '')}: {shown(opts.web)}")
        lines.append(
            f"    open it in your browser (cmr unsubscribe {ref} --web prints it), then "
            f"record it: cmr unsubscribe {ref} --web-done"
        )
    if not (opts.one_click or opts.mailto or opts.web):
        lines.append("  nothing: no unsubscribe link was found in its mail; write to the brand")
    return lines


@click.command("unsubscribe", context_settings=CONTEXT)
@click.argument("brand")
@click.option("--one-click", is_flag=True, help="Send the one-click unsubscribe now.")
@click.option(
    "--mailto",
    "account_id",
    metavar="ACCOUNT_ID",
    help="Send the unsubscribe e-mail from your mail account ACCOUNT_ID (shows it and asks first).",
)
@click.option("--yes", is_flag=True, help="With --mailto: send without asking.")
@click.option("--web", is_flag=True, help="Print the unsubscribe page's address (to open it).")
@click.option("--web-done", is_flag=True, help="Record that you unsubscribed on that page.")
@pass_ctx
def unsubscribe_cmd(
    ctx: Ctx,
    brand: str,
    one_click: bool,
    account_id: str | None,
    yes: bool,
    web: bool,
    web_done: bool,
) -> None:
    """Unsubscribe from BRAND's mail. Without an option: the methods its mail offers and what
    to do. Every action is journaled. Exit status 1 if the sender did not confirm it."""
    chosen = [
        name
        for name, on in (
            ("--one-click", one_click),
            ("--mailto", account_id is not None),
            ("--web", web),
            ("--web-done", web_done),
        )
        if on
    ]
    if len(chosen) > 1:
        raise InputError(f"give one of {', '.join(chosen)}, not several")
    if yes and account_id is None:
        raise InputError("--yes goes with --mailto ACCOUNT_ID (it skips the question)")
    services = ctx.services
    try:
        if one_click:
            click.echo(shown(services.unsubscribe.one_click(brand)))
        elif account_id is not None:
            _mailto(ctx, brand, account_id, yes)
        elif web:
            url = services.unsubscribe.options(brand).web
            if not url:
                name = services.brands.get_brand(brand).brand.name
                raise InputError(f"{name}: its mail offers no unsubscribe page")
            click.echo(shown(url))
            click.echo(
                f"Open it in your browser; once you have unsubscribed there, run "
                f"`cmr unsubscribe {brand} --web-done`.",
                err=True,
            )
        elif web_done:
            services.unsubscribe.confirm_web_done(brand)
            name = services.brands.get_brand(brand).brand.name
            click.echo(f"Recorded: you unsubscribed from {name} on its page.")
        else:
            for line in _options_text(ctx, brand):
                click.echo(line)
    except MailError as exc:
        raise mail_failed(brand, exc) from None


def _mailto(ctx: Ctx, brand: str, account_id: str, yes: bool) -> None:
    unsubscribe = ctx.services.unsubscribe
    message = unsubscribe.preview_mailto(brand, account_id)
    click.echo(f"The unsubscribe e-mail, exactly as it will be sent from {account_id}:")
    click.echo("-" * 60)
    click.echo(shown(message).rstrip("\n"))
    click.echo("-" * 60)
    if not yes and not sys.stdin.isatty():
        raise InputError(
            "not sent: sending the unsubscribe e-mail needs --yes when not run interactively "
            "(the message it would send is shown above)"
        )
    if not yes and not click.confirm("Send this message?", default=False):
        click.echo("Not sent.")
        return
    click.echo(shown(unsubscribe.send_mailto(brand, account_id, confirmed=message)))
