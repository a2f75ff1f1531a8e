"""Sync in a child process (``cmr sync --jsonl``), read without blocking through QProcess.

Why a process and not a thread: the sync engine runs dozens of Python threads (one per brand
in flight) whose CPU work holds the GIL; the GUI thread then waits for the GIL between every
paint and model call, and the window stutters (measured: gaps of 100-170 ms in the event loop
during a 200-brand sync on two cores). In its own process the engine cannot stall the GUI,
and a connector plugin that hangs or crashes cannot take the window down with it.
(docs/architecture.md, "Sync from the desktop app".)
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, Signal

from cmr_desktop.sync.events import (
    BadEvent,
    BrandSynced,
    SyncEnded,
    SyncEvent,
    SyncFailed,
    SyncStarted,
)

log = logging.getLogger(__name__)


def cmr_command(home: Path) -> list[str]:
    """How to run ``cmr`` on ``home`` with this interpreter (no PATH lookup)."""
    return [sys.executable, "-m", "cmr_desktop", "--home", str(home)]


class SyncProcess(QObject):
    """One run of ``cmr sync --jsonl``, its lines read as the events of
    ``cmr_desktop.sync.events`` (the same classes the CLI writes them with).

    A line that is not a valid event is logged and listed in :attr:`bad_lines` (the sync goes
    on); when the process ends without a valid end, the last bad line says why.

    Signals:
        started(int): how many brands will be synced.
        brand(dict): one brand finished (``brand``, ``name``, ``result``, ``detail``,
            ``attempts``, ``done``, ``total``).
        finished(dict): the end: ``ok`` (bool), ``counts`` ({result: n}), ``cancelled``
            (brands a cancel left pending), ``done`` (brands that finished) and, when the
            sync could not run or the process died, ``error`` (a message for the user).
    """

    started = Signal(int)
    brand = Signal(dict)
    finished = Signal(dict)

    def __init__(self, command: Sequence[str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._command = list(command)
        self._buffer = b""
        self._end: SyncEnded | SyncFailed | None = None
        #: Lines the process wrote that are not valid events: "line N: what is wrong".
        self.bad_lines: list[str] = []
        self._lines = 0
        self._stderr = b""
        self._cancel_asked = False
        self._done = 0  # brands that finished (not cancelled)
        self.process = QProcess(self)
        # A cancel asked for while the process is still starting is sent once it runs.
        self.process.started.connect(self._send_cancel_if_asked)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.readyReadStandardError.connect(self._read_errors)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_error)

    def start(self, slugs: Sequence[str] = (), *, verify: bool = False, jobs: int = 32) -> None:
        args = [*self._command[1:], "sync", "--jsonl", "--jobs", str(jobs)]
        if verify:
            args.append("--verify")
        args += ["--", *slugs]
        self.process.start(self._command[0], args)

    def cancel(self) -> None:
        """Ask the sync to stop at once: no brand is started any more, and brands talking to
        their vendor are given a second before they are reported cancelled (they stay
        pending). Works at any moment, even before the process runs."""
        self._cancel_asked = True
        self._send_cancel_if_asked()

    @property
    def cancel_asked(self) -> bool:
        return self._cancel_asked

    def _send_cancel_if_asked(self) -> None:
        if self._cancel_asked and self.process.state() is QProcess.ProcessState.Running:
            self.process.write(b"cancel\n")

    def running(self) -> bool:
        return self.process.state() is not QProcess.ProcessState.NotRunning

    def stop(self, msecs: int = 15_000) -> None:
        """Cancel and wait for the process (closing the window); kill it if it will not end."""
        if not self.running():
            return
        self.cancel()
        if not self.process.waitForFinished(msecs):
            self.process.kill()
            self.process.waitForFinished(2000)

    def _read(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            self._lines += 1
            if not raw.strip():
                continue
            try:
                event = SyncEvent.from_json(raw)
            except BadEvent as exc:
                problem = f"line {self._lines}: {exc}"
                log.warning("the sync process wrote a line that is not a sync event: %s", problem)
                self.bad_lines.append(problem)
                continue
            if isinstance(event, SyncStarted):
                self.started.emit(event.total)
            elif isinstance(event, BrandSynced):
                if event.result != "cancelled":
                    self._done += 1
                self.brand.emit(event.to_dict())
            elif isinstance(event, SyncEnded | SyncFailed):
                self._end = event

    def _read_errors(self) -> None:
        self._stderr = (self._stderr + bytes(self.process.readAllStandardError().data()))[-4000:]

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read()
        end = self._end
        ended = end if isinstance(end, SyncEnded) else SyncEnded(False, {}, 0)
        result: dict[str, Any] = {
            "ok": ended.ok,
            "counts": ended.counts,
            "cancelled": ended.cancelled,
            "done": self._done,
        }
        if isinstance(end, SyncFailed):
            result["error"] = end.message
        elif end is None:
            last = self._stderr.decode("utf-8", "replace").strip().splitlines()
            why = last[-1] if last else f"exit status {code}"
            if self.bad_lines:
                why = f"it wrote what is not a sync event ({self.bad_lines[-1]})"
            if status is QProcess.ExitStatus.CrashExit:
                why = "the sync process crashed"
            result["error"] = f"The sync stopped unexpectedly: {why}"
        self.finished.emit(result)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error is QProcess.ProcessError.FailedToStart:
            why = f"Could not start the sync: {self._command[0]}"
            self.finished.emit({"ok": False, "counts": {}, "cancelled": 0, "done": 0, "error": why})
