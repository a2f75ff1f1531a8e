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
import datetime as dt
import hashlib
import json
import logging
import os
import random
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from cmr_desktop.connectors.api import (
    AuthenticationError,
    Catalog,
    Connector,
    ConnectorError,
    ConnectorTimeout,
    RateLimited,
    RemoteState,
    TransientError,
    VersionConflict,
)
from cmr_desktop.domain.brand import Brand
from cmr_desktop.domain.clock import Clock
from cmr_desktop.domain.fields import format_value, in_order, journal_name
from cmr_desktop.domain.merge import (
    MergeResult,
    Outcome,
    at_least_as_restrictive,
    more_restrictive,
    three_way_merge,
)
from cmr_desktop.domain.preferences import FieldKey, FieldValue, PreferenceSet
from cmr_desktop.domain.summary import offered_text
from cmr_desktop.domain.vocabulary import Frequency
from cmr_desktop.domain.words import plural
from cmr_desktop.storage import Store, StoreBusy
from cmr_desktop.storage.repositories import SyncInput

log = logging.getLogger(__name__)

ConnectorFactory = Callable[[Brand], Connector]


class Result(StrEnum):
    SYNCED = "synced"  # something was pushed or taken, and the vendor confirmed it
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


#: What a brand is told when the database stayed locked by another program.
BUSY = "the database is busy (another program is writing to it); left pending"


@dataclass
class SyncReport:
    outcomes: list[BrandOutcome] = field(default_factory=list)
    #: The database stayed locked by another program: the run stopped starting brands.
    busy: bool = False

    def count(self, result: Result) -> int:
        return sum(1 for o in self.outcomes if o.result is result)

    @property
    def ok(self) -> bool:
        return not any(o.result in (Result.FAILED, Result.CANCELLED) for o in self.outcomes)


class SyncBusy(RuntimeError):
    """Another process is syncing the same home."""


@contextlib.contextmanager
def _home_lock(home: Path) -> Iterator[None]:
    """One sync per home at a time, across processes (two would push the same brand).

    ``filelock`` rather than a hand-written ``fcntl`` lock: it works on Windows too, and is
    released by the operating system when the process dies. The holder's pid is kept in
    ``sync.owner`` beside the lock, so a refusal can say who holds it.
    """
    home.mkdir(parents=True, exist_ok=True)
    lock = FileLock(home / "sync.lock", timeout=0)
    owner = home / "sync.owner"
    try:
        lock.acquire()
    except Timeout:
        try:
            holder = owner.read_text(encoding="utf-8").strip()
        except OSError:
            holder = ""
        raise SyncBusy(
            f"a sync of this home is already running ({holder or 'another process'}); "
            "try again when it ends"
        ) from None
    try:
        owner.write_text(f"pid {os.getpid()}", encoding="utf-8")
        yield
    finally:
        with contextlib.suppress(OSError):
            owner.unlink()
        lock.release()


#: After this many timeouts in one run, a vendor's remaining brands fail fast.
BREAKER_TIMEOUTS = 3
#: A vendor asking to wait longer than this (seconds) is not waited for within the run.
LONG_WAIT = 30.0


class _Breaker:
    """A per-vendor circuit breaker for one run: a vendor that keeps timing out is left
    alone for the rest of the run (its brands stay pending), so it cannot stall the sync."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._timeouts: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def timed_out(self, vendor: str) -> None:
        with self._lock:
            self._timeouts[vendor] += 1

    def is_open(self, vendor: str) -> bool:
        with self._lock:
            return self._timeouts[vendor] >= self._limit


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


def _drift_item(key: FieldKey, vendor: FieldValue, yours: FieldValue) -> dict[str, Any]:
    """A drift journal entry's line for one field (the journal's name and value texts)."""
    return {
        "field": journal_name(key),
        "vendor": format_value(vendor),
        "yours": format_value(yours),
    }


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

    An engine runs one sync after another; once :meth:`cancel` was called, it starts no more
    work (make a new engine for the next sync).

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
        wait: how to wait between retries: called with the delay in seconds, returns True
            when the sync was cancelled meanwhile (default: wait on the cancel event; tests
            pass a waiter that returns at once, so retries cost no real time).
        cancel_grace: after :meth:`cancel`, how long (seconds) :meth:`run` waits for brands
            still talking to their vendor before it reports them as cancelled (they stay
            pending; their stored push is recognised by the next sync). None: wait for them.
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
        wait: Callable[[float], bool] | None = None,
        cancel_grace: float | None = None,
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
        self.cancel_grace = cancel_grace
        self._rng = random.Random(seed)
        self._cancel = threading.Event()
        self._busy = threading.Event()
        self._waiter = wait if wait is not None else self._cancel.wait
        self._catalogs: dict[str, Catalog] = {}
        self._lock = threading.Lock()
        self._breaker = _Breaker(BREAKER_TIMEOUTS)
        self._vendors: dict[str, str] = {}
        self._cond = threading.Condition()

    # --- public -----------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop starting new work at once; brands in flight finish their current step
        consistently or stay pending."""
        self._cancel.set()
        with self._cond:
            self._cond.notify_all()  # wake the scheduler and workers waiting for a slot

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

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
        self._catalogs.clear()
        self._breaker = _Breaker(BREAKER_TIMEOUTS)
        targets = self.targets(slugs, verify=verify)
        report = SyncReport()
        if not targets:
            return report
        with self.store.read() as uow:
            vendors = {
                r.slug: _record_vendor(r.connector, r.connector_config)
                for r in uow.brands.records(order="slug")
            }
        self._vendors = vendors
        budget = _Budget(2 * len(targets) + 10)
        queue = deque(_interleave(targets, lambda s: vendors.get(s) or s))
        busy: dict[str, int] = defaultdict(int)
        running: set[str] = set()
        closed = False
        cond = self._cond

        def next_slug() -> str | None:
            # The first queued brand whose vendor has a free slot: a slow or hanging vendor
            # holds at most `per_vendor` workers, never the whole pool.
            with cond:
                while queue and not self._cancel.is_set():
                    for index, slug in enumerate(queue):
                        if busy[(vendors.get(slug) or slug)] < self.per_vendor:
                            del queue[index]
                            busy[(vendors.get(slug) or slug)] += 1
                            running.add(slug)
                            return slug
                    cond.wait(0.5)
                return None

        def finish(slug: str, outcome: BrandOutcome) -> None:
            with cond:
                busy[(vendors.get(slug) or slug)] -= 1
                running.discard(slug)
                if not closed:
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
        with cond:
            cond.wait_for(lambda: (not running and not queue) or self._cancel.is_set())
            if self._cancel.is_set():
                cond.notify_all()  # workers waiting for a free slot stop at once
                grace = self.cancel_grace
                cond.wait_for(lambda: not running, timeout=grace)
                closed = True
                left = sorted(running) + list(queue)
                queue.clear()
                for slug in sorted(running):
                    report.outcomes.append(
                        BrandOutcome(
                            slug,
                            slug,
                            Result.CANCELLED,
                            f"stopped while talking to the vendor: {BUSY}"
                            if self._busy.is_set()
                            else "cancelled while talking to the vendor (stays pending)",
                        )
                    )
                running.clear()
                cancelled_before = [s for s in left if s not in {o.slug for o in report.outcomes}]
            else:
                closed = True
                cancelled_before = list(queue)
        if not self._cancel.is_set():
            for thread in threads:
                thread.join()
        held = self._busy.is_set()
        for slug in cancelled_before:  # cancelled before they started
            detail = f"not started: {BUSY}" if held else "cancelled before it started"
            report.outcomes.append(BrandOutcome(slug, slug, Result.CANCELLED, detail))
        report.outcomes.sort(key=lambda o: o.slug)
        report.busy = held
        return report

    # --- one brand --------------------------------------------------------------------------

    def _guarded(self, slug: str, budget: _Budget) -> BrandOutcome:
        if self._cancel.is_set():
            return BrandOutcome(slug, slug, Result.CANCELLED, "cancelled before it started")
        try:
            return self._sync_brand(slug, budget)
        except StoreBusy:
            # Another program holds the database (a long import): say so once, start no
            # more brands, leave this one pending. No traceback: nothing is wrong with it.
            self._busy.set()
            self._cancel.set()
            with self._cond:
                self._cond.notify_all()
            return BrandOutcome(slug, slug, Result.FAILED, BUSY)
        except Exception as exc:
            log.exception("sync of %s failed unexpectedly", slug)
            detail = f"unexpected error ({type(exc).__name__}): {exc}"[:300]
            self._record_failure(slug, "failed", detail)
            return BrandOutcome(slug, slug, Result.FAILED, detail)

    def _vendor_of(self, slug: str) -> str:
        return self._vendors.get(slug) or slug

    def _sync_brand(self, slug: str, budget: _Budget) -> BrandOutcome:
        with self.store.read() as uow:
            inp = uow.sync.load(slug)
        brand = inp.brand
        connector = self.connector_for(brand)
        connector.last_version = inp.remote_version
        if not connector.remote:
            hint = getattr(connector, "manual_hint", None)
            return self._manual(brand, inp.base, inp.pending, hint() if callable(hint) else "")
        vendor = self._vendor_of(slug)
        attempts = 0
        # Drift seen by an earlier attempt of this run: if the answer to the re-asserting
        # push is lost and the retry finds its own fix, the drift is still reported.
        seen = _Seen()
        # (The per-vendor limit is applied by the scheduler in run().)
        while True:
            if self._breaker.is_open(vendor):
                detail = "vendor not answering (left for the next sync; your choices stay pending)"
                self._record_failure(slug, "failed", detail)
                return BrandOutcome(slug, brand.name, Result.FAILED, detail, attempts)
            attempts += 1
            try:
                return replace(self._attempt(inp, connector, seen), attempts=attempts)
            except AuthenticationError as exc:
                detail = f"needs re-authentication: {exc}"
                self._record_failure(slug, "needs_reauth", detail, journal=True)
                return BrandOutcome(slug, brand.name, Result.FAILED, detail, attempts)
            except ConnectorError as exc:
                if isinstance(exc, ConnectorTimeout):
                    self._breaker.timed_out(vendor)
                retryable = isinstance(exc, (TransientError, VersionConflict))
                wait_for = exc.retry_after if isinstance(exc, TransientError) else None
                if retryable and wait_for is not None and wait_for > LONG_WAIT:
                    until = self.clock.now() + dt.timedelta(seconds=wait_for)
                    local = until.astimezone()
                    when = f"{local:%H:%M}" if wait_for < 86_400 else f"{local:%Y-%m-%d %H:%M}"
                    reason = f"vendor asked to wait until {when} (your choices stay pending)"
                    self._record_failure(slug, "failed", reason, journal=True)
                    return BrandOutcome(slug, brand.name, Result.FAILED, reason, attempts)
                if (
                    not retryable
                    or attempts > self.retries_per_brand
                    or self._cancel.is_set()
                    or self._breaker.is_open(vendor)
                    or not budget.take()
                ):
                    if self._breaker.is_open(vendor) and isinstance(exc, ConnectorTimeout):
                        reason = f"vendor not answering: {exc} (your choices stay pending)"
                    else:
                        reason = f"gave up: {exc}" if retryable else str(exc)
                    self._record_failure(slug, "failed", reason, journal=True)
                    result = Result.CANCELLED if self._cancel.is_set() else Result.FAILED
                    return BrandOutcome(slug, brand.name, result, reason, attempts)
                if self._wait(exc, attempts):
                    self._record_failure(slug, "failed", f"cancelled after: {exc}")
                    return BrandOutcome(slug, brand.name, Result.CANCELLED, str(exc), attempts)
                with self.store.read() as uow:
                    inp = uow.sync.load(slug)  # a stored push, or the customer's newer edit

    def _wait(self, exc: ConnectorError, attempts: int) -> bool:
        """Wait before the next attempt; True when the sync was cancelled meanwhile."""
        delay = min(self.max_backoff, self.backoff * 2 ** (attempts - 1))
        delay *= 0.5 + self._rng.random()  # jitter: retries of many brands do not align
        if isinstance(exc, (RateLimited, TransientError)) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)  # at least as long as the vendor asked
        return bool(self._waiter(delay)) or self._cancel.is_set()

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

    def _attempt(self, inp: SyncInput, connector: Connector, seen: _Seen) -> BrandOutcome:
        brand, revision = inp.brand, inp.revision
        now = self.clock.now()
        catalog = self._catalog(brand, connector)
        remote = connector.read()
        # Expired grants count as deny: the revocation is pushed like any other change.
        day = now.astimezone().date()  # the customer's date (domain.clock.today)
        wanted, notes = fit(brand.name, catalog, brand.preferences.with_expired_revoked(day))
        base = catalog.restrict(inp.base) if inp.base is not None else None
        push = inp.pending_push
        if push is not None:
            sent_before = catalog.restrict(PreferenceSet.from_dict(push.get("sent") or {}))
            if catalog.restrict(remote.preferences) == sent_before:
                # The vendor holds the push stored before a crash or a lost answer: the
                # customer's own, so merge from there (their newest decision wins).
                base = sent_before
                decided_then = PreferenceSet.from_dict(push.get("decided") or {})
                for fk, was in decided_then.fields().items():
                    if more_restrictive(fk, sent_before.get(fk), was):
                        # A vendor tightening this push carried, never recorded (its answer
                        # was lost): merge from the decision of then, so it is taken again
                        # (or the customer's newer decision wins, as a conflict).
                        base = base.replace_field(fk, was)
                seen.recovered = True
                for item in push.get("drift") or []:
                    seen.drift.setdefault(str(item.get("field")), dict(item))
                if push.get("vendor_state") is not None and seen.vendor_state is None:
                    seen.vendor_state = push["vendor_state"]
        merged = three_way_merge(
            base, wanted, remote.preferences, required_topics=catalog.required_topics
        )
        if push is not None and not seen.recovered and remote.version != push.get("base_version"):
            # The vendor moved on since the stored push (applied, then changed?): a pushed
            # decision the vendor now holds looser is reported as drift, never silently pushed.
            sent_fields = PreferenceSet.from_dict(push.get("sent") or {}).fields()
            for c in merged.changes:
                if (
                    c.outcome is Outcome.PUSH
                    and sent_fields.get(c.key) == c.local
                    and more_restrictive(c.key, c.local, c.remote)
                ):
                    seen.drift.setdefault(
                        journal_name(c.key), _drift_item(c.key, c.remote, c.local)
                    )
                    if seen.vendor_state is None:
                        seen.vendor_state = remote.preferences.to_dict()
        for c in merged.drift:
            seen.drift[journal_name(c.key)] = _drift_item(c.key, c.remote, c.local)
        if merged.drift and seen.vendor_state is None:
            seen.vendor_state = remote.preferences.to_dict()
        sent: PreferenceSet | None = None
        confirmed: RemoteState = remote
        if merged.needs_push and self._cancel.is_set():
            # Cancelled while reading: send nothing (the brand truly stays pending).
            return BrandOutcome(
                brand.slug, brand.name, Result.CANCELLED, "cancelled before anything was sent"
            )
        if merged.needs_push:
            desired = catalog.restrict(merged.merged)
            key = push_key(brand, revision, remote.version, desired)
            body = desired.to_dict()
            record = {
                "key": key,
                "sent": body,
                "base_version": remote.version,
                "drift": list(seen.drift.values()),
                "vendor_state": seen.vendor_state,
                "decided": wanted.to_dict(),  # the decisions this push was made from
            }
            with self.store.write() as uow:  # before the request: a crash loses neither
                uow.sync.store_push(brand.slug, record, now=now)
                uow.journal.append(
                    at=now,
                    brand=brand.slug,
                    kind="push",
                    detail={"sent": body, "base_version": remote.version, "key": key},
                )
            try:
                confirmed = connector.write(
                    desired, base_version=remote.version, idempotency_key=key
                )
            finally:
                self._journal_performed(brand.slug, connector, now)
            sent = desired
        return self._finish(inp, wanted, merged, remote, confirmed, sent, seen, notes, catalog)

    def _finish(
        self,
        inp: SyncInput,
        wanted: PreferenceSet,
        merged: MergeResult,
        remote: RemoteState,
        confirmed: RemoteState,
        sent: PreferenceSet | None,
        seen: _Seen,
        notes: list[str],
        catalog: Catalog,
    ) -> BrandOutcome:
        brand, revision = inp.brand, inp.revision
        now = self.clock.now()
        decisions = None
        if merged.accepted:
            prefs = brand.preferences
            for change in merged.accepted:
                prefs = prefs.replace_field(change.key, change.result)
            decisions = prefs
        # The answer to a write is checked against what was sent: a vendor that answers 200
        # but keeps a looser value for a decided field is drift, not "synced".
        kept = kept_looser(wanted, sent, confirmed.preferences) if sent is not None else []
        base_after = confirmed.preferences
        for key, _ in kept:
            assert sent is not None
            base_after = base_after.replace_field(key, sent.get(key))
        drift = list(seen.drift.values())
        kept_items = [
            {**_drift_item(k, confirmed.preferences.get(k), v), "answer": True} for k, v in kept
        ]
        status = "drift" if drift or kept_items else "ok"
        drift_text = "; ".join(
            [f"{d['field']}: vendor had {d['vendor']}, you chose {d['yours']}" for d in drift]
            + [
                f"{d['field']}: vendor answered but kept {d['vendor']}, you chose {d['yours']}"
                for d in kept_items
            ]
        )
        detail = "; ".join(t for t in (drift_text, *notes) if t)
        with self.store.write() as uow:
            edited = bool(merged.accepted) and uow.sync.load(brand.slug).revision != revision
            if edited:
                # The customer edited meanwhile: the tightening cannot be written now. Keep the
                # old base for it, so the next sync takes it again (and never pushes it back).
                for c in merged.accepted:
                    base_after = base_after.replace_field(c.key, c.base)
                decisions = None
            if drift or kept_items:
                uow.journal.append(
                    at=now,
                    brand=brand.slug,
                    kind="drift",
                    detail={
                        "version": remote.version,
                        # The vendor's whole state, so the customer can later accept its
                        # value for a drifted field ("Accept theirs" in the window).
                        "vendor_state": (
                            seen.vendor_state
                            if seen.vendor_state is not None
                            else confirmed.preferences.to_dict()
                        ),
                        "fields": drift + kept_items,
                    },
                )
            if merged.accepted and not edited:
                uow.journal.append(
                    at=now,
                    brand=brand.slug,
                    kind="accepted",
                    detail={
                        "version": remote.version,
                        "fields": [
                            {
                                "field": journal_name(c.key),
                                "vendor": format_value(c.remote),
                                "was": format_value(c.local),
                            }
                            for c in merged.accepted
                        ],
                    },
                )
            if sent is not None or seen.recovered:
                answer: dict[str, Any] = {
                    "version": confirmed.version,
                    "held": confirmed.preferences.to_dict(),
                    # The customer's decisions this answer confirms (receipts list only these).
                    "decided": (decisions or brand.preferences).to_dict(),
                }
                if sent is None:
                    answer["recovered"] = True  # the answer to the stored push was lost
                uow.journal.append(at=now, brand=brand.slug, kind="answer", detail=answer)
            uow.sync.confirmed(
                brand.slug,
                revision=revision,
                base=base_after,
                vendor=confirmed.preferences,
                offered=offered_text(catalog.channels, catalog.data_uses),
                remote_version=confirmed.version,
                decisions=decisions,
                status=status,
                detail=detail,
                now=now,
                keep_pending=bool(kept_items),
            )
        if drift or kept_items:
            return BrandOutcome(brand.slug, brand.name, Result.DRIFT, detail, 1)
        if sent is not None or decisions is not None or seen.recovered:
            parts = (
                f"pushed {plural(len(merged.to_push), 'change')}" if sent is not None else "",
                "the vendor had applied your last push (its answer was lost)"
                if seen.recovered and sent is None
                else "",
                f"took {plural(len(merged.accepted), 'stricter vendor setting')}"
                if merged.accepted and decisions is not None
                else "",
            )
            text = "; ".join(t for t in (", ".join(p for p in parts if p), *notes) if t)
            return BrandOutcome(brand.slug, brand.name, Result.SYNCED, text, 1)
        return BrandOutcome(brand.slug, brand.name, Result.UNCHANGED, "; ".join(notes), 1)

    def _journal_performed(self, slug: str, connector: Connector, now: dt.datetime) -> None:
        """Journal what a connector did beyond its write (the e-mail connector's one-click
        unsubscribe requests, as ``unsubscribe`` entries), whether the write succeeded."""
        take = getattr(connector, "take_performed", None)
        entries = take() if callable(take) else []
        if entries:
            with self.store.write() as uow:
                for detail in entries:
                    uow.journal.append(at=now, brand=slug, kind="unsubscribe", detail=detail)

    def _manual(
        self, brand: Brand, base: PreferenceSet | None, pending: bool, hint: str = ""
    ) -> BrandOutcome:
        changes = differences(base or PreferenceSet(), brand.preferences)
        detail = "; ".join(changes) if changes else "nothing to change"
        if pending:
            with self.store.write() as uow:
                uow.sync.set_status(brand.slug, "manual", detail)
        then = hint or f"then: cmr brand done {brand.slug}"
        return BrandOutcome(
            brand.slug,
            brand.name,
            Result.MANUAL,
            f"do by hand: {detail} ({then})" if pending else detail,
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
        except StoreBusy:
            self._busy.set()
        except Exception:
            log.exception("could not record the failure of %s", slug)


@dataclass
class _Seen:
    """What earlier attempts of one brand's sync in this run found (see _sync_brand)."""

    drift: dict[str, dict[str, Any]] = field(default_factory=dict)
    vendor_state: dict[str, Any] | None = None
    recovered: bool = False


def fit(name: str, catalog: Catalog, decisions: PreferenceSet) -> tuple[PreferenceSet, list[str]]:
    """The decisions as this vendor can take them, and what could not be sent as decided.

    A frequency the vendor does not offer is sent as the nearest one it offers that is at
    least as restrictive (else the most restrictive it offers), and reported; it is never
    silently left to the vendor's own, looser, value. Channels, topics and data uses the
    vendor does not have are left out (it cannot use them).
    """
    notes: list[str] = []
    out = decisions
    offered = sorted(catalog.frequencies, key=lambda f: f.rank)
    for ch, freq in sorted(decisions.frequencies.items()):
        if ch not in catalog.channels or freq in catalog.frequencies:
            continue
        if decisions.channels.get(ch) is False:
            out = out.with_frequency(ch, None)  # an off channel's frequency does not matter
            continue
        if not offered:
            notes.append(
                f"{name} offers no choice of how often it may {ch.verb}; "
                f"your choice ({freq.value}) cannot be sent"
            )
            out = out.with_frequency(ch, None)
            continue
        stricter = [f for f in offered if f.rank <= freq.rank]
        nearest: Frequency = stricter[-1] if stricter else offered[0]
        notes.append(f"{name} does not offer {freq.value}; nearest it offers: {nearest.value}")
        out = out.with_frequency(ch, nearest)
    if decisions.quiet_hours is not None and not catalog.supports_quiet_hours:
        notes.append(f"{name} does not take quiet hours")
    return catalog.restrict(out), notes


def kept_looser(
    wanted: PreferenceSet, sent: PreferenceSet, held: PreferenceSet
) -> list[tuple[FieldKey, FieldValue]]:
    """Decided fields whose value in the vendor's answer is looser than what was sent."""
    out: list[tuple[FieldKey, FieldValue]] = []
    for key in in_order(wanted.fields()):
        value = sent.get(key)
        if key[0] == "frequency" and sent.channels.get(key[1]) is False:
            continue
        if not at_least_as_restrictive(key, held.get(key), value):
            out.append((key, value))
    return out


def differences(old: PreferenceSet, new: PreferenceSet) -> list[str]:
    """What changed from ``old`` to ``new``, one "field: old -> new" line per field."""
    a, b = old.fields(), new.fields()
    return [
        f"{journal_name(k)}: {format_value(a.get(k))} -> {format_value(b.get(k))}"
        for k in in_order(a.keys() | b.keys())
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
    "fit",
    "kept_looser",
    "push_key",
    "vendor_key",
]
