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
SCHEMA_HEAD = "0007"
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007")
MIGRATIONS = Path(__file__).with_name("migrations")
_WRITE = "cmr_write"


#: Seconds a writer waits for another process's write to end before giving up.
BUSY_TIMEOUT = 15.0


class StoreError(Exception):
    """The database cannot be opened or used; the message says why and what to do."""


class StoreBusy(StoreError):
    """Another process kept the database locked (a long import, a sync) for longer than the
    busy timeout. Nothing of this unit of work was written; trying again later is right."""


class HomeUnusable(StoreError):
    """The home folder or its database cannot be opened at all; nothing in it was changed.

    ``str()`` is one line: the reason, then the advice.

    Attributes:
        path: the folder or database file concerned.
        reason: what is wrong ("... is not an SQLite database").
        advice: what the customer can do about it.
    """

    def __init__(self, path: Path, reason: str, advice: str, *, home: Path | None = None) -> None:
        self.path, self.reason, self.advice = path, reason, advice
        self.home = home if home is not None else path.parent
        super().__init__(f"cannot open the data folder {self.home}: {reason}. {advice}.")


def _backups(path: Path) -> str:
    """Advice naming the copies kept before upgrades, if there are any."""
    copies = sorted(path.parent.glob(f"{path.name}.before-*.bak"))
    if not copies:
        return ""
    return f" (a copy kept before an upgrade: {copies[-1]})"


def _restore_advice(path: Path) -> str:
    return (
        f"Put back a copy you kept{_backups(path)}, or move {path.name} away to start with an "
        "empty database"
    )


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


def make_engine(path: Path, *, migrating: bool = False, timeout: float = BUSY_TIMEOUT) -> Engine:
    """An engine for ``path``; ``migrating`` gives unpooled connections with foreign keys off.

    ``timeout``: seconds to wait for another process's lock (then "database is locked").
    """
    kwargs: dict[str, Any] = {"connect_args": {"timeout": timeout, "check_same_thread": False}}
    if migrating:
        kwargs["poolclass"] = NullPool
    return _configure(create_engine(f"sqlite:///{path}", **kwargs), foreign_keys=not migrating)


def current_revision(path: Path) -> str | None:
    """The Alembic revision stored in the file, or None for a new, empty database.

    Raises:
        HomeUnusable: the file cannot be read, is not an SQLite database, is not CMR Desktop's,
            or does not say which schema it has.
    """
    if not path.exists():
        return None
    if path.is_dir():
        raise HomeUnusable(
            path,
            f"{path.name} is a folder, not a database",
            "Move it away: CMR Desktop keeps its data in a file of that name",
        )
    try:
        con = sqlite3.connect(path)
    except sqlite3.Error as exc:
        raise HomeUnusable(path, f"cannot open {path.name} ({exc})", _ACCESS_ADVICE) from None
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "alembic_version" not in tables:
            if tables:
                raise HomeUnusable(
                    path,
                    f"{path.name} is an SQLite database, but not CMR Desktop's",
                    "Give another data folder (--home or CMR_HOME), or move the file away",
                )
            return None
        rows = [r[0] for r in con.execute("SELECT version_num FROM alembic_version")]
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc) or "malformed" in str(exc):
            reason = f"{path.name} is not an SQLite database, or it is damaged ({exc})"
            raise HomeUnusable(path, reason, _restore_advice(path)) from None
        raise HomeUnusable(path, f"cannot read {path.name} ({exc})", _ACCESS_ADVICE) from None
    finally:
        con.close()
    if len(rows) == 1 and isinstance(rows[0], str):
        return rows[0]
    if not rows and tables == {"alembic_version"}:
        return None  # the very first migration never got further: nothing to lose
    found = "is empty" if not rows else f"holds {len(rows)} versions"
    raise HomeUnusable(
        path,
        f"{path.name} does not say which version of CMR Desktop wrote it (its alembic_version "
        f"table {found}), so it cannot be brought up to date safely",
        _restore_advice(path),
    )


_ACCESS_ADVICE = "Check that the file exists and that you may read and write it"


def migrate(path: Path, target: str = "head", *, backup: bool = True) -> str | None:
    """Bring the database at ``path`` to ``target``; returns the backup path if one was made.

    A database written by a newer CMR Desktop (a revision this build does not know) is refused
    rather than guessed at. Before changing a database that holds data, a copy is kept.
    """
    rev = current_revision(path)
    if rev is not None and rev not in KNOWN_REVISIONS:
        raise HomeUnusable(
            path,
            f"{path.name} was written by a newer CMR Desktop (schema {rev}); this version knows "
            f"schemas up to {SCHEMA_HEAD}",
            "Update CMR Desktop to open it",
        )
    wanted = SCHEMA_HEAD if target == "head" else target
    if rev == wanted:
        return None
    if rev is None and wanted == SCHEMA_HEAD and _has_no_tables(path):
        if _create_at_head(path):
            return None
        rev = current_revision(path)  # another process made it first, meanwhile
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


def _has_no_tables(path: Path) -> bool:
    """True for a database that does not exist yet or holds no table at all."""
    if not path.exists():
        return True
    con = sqlite3.connect(path)
    try:
        return bool(con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0)
    finally:
        con.close()


def _create_at_head(path: Path) -> bool:
    """Create a brand-new database straight at :data:`SCHEMA_HEAD` from the models, in one
    transaction, and stamp it as Alembic would (its ``alembic_version`` table, same DDL).

    Running the six migrations instead costs ~10x as much (the Alembic import alone is most
    of it): a new home is the demo's and a first run's start-up path. A test checks that the
    tables, columns, defaults, indexes and foreign keys made here are those the migrations
    make, so the two ways cannot drift apart. Returns False, changing nothing, when another
    process has put a table in the database meanwhile (the write lock is taken first).
    """
    from cmr_desktop.storage.models import Base

    engine = make_engine(path, migrating=True)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(**{_WRITE: True})
            with conn.begin():
                if conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar():
                    return False
                Base.metadata.create_all(conn)
                conn.exec_driver_sql(
                    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
                )
                conn.exec_driver_sql(
                    "INSERT INTO alembic_version (version_num) VALUES (?)", (SCHEMA_HEAD,)
                )
        return True
    finally:
        engine.dispose()


def _is_ahead(target: str, rev: str | None) -> bool:
    order = {r: i for i, r in enumerate(KNOWN_REVISIONS)}
    return rev is None or order.get(target, 0) > order.get(rev, -1)


class Database:
    """One SQLite file: hands out session scopes for reading and for writing."""

    def __init__(self, path: Path, *, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.backup_path = migrate(path)
        self.engine = make_engine(path, timeout=busy_timeout)
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
