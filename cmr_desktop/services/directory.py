"""The company directory (``services.directory``): organisations and their privacy
contacts, offered when a brand is added."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cmr_desktop.domain.directory import DirectoryEntry
from cmr_desktop.interop.directory import bundled_directory, read_directory
from cmr_desktop.services.base import Context


@dataclass(frozen=True, slots=True)
class DirectoryImportResult:
    """What a directory import did (or, for a dry run, would do)."""

    source: str
    added: int
    updated: int
    skipped: tuple[str, ...]  # one line per skipped record: where and why
    total: int  # records in the file


class DirectoryService:
    """The imported company directory."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

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
            with self._ctx.store.read() as uow:
                known = uow.directory.slugs()
            added = sum(1 for e in parsed.entries if e.slug not in known)
            updated = len(parsed.entries) - added
        else:
            with self._ctx.store.write() as uow:
                added, updated = uow.directory.upsert_many(parsed.entries)
        return DirectoryImportResult(str(source), added, updated, parsed.skipped, parsed.total)

    def search_directory(self, query: str, limit: int = 20) -> list[DirectoryEntry]:
        """Organisations of the imported directory matching every word of ``query``."""
        with self._ctx.store.read() as uow:
            return uow.directory.search(query, limit)

    def directory_size(self) -> int:
        with self._ctx.store.read() as uow:
            return uow.directory.count()
