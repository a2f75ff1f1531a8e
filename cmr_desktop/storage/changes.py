"""Noticing that another process (``cmr`` in a terminal) changed the database.

No SQL: a commit in WAL mode appends to (or, after a checkpoint, rewrites) the ``-wal`` file,
and a checkpoint writes the database file, so the size and modification time of the two
files change with every commit, whoever makes it. This process's own write transactions are
recorded as they happen: the files' state when each one began (it holds SQLite's write lock
then, so nobody else can commit meanwhile) and when it ended. A change that is exactly a
chain of our own transactions is ours; anything else came from outside.

What it cannot see: another process's commit in the few microseconds between one of our
commits and our look at the files right after it. The next outside change is seen.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from sqlalchemy import event

from cmr_desktop.storage import Store

_WRITE = "cmr_write"  # the execution option db.py gives write sessions
_MARK = "cmr_changes_began"

Signature = tuple[tuple[int, int] | None, ...]


class ChangeLog:
    """Tells commits by other processes from this process's own.

    Args:
        store: the open home; its engine's write transactions are recorded from now on.
    """

    def __init__(self, store: Store) -> None:
        self.paths = (store.path, store.path.with_name(store.path.name + "-wal"))
        self._engine = store.db.engine
        self._lock = threading.Lock()
        self._own: list[tuple[Signature, Signature]] = []
        self._open = 0
        self._base = self.signature()
        event.listen(self._engine, "begin", self._began)
        event.listen(self._engine, "commit", self._committed)
        event.listen(self._engine.pool, "checkin", self._ended)

    def signature(self) -> Signature:
        """The size and modification time of the database and its WAL (None: no file, or
        an empty one)."""
        out: list[tuple[int, int] | None] = []
        for path in self.paths:
            try:
                st = os.stat(path)
            except OSError:
                out.append(None)
            else:
                # Opening a connection creates an empty -wal file: no data has changed.
                out.append((st.st_size, st.st_mtime_ns) if st.st_size else None)
        return tuple(out)

    def _began(self, conn: Any) -> None:
        if not conn.get_execution_options().get(_WRITE, False):
            return
        # db.py's own "begin" listener, registered first, has run BEGIN IMMEDIATE: we hold
        # the write lock, so this is the state every later change starts from.
        with self._lock:
            conn.info[_MARK] = [self.signature(), False]
            self._open += 1

    def _committed(self, conn: Any) -> None:
        mark = conn.info.get(_MARK)
        if mark is not None:
            mark[1] = True

    def _ended(self, _dbapi_connection: Any, record: Any) -> None:
        if record is None:
            return
        mark = record.info.pop(_MARK, None)
        if mark is None:
            return
        with self._lock:
            self._open -= 1
            if mark[1]:
                self._own.append((mark[0], self.signature()))

    def poll(self) -> bool | None:
        """Since the last poll: True if another process changed the database, False if not
        (or only this process did), None if one of our writes is still running (ask again
        once it has ended)."""
        with self._lock:
            if self._open:
                return None
            now = self.signature()
            own, self._own = self._own, []
            base, self._base = self._base, now
        if now == base:
            return False
        expected = base
        for before, after in own:
            if before != expected:
                return True
            expected = after
        return now != expected

    def close(self) -> None:
        """Stop recording."""
        for target, name, fn in (
            (self._engine, "begin", self._began),
            (self._engine, "commit", self._committed),
            (self._engine.pool, "checkin", self._ended),
        ):
            if event.contains(target, name, fn):
                event.remove(target, name, fn)
