"""Connections to the vendors (``services.connections``): the installed connectors, a brand's
connector settings and secrets, and checking that a vendor can be reached."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import replace

from cmr_desktop.connectors.api import (
    AuthenticationError,
    Catalog,
    Connector,
    ConnectorContext,
    ConnectorError,
)
from cmr_desktop.connectors.http import REDACTOR
from cmr_desktop.connectors.registry import ConnectorEntry
from cmr_desktop.domain.brand import Brand
from cmr_desktop.services import base
from cmr_desktop.services.base import Context, check_connector_settings, resolve, secret_names
from cmr_desktop.services.errors import ConnectionFailed, InputError, SettingRefused


class _GivenSecrets:
    """Secrets typed into the add-brand wizard, before anything is stored."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        for value in self._values.values():
            if value:
                REDACTOR.add_secret(value)  # typed, not stored: still never in a log line

    def get(self, field: str) -> str | None:
        return self._values.get(field) or None


def _first_secret(connector: Connector) -> str:
    return next((f.name for f in connector.config_fields if f.secret), "token")


def _unexpected(what: str, exc: Exception) -> ConnectionFailed:
    return ConnectionFailed(
        f"{what} failed unexpectedly ({type(exc).__name__}); "
        "please report it to the connector's author"
    )


def _settings_problem(
    cls: type[Connector], before: dict[str, str], after: dict[str, str]
) -> SettingRefused | None:
    """The connector's own check of ``after``, naming the setting at fault: the first
    changed one that, changed alone, is refused (else the first changed one)."""
    defaults = cls.config_defaults()
    problems = cls.config_problems({**defaults, **after})
    if not problems:
        return None
    fields = {f.name: f for f in cls.config_fields}
    changed = [n for n in fields if before.get(n) != after.get(n)] or list(fields)
    culprit = next(
        (
            name
            for name in changed
            if cls.config_problems(
                {**defaults, **before, name: after.get(name, defaults.get(name, ""))}
            )
        ),
        changed[0],
    )
    problem = problems[0]
    if problem.startswith(f"{culprit} "):  # "base_url 'x' is ...": the label says it
        problem = problem[len(culprit) + 1 :]
    return SettingRefused(culprit, fields[culprit].label, problem)


class ConnectionService:
    """How each brand reaches its vendor."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    # --- connectors -----------------------------------------------------------------------

    def connector_entries(self) -> list[ConnectorEntry]:
        """Every discovered connector with its status (ok, incompatible, broken, invalid)."""
        return self._ctx.registry.entries()

    def connector_class(self, connector: str) -> type[Connector]:
        """The installed connector ``connector``.

        Raises:
            InputError: no such connector is installed.
        """
        return base.connector_class(self._ctx, connector)

    def connector_for(self, brand: Brand) -> Connector:
        """A connector instance for ``brand``, wired with its settings, secrets and a session."""
        return base.connector_for(self._ctx, brand)

    def _connector_of(self, ref: str) -> tuple[Brand, Connector]:
        with self._ctx.store.read() as uow:
            brand = resolve(uow, ref)
        return brand, self.connector_for(brand)

    # --- talking to the vendor ------------------------------------------------------------

    def catalog(self, ref: str) -> Catalog | None:
        """What the brand's vendor supports, asked over the network (call it off the GUI
        thread). None for brands handled by hand (no vendor catalog: everything is offered).

        Raises:
            ConnectorError: the vendor could not be asked (the message says why).
        """
        _brand, connector = self._connector_of(ref)
        if not connector.remote:
            return None
        return connector.catalog()

    def check_connection(self, ref: str) -> str:
        """Run the brand's connection check; returns what was seen.

        Raises:
            ConnectionFailed: the check failed; the message names the brand and the fix.
        """
        brand, connector = self._connector_of(ref)
        try:
            return connector.check()
        except ConnectorError as exc:
            hint = (
                f" Re-enter it with: cmr brand set-secret {brand.slug} {_first_secret(connector)}"
                if isinstance(exc, AuthenticationError)
                else ""
            )
            text = str(exc).rstrip()
            end = "" if text.endswith((".", "!", "?")) else "."
            raise ConnectionFailed(f"brand {brand.name!r}: {text}{end}{hint}") from None
        except Exception as exc:
            raise _unexpected(f"brand {brand.name!r}: connector {brand.connector!r}", exc) from None

    def try_connection(
        self, connector: str, config: Mapping[str, str], secrets: Mapping[str, str]
    ) -> tuple[str, Catalog | None]:
        """Check settings before a brand is stored (the add-brand wizard): what the
        connector's check saw, and the vendor's catalog (None for a connector without one).

        Nothing is written; the secrets are used for this call only.

        Raises:
            ConnectionFailed: the check failed (the message says why).
            InputError: the settings are incomplete or the connector is unknown.
        """
        check_connector_settings(self._ctx, connector, dict(config), dict(secrets))
        cls = self.connector_class(connector)
        context = ConnectorContext(
            config={**cls.config_defaults(), **config},
            secrets=_GivenSecrets(secrets),
            session=self._ctx.session(),
            clock=self._ctx.clock,
            log=logging.getLogger(f"cmr_desktop.connector.{connector}.trial"),
        )
        instance = cls(context)
        try:
            seen = instance.check()
            return seen, instance.catalog() if instance.remote else None
        except ConnectorError as exc:
            raise ConnectionFailed(str(exc).rstrip()) from None
        except Exception as exc:
            raise _unexpected(f"connector {connector!r}", exc) from None

    # --- a brand's settings and secrets ---------------------------------------------------

    def connector_settings(self, ref: str) -> tuple[str, dict[str, str], dict[str, bool]]:
        """A brand's connector, its non-secret settings as stored, and for each secret
        setting whether the keyring holds a value (the value itself is never returned)."""
        with self._ctx.store.read() as uow:
            brand = resolve(uow, ref)
        held = {}
        for name in secret_names(self._ctx, brand.connector):
            try:
                held[name] = bool(self._ctx.secrets.get(brand.slug, name))
            except Exception:
                held[name] = False
        return brand.connector, dict(brand.connector_config), held

    def _held_secret(self, slug: str, field: str) -> str | None:
        try:
            value = self._ctx.secrets.get(slug, field)
        except Exception:
            return None  # the keyring cannot be read: nothing to keep for an undo
        if value:
            REDACTOR.add_secret(value)
        return value

    def set_connector_settings(
        self,
        ref: str,
        config: Mapping[str, str],
        secrets: Mapping[str, str] | None = None,
    ) -> Brand:
        """Replace a brand's non-secret connector settings, checked as when it was added,
        and keep any secret given (a secret not given stays as it is).

        Raises:
            SettingRefused: a setting is missing or refused; the error names it.
        """
        ctx = self._ctx
        config = {k: v.strip() for k, v in config.items() if v.strip()}
        given = {k: v for k, v in (secrets or {}).items() if v}
        with ctx.store.read() as uow:
            brand = resolve(uow, ref)
        cls = self.connector_class(brand.connector)
        fields = {f.name: f for f in cls.config_fields}
        for key, secret in (*((k, False) for k in config), *((k, True) for k in given)):
            f = fields.get(key)
            if f is None:
                raise SettingRefused(key, key, f"connector {brand.connector!r} has no such setting")
            if f.secret != secret:  # a secret among the settings would land in the database
                kind = "a secret" if f.secret else "not a secret"
                raise SettingRefused(key, f.label, f"is {kind}")
        for f in fields.values():
            if f.required and f.default is None and not f.secret and f.name not in config:
                raise SettingRefused(f.name, f.label, "is needed")
        problem = _settings_problem(cls, dict(brand.connector_config), config)
        if problem is not None:
            raise problem
        # The keyring is no transaction: keep what it held, and put it back if the keyring or
        # the database refuses, so that nothing is changed then.
        before = {key: self._held_secret(brand.slug, key) for key in given}
        try:
            with ctx.store.write() as uow:
                current = resolve(uow, brand.slug)
                updated = uow.brands.update(
                    replace(current, connector_config=config), now=ctx.now()
                )
                for key, value in given.items():
                    ctx.secrets.set(brand.slug, key, value)
        except BaseException:
            for key, old in before.items():
                with contextlib.suppress(Exception):
                    if old is None:
                        base.forget_secret(ctx, brand.slug, key)
                    else:
                        ctx.secrets.set(brand.slug, key, old)
            raise
        return updated

    def set_secret(self, ref: str, field: str, value: str) -> None:
        """Keep a secret (API token, password) for a brand in the OS keyring."""
        with self._ctx.store.read() as uow:
            brand = resolve(uow, ref)
        names = [f.name for f in self.connector_class(brand.connector).config_fields if f.secret]
        if field not in names:
            raise InputError(
                f"connector {brand.connector!r} has no secret {field!r}"
                + (f" (its secrets: {', '.join(names)})" if names else "")
            )
        try:
            self._ctx.secrets.set(brand.slug, field, value)
        except ValueError as exc:
            raise InputError(str(exc)) from None
