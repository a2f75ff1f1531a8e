"""Sync engine (ARCHITECTURE 3.6).

For each brand: read the vendor's state, three-way merge (base / local / remote), push what
must change, store the new base and clear the pending marker, journal what happened. Each
brand's outcome is committed in its own transaction; a crash at any moment leaves every brand
either done or still pending, and the idempotency key stored before each push makes a resumed
push a replay at the vendor, not a second application.

Concurrency: a bounded pool of worker threads; one operation per brand at a time (each
brand is one task); at most ``per_vendor`` requests' worth of brands in flight per vendor
endpoint; a slow vendor only holds its own workers (bounded by the session's timeouts).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cmr_desktop.connectors.api import (
    AuthenticationError,
    Catalog,
    Connector,
    ConnectorError,
    RateLimited,
    RemoteState,
    TransientError,
    VersionConflict,
)
from cmr_desktop.domain.brand import Brand
from cmr_desktop.domain.clock import Clock
from cmr_desktop.domain.merge import MergeResult, three_way_merge
from cmr_desktop.domain.preferences import FieldKey, FieldValue, PreferenceSet
from cmr_desktop.storage import Store

log = logging.getLogger(__name__)

ConnectorFactory = Callable[[Brand], Connector]


class Result(StrEnum):
    SYNCED = "synced"  # something was pushed or taken over, and the vendor confirmed it
    UNCHANGED = "unchanged"  # vendor already held the customer's choices
    DRIFT = "drift"  # the vendor had loosened something; re-asserted
    MANUAL = "manual"  # no API: the customer must do it by hand
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class BrandOutcome:
    """What happened to one brand."""

    slug: str
    name: str
    result: Result
    detail: str = ""
    attempts: int = 1


@dataclass
class SyncReport:
    outcomes: list[BrandOutcome] = field(default_factory=list)

    def count(self, result: Result) -> int:
        return sum(1 for o in self.outcomes if o.result is result)

    @property
    def ok(self) -> bool:
        return not any(o.result in (Result.FAILED, Result.CANCELLED) for o in self.outcomes)


class SyncBusy(RuntimeError):
    """Another process is syncing the same home."""


@contextlib.contextmanager
def _home_lock(home: Path) -> Iterator[None]:
    """One sync per home at a time, across processes (two would push the same brand)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock across processes yet
        yield
        return
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "sync.lock", "a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise SyncBusy(
                f"a sync of this home is already running ({holder}); try again when it ends"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class _Budget:
    """Retries left for the whole run (shared by all workers)."""

    def __init__(self, retries: int) -> None:
        self._left = retries
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True


def _fmt(value: FieldValue) -> str:
    if value is None:
        return "default"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def field_name(key: FieldKey) -> str:
    """The journal's name of a field, e.g. ``channel.email`` or ``grant.contact.marketing``."""
    return ".".join(str(k) for k in key)


def _field(key: FieldKey) -> str:
    return field_name(key)


def push_key(brand: Brand, revision: int, base_version: str, desired: PreferenceSet) -> str:
    """Idempotency key of a push: derived from the brand, its local revision, the vendor
    version it is based on and what is sent. A retry, or a resumed run after a crash, sends
    the same key again (the vendor replays instead of applying twice); re-asserting the
    same choice after the vendor changed it is a new request with a new key."""
    created = brand.created_at.isoformat() if brand.created_at else ""
    body = json.dumps(desired.to_dict(), sort_keys=True)
    text = f"{brand.slug}|{created}|{revision}|{base_version}|{body}"
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"cmr-{brand.slug[:40]}-r{revision}-{digest[:16]}"


def vendor_key(brand: Brand) -> str:
    """Which vendor endpoint a brand talks to (for the per-vendor limit and catalog cache)."""
    return (
        _record_vendor(brand.connector, brand.connector_config) or f"{brand.connector}:{brand.slug}"
    )


def _record_vendor(connector: str, config: Mapping[str, str]) -> str:
    for value in config.values():
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.netloc:
            return f"{connector}:{parts.netloc}{parts.path}"
    return ""


def _interleave(items: Sequence[str], key: Callable[[str], str]) -> list[str]:
    """Round-robin across vendors, so the first workers do not all go to one vendor."""
    groups: dict[str, deque[str]] = defaultdict(deque)
    for item in items:
        groups[key(item)].append(item)
    out: list[str] = []
    while groups:
        for name in list(groups):
            out.append(groups[name].popleft())
            if not groups[name]:
                del groups[name]
    return out


class SyncEngine:
    """Runs syncs. Thread-safe; one engine can serve the CLI or the desktop app.

    Args:
        store: the home's database.
        connector_for: builds a connector for a brand (settings, secrets, session).
        clock: the time (grant expiry, journal timestamps).
        jobs: worker threads.
        per_vendor: brands of one vendor endpoint in flight at once (default: a quarter of
            ``jobs``, at least 4).
        retries_per_brand: transient failures retried per brand (and 2 per brand in total for
            the run, shared: the retry budget).
        backoff: first retry delay in seconds (doubles, with jitter, up to ``max_backoff``).
        sleep: how to wait (tests pass a fake); must return early when cancelled.
    """

    def __init__(
        self,
        store: Store,
        connector_for: ConnectorFactory,
        clock: Clock,
        *,
        jobs: int = 32,
        per_vendor: int | None = None,
        retries_per_brand: int = 4,
        backoff: float = 0.2,
        max_backoff: float = 10.0,
        seed: int | None = None,
    ) -> None:
        self.store = store
        self.connector_for = connector_for
        self.clock = clock
        self.jobs = max(1, jobs)
        # Default: a quarter of the pool per vendor endpoint, at least 4.
        self.per_vendor = max(1, per_vendor) if per_vendor else max(4, self.jobs // 4)
        self.retries_per_brand = retries_per_brand
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._rng = random.Random(seed)
        self._cancel = threading.Event()
        self._catalogs: dict[str, Catalog] = {}
        self._lock = threading.Lock()

    # --- public -----------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop starting new work; brands in flight finish their current step consistently."""
        self._cancel.set()

    def targets(self, slugs: Sequence[str] = (), *, verify: bool = False) -> list[str]:
        with self.store.read() as uow:
            return uow.sync.targets(slugs, everything=verify)

    def run(
        self,
        slugs: Sequence[str] = (),
        *,
        verify: bool = False,
        progress: Callable[[BrandOutcome, int, int], None] | None = None,
    ) -> SyncReport:
        """Sync the named brands, else all (``verify``), else those with pending changes.

        ``progress`` is called (from worker threads, one call at a time) as each brand ends.

        Raises:
            SyncBusy: another process is syncing this home.
        """
        with _home_lock(self.store.home):
            return self._run(slugs, verify=verify, progress=progress)

    def _run(
        self,
        slugs: Sequence[str],
        *,
        verify: bool,
        progress: Callable[[BrandOutcome, int, int], None] | None,
    ) -> SyncReport:
        self._cancel.clear()
        self._catalogs.clear()
        targets = self.targets(slugs, verify=verify)
        report = SyncReport()
        if not targets:
            return report
        with self.store.read() as uow:
            vendors = {
                r.slug: _record_vendor(r.connector, r.connector_config)
                for r in uow.brands.records(order="slug")
            }
        budget = _Budget(2 * len(targets) + 10)
        queue = deque(_interleave(targets, lambda s: vendors.get(s, s)))
        busy: dict[str, int] = defaultdict(int)
        cond = threading.Condition()

        def next_slug() -> str | None:
            # The first queued brand whose vendor has a free slot: a slow or hanging vendor
            # holds at most `per_vendor` workers, never the whole pool.
            with cond:
                while queue and not self._cancel.is_set():
                    for index, slug in enumerate(queue):
                        if busy[vendors.get(slug, slug)] < self.per_vendor:
                            del queue[index]
                            busy[vendors.get(slug, slug)] += 1
                            return slug
                    cond.wait(0.5)
                return None

        def finish(slug: str, outcome: BrandOutcome) -> None:
            with cond:
                busy[vendors.get(slug, slug)] -= 1
                report.outcomes.append(outcome)
                if progress is not None:
                    progress(outcome, len(report.outcomes), len(targets))
                cond.notify_all()

        def worker() -> None:
            while (slug := next_slug()) is not None:
                finish(slug, self._guarded(slug, budget))

        threads = [
            threading.Thread(target=worker, name=f"cmr-sync-{n}", daemon=True)
            for n in range(min(self.jobs, len(targets)))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for slug in queue:  # cancelled before they started
            report.outcomes.append(
                BrandOutcome(slug, slug, Result.CANCELLED, "cancelled before it started")
            )
        report.outcomes.sort(key=lambda o: o.slug)
        return report

    # --- one brand --------------------------------------------------------------------------

    def _guarded(self, slug: str, budget: _Budget) -> BrandOutcome:
        if self._cancel.is_set():
            return BrandOutcome(slug, slug, Result.CANCELLED, "cancelled before it started")
        try:
            return self._sync_brand(slug, budget)
        except Exception as exc:
            log.exception("sync of %s failed unexpectedly", slug)
            detail = f"unexpected error ({type(exc).__name__}): {exc}"[:300]
            self._record_failure(slug, "failed", detail)
            return BrandOutcome(slug, slug, Result.FAILED, detail)

    def _sync_brand(self, slug: str, budget: _Budget) -> BrandOutcome:
        with self.store.read() as uow:
            inp = uow.sync.load(slug)
        brand = inp.brand
        connector = self.connector_for(brand)
        if not connector.remote:
            return self._manual(brand, inp.base, inp.pending)
        attempts = 0
        # (The per-vendor limit is applied by the scheduler in run().)
        while True:
            attempts += 1
            try:
                return self._attempt(brand, inp.base, inp.revision, connector, attempts)
            except AuthenticationError as exc:
                detail = f"needs re-authentication: {exc}"
                self._record_failure(slug, "needs_reauth", detail, journal=True)
                return BrandOutcome(slug, brand.name, Result.FAILED, detail, attempts)
            except ConnectorError as exc:
                retryable = isinstance(exc, (TransientError, VersionConflict))
                if (
                    not retryable
                    or attempts > self.retries_per_brand
                    or self._cancel.is_set()
                    or not budget.take()
                ):
                    reason = f"gave up: {exc}" if retryable else str(exc)
                    self._record_failure(slug, "failed", reason, journal=True)
                    result = Result.CANCELLED if self._cancel.is_set() else Result.FAILED
                    return BrandOutcome(slug, brand.name, result, reason, attempts)
                self._wait(exc, attempts)
                if isinstance(exc, VersionConflict):
                    with self.store.read() as uow:
                        inp = uow.sync.load(slug)

    def _wait(self, exc: ConnectorError, attempts: int) -> None:
        delay = min(self.max_backoff, self.backoff * 2 ** (attempts - 1))
        delay *= 0.5 + self._rng.random()  # jitter: retries of many brands do not align
        if isinstance(exc, (RateLimited, TransientError)) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, 60.0))
        self._cancel.wait(delay)

    def _catalog(self, brand: Brand, connector: Connector) -> Catalog:
        key = vendor_key(brand)
        with self._lock:
            cached = self._catalogs.get(key)
        if cached is not None:
            return cached
        catalog = connector.catalog()
        with self._lock:
            self._catalogs[key] = catalog
        return catalog

    def _attempt(
        self,
        brand: Brand,
        base: PreferenceSet | None,
        revision: int,
        connector: Connector,
        attempts: int,
    ) -> BrandOutcome:
        now = self.clock.now()
        catalog = self._catalog(brand, connector)
        remote = connector.read()
        # Expired grants count as deny: the revocation is pushed like any other change.
        local = catalog.restrict(brand.preferences.with_expired_revoked(now.date()))
        base_r = catalog.restrict(base) if base is not None else None
        merged = three_way_merge(
            base_r, local, remote.preferences, required_topics=catalog.required_topics
        )
        sent: dict[str, Any] | None = None
        confirmed: RemoteState = remote
        if merged.needs_push:
            desired = catalog.restrict(merged.merged)
            key = push_key(brand, revision, remote.version, desired)
            sent = desired.to_dict()
            with self.store.write() as uow:  # before the request: a crash loses neither
                uow.sync.store_key(brand.slug, key, now=now)
                uow.journal.append(
                    at=now,
                    brand=brand.slug,
                    kind="push",
                    detail={"sent": sent, "base_version": remote.version, "key": key},
                )
            confirmed = connector.write(desired, base_version=remote.version, idempotency_key=key)
        return self._finish(brand, revision, merged, remote, confirmed, sent, attempts)

    def _finish(
        self,
        brand: Brand,
        revision: int,
        merged: MergeResult,
        remote: RemoteState,
        confirmed: RemoteState,
        sent: dict[str, Any] | None,
        attempts: int,
    ) -> BrandOutcome:
        now = self.clock.now()
        accepted = None
        if merged.accepted:
            prefs = brand.preferences
            for change in merged.accepted:
                prefs = prefs.replace_field(change.key, change.result)
            accepted = prefs
        drift = merged.drift
        status = "drift" if drift else "ok"
        drift_text = "; ".join(
            f"{_field(c.key)}: vendor had {_fmt(c.remote)}, you chose {_fmt(c.local)}"
            for c in drift
        )
        with self.store.write() as uow:
            if drift:
                uow.journal.append(
                    at=now,
                    brand=brand.slug,
                    kind="drift",
                    detail={
                        "version": remote.version,
                        # The vendor's whole state, so the customer can later accept its
                        # value for a drifted field (Services.accept_drift).
                        "vendor_state": remote.preferences.to_dict(),
                        "fields": [
                            {
                                "field": _field(c.key),
                                "vendor": _fmt(c.remote),
                                "yours": _fmt(c.local),
                            }
                            for c in drift
                        ],
                    },
                )
            if merged.accepted:
                uow.journal.append(
                    at=now,
                    brand=brand.slug,
                    kind="accepted",
                    detail={
                        "version": remote.version,
                        "fields": [
                            {"field": _field(c.key), "vendor": _fmt(c.remote), "was": _fmt(c.local)}
                            for c in merged.accepted
                        ],
                    },
                )
            if sent is not None:
                uow.journal.append(
                    at=now,
                    brand=brand.slug,
                    kind="answer",
                    detail={
                        "version": confirmed.version,
                        "held": confirmed.preferences.to_dict(),
                    },
                )
            uow.sync.confirmed(
                brand.slug,
                revision=revision,
                base=confirmed.preferences,
                remote_version=confirmed.version,
                accepted=accepted,
                status=status,
                detail=drift_text,
                now=now,
            )
        if drift:
            return BrandOutcome(brand.slug, brand.name, Result.DRIFT, drift_text, attempts)
        if sent is not None or accepted is not None:
            what = f"pushed {len(merged.to_push)} change(s)" if sent is not None else ""
            # Fields the customer had not decided are recorded as the vendor has them; fields
            # the vendor made stricter than the customer's choice are taken over.
            learned = sum(1 for c in merged.accepted if c.local is None)
            stricter = len(merged.accepted) - learned
            parts = (
                what,
                f"recorded {learned} setting(s) you had not decided" if learned else "",
                f"took over {stricter} stricter vendor setting(s)" if stricter else "",
            )
            detail = ", ".join(t for t in parts if t)
            return BrandOutcome(brand.slug, brand.name, Result.SYNCED, detail, attempts)
        return BrandOutcome(brand.slug, brand.name, Result.UNCHANGED, "", attempts)

    def _manual(self, brand: Brand, base: PreferenceSet | None, pending: bool) -> BrandOutcome:
        changes = differences(base or PreferenceSet(), brand.preferences)
        detail = "; ".join(changes) if changes else "nothing to change"
        if pending:
            with self.store.write() as uow:
                uow.sync.set_status(brand.slug, "manual", detail)
        return BrandOutcome(
            brand.slug,
            brand.name,
            Result.MANUAL,
            f"do by hand: {detail} (then: cmr brand done {brand.slug})" if pending else detail,
        )

    def _record_failure(
        self, slug: str, status: str, detail: str, *, journal: bool = False
    ) -> None:
        try:
            with self.store.write() as uow:
                uow.sync.set_status(slug, status, detail, error=True)
                if journal:
                    uow.journal.append(
                        at=self.clock.now(),
                        brand=slug,
                        kind="error",
                        detail={"status": status, "reason": detail},
                    )
        except Exception:
            log.exception("could not record the failure of %s", slug)


def differences(old: PreferenceSet, new: PreferenceSet) -> list[str]:
    """What changed from ``old`` to ``new``, one "field: old -> new" line per field."""
    a, b = old.fields(), new.fields()
    return [
        f"{_field(k)}: {_fmt(a.get(k))} -> {_fmt(b.get(k))}"
        for k in sorted(a.keys() | b.keys(), key=lambda k: tuple(map(str, k)))
        if a.get(k) != b.get(k)
    ]


def summarize(report: SyncReport) -> dict[str, int]:
    return {r.value: report.count(r) for r in Result}


__all__ = [
    "BrandOutcome",
    "Result",
    "SyncBusy",
    "SyncEngine",
    "SyncReport",
    "differences",
    "push_key",
    "vendor_key",
]
