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

from cmr_desktop.storage.db import (
    BUSY_TIMEOUT,
    SCHEMA_HEAD,
    Database,
    HomeUnusable,
    StoreBusy,
    StoreError,
    current_revision,
    migrate,
)
from cmr_desktop.storage.mail_repository import (
    KeyStats,
    LatestEntry,
    MailRepository,
    TrackedRow,
    UnsubscribeTargets,
)
from cmr_desktop.storage.repositories import (
    AlreadyExists,
    BrandRecord,
    BrandRepository,
    BrandSnapshot,
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
    "BrandSnapshot",
    "DirectoryRepository",
    "HomeUnusable",
    "JournalEntry",
    "JournalRepository",
    "KeyStats",
    "LatestEntry",
    "MailRepository",
    "NotFound",
    "SettingsRepository",
    "Store",
    "StoreBusy",
    "StoreError",
    "SyncInput",
    "SyncRepository",
    "SyncState",
    "TrackedRow",
    "UnitOfWork",
    "UnsubscribeTargets",
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


def _is_busy(reason: str) -> bool:
    return "locked" in reason or "busy" in reason


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    """Turn the database's own failures into a StoreError with a plain message (StoreBusy
    when another process kept the database locked past the busy timeout)."""
    try:
        yield
    except (OperationalError, sqlite3.OperationalError) as exc:
        reason = _reason(exc)
        if _is_busy(reason):
            raise StoreBusy(
                "the database is busy: another CMR Desktop process (an import or a sync) kept "
                "it locked. Try again when it has finished."
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
    mail: MailRepository


def _unit(session: Session) -> UnitOfWork:
    return UnitOfWork(
        BrandRepository(session),
        SettingsRepository(session),
        SyncRepository(session),
        JournalRepository(session),
        DirectoryRepository(session),
        MailRepository(session),
    )


class Store:
    """The data of one home folder. Opening it applies any pending migration."""

    def __init__(self, home: Path, *, busy_timeout: float = BUSY_TIMEOUT) -> None:
        """Open (or create) the home folder ``home``.

        Args:
            busy_timeout: seconds a write waits for another process's write to end before
                :class:`StoreBusy` is raised.

        Raises:
            HomeUnusable: the folder or its database cannot be opened (the reason and what to
                do are in the message); nothing was changed.
            StoreBusy: another process kept the database locked while it had to be upgraded.
        """
        self.home = home
        if home.exists() and not home.is_dir():
            raise HomeUnusable(
                home,
                "it is a file, not a folder",
                "Give a folder with --home or CMR_HOME, or move the file away",
                home=home,
            )
        try:
            self.db = Database(home / DB_FILENAME, busy_timeout=busy_timeout)
        except StoreError:
            raise
        except OSError as exc:
            raise HomeUnusable(
                home,
                _reason(exc),
                "Check that it is a folder you may read and write",
                home=home,
            ) from None
        except (SQLAlchemyError, sqlite3.Error) as exc:
            reason = _reason(exc)
            if _is_busy(reason):
                raise StoreBusy(
                    f"the database in {home} is busy: another CMR Desktop process kept it "
                    "locked while it had to be brought up to date. Try again when it has finished."
                ) from None
            path = home / DB_FILENAME
            raise HomeUnusable(
                path,
                f"{path.name} could not be opened or brought up to date ({reason})",
                "It may be damaged: put back a copy you kept, or move it away to start afresh",
            ) from None

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
