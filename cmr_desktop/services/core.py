"""The use cases shared by the CLI and the desktop app.

Each public method is one unit of work: it opens its own transaction, and either all of its
changes are stored or none are.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from cmr_desktop.connectors.api import (
    AuthenticationError,
    Catalog,
    Connector,
    ConnectorContext,
    ConnectorError,
)
from cmr_desktop.connectors.http import REDACTOR, ConnectorSession
from cmr_desktop.connectors.registry import ConnectorEntry, Registry
from cmr_desktop.domain.brand import MANUAL_CONNECTOR, Brand
from cmr_desktop.domain.clock import Clock
from cmr_desktop.domain.directory import DirectoryEntry
from cmr_desktop.domain.preferences import PreferenceSet
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
from cmr_desktop.services.base import (
    Context,
    bulk_work,
    check_connector_settings,
    connector_class,
    connector_for,
    forget_secret,
    resolve,
    secret_names,
)
from cmr_desktop.services.brands import BrandService
from cmr_desktop.services.errors import ConnectionFailed, InputError, SettingRefused
from cmr_desktop.services.preferences import PreferenceService
from cmr_desktop.storage import (
    BrandRecord,
    JournalEntry,
    Store,
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


class Services(Context):
    """Entry point for every use case."""

    def __init__(
        self,
        store: Store,
        secrets: SecretStore,
        clock: Clock | None = None,
        app_version: str = "0",
        registry: Registry | None = None,
        session_factory: Callable[[], ConnectorSession] | None = None,
    ) -> None:
        super().__init__(store, secrets, clock, app_version, registry, session_factory)
        self.brands = BrandService(self)
        self.preferences = PreferenceService(self)

    def connector_class(self, connector: str) -> type[Connector]:
        return connector_class(self, connector)

    def connector_for(self, brand: Brand) -> Connector:
        return connector_for(self, brand)

    def resolve_slugs(self, refs: Sequence[str]) -> list[str]:
        with self.store.read() as uow:
            return [resolve(uow, r).slug for r in refs]

    def connector_entries(self) -> list[ConnectorEntry]:
        """Every discovered connector with its status (ok, incompatible, broken, invalid)."""
        return self.registry.entries()

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
            brand = resolve(uow, ref)
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
        brand = self.brands.get_brand(ref).brand
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
        check_connector_settings(self, connector, dict(config), dict(secrets))
        cls = self.connector_class(connector)
        context = ConnectorContext(
            config={**cls.config_defaults(), **config},
            secrets=_GivenSecrets(secrets),
            session=self.session(),
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
            brand = resolve(uow, ref)
        held = {}
        for name in secret_names(self, brand.connector):
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
        problem = self._settings_problem(cls, dict(brand.connector_config), config)
        if problem is not None:
            raise problem
        # The keyring is no transaction: keep what it held, and put it back if the keyring or
        # the database refuses, so that nothing is changed then.
        before = {key: self._held_secret(brand.slug, key) for key in given}
        try:
            with self.store.write() as uow:
                current = resolve(uow, brand.slug)
                updated = uow.brands.update(
                    replace(current, connector_config=config), now=self.now()
                )
                for key, value in given.items():
                    self.secrets.set(brand.slug, key, value)
        except BaseException:
            for key, old in before.items():
                with contextlib.suppress(Exception):
                    if old is None:
                        forget_secret(self, brand.slug, key)
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

    def set_secret(self, ref: str, field: str, value: str) -> None:
        """Keep a secret (API token, password) for a brand in the OS keyring."""
        with self.store.read() as uow:
            brand = resolve(uow, ref)
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

    # --- My Terms -----------------------------------------------------------------------

    # --- export / import ----------------------------------------------------------------

    def catalog(self, ref: str) -> Catalog | None:
        """What the brand's vendor supports, asked over the network (call it off the GUI
        thread). None for brands handled by hand (no vendor catalog: everything is offered).

        Raises:
            ConnectorError: the vendor could not be asked (the message says why).
        """
        brand = self.brands.get_brand(ref).brand
        connector = self.connector_for(brand)
        if not connector.remote:
            return None
        return connector.catalog()

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
            brands = [resolve(uow, r) for r in refs] if refs else uow.brands.all()
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
