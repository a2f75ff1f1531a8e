"""Shared fixtures. Qt runs offscreen; secrets go to an in-memory keyring; no real home."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Before anything can create a QApplication (pytest-qt's qapp fixture).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring
import pytest

from cmr_desktop.domain.clock import FixedClock
from cmr_desktop.secrets import SecretStore
from cmr_desktop.services import Services
from cmr_desktop.storage import Store
from cmr_desktop.testing.keyring import InMemoryKeyring

pytest_plugins = ["pytester"]

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[InMemoryKeyring]:
    """Never touch the real keyring from tests."""
    previous = keyring.get_keyring()
    kr = InMemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(previous)


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
        raise OSError(f"tests may not reach the network ({host}); use a local server")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only 127.0.0.1 and friends: a test that reaches further is a bug."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may write to the user's real data folder."""
    monkeypatch.setenv("CMR_HOME", str(tmp_path / "default-home"))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def open_services(home: Path, clock: FixedClock | None = None) -> Services:
    return Services(Store(home), SecretStore(), clock=clock or FixedClock(NOW), app_version="test")


@pytest.fixture
def services(tmp_path: Path, clock: FixedClock) -> Iterator[Services]:
    svc = open_services(tmp_path / "home", clock)
    yield svc
    svc.store.close()


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> Any:
        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, out={self.out[:500]!r}, err={self.err[:500]!r})"


@pytest.fixture
def cmr(tmp_path: Path) -> Any:
    """Run the installed ``cmr`` console script as a separate process on a test home."""
    home = tmp_path / "cli-home"

    def run(
        *args: str,
        stdin: str | None = None,
        home_dir: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> CliResult:
        full_env = {
            **os.environ,
            "CMR_HOME": str(home_dir or home),
            "PYTHON_KEYRING_BACKEND": "cmr_desktop.testing.keyring.InMemoryKeyring",
            "CMR_TEST_KEYRING_FILE": str(tmp_path / "test-keyring.json"),
            **(env or {}),
        }
        proc = subprocess.run(
            [str(BIN / "cmr"), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=60,
            check=False,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    run.home = home  # type: ignore[attr-defined]
    return run
