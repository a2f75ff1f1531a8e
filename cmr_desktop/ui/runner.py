"""Run work off the GUI thread and get the result back on it (STYLE habit 1).

``Runner.run(fn, on_done, on_error)`` calls ``fn()`` on a pool thread; the callbacks run on
the GUI thread, through queued signals of a QObject the runner owns (never of the
auto-deleted QRunnable).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, SignalInstance, Slot


class _Job(QRunnable):
    def __init__(
        self, fn: Callable[[], Any], done: SignalInstance, failed: SignalInstance, token: int
    ) -> None:
        super().__init__()
        self._fn, self._done, self._failed, self._token = fn, done, failed, token

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:
            self._failed.emit(self._token, exc)
        else:
            self._done.emit(self._token, result)


class Runner(QObject):
    """Background work with callbacks on the GUI thread.

    Signals:
        done(int, object): a job's token and result.
        failed(int, object): a job's token and exception.
    """

    done = Signal(int, object)
    failed = Signal(int, object)

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = pool or QThreadPool(self)
        # Writes run one after another, in the order they were asked for: two quick edits of
        # the same thing must land in that order (SQLite serialises writers anyway).
        self.writes = QThreadPool(self)
        self.writes.setMaxThreadCount(1)
        self._next = 0
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[Exception], None]]] = {}
        self._latest: dict[str, int] = {}
        self.done.connect(self._on_done)
        self.failed.connect(self._on_failed)

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[Exception], None],
        *,
        write: bool = False,
        latest: str | None = None,
    ) -> None:
        """Call ``fn()`` off the GUI thread; then ``on_done(result)`` or ``on_error(exc)``
        on it. ``write=True``: after every write asked for before (in order).
        ``latest="name"``: of the jobs with that name, only the last one asked for calls
        back (an older read finishing later must not overwrite a newer one's result)."""
        self._next += 1
        if latest is not None:
            self._latest[latest] = self._next
            done_now, error_now = on_done, on_error
            token = self._next

            def on_done(result: Any) -> None:
                if self._latest.get(latest) == token:
                    done_now(result)

            def on_error(error: Exception) -> None:
                if self._latest.get(latest) == token:
                    error_now(error)

        self._callbacks[self._next] = (on_done, on_error)
        pool = self.writes if write else self.pool
        pool.start(_Job(fn, self.done, self.failed, self._next))

    @Slot(int, object)
    def _on_done(self, token: int, result: object) -> None:
        callbacks = self._callbacks.pop(token, None)
        if callbacks is not None:
            callbacks[0](result)

    @Slot(int, object)
    def _on_failed(self, token: int, error: object) -> None:
        callbacks = self._callbacks.pop(token, None)
        if callbacks is not None and isinstance(error, Exception):
            callbacks[1](error)

    @Slot()
    def forget(self) -> None:
        """Drop every callback not yet run (their widgets are gone); jobs still running
        finish, and their results are ignored."""
        self._callbacks.clear()
        self._latest.clear()

    def pending(self) -> int:
        """Jobs whose callbacks have not run yet."""
        return len(self._callbacks)

    def wait(self, msecs: int = 30_000) -> bool:
        """Wait for running jobs (tests and shutdown)."""
        return bool(self.writes.waitForDone(msecs)) and bool(self.pool.waitForDone(msecs))
