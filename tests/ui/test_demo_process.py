"""The demo's simulated vendors run in their own process and end with the app."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
from pathlib import Path
from typing import Any

import requests

from cmr_desktop.testing.tethered import TetheredSimulator
from tests.conftest import BIN


def _ended(pid: int, timeout: float = 30) -> bool:
    """Wait until the process ends (a pidfd becomes readable), up to ``timeout`` seconds."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)


def _start_demo(tmp_path: Path) -> tuple[subprocess.Popen[str], int, str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    app = subprocess.Popen(
        [str(BIN / "cmr-desktop"), "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert app.stdout is not None
    line = app.stdout.readline()
    found = re.match(r"Demo vendors at (\S+) \(process (\d+)\)", line)
    assert found, (line, app.stderr.read() if app.stderr else "")
    return app, int(found[2]), found[1]


def test_the_demo_vendors_do_not_outlive_a_killed_app(tmp_path: Path) -> None:
    app, sim_pid, root = _start_demo(tmp_path)
    assert sim_pid != app.pid
    assert requests.get(f"{root}/admin/vendors", timeout=10).ok  # a real, separate server
    app.kill()  # no chance to clean up: the vendors' process sees its input end
    app.communicate(timeout=60)
    assert _ended(sim_pid)


def test_the_demo_vendors_stop_when_the_app_quits(tmp_path: Path) -> None:
    app, sim_pid, _ = _start_demo(tmp_path)
    app.send_signal(signal.SIGTERM)  # quits like File > Quit
    _, err = app.communicate(timeout=120)
    assert app.returncode == 0, err
    assert "Traceback" not in err
    assert "Fatal Python error" not in err  # the vendors' process (its stderr is ours) too
    assert _ended(sim_pid)


def test_a_tethered_simulator_stops_when_its_input_ends(qapp: Any) -> None:
    sim = TetheredSimulator(2, seed=1)
    try:
        assert requests.get(sim.base_url(sim.vendor_ids[0]) + "/catalog", timeout=10).status_code
        assert sim._proc.stdin is not None
        sim._proc.stdin.close()  # as when this process dies
        assert _ended(sim.pid)
    finally:
        sim.stop()
