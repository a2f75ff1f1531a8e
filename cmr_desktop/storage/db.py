"""The SQLite engine, session scopes and start-up migrations.

Every unit of work gets its own Session. Writes start with ``BEGIN IMMEDIATE`` so two writers
queue on the busy timeout instead of failing half-way (FIELD-NOTES: SQLite locking).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

#: Newest migration this build knows. A test checks it against the Alembic scripts, so the
#: common start-up (database already current) needs no Alembic import at all.
SCHEMA_HEAD = "0005"
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005")
MIGRATIONS = Path(__file__).with_name("migrations")
_WRITE = "cmr_write"


class StoreError(Exception):
    """The database cannot be opened or used; the message says why and what to do."""


def _configure(engine: Engine, *, foreign_keys: bool = True) -> Engine:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        # Must be set outside any transaction: inside one SQLite silently ignores it.
        cur.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def make_engine(path: Path, *, migrating: bool = False) -> Engine:
    """An engine for ``path``; ``migrating`` gives unpooled connections with foreign keys off."""
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 15, "check_same_thread": False}}
    if migrating:
        kwargs["poolclass"] = NullPool
    return _configure(create_engine(f"sqlite:///{path}", **kwargs), foreign_keys=not migrating)


def current_revision(path: Path) -> str | None:
    """The Alembic revision stored in the file, or None for a new, empty database."""
    if not path.exists():
        return None
    con = sqlite3.connect(path)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "alembic_version" not in tables:
            if tables:
                raise StoreError(f"{path} is an SQLite file but not a CMR Desktop database")
            return None
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a readable database ({exc})") from None
    finally:
        con.close()


def migrate(path: Path, target: str = "head", *, backup: bool = True) -> str | None:
    """Bring the database at ``path`` to ``target``; returns the backup path if one was made.

    A database written by a newer CMR Desktop (a revision this build does not know) is refused
    rather than guessed at. Before changing a database that holds data, a copy is kept.
    """
    rev = current_revision(path)
    if rev is not None and rev not in KNOWN_REVISIONS:
        raise StoreError(
            f"{path} was written by a newer CMR Desktop (schema {rev}); this version knows "
            f"schemas up to {SCHEMA_HEAD}. Update CMR Desktop to open it."
        )
    wanted = SCHEMA_HEAD if target == "head" else target
    if rev == wanted:
        return None
    backup_path = None
    if rev is not None and backup:
        backup_path = path.with_name(f"{path.name}.before-{wanted}.bak")
        src, dst = sqlite3.connect(path), sqlite3.connect(backup_path)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()

    from alembic import command
    from alembic.config import Config

    # Batch migrations recreate tables: with foreign keys on, dropping the old table would
    # cascade-delete every row that points at it. So they are off for this connection (set
    # before BEGIN), and the references are checked before commit instead.
    engine = make_engine(path, migrating=True)
    try:
        with engine.connect() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn.execution_options(**{_WRITE: True})
            if target == "head" or _is_ahead(target, rev):
                command.upgrade(cfg, target)
            else:
                command.downgrade(cfg, target)
            problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise StoreError(f"migration left broken references: {problems[:5]}")
            conn.commit()
    finally:
        engine.dispose()
    return str(backup_path) if backup_path else None


def _is_ahead(target: str, rev: str | None) -> bool:
    order = {r: i for i, r in enumerate(KNOWN_REVISIONS)}
    return rev is None or order.get(target, 0) > order.get(rev, -1)


class Database:
    """One SQLite file: hands out session scopes for reading and for writing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.backup_path = migrate(path)
        self.engine = make_engine(path)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False
        )
        self._write_lock = threading.RLock()

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction: commits when the block ends, rolls back on any exception.

        Writers of this process queue on a lock first: SQLite's own busy handler makes a
        waiting writer sleep in growing steps (up to 100 ms), which with a pool of sync
        workers cost more than the work. Other processes still meet the busy timeout.
        """
        with self._write_lock, self._write() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()
