"""Calls into connector plugins, off the GUI thread and never waited for.

A plugin may hang (an import that never returns, a vendor that never answers) and a thread
cannot be killed. So each call gets a daemon thread of its own rather than a place in the
:class:`~cmr_desktop.ui.runner.Runner`'s pool: a stuck plugin then holds one idle thread,
not one of the pool's few (two on a two-core machine), and neither the window's reads nor
quitting (which waits for the pool) wait for it. Results come back on the GUI thread
through a relay QObject that lives as long as the app, so a thread that ends late never
signals a deleted object; callbacks of an owner that is gone are dropped.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot


class PluginTimeout(Exception):
    """A plugin did not answer in time (it may be stuck; its thread is left to finish)."""


class _Relay(QObject):
    done = Signal(int, object)
    failed = Signal(int, object)


_relay: _Relay | None = None
_tokens = itertools.count(1)


def _the_relay() -> _Relay:
    global _relay
    if _relay is None:
        _relay = _Relay()  # no parent: lives until the interpreter ends
    return _relay


def _call(fn: Callable[[], Any], token: int, relay: _Relay) -> None:
    try:
        result = fn()
    except BaseException as exc:  # a plugin's SystemExit must not end more than its call
        error = exc if isinstance(exc, Exception) else RuntimeError(f"the plugin stopped: {exc!r}")
        relay.failed.emit(token, error)
    else:
        relay.done.emit(token, result)


class PluginCalls(QObject):
    """Run plugin code on a thread of its own; callbacks run on the GUI thread."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[Exception], None]]] = {}
        self._latest: dict[str, int] = {}
        relay = _the_relay()
        relay.done.connect(self._on_done)
        relay.failed.connect(self._on_failed)

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[Exception], None],
        *,
        timeout_ms: int | None = None,
        on_slow: Callable[[], None] | None = None,
        latest: str | None = None,
    ) -> int:
        """Call ``fn()`` on a new daemon thread; then ``on_done(result)`` or
        ``on_error(exc)`` here.

        Args:
            timeout_ms: after this long without an answer, ``on_slow()`` is called and the
                answer is still awaited; without ``on_slow``, ``on_error(PluginTimeout)`` is
                called and a late answer is dropped.
            latest: of the calls with this name, only the last one asked for calls back.

        Returns:
            the call's token.
        """
        token = next(_tokens)
        if latest is not None:
            self._latest[latest] = token
            done_now, error_now = on_done, on_error

            def on_done(result: Any) -> None:
                if self._latest.get(latest) == token:
                    done_now(result)

            def on_error(error: Exception) -> None:
                if self._latest.get(latest) == token:
                    error_now(error)

        self._callbacks[token] = (on_done, on_error)
        if timeout_ms is not None:
            QTimer.singleShot(timeout_ms, self, lambda: self._expired(token, on_slow))
        threading.Thread(
            target=_call, args=(fn, token, _the_relay()), name="plugin-call", daemon=True
        ).start()
        return token

    def _expired(self, token: int, on_slow: Callable[[], None] | None) -> None:
        if token not in self._callbacks:
            return
        if on_slow is not None:
            on_slow()
            return
        _, on_error = self._callbacks.pop(token)
        on_error(PluginTimeout("no answer in time"))

    def pending(self) -> int:
        """Calls whose callbacks have not run yet."""
        return len(self._callbacks)

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
