"""Storage: one SQLite file per home, reached through repositories that return domain objects.

The only layer that imports SQLAlchemy (checked in CI).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from cmr_desktop.storage.db import SCHEMA_HEAD, Database, StoreError, current_revision, migrate
from cmr_desktop.storage.repositories import (
    AlreadyExists,
    BrandRecord,
    BrandRepository,
    DirectoryRepository,
    JournalEntry,
    JournalRepository,
    NotFound,
    SettingsRepository,
    SyncInput,
    SyncRepository,
    SyncState,
)

__all__ = [
    "SCHEMA_HEAD",
    "AlreadyExists",
    "BrandRecord",
    "BrandRepository",
    "DirectoryRepository",
    "JournalEntry",
    "JournalRepository",
    "NotFound",
    "SettingsRepository",
    "Store",
    "StoreError",
    "SyncInput",
    "SyncRepository",
    "SyncState",
    "UnitOfWork",
    "current_revision",
    "migrate",
]

DB_FILENAME = "cmr.sqlite3"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OperationalError) and exc.orig is not None:
        return str(exc.orig)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc).splitlines()[0]


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    """Turn the database's own failures into a StoreError with a plain message."""
    try:
        yield
    except OperationalError as exc:
        reason = _reason(exc)
        if "locked" in reason or "busy" in reason:
            raise StoreError(
                "the database is busy: another CMR Desktop process kept it locked for 15 "
                "seconds. Try again when it has finished."
            ) from None
        raise StoreError(f"the database failed: {reason}") from None


@dataclass(frozen=True, slots=True)
class UnitOfWork:
    """The repositories of one transaction."""

    brands: BrandRepository
    settings: SettingsRepository
    sync: SyncRepository
    journal: JournalRepository
    directory: DirectoryRepository


def _unit(session: Session) -> UnitOfWork:
    return UnitOfWork(
        BrandRepository(session),
        SettingsRepository(session),
        SyncRepository(session),
        JournalRepository(session),
        DirectoryRepository(session),
    )


class Store:
    """The data of one home folder. Opening it applies any pending migration."""

    def __init__(self, home: Path) -> None:
        self.home = home
        try:
            self.db = Database(home / DB_FILENAME)
        except (OSError, SQLAlchemyError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the data folder {home}: {_reason(exc)}") from None

    @property
    def path(self) -> Path:
        return self.db.path

    @contextlib.contextmanager
    def read(self) -> Iterator[UnitOfWork]:
        with _store_errors(), self.db.reading() as session:
            yield _unit(session)

    @contextlib.contextmanager
    def write(self) -> Iterator[UnitOfWork]:
        """All changes in the block commit together, or none do."""
        with _store_errors(), self.db.writing() as session:
            yield _unit(session)

    def close(self) -> None:
        self.db.close()
