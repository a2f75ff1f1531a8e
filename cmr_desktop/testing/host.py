"""An in-process host for a connector's tests: the real sync engine, a real SQLite home.

A connector that passes the conformance kit talks HTTP correctly; this checks that it also
works *inside CMR Desktop*: the customer's decisions are merged with the vendor's state,
pushed, confirmed, stored and journaled by the real :class:`~cmr_desktop.sync.engine.SyncEngine`
on a real (temporary) home, against the author's fake of the vendor. The connector class is
registered for this host only, the way npe2's ``tmp_plugin`` registers a plugin for one test:
no package install, no entry point; it is still validated as discovery validates an installed
one, so a connector the app would list as broken is refused here too.

With the ``connector_host`` pytest fixture (from the ``cmr_desktop`` pytest plugin)::

    def test_my_choices_reach_acme(connector_host, acme_fake):
        host = connector_host(
            AcmeLoyaltyConnector,
            config={"api_url": acme_fake.url, "member_id": "M-1"},
            secrets={"api_key": acme_fake.key},
        )
        host.decide(lambda prefs: prefs.with_channel(Channel.SMS, False))
        run = host.sync()
        assert run.outcome.result is Result.SYNCED
        assert run.vendor_state.channels[Channel.SMS] is False
        assert [e.kind for e in run.journal] == ["push", "synced"]

Or, outside pytest, ``with connector_host(cls, config, secrets, home=path) as host: ...``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cmr_desktop.connectors.api import Connector, ConnectorContext, PreferenceSet
from cmr_desktop.connectors.http import REDACTOR, make_session
from cmr_desktop.connectors.registry import ConnectorEntry, Registry, Status, load_entry
from cmr_desktop.domain.brand import Brand
from cmr_desktop.domain.clock import Clock, SystemClock
from cmr_desktop.storage import JournalEntry, Store
from cmr_desktop.sync.engine import BrandOutcome, Result, SyncEngine, SyncReport

__all__ = [
    "BrandOutcome",
    "ConnectorHost",
    "ConnectorRefused",
    "HostRun",
    "JournalEntry",
    "Result",
    "connector_host",
    "register",
]


class ConnectorRefused(Exception):
    """The connector class is one the app would list as not usable (the reason says why)."""


def register(connector_class: type[Connector]) -> Registry:
    """A registry holding only ``connector_class``, validated as discovery validates an
    installed connector (``load_entry`` on an entry point that needs no package).

    Raises:
        ConnectorRefused: the app would list it as broken, invalid or incompatible.
    """
    info = getattr(connector_class, "info", None)
    name = getattr(info, "id", None) or connector_class.__name__.lower()

    class _InProcess(md.EntryPoint):
        def load(self) -> Any:
            return connector_class

    module = getattr(connector_class, "__module__", "tests")
    point = _InProcess(name, f"{module}:{connector_class.__qualname__}", "cmr_desktop.connectors")
    entry: ConnectorEntry = load_entry(point)
    if entry.status is not Status.OK:
        raise ConnectorRefused(f"connector {name!r} is {entry.status.value}: {entry.reason}")
    return Registry([entry])


class _Secrets:
    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def get(self, name: str) -> str | None:
        value = self._values.get(name)
        if value:
            REDACTOR.add_secret(value)
        return value


@dataclass(frozen=True)
class HostRun:
    """What one sync did.

    Attributes:
        report: the engine's report (every brand's outcome, ``busy``).
        outcomes: brand slug -> its outcome (result, detail, attempts).
        vendor_states: brand slug -> the vendor's state as the home stored it after the run
            (None when the vendor was never read).
        decisions: brand slug -> the customer's decisions after the run.
        pending: the brands still waiting to be pushed.
        journal: the journal entries this run appended, oldest first.
    """

    report: SyncReport
    outcomes: Mapping[str, BrandOutcome]
    vendor_states: Mapping[str, PreferenceSet | None]
    decisions: Mapping[str, PreferenceSet]
    pending: frozenset[str]
    journal: list[JournalEntry] = field(default_factory=list)

    @property
    def outcome(self) -> BrandOutcome:
        """The outcome of the only brand (for a host with one brand)."""
        (only,) = self.outcomes.values()
        return only

    @property
    def vendor_state(self) -> PreferenceSet | None:
        """The stored vendor state of the only brand."""
        (only,) = self.vendor_states.values()
        return only

    def kinds(self, slug: str | None = None) -> list[str]:
        """The kinds of this run's journal entries (``push``, ``synced``, ``drift`` ...)."""
        return [e.kind for e in self.journal if slug is None or e.brand == slug]


class ConnectorHost:
    """CMR Desktop's data and sync engine in a folder, with one connector class registered.

    Args:
        home: the home folder (created; a fresh SQLite database is made in it).
        connector_class: the connector under test (not installed: registered here only).
        clock: the time the engine and the connector see (default: the real clock).
        session: builds the HTTP session each connector gets (default: the host's own,
            with short timeouts).
    """

    def __init__(
        self,
        home: Path,
        connector_class: type[Connector],
        *,
        clock: Clock | None = None,
        session: Callable[[], Any] | None = None,
    ) -> None:
        self.registry = register(connector_class)
        self.connector_class = connector_class
        self.connector_id = connector_class.info.id
        self.clock: Clock = clock or SystemClock()
        self._session = session or (lambda: make_session(timeout=(2.0, 5.0), retries=0))
        self._secrets: dict[str, dict[str, str]] = {}
        self.store = Store(home)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> ConnectorHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- brands -----------------------------------------------------------------------------

    def add_brand(
        self,
        config: Mapping[str, str],
        secrets: Mapping[str, str],
        *,
        slug: str = "test-brand",
        name: str = "Test brand",
        preferences: PreferenceSet | None = None,
    ) -> str:
        """Connect a brand through the connector (its first sync is pending). Returns its slug.

        Raises:
            ValueError: the settings are ones the app would refuse (the connector's own
                ``config_problems``, a secret given as a setting, a missing required one).
        """
        cls = self.connector_class
        fields = {f.name: f for f in cls.config_fields}
        for key in (*config, *secrets):
            if key not in fields:
                raise ValueError(f"connector {self.connector_id!r} has no setting {key!r}")
            if fields[key].secret != (key in secrets):
                kind = "a secret" if fields[key].secret else "not a secret"
                raise ValueError(f"setting {key!r} is {kind}")
        for f in fields.values():
            if f.required and f.default is None and f.name not in config and f.name not in secrets:
                raise ValueError(f"connector {self.connector_id!r} needs {f.name!r}")
        problems = cls.config_problems({**cls.config_defaults(), **config})
        if problems:
            raise ValueError(f"connector {self.connector_id!r}: {problems[0]}")
        brand = Brand(
            slug,
            name,
            connector=self.connector_id,
            connector_config=dict(config),
            preferences=preferences or PreferenceSet(),
        )
        with self.store.write() as uow:
            uow.brands.add(brand, now=self.clock.now())
        self._secrets[slug] = dict(secrets)
        return slug

    def decide(
        self, edit: Callable[[PreferenceSet], PreferenceSet], slug: str | None = None
    ) -> PreferenceSet:
        """Change the customer's decisions for a brand, as the editor does (it becomes
        pending). Returns the new decisions."""
        with self.store.write() as uow:
            brand = uow.brands.get(slug or self._only())
            updated = uow.brands.update(
                brand.with_preferences(edit(brand.preferences)), now=self.clock.now()
            )
        return updated.preferences

    def _only(self) -> str:
        slugs = list(self._secrets)
        if len(slugs) != 1:
            raise ValueError(f"name the brand: this host has {len(slugs)}")
        return slugs[0]

    def connector_for(self, brand: Brand) -> Connector:
        """The connector for ``brand``, wired as the app wires it."""
        cls = self.registry.get(brand.connector)
        context = ConnectorContext(
            config={**cls.config_defaults(), **brand.connector_config},
            secrets=_Secrets(self._secrets.get(brand.slug, {})),
            session=self._session(),
            clock=self.clock,
            log=logging.getLogger(f"cmr_desktop.connector.{brand.connector}.{brand.slug}"),
        )
        return cls(context)

    # --- sync -------------------------------------------------------------------------------

    def engine(self, **options: Any) -> SyncEngine:
        """The real engine on this home. Retries wait no real time unless ``wait`` is given."""
        options.setdefault("wait", lambda delay: False)
        options.setdefault("jobs", 4)
        return SyncEngine(self.store, self.connector_for, self.clock, **options)

    def sync(self, *slugs: str, verify: bool = False, **options: Any) -> HostRun:
        """Run one sync (of ``slugs``, else of every pending brand; ``verify``: of all)."""
        with self.store.read() as uow:
            seen = len(uow.journal.entries())
        report = self.engine(**options).run(slugs, verify=verify)
        with self.store.read() as uow:
            brands = uow.brands.all()
            return HostRun(
                report=report,
                outcomes={o.slug: o for o in report.outcomes},
                vendor_states={b.slug: uow.brands.vendor_state(b.slug) for b in brands},
                decisions={b.slug: b.preferences for b in brands},
                pending=frozenset(uow.brands.pending_slugs()),
                journal=uow.journal.entries()[seen:],
            )


@contextlib.contextmanager
def connector_host(
    connector_class: type[Connector],
    config: Mapping[str, str],
    secrets: Mapping[str, str],
    *,
    home: Path,
    preferences: PreferenceSet | None = None,
    clock: Clock | None = None,
) -> Iterator[ConnectorHost]:
    """A :class:`ConnectorHost` in ``home`` with one brand (``test-brand``) connected
    through ``connector_class`` with ``config`` and ``secrets``; closed at the end."""
    with ConnectorHost(home, connector_class, clock=clock) as host:
        host.add_brand(config, secrets, preferences=preferences)
        yield host
