"""``cmr brand ...``: add, list, show, edit and remove brands."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from cmr_desktop.cli.common import CONTEXT, Ctx, emit_json, pass_ctx, print_brand, view_dict
from cmr_desktop.domain.brand import MANUAL_CONNECTOR
from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.vocabulary import RelationshipStatus, parse
from cmr_desktop.domain.words import plural
from cmr_desktop.interop.document import brand_to_dict, join_array, record_json
from cmr_desktop.services import InputError


@click.group(context_settings=CONTEXT)
def brand() -> None:
    """Add, list, show, edit and remove brands."""


def _status(value: str | None) -> RelationshipStatus | None:
    if value is None:
        return None
    try:
        return parse(RelationshipStatus, value)
    except DomainError as exc:
        raise InputError(f"--status: {exc}") from None


@brand.command("add")
@click.argument("name")
@click.option("--slug", help="Id to use (default: made from the name).")
@click.option("--category", default="", help='Grouping such as "retail" or "finance".')
@click.option("--website", default="")
@click.option("--account", "account_id", default="", help="Your account id or login there.")
@click.option("--contact", "privacy_contact", default="", help="Privacy e-mail address or URL.")
@click.option("--notes", default="")
@click.option("--tag", "tags", multiple=True, help="A label (repeatable).")
@click.option("--status", default="active", show_default=True, help="active, paused or closed.")
@click.option(
    "--connector",
    default=MANUAL_CONNECTOR,
    show_default=True,
    help="How choices reach the brand (manual: you handle them by hand).",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="FIELD=VALUE",
    help="A connector setting, e.g. --set base_url=https://... (see `cmr connectors`).",
)
@click.option(
    "--secret-env",
    multiple=True,
    metavar="FIELD=VAR",
    help="Read a secret connector setting from environment variable VAR (for scripts); "
    "otherwise secrets are asked for at a hidden prompt.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the new brand as JSON.")
@pass_ctx
def brand_add(
    ctx: Ctx,
    /,
    name: str,
    slug: str | None,
    status: str,
    connector: str,
    settings: tuple[str, ...],
    secret_env: tuple[str, ...],
    as_json: bool,
    **fields: Any,
) -> None:
    """Add a brand called NAME.

    Without --connector the brand is handled by hand: you record your choices and carry them
    out yourself. With a connector, give its settings with --set and its secrets with
    --secret-env or at the prompt.
    """
    fields["tags"] = tuple(fields["tags"])
    config = dict(_pairs("--set", settings))
    secrets = {key: _from_env(key, var) for key, var in _pairs("--secret-env", secret_env)}
    for f in ctx.services.connections.connector_class(connector).config_fields:
        if f.secret and f.required and f.name not in secrets and f.name not in config:
            if not sys.stdin.isatty():
                raise InputError(
                    f"connector {connector!r} needs the secret {f.label!r}: give "
                    f"--secret-env {f.name}=VAR, or run interactively to be asked"
                )
            secrets[f.name] = click.prompt(f"{f.label} for {name}", hide_input=True)
    added = ctx.services.brands.add_brand(
        name,
        slug=slug,
        status=_status(status),
        connector=connector,
        connector_config=config,
        secrets=secrets,
        **fields,
    )
    if as_json:
        emit_json(brand_to_dict(added))
    else:
        how = "by hand" if added.is_manual else f"through connector {added.connector}"
        click.echo(f"Added {added.name} ({added.slug}), handled {how}.")


def _pairs(option: str, values: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for text in values:
        key, found, value = text.partition("=")
        if not found or not key.strip():
            raise InputError(f"{option} {text!r}: expected FIELD=VALUE")
        out.append((key.strip(), value))
    return out


def _from_env(field: str, var: str) -> str:
    value = os.environ.get(var)
    if not value:
        raise InputError(f"--secret-env {field}={var}: environment variable {var} is not set")
    return value


@brand.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (stable shape).")
@click.option("--category", help="Only brands in this category.")
@click.option("--tag", help="Only brands with this tag.")
@click.option("--pending", is_flag=True, help="Only brands with changes not yet confirmed.")
@pass_ctx
def brand_list(
    ctx: Ctx, as_json: bool, category: str | None, tag: str | None, pending: bool
) -> None:
    """List brands, sorted by name."""
    items = ctx.services.brands.brand_records()
    if category is not None:
        items = [b for b in items if b.category.casefold() == category.casefold()]
    if tag is not None:
        items = [b for b in items if tag in b.tags]
    if pending:
        items = [b for b in items if b.pending]
    if as_json:
        click.echo(join_array(record_json(b, pending=b.pending) for b in items))
        return
    if not items:
        filtered = category is not None or tag is not None or pending
        click.echo(
            "No brands match." if filtered else "No brands yet. Add one with: cmr brand add NAME"
        )
        return
    out = io.StringIO()
    width = min(max(len(b.slug) for b in items), 40)
    # One status vocabulary with the window (domain.summary.Status).
    statuses = {
        r.slug: s.status for r, s in ctx.services.brands.brand_summaries([b.slug for b in items])
    }
    for b in items:
        channels = b.preferences["channels"]
        on = ",".join(ch for ch, entry in channels.items() if entry.get("enabled")) or "-"
        sync = statuses.get(b.slug)
        out.write(
            f"{b.slug:<{width}}  {b.name[:40]:<40}  {b.category[:14]:<14}  "
            f"{on:<24} {b.status} · {sync.label.lower() if sync else '?'}\n"
        )
    click.echo(out.getvalue(), nl=False)
    click.echo(plural(len(items), "brand"))


@brand.command("show")
@click.argument("ref", metavar="BRAND")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def brand_show(ctx: Ctx, ref: str, as_json: bool) -> None:
    """Show one brand (by id or exact name) and what it may do."""
    view = ctx.services.brands.get_brand(ref)
    if as_json:
        emit_json(view_dict(view))
        return
    print_brand(ctx, view.brand, ctx.services.today())
    if view.vendor is not None:
        theirs = list(view.brand.preferences.undecided_in(view.vendor).describe(view.brand.name))
        if theirs:
            click.echo(
                "  Undecided by you; the vendor's own settings apply (decide to change them):"
            )
            for line in theirs:
                click.echo(f"    undecided — their setting: {line}")
    violations = ctx.services.preferences.check_policy([view.brand.slug]).get(view.brand.slug, [])
    for v in violations:
        click.echo(f"  ! breaks My Terms ({v.rule}): {v.message}")


@brand.command("edit")
@click.argument("ref", metavar="BRAND")
@click.option("--name")
@click.option("--category")
@click.option("--website")
@click.option("--account", "account_id")
@click.option("--contact", "privacy_contact")
@click.option("--notes")
@click.option("--status")
@click.option("--add-tag", multiple=True)
@click.option("--remove-tag", multiple=True)
@pass_ctx
def brand_edit(
    ctx: Ctx,
    /,
    ref: str,
    status: str | None,
    add_tag: tuple[str, ...],
    remove_tag: tuple[str, ...],
    **fields: Any,
) -> None:
    """Change a brand's details."""
    changes = {k: v for k, v in fields.items() if v is not None}
    if status is not None:
        changes["status"] = _status(status)
    if add_tag or remove_tag:
        current = ctx.services.brands.get_brand(ref).brand.tags
        changes["tags"] = tuple((set(current) | set(add_tag)) - set(remove_tag))
    if not changes:
        raise InputError("nothing to change (see cmr brand edit --help)")
    updated = ctx.services.brands.edit_brand(ref, **changes)
    click.echo(f"Updated {updated.name} ({updated.slug}).")


@brand.command("remove")
@click.argument("ref", metavar="BRAND")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def brand_remove(ctx: Ctx, ref: str, yes: bool) -> None:
    """Remove a brand and everything recorded about it."""
    view = ctx.services.brands.get_brand(ref)
    if not yes:
        if not sys.stdin.isatty():
            raise InputError(f"removing {view.brand.slug!r} needs --yes when not run interactively")
        click.confirm(f"Remove {view.brand.name} and all your choices for it?", abort=True)
    removed = ctx.services.brands.remove_brand(view.brand.slug)
    click.echo(f"Removed {removed.name} ({removed.slug}).")


@brand.command("check")
@click.argument("ref", metavar="BRAND")
@pass_ctx
def brand_check(ctx: Ctx, ref: str) -> None:
    """Check that BRAND's connector can reach the vendor (exit 1 if not)."""
    click.echo(ctx.services.connections.check_connection(ref))


@brand.command("done")
@click.argument("ref", metavar="BRAND")
@pass_ctx
def brand_done(ctx: Ctx, ref: str) -> None:
    """Record that you carried out a manual brand's choices yourself (clears pending)."""
    done = ctx.services.sync.confirm_done_by_hand(ref)
    click.echo(f"Recorded as done by hand: {'; '.join(done) if done else 'nothing had changed'}.")


@brand.command("set-secret")
@click.argument("ref", metavar="BRAND")
@click.argument("field")
@pass_ctx
def brand_set_secret(ctx: Ctx, ref: str, field: str) -> None:
    """Keep a secret FIELD (e.g. token) for BRAND in the system keyring.

    The value is read from a hidden prompt, or from standard input when piped. It is never
    written to the database, exports or logs.
    """
    if sys.stdin.isatty():
        value = click.prompt(f"{field}", hide_input=True)
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    ctx.services.connections.set_secret(ref, field, value)
    click.echo(f"Stored {field} for {ref} in the system keyring.")
