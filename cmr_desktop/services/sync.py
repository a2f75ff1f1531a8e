"""Syncing the customer's decisions with the vendors (``services.sync``).

The CLI (and so the desktop app's sync process) syncs through :meth:`SyncService.run`; only
this module builds the sync engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import partial

from cmr_desktop.domain.brand import MANUAL_CONNECTOR
from cmr_desktop.domain.preferences import PreferenceSet
from cmr_desktop.services.base import Context, connector_for, resolve
from cmr_desktop.services.errors import InputError
from cmr_desktop.sync.engine import (
    BUSY,
    BrandOutcome,
    Result,
    SyncBusy,
    SyncEngine,
    SyncReport,
    differences,
)

__all__ = [
    "BUSY",
    "BrandOutcome",
    "Result",
    "SyncBusy",
    "SyncCancel",
    "SyncReport",
    "SyncService",
]


class SyncCancel:
    """Stops one run of :meth:`SyncService.run`, from any thread and at any moment: asked
    before the run starts, no brand is started; asked during it, no brand is started any
    more and brands in flight finish their step or stay pending."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._asked = False
        self._engine: SyncEngine | None = None

    def cancel(self) -> None:
        with self._lock:
            self._asked = True
            engine = self._engine
        if engine is not None:
            engine.cancel()

    @property
    def cancelled(self) -> bool:
        return self._asked

    def _attach(self, engine: SyncEngine) -> None:
        with self._lock:
            self._engine = engine
            asked = self._asked
        if asked:
            engine.cancel()


class SyncService:
    """Pushes the customer's pending decisions to every vendor and checks they keep them."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def run(
        self,
        refs: Sequence[str] = (),
        *,
        verify: bool = False,
        jobs: int = 32,
        on_start: Callable[[int], None] | None = None,
        on_progress: Callable[[BrandOutcome, int, int], None] | None = None,
        cancel: SyncCancel | None = None,
        cancel_grace: float | None = None,
        per_vendor: int | None = None,
    ) -> SyncReport:
        """Sync the brands ``refs`` names (ids or exact names), else every brand
        (``verify``), else those with pending changes.

        Args:
            verify: re-read every vendor, even brands with nothing to send (finds drift).
            jobs: brands synced at once.
            on_start: called once with how many brands will be synced, before any starts.
            on_progress: called as each brand ends (outcome, brands done, total), from the
                engine's worker threads, one call at a time.
            cancel: stops the run (see :class:`SyncCancel`). Cancelled before it starts,
                every brand is reported cancelled and nothing is sent.
            cancel_grace: after a cancel, how long (seconds) the run waits for brands still
                talking to their vendor before reporting them cancelled (they stay pending).
                None: wait for them.
            per_vendor: brands of one vendor endpoint in flight at once (default: the
                engine's).

        Raises:
            BrandNotFound: a brand of ``refs`` does not exist (nothing is synced).
            SyncBusy: another process is syncing this home.
        """
        ctx = self._ctx
        with ctx.store.read() as uow:
            slugs = [resolve(uow, r).slug for r in refs]
        engine = SyncEngine(
            ctx.store,
            partial(connector_for, ctx),
            ctx.clock,
            jobs=jobs,
            per_vendor=per_vendor,
            cancel_grace=cancel_grace,
        )
        if cancel is not None:
            cancel._attach(engine)
        targets = engine.targets(slugs, verify=verify)
        if on_start is not None:
            on_start(len(targets))
        if engine.cancelled:  # cancelled before the run began: nothing is started
            detail = "cancelled before it started"
            return SyncReport([BrandOutcome(s, s, Result.CANCELLED, detail) for s in targets])
        try:
            return engine.run(slugs, verify=verify, progress=on_progress)
        except KeyboardInterrupt:
            engine.cancel()  # Ctrl+C: the workers start no more brands
            raise

    def confirm_done_by_hand(self, ref: str) -> list[str]:
        """The customer carried out a manual brand's choices themselves: record it.

        Returns what was done (the changes since the last confirmation), also journaled.

        Raises:
            InputError: the brand has a connector (its vendor is synced, not done by hand).
        """
        ctx = self._ctx
        with ctx.store.write() as uow:
            brand = resolve(uow, ref)
            if brand.connector != MANUAL_CONNECTOR:
                raise InputError(
                    f"{brand.name} is synced through connector {brand.connector!r}; "
                    "use cmr sync instead"
                )
            inp = uow.sync.load(brand.slug)
            done = differences(inp.base or PreferenceSet(), brand.preferences)
            now = ctx.now()
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
