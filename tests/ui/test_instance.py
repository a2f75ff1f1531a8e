"""One window per home: a second start brings the first window forward and exits."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDir
from PySide6.QtNetwork import QLocalSocket

from cmr_desktop.ui.instance import SingleInstance, server_name
from tests.conftest import BIN


def _env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CMR_HOME": str(home),
        "QT_QPA_PLATFORM": "offscreen",
        "CMR_DESKTOP_ERRORS": "stderr",
        "PYTHON_KEYRING_BACKEND": "cmr_desktop.testing.keyring.InMemoryKeyring",
    }


def _answers(name: str) -> bool:
    probe = QLocalSocket()
    probe.connectToServer(name)
    ok = probe.waitForConnected(200)
    probe.abort()
    return ok


def test_a_second_start_for_the_same_home_brings_the_first_forward_and_exits(
    qtbot: Any, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    first = SingleInstance(home)
    assert first.acquire()
    with qtbot.waitSignal(first.activated, timeout=30_000):
        second = subprocess.Popen(
            [str(BIN / "cmr-desktop")],
            env=_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, (out, err)
    assert "already has" in out
    assert str(home) in out
    assert "Traceback" not in err
    assert not (home / "cmr.sqlite3").exists()  # the second start never opened the home
    first.release()


def test_two_real_app_processes_for_one_home_leave_one_window(qtbot: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    name = server_name(home.resolve())
    first = subprocess.Popen(
        [str(BIN / "cmr-desktop")], env=_env(home), stderr=subprocess.PIPE, text=True
    )
    try:
        qtbot.waitUntil(lambda: _answers(name) or first.poll() is not None, timeout=60_000)
        assert first.poll() is None, first.stderr.read() if first.stderr else ""
        second = subprocess.run(
            [str(BIN / "cmr-desktop")],
            env=_env(home),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 0, second
        assert "already has" in second.stdout
        assert first.poll() is None  # the first window is still open
    finally:
        first.terminate()  # SIGTERM quits the app as its Quit does
        _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert "Traceback" not in err


def test_another_home_is_not_another_window_of_the_same_home(tmp_path: Path, qapp: Any) -> None:
    one, two = SingleInstance(tmp_path / "one"), SingleInstance(tmp_path / "two")
    assert one.name != two.name
    assert one.acquire()
    assert two.acquire()
    one.release()
    two.release()


def test_a_socket_left_by_a_crashed_process_does_not_stop_the_next_start(
    tmp_path: Path, qapp: Any
) -> None:
    home = tmp_path / "home"
    instance = SingleInstance(home)
    stale = Path(QDir.tempPath()) / instance.name
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(stale))  # a socket file nobody listens on, as after a crash
    leftover.close()
    assert stale.exists()
    try:
        assert instance.acquire()
        assert instance.server is not None
        assert instance.server.isListening()
        alive = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        alive.connect(str(stale))  # the new process answers on the name now
        alive.close()
    finally:
        instance.release()
        stale.unlink(missing_ok=True)
