"""The audit journal (``services.journal``): every push, drift, decision and removal,
hash-chained."""

from __future__ import annotations

from cmr_desktop.services.base import Context
from cmr_desktop.storage import JournalEntry


class JournalService:
    """Reads the journal (the use cases write it, each in its own transaction)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def entries(self, ref: str | None = None) -> list[JournalEntry]:
        """Journal entries, oldest first (of one brand, or all)."""
        with self._ctx.store.read() as uow:
            slug = None
            if ref is not None:
                found = uow.brands.find(ref)
                slug = found.slug if found else ref  # removed brands keep their entries
            return uow.journal.entries(slug)

    def verify(self) -> int | None:
        """The id of the first entry whose hash chain breaks, or None when it is intact."""
        with self._ctx.store.read() as uow:
            return uow.journal.first_broken()
