"""Storage: one SQLite file per home, reached through repositories that return domain objects.

The only layer that imports SQLAlchemy (checked in CI).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cmr_desktop.storage.db import SCHEMA_HEAD, Database, StoreError, current_revision, migrate
from cmr_desktop.storage.repositories import (
    AlreadyExists,
    BrandRecord,
    BrandRepository,
    NotFound,
    SettingsRepository,
)

__all__ = [
    "SCHEMA_HEAD",
    "AlreadyExists",
    "BrandRecord",
    "BrandRepository",
    "NotFound",
    "SettingsRepository",
    "Store",
    "StoreError",
    "UnitOfWork",
    "current_revision",
    "migrate",
]

DB_FILENAME = "cmr.sqlite3"


@dataclass(frozen=True, slots=True)
class UnitOfWork:
    """The repositories of one transaction."""

    brands: BrandRepository
    settings: SettingsRepository


class Store:
    """The data of one home folder. Opening it applies any pending migration."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.db = Database(home / DB_FILENAME)

    @property
    def path(self) -> Path:
        return self.db.path

    @contextlib.contextmanager
    def read(self) -> Iterator[UnitOfWork]:
        with self.db.reading() as session:
            yield UnitOfWork(BrandRepository(session), SettingsRepository(session))

    @contextlib.contextmanager
    def write(self) -> Iterator[UnitOfWork]:
        """All changes in the block commit together, or none do."""
        with self.db.writing() as session:
            yield UnitOfWork(BrandRepository(session), SettingsRepository(session))

    def close(self) -> None:
        self.db.close()
