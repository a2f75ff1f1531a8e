"""The vendor simulator in a child process that cannot outlive its parent (the demo).

:class:`TetheredSimulator` is a :class:`~cmr_desktop.testing.simulator.SimulatorProcess`
whose child holds the read end of a pipe from the parent as its stdin. When the parent ends
(quits, crashes or is killed), the pipe closes, the child reads end-of-file and stops as on
SIGTERM. ``python -m cmr_desktop.testing.tethered ARGS`` runs ``cmr-vendor-sim ARGS`` that way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from typing import Any

from cmr_desktop.testing.simulator import Knobs, SimulatorProcess
from cmr_desktop.testing.simulator import main as simulator_main


def _stop_at_end_of_input(fd: int) -> None:
    # The raw descriptor, not sys.stdin: a daemon thread blocked inside a buffered reader
    # makes the interpreter abort at shutdown ("could not acquire lock ... <stdin>").
    try:
        while os.read(fd, 4096):
            pass
    except OSError:
        pass
    # The simulator stops cleanly on SIGTERM (and dies on it before it has a handler).
    os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    """``cmr-vendor-sim`` that stops when its standard input ends."""
    fd = os.dup(sys.stdin.fileno())
    threading.Thread(
        target=_stop_at_end_of_input, args=(fd,), name="parent-watch", daemon=True
    ).start()
    return simulator_main(argv)


class TetheredSimulator(SimulatorProcess):
    """A simulator process that stops when this process ends, however it ends.

    Args:
        vendors: how many vendors to serve.
        seed: the simulator's seed.
        knobs: knobs for every vendor at start (latency, error rate, ...).
    """

    def __init__(self, vendors: int = 3, *, seed: int = 0, knobs: Knobs | None = None) -> None:
        import requests

        args = [sys.executable, "-m", "cmr_desktop.testing.tethered", "--port", "0"]
        args += ["--vendors", str(vendors), "--seed", str(seed)]
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,  # its end of file is our end
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self._proc.stdout is not None
        first = self._proc.stdout.readline()
        if " at " not in first:
            self._proc.kill()
            self._proc.wait()
            raise RuntimeError(f"cmr-vendor-sim did not start: {first!r}")
        self.root = first.split(" at ")[1].split()[0]
        self._vendors: dict[str, tuple[str, str]] = {}
        for _ in range(vendors):
            vid, url, token = self._proc.stdout.readline().split()[:3]
            self._vendors[vid] = (url, token.removeprefix("token="))
        self._admin = requests.Session()
        if knobs is not None:
            for vid in self._vendors:
                self.set_knobs(vid, **knobs.to_dict())

    @property
    def pid(self) -> int:
        return self._proc.pid

    def stop(self) -> None:
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()  # the child stops on its own; SIGTERM as well, at once
        super().stop()

    def __enter__(self) -> TetheredSimulator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
