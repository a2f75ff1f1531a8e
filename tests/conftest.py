"""Shared fixtures. Qt runs offscreen; secrets go to an in-memory keyring; no real home.

Also the two ways the suite runs (README, "Two commands"):

- Hypothesis profiles, chosen with the environment variable ``HYPOTHESIS_PROFILE``:
  ``fast`` (the default, for ``./scripts/check`` on a developer's machine: few examples,
  random, remembered in ``.hypothesis/``) and ``thorough`` (what ``.ci/run`` selects: many
  examples, the same ones on every run, and a failing one printed as a reproduction blob).
- Tests marked ``slow`` run only with ``--run-slow`` or ``CMR_RUN_SLOW=1`` (``.ci/run``
  sets it); otherwise they are skipped, and listed as skipped.
"""

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
from hypothesis import HealthCheck, settings

from cmr_desktop.domain.clock import FixedClock
from cmr_desktop.secrets import SecretStore
from cmr_desktop.services import Services
from cmr_desktop.storage import Store
from cmr_desktop.testing.keyring import InMemoryKeyring

pytest_plugins = ["pytester"]

# A test's own @settings(max_examples=...) wins over the profile: prefer leaving it out.
# Both start from Hypothesis's "default" profile, not from whatever is loaded (with a CI
# variable set, Hypothesis has already loaded its own "ci" profile).
_BASE = settings.get_profile("default")
settings.register_profile("fast", _BASE, max_examples=25, deadline=None)
settings.register_profile(
    "thorough",
    _BASE,
    max_examples=300,
    deadline=None,  # a loaded CI machine must not turn a slow example into a failure
    derandomize=True,  # the same examples every run: CI is red only for a real bug
    database=None,
    print_blob=True,  # a failure prints @reproduce_failure(...) to replay it locally
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILES = ("fast", "thorough")
RUN_SLOW_ENV = "CMR_RUN_SLOW"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help=f"also run tests marked slow (as does {RUN_SLOW_ENV}=1; CI runs them)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Before any test module is imported: their @settings(...) take the profile as parent.
    profile = os.environ.get("HYPOTHESIS_PROFILE") or "fast"
    if profile not in PROFILES:
        raise pytest.UsageError(
            f"HYPOTHESIS_PROFILE={profile!r} is not a profile of this suite "
            f"(known: {', '.join(PROFILES)})"
        )
    settings.load_profile(profile)


def _run_slow(config: pytest.Config) -> bool:
    return bool(config.getoption("--run-slow")) or os.environ.get(RUN_SLOW_ENV, "") == "1"


def pytest_report_header(config: pytest.Config) -> str:
    slow = "run" if _run_slow(config) else f"skipped (--run-slow or {RUN_SLOW_ENV}=1 runs them)"
    return f"hypothesis profile: {settings.get_current_profile_name()}; slow tests: {slow}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _run_slow(config):
        return
    skip = pytest.mark.skip(reason=f"slow: run with --run-slow or {RUN_SLOW_ENV}=1 (CI does)")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


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
