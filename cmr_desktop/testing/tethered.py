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
from typing import ClassVar

from cmr_desktop.testing.simulator import SimulatorProcess


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
    from cmr_desktop.testing.simulator.cli import main as simulator_main

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

    module: ClassVar[str] = "cmr_desktop.testing.tethered"
    stdin: ClassVar[int | None] = subprocess.PIPE  # its end of file is our end


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
