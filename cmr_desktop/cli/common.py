"""What every command group of ``cmr`` shares: the lazily opened home, JSON output, and how
a brand is shown."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import click

from cmr_desktop.domain.brand import BRAND_FIELD, Brand
from cmr_desktop.interop.document import brand_to_dict
from cmr_desktop.services import BrandView, Services

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


ServicesFactory = Callable[[str | None], Services]


class Ctx:
    """Lazily opens the home: `cmr --help` must not create a database."""

    def __init__(self, home: str | None, factory: ServicesFactory) -> None:
        self.home = home
        self._factory = factory
        self._services: Services | None = None

    @property
    def services(self) -> Services:
        if self._services is None:
            self._services = self._factory(self.home)
        return self._services


pass_ctx = click.make_pass_decorator(Ctx)


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def view_dict(view: BrandView) -> dict[str, Any]:
    return {
        **brand_to_dict(view.brand),
        "pending": view.pending,
        # The vendor's last reported state: its own settings, never the customer's decisions.
        "vendor_state": view.vendor.to_dict() if view.vendor is not None else None,
    }


def print_brand(ctx: Ctx, b: Brand, today: dt.date | None = None) -> None:
    click.echo(f"{b.name} ({b.slug})")
    how = "by hand" if b.is_manual else f"connector {b.connector}"
    found = ctx.services.brands.brand_summaries([b.slug])
    state = found[0][1].status.description.rstrip(".") if found else ""
    click.echo(f"  {b.status.value} · {b.category or 'no category'} · {how} · {state}")
    for name in ("website", "account_id", "privacy_contact", "tags", "notes"):  # CLI's order
        value = getattr(b, name)
        text = ", ".join(value) if isinstance(value, tuple) else str(value)
        if text:
            click.echo(f"  {BRAND_FIELD[name].label}: {text}")
    lines = list(b.preferences.describe(b.name, today))
    click.echo("  Your choices:" if lines else "  No choices recorded yet (vendor defaults apply).")
    for line in lines:
        click.echo(f"    {line}")
