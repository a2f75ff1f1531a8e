"""The use cases shared by the CLI and the desktop app.

Each public method is one unit of work: it opens its own transaction, and either all of its
changes are stored or none are.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import gc
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from cmr_desktop.connectors.api import (
    AuthenticationError,
    Catalog,
    Connector,
    ConnectorContext,
    ConnectorError,
)
from cmr_desktop.connectors.http import REDACTOR, ConnectorSession, make_session
from cmr_desktop.connectors.registry import ConnectorEntry, Registry, UnknownConnector
from cmr_desktop.domain.brand import MANUAL_CONNECTOR, Brand, check_slug, slugify
from cmr_desktop.domain.clock import Clock, SystemClock
from cmr_desktop.domain.clock import today as clock_today
from cmr_desktop.domain.directory import DirectoryEntry
from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.policy import MyTerms, Violation
from cmr_desktop.domain.preferences import FieldKey, FieldValue, PreferenceSet
from cmr_desktop.domain.summary import BrandSummary, active_uses, ending_within, judge_terms
from cmr_desktop.interop import (
    ImportPlan,
    build_document,
    plan_import,
    read_document,
    write_csv,
)
from cmr_desktop.interop.directory import bundled_directory, read_directory
from cmr_desktop.interop.document import dump_document, record_json, record_to_dict
from cmr_desktop.interop.receipts import brand_receipts, confirmed_decisions
from cmr_desktop.secrets import SecretStore
from cmr_desktop.services.errors import BrandNotFound, ConnectionFailed, InputError
from cmr_desktop.storage import (
    AlreadyExists,
    BrandRecord,
    BrandSnapshot,
    JournalEntry,
    Store,
    UnitOfWork,
)
from cmr_desktop.sync import SyncEngine
from cmr_desktop.sync.engine import differences, field_name

_EDITABLE = (
    "name",
    "account_id",
    "status",
    "category",
    "website",
    "privacy_contact",
    "notes",
    "tags",
    "connector",
)


@dataclass(frozen=True, slots=True)
class BrandView:
    """A brand as the CLI and UI show it: the customer's decisions (``brand.preferences``),
    whether the vendor has yet to confirm them, and what the vendor last reported (its own
    state, shown as the vendor's: never the customer's decisions)."""

    brand: Brand
    pending: bool
    vendor: PreferenceSet | None = None


@dataclass(frozen=True, slots=True)
class DriftItem:
    """One field the vendor had loosened: its value there and the customer's."""

    key: FieldKey
    field: str  # the journal's name, e.g. "channel.email"
    vendor: FieldValue
    yours: FieldValue


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """What My Terms would change for one brand."""

    slug: str
    name: str
    before: PreferenceSet
    after: PreferenceSet
    lines: tuple[str, ...]  # "field: old -> new"


@dataclass(frozen=True, slots=True)
class DirectoryImportResult:
    """What a directory import did (or, for a dry run, would do)."""

    source: str
    added: int
    updated: int
    skipped: tuple[str, ...]  # one line per skipped record: where and why
    total: int  # records in the file


@dataclass(frozen=True, slots=True)
class ImportResult:
    plan: ImportPlan
    applied: bool


@dataclass(frozen=True, slots=True)
class RemovedBrand:
    """What removing a brand took away, for an undo to put back (:meth:`Services.restore_brands`).

    ``secrets`` are the brand's secrets as the keyring held them before they were deleted:
    kept in this object only (in memory, for the undo), never stored, printed or logged.
    """

    snapshot: BrandSnapshot
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: Secret names the keyring could not read: left in it (not deleted), and an undo
    #: cannot vouch for them (sign in again).
    unread: tuple[str, ...] = ()
    #: Secret names the keyring would not delete: they are still in it.
    kept: tuple[str, ...] = ()

    @property
    def slug(self) -> str:
        return self.snapshot.brand.slug

    @property
    def name(self) -> str:
        return self.snapshot.brand.name


class SettingRefused(InputError):
    """A connector setting was refused; ``field`` names it (its id, ``label`` its words)."""

    def __init__(self, field: str, label: str, problem: str) -> None:
        super().__init__(f"{label}: {problem}")
        self.field, self.label = field, label


def _fmt_value(value: FieldValue) -> str:
    """A field's value as the journal writes it ("on", "off", "weekly", "default" ...)."""
    if value is None:
        return "default"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _vendor_holds(vendor: PreferenceSet, decisions: PreferenceSet, today: dt.date) -> bool:
    """Whether the vendor already holds every decided field (expired allows as deny)."""
    wanted = decisions.with_expired_revoked(today).fields()
    return all(vendor.get(key) == value for key, value in wanted.items())


class _GivenSecrets:
    """Secrets typed into the add-brand wizard, before anything is stored."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        for value in self._values.values():
            if value:
                REDACTOR.add_secret(value)  # typed, not stored: still never in a log line

    def get(self, field: str) -> str | None:
        return self._values.get(field) or None


class _BrandSecrets:
    """One brand's secrets, as a connector sees them (read-only)."""

    def __init__(self, store: SecretStore, slug: str) -> None:
        self._store, self._slug = store, slug

    def get(self, field: str) -> str | None:
        value = self._store.get(self._slug, field)
        if value:
            REDACTOR.add_secret(value)  # never in a log line, whatever logs it
        return value


def _first_secret(connector: Connector) -> str:
    return next((f.name for f in connector.config_fields if f.secret), "token")


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


def journal_terms(
    uow: UnitOfWork, slug: str, before: PreferenceSet, after: PreferenceSet, now: dt.datetime
) -> None:
    """Journal the decisions My Terms made on the customer's behalf (they applied them)."""
    a, b = before.fields(), after.fields()
    fields = [
        {"field": field_name(k), "value": _text(v)}
        for k, v in sorted(b.items(), key=lambda kv: tuple(map(str, kv[0])))
        if a.get(k) != v
    ]
    if fields:
        uow.journal.append(at=now, brand=slug, kind="terms", detail={"fields": fields})


def _text(value: FieldValue) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


class Services:
    """Entry point for every use case.

    Args:
        store: the home's database.
        secrets: where brand secrets are kept.
        clock: tells the time (injected so expiry can be tested).
        app_version: written into exports.
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

    def _session(self) -> ConnectorSession:
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

    # --- brands -------------------------------------------------------------------------

    def _resolve(self, uow: UnitOfWork, ref: str) -> Brand:
        brand: Brand | None = uow.brands.find(ref)
        if brand is not None:
            return brand
        wanted = ref.strip().casefold()
        matches = [b for b in uow.brands.all() if b.name.casefold() == wanted]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InputError(
                f"brand name {ref!r} is ambiguous; use its id: "
                + ", ".join(b.slug for b in matches)
            )
        slugs = sorted(uow.brands.slugs())
        raise BrandNotFound(ref, difflib.get_close_matches(ref.lower(), slugs, n=3))

    def add_brand(
        self,
        name: str,
        *,
        slug: str | None = None,
        connector: str = MANUAL_CONNECTOR,
        connector_config: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> Brand:
        """Add a brand, handled by ``connector`` (``manual``: by hand).

        Args:
            name: the brand's name.
            slug: its id (made from the name when not given).
            connector: the connector id.
            connector_config: the connector's non-secret settings.
            secrets: the connector's secret settings; stored in the system keyring.
            **fields: relationship fields of :class:`Brand` (category, website, tags ...).

        Everything is checked first; the brand is stored only if the secrets could be kept.
        """
        config = dict(connector_config or {})
        secret_values = dict(secrets or {})
        try:
            slug = check_slug(slug) if slug is not None else slugify(name)
            self._check_connector_settings(connector, config, secret_values)
            brand = Brand(
                slug=slug,
                name=name.strip(),
                connector=connector,
                connector_config=config,
                **fields,
            )
        except (DomainError, TypeError) as exc:
            raise InputError(str(exc)) from None
        with self.store.write() as uow:
            try:
                added = uow.brands.add(brand, now=self.now())
            except AlreadyExists:
                raise InputError(
                    f"{brand.name} exists already (as {slug!r}); give the new one another "
                    "name (or, in the command line, another id with --slug)"
                ) from None
            # Still inside the transaction: if the keyring refuses, the brand is not stored.
            self._store_secrets(slug, secret_values)
        return added

    def _store_secrets(self, slug: str, values: Mapping[str, str]) -> None:
        stored: list[str] = []
        try:
            for field, value in values.items():
                self.secrets.set(slug, field, value)
                stored.append(field)
        except BaseException:
            for field in stored:
                self._forget_secret(slug, field)
            raise

    def connector_class(self, connector: str) -> type[Connector]:
        try:
            return self.registry.get(connector)
        except UnknownConnector as exc:
            raise InputError(str(exc)) from None

    def _check_connector(self, connector: str) -> None:
        self.connector_class(connector)

    def _check_connector_settings(
        self, connector: str, config: Mapping[str, str], secrets: Mapping[str, str]
    ) -> None:
        cls = self.connector_class(connector)
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

    def connector_entries(self) -> list[ConnectorEntry]:
        """Every discovered connector with its status (ok, incompatible, broken, invalid)."""
        return self.registry.entries()

    def connector_for(self, brand: Brand) -> Connector:
        """A connector instance for ``brand``, wired with its settings, secrets and a session."""
        cls = self.connector_class(brand.connector)
        context = ConnectorContext(
            config={**cls.config_defaults(), **brand.connector_config},
            secrets=_BrandSecrets(self.secrets, brand.slug),
            session=self._session(),
            clock=self.clock,
            log=logging.getLogger(f"cmr_desktop.connector.{brand.connector}.{brand.slug}"),
        )
        return cls(context)

    # --- sync and journal -----------------------------------------------------------------

    def sync_engine(
        self, *, jobs: int = 32, seed: int | None = None, cancel_grace: float | None = None
    ) -> SyncEngine:
        """An engine that pushes pending choices to every vendor (see cmr_desktop.sync).

        Args:
            cancel_grace: after a cancel, how long (seconds) the run waits for brands still
                talking to their vendor before reporting them cancelled (they stay pending).
                None: wait for them.
        """
        return SyncEngine(
            self.store,
            self.connector_for,
            self.clock,
            jobs=jobs,
            seed=seed,
            cancel_grace=cancel_grace,
        )

    def confirm_done_by_hand(self, ref: str) -> list[str]:
        """The customer carried out a manual brand's choices themselves: record it.

        Returns what was done (the changes since the last confirmation), also journaled.

        Raises:
            InputError: the brand has a connector (its vendor is synced, not done by hand).
        """
        with self.store.write() as uow:
            brand = self._resolve(uow, ref)
            if brand.connector != MANUAL_CONNECTOR:
                raise InputError(
                    f"{brand.name} is synced through connector {brand.connector!r}; "
                    "use cmr sync instead"
                )
            inp = uow.sync.load(brand.slug)
            done = differences(inp.base or PreferenceSet(), brand.preferences)
            now = self.now()
            uow.sync.confirmed(
                brand.slug,
                revision=inp.revision,
                base=brand.preferences,
                vendor=brand.preferences,
                remote_version="by hand",
                decisions=None,
                status="ok",
                detail="done by hand",
                now=now,
            )
            uow.journal.append(at=now, brand=brand.slug, kind="by_hand", detail={"done": done})
        return done

    def resolve_slugs(self, refs: Sequence[str]) -> list[str]:
        with self.store.read() as uow:
            return [self._resolve(uow, r).slug for r in refs]

    def journal(self, ref: str | None = None) -> list[JournalEntry]:
        """Journal entries, oldest first (of one brand, or all)."""
        with self.store.read() as uow:
            slug = None
            if ref is not None:
                found = uow.brands.find(ref)
                slug = found.slug if found else ref  # removed brands keep their entries
            return uow.journal.entries(slug)

    def verify_journal(self) -> int | None:
        """The id of the first entry whose hash chain breaks, or None when it is intact."""
        with self.store.read() as uow:
            return uow.journal.first_broken()

    def check_connection(self, ref: str) -> str:
        """Run the brand's connection check; returns what was seen.

        Raises:
            ConnectionFailed: the check failed; the message names the brand and the fix.
        """
        brand = self.get_brand(ref).brand
        connector = self.connector_for(brand)
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
            raise ConnectionFailed(
                f"brand {brand.name!r}: connector {brand.connector!r} failed unexpectedly "
                f"({type(exc).__name__}); please report it to the connector's author"
            ) from None

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
        self._check_connector_settings(connector, dict(config), dict(secrets))
        cls = self.connector_class(connector)
        context = ConnectorContext(
            config={**cls.config_defaults(), **config},
            secrets=_GivenSecrets(secrets),
            session=self._session(),
            clock=self.clock,
            log=logging.getLogger(f"cmr_desktop.connector.{connector}.trial"),
        )
        instance = cls(context)
        try:
            seen = instance.check()
            return seen, instance.catalog() if instance.remote else None
        except ConnectorError as exc:
            raise ConnectionFailed(str(exc).rstrip()) from None
        except Exception as exc:
            raise ConnectionFailed(
                f"connector {connector!r} failed unexpectedly ({type(exc).__name__}); "
                "please report it to the connector's author"
            ) from None

    def list_brands(self) -> list[BrandView]:
        with self.store.read() as uow:
            pending = uow.brands.pending_slugs()
            return [BrandView(b, b.slug in pending) for b in uow.brands.all()]

    def get_brand(self, ref: str) -> BrandView:
        with self.store.read() as uow:
            brand = self._resolve(uow, ref)
            return BrandView(
                brand, uow.brands.is_pending(brand.slug), uow.brands.vendor_state(brand.slug)
            )

    def edit_brand(self, ref: str, **changes: Any) -> Brand:
        """Change relationship fields (name, category, tags ...) of a brand."""
        unknown = set(changes) - set(_EDITABLE)
        if unknown:
            raise InputError(f"cannot edit {', '.join(sorted(unknown))}")
        if "connector" in changes:
            self._check_connector(changes["connector"])
        with self.store.write() as uow:
            brand = self._resolve(uow, ref)
            try:
                updated = replace(brand, **changes)
            except DomainError as exc:
                raise InputError(str(exc)) from None
            return uow.brands.update(updated, now=self.now())

    def remove_brand(self, ref: str) -> Brand:
        """Remove a brand: its decisions, details, the vendor's state and its secrets.
        Its journal entries stay (with a ``removed`` entry)."""
        return self.remove_brands([ref])[0].snapshot.brand

    def remove_brands(self, refs: Sequence[str]) -> list[RemovedBrand]:
        """Remove brands in one transaction, each journaled as ``removed``; their secrets
        are deleted from the keyring once the removal is stored. The journal keeps every
        entry of a removed brand.

        Returns what was removed, with the secrets as they were (in memory only), so that
        an undo can put everything back with :meth:`restore_brands`.
        """
        taken: list[tuple[BrandSnapshot, dict[str, str], list[str], list[str]]] = []
        with self.store.write() as uow:
            brands = {b.slug: b for b in (self._resolve(uow, r) for r in refs)}
            now = self.now()
            for slug, brand in brands.items():
                snapshot = uow.brands.snapshot(slug)
                secrets: dict[str, str] = {}
                read: list[str] = []
                unread: list[str] = []
                for name in self._secret_names(brand.connector):
                    try:
                        value = self.secrets.get(slug, name)
                    except Exception:
                        unread.append(name)  # not deleted either: it cannot be put back
                        continue
                    read.append(name)
                    if value:
                        REDACTOR.add_secret(value)
                        secrets[name] = value
                uow.brands.remove(slug)
                uow.journal.append(at=now, brand=slug, kind="removed", detail={"name": brand.name})
                taken.append((snapshot, secrets, read, unread))
        removed = []
        for snapshot, secrets, read, unread in taken:
            kept = []
            for name in read:
                try:
                    self.secrets.delete(snapshot.brand.slug, name)
                except Exception:
                    kept.append(name)
            removed.append(RemovedBrand(snapshot, secrets, tuple(unread), tuple(kept)))
        return removed

    def restore_brands(self, removed: Sequence[RemovedBrand]) -> list[str]:
        """Put removed brands back as they were (the undo of :meth:`remove_brands`), in one
        transaction, each journaled as ``restored``; then their secrets go back to the
        keyring.

        Returns the names of the brands whose secrets the keyring would not take back
        (sign in again for them); the brands are restored either way.

        Raises:
            InputError: a brand with the same id was added meanwhile (nothing restored).
        """
        with self.store.write() as uow:
            now = self.now()
            for item in removed:
                try:
                    uow.brands.restore(item.snapshot, now=now)
                except AlreadyExists:
                    raise InputError(
                        f"{item.name} cannot be put back: a brand with id {item.slug!r} was "
                        "added since"
                    ) from None
                uow.journal.append(
                    at=now, brand=item.slug, kind="restored", detail={"name": item.name}
                )
        refused = []
        for item in removed:
            try:
                self._store_secrets(item.slug, item.secrets)
            except Exception:
                refused.append(item.name)
                continue
            if item.unread:
                refused.append(item.name)  # its secrets were never read: cannot vouch for them
        return refused

    def _secret_names(self, connector: str) -> list[str]:
        with contextlib.suppress(UnknownConnector):
            return [f.name for f in self.registry.get(connector).config_fields if f.secret]
        return []

    def _held_secret(self, slug: str, field: str) -> str | None:
        try:
            value = self.secrets.get(slug, field)
        except Exception:
            return None  # the keyring cannot be read: nothing to keep for an undo
        if value:
            REDACTOR.add_secret(value)
        return value

    def connector_settings(self, ref: str) -> tuple[str, dict[str, str], dict[str, bool]]:
        """A brand's connector, its non-secret settings as stored, and for each secret
        setting whether the keyring holds a value (the value itself is never returned)."""
        with self.store.read() as uow:
            brand = self._resolve(uow, ref)
        held = {}
        for name in self._secret_names(brand.connector):
            try:
                held[name] = bool(self.secrets.get(brand.slug, name))
            except Exception:
                held[name] = False
        return brand.connector, dict(brand.connector_config), held

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
        config = {k: v.strip() for k, v in config.items() if v.strip()}
        given = {k: v for k, v in (secrets or {}).items() if v}
        with self.store.read() as uow:
            brand = self._resolve(uow, ref)
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
        problem = self._settings_problem(cls, dict(brand.connector_config), config)
        if problem is not None:
            raise problem
        # The keyring is no transaction: keep what it held, and put it back if the keyring or
        # the database refuses, so that nothing is changed then.
        before = {key: self._held_secret(brand.slug, key) for key in given}
        try:
            with self.store.write() as uow:
                current = self._resolve(uow, brand.slug)
                updated = uow.brands.update(
                    replace(current, connector_config=config), now=self.now()
                )
                for key, value in given.items():
                    self.secrets.set(brand.slug, key, value)
        except BaseException:
            for key, old in before.items():
                with contextlib.suppress(Exception):
                    if old is None:
                        self._forget_secret(brand.slug, key)
                    else:
                        self.secrets.set(brand.slug, key, old)
            raise
        return updated

    @staticmethod
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

    def _forget_secret(self, slug: str, field: str) -> None:
        # Forgetting is best effort: the brand is gone either way.
        with contextlib.suppress(Exception):
            self.secrets.delete(slug, field)

    def set_secret(self, ref: str, field: str, value: str) -> None:
        """Keep a secret (API token, password) for a brand in the OS keyring."""
        with self.store.read() as uow:
            brand = self._resolve(uow, ref)
        secret_names = [
            f.name for f in self.connector_class(brand.connector).config_fields if f.secret
        ]
        if field not in secret_names:
            raise InputError(
                f"connector {brand.connector!r} has no secret {field!r}"
                + (f" (its secrets: {', '.join(secret_names)})" if secret_names else "")
            )
        try:
            self.secrets.set(brand.slug, field, value)
        except ValueError as exc:
            raise InputError(str(exc)) from None

    # --- preferences --------------------------------------------------------------------

    def update_preferences(self, ref: str, edit: Any) -> BrandView:
        """Apply ``edit`` (a function PreferenceSet -> PreferenceSet) and mark the brand pending.

        The edit and the outbox marker are written in one transaction.
        """
        with self.store.write() as uow:
            brand = self._resolve(uow, ref)
            try:
                prefs: PreferenceSet = edit(brand.preferences)
            except DomainError as exc:
                raise InputError(str(exc)) from None
            updated = uow.brands.update(brand.with_preferences(prefs), now=self.now())
            return BrandView(
                updated, uow.brands.is_pending(updated.slug), uow.brands.vendor_state(updated.slug)
            )

    # --- My Terms -----------------------------------------------------------------------

    def policy(self) -> MyTerms:
        with self.store.read() as uow:
            return uow.settings.policy()

    def set_policy(self, terms: MyTerms) -> None:
        with self.store.write() as uow:
            uow.settings.set_policy(terms)

    def check_policy(self, refs: Sequence[str] = ()) -> dict[str, list[Violation]]:
        """Violations of My Terms per brand id (only brands that break them). The same
        judgement as the counts (:func:`domain.summary.judge_terms`): an undecided field
        breaks a rule only where the brand can do what it forbids."""
        with self.store.read() as uow:
            terms = uow.settings.policy()
            if refs:
                slugs = [self._resolve(uow, r).slug for r in refs]
                records = [r for slug in slugs for r in uow.brands.records(slug=slug)]
            else:
                records = uow.brands.records(order="slug")
        today = self.today()
        out = {}
        for r in records:
            found = self._breaks(terms, r, today)
            if found:
                out[r.slug] = found
        return out

    @staticmethod
    def _breaks(terms: MyTerms, record: BrandRecord, today: dt.date) -> list[Violation]:
        vendor = record.vendor
        breaks, _kept = judge_terms(
            terms,
            name=record.name,
            connector=record.connector,
            decisions=PreferenceSet.from_dict(record.preferences),
            vendor=PreferenceSet.from_dict(vendor) if vendor is not None else None,
            today=today,
            offered=record.offered_json,
        )
        return list(breaks)

    def policy_report(self) -> list[tuple[str, str, list[Violation]]]:
        """(slug, name, violations) of every brand that breaks My Terms, by name (the same
        brands the "Breaks My Terms" count holds)."""
        with bulk_work(), self.store.read() as uow:
            terms = uow.settings.policy()
            if not terms.rules:
                return []
            records = uow.brands.records(order="name")
        today = self.today()
        found = [(r.slug, r.name, self._breaks(terms, r, today)) for r in records]
        return [f for f in found if f[2]]

    def expiring_grants(self, days: int = 7) -> list[tuple[str, str, str, dt.date]]:
        """Permissions that end within ``days`` (today included): (slug, brand name, "data
        for purpose" in words, last day), soonest first. Reads the fast record read-out;
        an ended permission is a refusal and never listed (domain.summary)."""
        today = self.today()
        out = []
        for r in self.brand_records():
            for use in ending_within(active_uses(r.preferences, today), today, days):
                assert use.expires is not None
                out.append((r.slug, r.name, use.words, use.expires))
        return sorted(out, key=lambda e: (e[3], e[1].casefold()))

    def brand_summaries(
        self, slugs: Sequence[str] | None = None
    ) -> list[tuple[BrandRecord, BrandSummary]]:
        """Brands as stored with their :class:`BrandSummary` (the one read model of their
        preferences and status), sorted by name; only ``slugs`` when given (gone ones are
        left out). One read transaction; an edit re-reads only the brand it touched."""
        with bulk_work(), self.store.read() as uow:
            terms = uow.settings.policy()
            if slugs is None:
                records = uow.brands.records(order="name")
            else:
                records = [r for slug in slugs for r in uow.brands.records(slug=slug)]
        today = self.today()
        return [(r, BrandSummary.of_record(r, today, terms)) for r in records]

    def apply_policy(self, refs: Sequence[str] = ()) -> list[str]:
        """Change brands so they keep My Terms; returns the ids of the brands changed. With
        no ``refs``, the brands that break My Terms (as :meth:`preview_policy` lists them,
        and the window's "Apply to all" applies); brands named in ``refs`` whenever applying
        changes them (the customer asked for them)."""
        changed = []
        with self.store.write() as uow:
            terms = uow.settings.policy()
            today, now = self.today(), self.now()
            if refs:
                brands = [self._resolve(uow, r) for r in refs]
            else:
                breaking = {
                    r.slug
                    for r in uow.brands.records(order="slug")
                    if self._breaks(terms, r, today)
                }
                brands = [b for b in uow.brands.all() if b.slug in breaking]
            for b in brands:
                prefs = terms.apply(b.preferences, today)
                if prefs != b.preferences:
                    uow.brands.update(b.with_preferences(prefs), now=now)
                    journal_terms(uow, b.slug, b.preferences, prefs, now)
                    changed.append(b.slug)
        return changed

    def preview_policy(self, refs: Sequence[str] = ()) -> list[PolicyChange]:
        """What applying My Terms would change, brand by brand (nothing is written). For
        every brand (no ``refs``), only the brands that break My Terms are listed; brands
        named in ``refs`` are listed whenever applying would change them (the customer
        asked for them). The change is the customer's decisions, as :meth:`apply_policy`."""
        with self.store.read() as uow:
            terms = uow.settings.policy()
            if refs:
                brands = [self._resolve(uow, r) for r in refs]
                breaking = {b.slug for b in brands}
            else:
                brands = uow.brands.all()
                today = self.today()
                breaking = {
                    r.slug
                    for r in uow.brands.records(order="slug")
                    if self._breaks(terms, r, today)
                }
        today = self.today()
        out = []
        for b in brands:
            if b.slug not in breaking:
                continue
            after = terms.apply(b.preferences, today)
            if after != b.preferences:
                lines = tuple(differences(b.preferences, after))
                out.append(PolicyChange(b.slug, b.name, b.preferences, after, lines))
        return out

    def set_preferences_many(
        self,
        values: Mapping[str, PreferenceSet],
        expected: Mapping[str, PreferenceSet] | None = None,
    ) -> tuple[list[str], list[str]]:
        """Store whole preference sets for several brands (by id) in one transaction; each
        changed brand is marked pending. Used to apply, and to undo, My Terms in one step.

        A brand whose decisions are, after the change, exactly what its vendor last
        reported for every decided field (an undo that put them back) is not left pending:
        there is nothing to send.

        Args:
            expected: what each brand held when the change was shown to the customer; a
                brand that holds something else by now (edited meanwhile, or a sync took
                over a value) is left alone rather than overwritten.

        Returns:
            (changed, skipped) brand ids.
        """
        changed, skipped = [], []
        with self.store.write() as uow:
            now = self.now()
            for slug, prefs in values.items():
                brand = uow.brands.find(slug)
                if brand is None or brand.slug != slug:
                    skipped.append(slug)  # removed meanwhile
                    continue
                if (
                    expected is not None
                    and slug in expected
                    and brand.preferences != expected[slug]
                ):
                    skipped.append(slug)
                    continue
                if brand.preferences != prefs:
                    uow.brands.update(brand.with_preferences(prefs), now=now)
                    changed.append(brand.slug)
                    vendor = uow.brands.vendor_state(slug)
                    if vendor is not None and _vendor_holds(vendor, prefs, self.today()):
                        uow.brands.clear_pending(slug)
        return changed, skipped

    def accept_theirs(
        self,
        ref: str,
        keys: Sequence[FieldKey],
        values: Mapping[FieldKey, FieldValue] | None = None,
    ) -> BrandView:
        """After drift, the customer takes the vendor's values of ``keys`` as their own
        decisions, by name (the vendor's values as the last drift recorded them). Journaled
        as ``accepted_theirs`` in the same transaction as the edit; the brand is pending
        until the next sync sends it. When every drifted field is decided, the drift status
        is cleared.

        Args:
            values: the vendor's values to take (a redo after an undo, when the drift was
                decided already); default: as the last drift recorded them.

        Raises:
            InputError: a key is not one the vendor had changed.
        """
        with self.store.write() as uow:
            brand = self._resolve(uow, ref)
            items = {item.key: item for item in self._drift_items(uow, brand)}
            if values is not None:
                items = {
                    k: DriftItem(k, field_name(k), v, brand.preferences.get(k))
                    for k, v in values.items()
                }
            unknown = [field_name(k) for k in keys if k not in items]
            if unknown:
                raise InputError(
                    f"{brand.name}: the vendor had not changed {', '.join(unknown)}; "
                    "nothing to accept"
                )
            prefs = brand.preferences
            fields = []
            for key in keys:
                item = items[key]
                prefs = prefs.replace_field(key, item.vendor)
                fields.append(
                    {
                        "field": item.field,
                        "vendor": _fmt_value(item.vendor),
                        "yours": _fmt_value(item.yours),
                    }
                )
            now = self.now()
            updated = uow.brands.update(brand.with_preferences(prefs), now=now)
            if set(items) <= set(keys) and uow.sync.state(brand.slug).status == "drift":
                uow.sync.set_status(brand.slug, "ok", "")
            uow.journal.append(
                at=now, brand=brand.slug, kind="accepted_theirs", detail={"fields": fields}
            )
            return BrandView(
                updated, uow.brands.is_pending(updated.slug), uow.brands.vendor_state(updated.slug)
            )

    def _drift_items(self, uow: UnitOfWork, brand: Brand) -> list[DriftItem]:
        """What the vendor had loosened at the last sync (as :meth:`drift`), in ``uow``."""
        if uow.sync.state(brand.slug).status != "drift":
            return []
        last = next(
            (e for e in reversed(uow.journal.entries(brand.slug)) if e.kind == "drift"), None
        )
        if last is None:
            return []
        names = {str(f.get("field")) for f in last.detail.get("fields", [])}
        vendor = PreferenceSet.from_dict(last.detail.get("vendor_state") or {})
        yours = brand.preferences
        keys = sorted(
            {k for k in (*vendor.fields(), *yours.fields()) if field_name(k) in names}, key=str
        )
        return [DriftItem(k, field_name(k), vendor.get(k), yours.get(k)) for k in keys]

    # --- export / import ----------------------------------------------------------------

    def catalog(self, ref: str) -> Catalog | None:
        """What the brand's vendor supports, asked over the network (call it off the GUI
        thread). None for brands handled by hand (no vendor catalog: everything is offered).

        Raises:
            ConnectorError: the vendor could not be asked (the message says why).
        """
        brand = self.get_brand(ref).brand
        connector = self.connector_for(brand)
        if not connector.remote:
            return None
        return connector.catalog()

    def drift(self, ref: str) -> list[DriftItem]:
        """What the vendor had loosened at the last sync, field by field (empty when the
        brand is not in drift). The customer's value was sent again at that sync."""
        with self.store.read() as uow:
            return self._drift_items(uow, self._resolve(uow, ref))

    def keep_own_after_drift(self, ref: str) -> None:
        """The customer keeps their own values after drift: clear the drift status (their
        values were already re-asserted) and journal the decision."""
        with self.store.write() as uow:
            brand = self._resolve(uow, ref)
            if uow.sync.state(brand.slug).status != "drift":
                return
            uow.sync.set_status(brand.slug, "ok", "")
            uow.journal.append(
                at=self.now(), brand=brand.slug, kind="kept", detail={"after": "drift"}
            )

    # --- company directory ----------------------------------------------------------------

    def import_directory(
        self, path: Path | None = None, *, dry_run: bool = False
    ) -> DirectoryImportResult:
        """Import a company directory (default: the bundled one) in one transaction.

        Records that do not match the directory schema are skipped and listed; the rest are
        added, or replace the organisation with the same slug.

        Raises:
            ImportProblem: the file cannot be read or is not a directory (nothing written).
        """
        source = path or bundled_directory()
        parsed = read_directory(source)
        if dry_run:
            with self.store.read() as uow:
                known = uow.directory.slugs()
            added = sum(1 for e in parsed.entries if e.slug not in known)
            updated = len(parsed.entries) - added
        else:
            with self.store.write() as uow:
                added, updated = uow.directory.upsert_many(parsed.entries)
        return DirectoryImportResult(str(source), added, updated, parsed.skipped, parsed.total)

    def search_directory(self, query: str, limit: int = 20) -> list[DirectoryEntry]:
        """Organisations of the imported directory matching every word of ``query``."""
        with self.store.read() as uow:
            return uow.directory.search(query, limit)

    def directory_entry(self, slug: str) -> DirectoryEntry | None:
        with self.store.read() as uow:
            return uow.directory.get(slug)

    def directory_size(self) -> int:
        with self.store.read() as uow:
            return uow.directory.count()

    def brand_records(self) -> list[BrandRecord]:
        """Every brand as stored, sorted by name: a fast read-out for listings (no domain
        objects are built). Turn one into export-shaped data with ``interop.record_json``."""
        with bulk_work(), self.store.read() as uow:
            return uow.brands.records(order="name")

    def brand_record(self, slug: str) -> BrandRecord | None:
        """One brand as stored (the fast read-out), or None if it is gone."""
        with self.store.read() as uow:
            found = uow.brands.records(slug=slug)
        return found[0] if found else None

    def _export_parts(self) -> tuple[list[BrandRecord], dict[str, Any]]:
        with bulk_work(), self.store.read() as uow:
            records, terms = uow.brands.records(order="slug"), uow.settings.policy()
        header = build_document([], terms, now=self.now(), app_version=self.app_version)
        return records, header

    def export_document(self) -> dict[str, Any]:
        """The export as data (ARCHITECTURE 3.7)."""
        records, doc = self._export_parts()
        doc["brands"] = [record_to_dict(r) for r in records]
        return doc

    def export_json(self, out: IO[str]) -> int:
        """Write the export document to ``out``; returns the number of brands."""
        records, header = self._export_parts()
        with bulk_work():
            out.write(dump_document(header, (record_json(r) for r in records)))
        return len(records)

    def consent_receipts(self, refs: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Consent receipts (Kantara v1.1 shape) of the named brands (default: all): one per
        decided state a vendor confirmed, and one for decisions not confirmed yet. Only the
        customer's decisions (and their applied My Terms) are consent: a vendor's defaults
        never appear. A brand whose decisions allow nothing has no receipt
        (see :meth:`brands_without_receipts`)."""
        return self._receipts(refs)[0]

    def brands_without_receipts(self, refs: Sequence[str] = ()) -> list[str]:
        """Names of the brands (of ``refs``, default all) with nothing consented: no receipt."""
        return self._receipts(refs)[1]

    def _receipts(self, refs: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
        with self.store.read() as uow:
            brands = [self._resolve(uow, r) for r in refs] if refs else uow.brands.all()
            pending = uow.brands.pending_slugs()
            entries = uow.journal.entries(brands[0].slug if len(brands) == 1 else None)
        confirmed: dict[str, list[tuple[dt.datetime, str, PreferenceSet]]] = {}
        terms: dict[str, dict[str, str]] = {}
        for e in entries:
            held, decided = e.detail.get("held"), e.detail.get("decided")
            if e.kind == "answer" and isinstance(held, dict) and isinstance(decided, dict):
                # Older answers carry only the vendor's state: not consent, so no receipt.
                state = confirmed_decisions(
                    PreferenceSet.from_dict(decided), PreferenceSet.from_dict(held)
                )
                confirmed.setdefault(e.brand, []).append((e.at, e.hash, state))
            elif e.kind == "terms":
                for f in e.detail.get("fields") or []:
                    terms.setdefault(e.brand, {})[str(f.get("field"))] = str(f.get("value"))
        out: list[dict[str, Any]] = []
        without: list[str] = []
        for b in brands:
            set_by_terms = terms.get(b.slug, {})
            by_terms = {
                key
                for key, grant in b.preferences.grants.items()
                if set_by_terms.get(field_name(("grant", *key))) == str(grant)
            }
            found = brand_receipts(
                b, confirmed.get(b.slug, []), pending=b.slug in pending, by_terms=by_terms
            )
            out += found
            if not found:
                without.append(b.name)
        return out, without

    def export_receipts(self, out: IO[str], refs: Sequence[str] = ()) -> int:
        """Write the consent receipts as a JSON array; returns how many."""
        receipts = self.consent_receipts(refs)
        out.write(json.dumps(receipts, ensure_ascii=False, indent=2) + "\n")
        return len(receipts)

    def export_csv(self, out: IO[str]) -> int:
        with self.store.read() as uow:
            brands = uow.brands.all()
        write_csv(brands, out)
        return len(brands)

    def import_file(self, path: Path, *, dry_run: bool = False) -> ImportResult:
        """Import an export file. All or nothing: on any problem nothing is written.

        Raises:
            ImportProblem: the file is broken; its message names the file, place and value.
        """
        # A brand whose connector is not installed is kept as it is; the connector registry
        # reports it as unavailable rather than the import dropping data.
        with bulk_work():
            return self._import(path, dry_run)

    def _import(self, path: Path, dry_run: bool) -> ImportResult:
        data = read_document(path)
        with self.store.write() as uow:
            existing = {b.slug: b for b in uow.brands.all()}
            plan = plan_import(existing, uow.settings.policy(), data.brands, data.policy)
            if dry_run or plan.is_empty:
                return ImportResult(plan, applied=False)
            now = self.now()
            uow.brands.add_many(plan.added, now=now)
            for change in plan.changed:
                uow.brands.update(change.new, now=now, keep_timestamps=True)
            if plan.policy_after is not None:
                uow.settings.set_policy(plan.policy_after)
        return ImportResult(plan, applied=True)
