"""What every use-case service shares: the plumbing of the home, and the few helpers more
than one of them needs (finding a brand, wiring a connector, keeping its secrets).

The service modules (``brands``, ``preferences``, ``connections``, ``sync``, ``transfer``,
``directory``, ``journal``) import this module and never each other (import-linter checks
it); :class:`cmr_desktop.services.Services` puts them together.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import gc
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from cmr_desktop.connectors.api import Connector, ConnectorContext
from cmr_desktop.connectors.http import REDACTOR, ConnectorSession, make_session
from cmr_desktop.connectors.registry import Registry, UnknownConnector
from cmr_desktop.domain.brand import Brand
from cmr_desktop.domain.clock import Clock, SystemClock
from cmr_desktop.domain.clock import today as clock_today
from cmr_desktop.domain.preferences import PreferenceSet
from cmr_desktop.secrets import SecretStore
from cmr_desktop.services.errors import BrandNotFound, InputError
from cmr_desktop.storage import BrandRecord, Store, UnitOfWork


class Context:
    """The shared plumbing: the home's database (one unit of work per use case), the
    keyring, the clock, the installed connectors and the HTTP sessions.

    Args:
        store: the home's database.
        secrets: where brand secrets are kept.
        clock: tells the time (injected so expiry can be tested).
        app_version: written into exports.
        registry: the installed connectors (default: discovered on first use).
        session_factory: makes the HTTP session connectors talk through.
    """

    def __init__(
        self,
        store: Store,
        secrets: SecretStore,
        clock: Clock | None = None,
        app_version: str = "0",
        registry: Registry | None = None,
        session_factory: Callable[[], ConnectorSession] | None = None,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.clock = clock or SystemClock()
        self.app_version = app_version
        self._registry = registry
        self._session_factory = session_factory or make_session
        self._sessions = threading.local()

    def session(self) -> ConnectorSession:
        """One HTTP session per thread, reused across brands: its connection pools save a
        TCP (and TLS) handshake per brand. A Session must not be shared between threads."""
        session: ConnectorSession | None = getattr(self._sessions, "session", None)
        if session is None:
            session = self._session_factory()
            self._sessions.session = session
        return session

    @property
    def registry(self) -> Registry:
        """The installed connectors (discovered on first use)."""
        if self._registry is None:
            self._registry = Registry.discover()
        return self._registry

    def now(self) -> dt.datetime:
        return self.clock.now()

    def today(self) -> dt.date:
        """The customer's date (``domain.clock.today``: their time zone, not UTC)."""
        return clock_today(self.clock)


@dataclass(frozen=True, slots=True)
class BrandView:
    """A brand as the CLI and UI show it: the customer's decisions (``brand.preferences``),
    whether the vendor has yet to confirm them, and what the vendor last reported (its own
    state, shown as the vendor's: never the customer's decisions)."""

    brand: Brand
    pending: bool
    vendor: PreferenceSet | None = None


def brand_view(uow: UnitOfWork, brand: Brand) -> BrandView:
    """``brand`` with its pending flag and the vendor's last state, read in ``uow``."""
    return BrandView(brand, uow.brands.is_pending(brand.slug), uow.brands.vendor_state(brand.slug))


def resolve(uow: UnitOfWork, ref: str) -> Brand:
    """The brand ``ref`` names: its id, else its exact name (case aside).

    Raises:
        BrandNotFound: no such brand (with the nearest ids as suggestions).
        InputError: several brands have that name.
    """
    brand: Brand | None = uow.brands.find(ref)
    if brand is not None:
        return brand
    wanted = ref.strip().casefold()
    matches = [b for b in uow.brands.all() if b.name.casefold() == wanted]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise InputError(
            f"brand name {ref!r} is ambiguous; use its id: " + ", ".join(b.slug for b in matches)
        )
    slugs = sorted(uow.brands.slugs())
    raise BrandNotFound(ref, difflib.get_close_matches(ref.lower(), slugs, n=3))


@contextlib.contextmanager
def bulk_work() -> Iterator[None]:
    """Pause Python's cyclic garbage collector during bulk work.

    Reading or importing 10,000 brands allocates millions of small objects, and the
    collector rescans the growing heap again and again: about 30% of an import's time.
    Nothing here makes reference cycles that must be freed early; it runs again afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def records_by_name(ctx: Context) -> list[BrandRecord]:
    """Every brand as stored, sorted by name (the fast read-out: no domain objects)."""
    with bulk_work(), ctx.store.read() as uow:
        return uow.brands.records(order="name")


# --- connectors and their secrets -------------------------------------------------------------


def connector_class(ctx: Context, connector: str) -> type[Connector]:
    """The installed connector ``connector``.

    Raises:
        InputError: no such connector is installed.
    """
    try:
        return ctx.registry.get(connector)
    except UnknownConnector as exc:
        raise InputError(str(exc)) from None


class _BrandSecrets:
    """One brand's secrets, as a connector sees them (read-only)."""

    def __init__(self, store: SecretStore, slug: str) -> None:
        self._store, self._slug = store, slug

    def get(self, field: str) -> str | None:
        value = self._store.get(self._slug, field)
        if value:
            REDACTOR.add_secret(value)  # never in a log line, whatever logs it
        return value


def connector_for(ctx: Context, brand: Brand) -> Connector:
    """A connector instance for ``brand``, wired with its settings, secrets and a session."""
    cls = connector_class(ctx, brand.connector)
    context = ConnectorContext(
        config={**cls.config_defaults(), **brand.connector_config},
        secrets=_BrandSecrets(ctx.secrets, brand.slug),
        session=ctx.session(),
        clock=ctx.clock,
        log=logging.getLogger(f"cmr_desktop.connector.{brand.connector}.{brand.slug}"),
    )
    return cls(context)


def check_connector_settings(
    ctx: Context, connector: str, config: Mapping[str, str], secrets: Mapping[str, str]
) -> None:
    """Check the settings of a brand to be added (or tried) with ``connector``.

    Raises:
        InputError: a setting is unknown, misplaced (a secret among the settings, or the
            other way round), missing, or refused by the connector.
    """
    cls = connector_class(ctx, connector)
    fields = {f.name: f for f in cls.config_fields}
    names = ", ".join(fields) or "none"
    for key in (*config, *secrets):
        if key not in fields:
            raise InputError(
                f"connector {connector!r} has no setting {key!r} (its settings: {names})"
            )
    for key in config:
        if fields[key].secret:
            raise InputError(
                f"{key!r} is a secret: give it at the prompt or with --secret-env {key}=VAR, "
                "never on the command line"
            )
    for key in secrets:
        if not fields[key].secret:
            raise InputError(f"{key!r} is not a secret; give it with --set {key}=VALUE")
    for f in fields.values():
        if f.required and f.default is None and f.name not in config and f.name not in secrets:
            how = f"--secret-env {f.name}=VAR" if f.secret else f"--set {f.name}=VALUE"
            raise InputError(f"connector {connector!r} needs {f.label!r} ({how})")
    problems = cls.config_problems({**cls.config_defaults(), **config})
    if problems:
        raise InputError(f"connector {connector!r}: {problems[0]}")


def secret_names(ctx: Context, connector: str) -> list[str]:
    """The names of ``connector``'s secret settings (none when it is not installed)."""
    with contextlib.suppress(UnknownConnector):
        return [f.name for f in ctx.registry.get(connector).config_fields if f.secret]
    return []


def store_secrets(ctx: Context, slug: str, values: Mapping[str, str]) -> None:
    """Keep ``values`` as ``slug``'s secrets: all of them, or (the keyring refused one)
    none of those given."""
    stored: list[str] = []
    try:
        for field, value in values.items():
            ctx.secrets.set(slug, field, value)
            stored.append(field)
    except BaseException:
        for field in stored:
            forget_secret(ctx, slug, field)
        raise


def forget_secret(ctx: Context, slug: str, field: str) -> None:
    """Delete a secret, best effort (the brand is gone or put back either way)."""
    with contextlib.suppress(Exception):
        ctx.secrets.delete(slug, field)
