"""UI test fixtures: a modal dialog in a test is a bug (it would hang offscreen)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog

from cmr_desktop.domain import Channel
from cmr_desktop.services import Services
from cmr_desktop.testing.keyring import InMemoryKeyring, use_shared_keyring
from cmr_desktop.testing.simulator import Knobs, SimulatorProcess, VendorSimulator, default_vendors
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.runner import Runner
from tests.conftest import open_services


@pytest.fixture(autouse=True)
def memory_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemoryKeyring]:
    """The window syncs in a child process (``cmr sync --jsonl``): share throw-away secrets
    with it through a file in the test's folder (overrides the in-memory-only fixture)."""
    previous = keyring.get_keyring()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "")  # restored (with the next) after the test
    monkeypatch.setenv("CMR_TEST_KEYRING_FILE", "")
    yield use_shared_keyring(tmp_path / "test-keyring.json")
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def _no_modal_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Any) -> int:
        raise AssertionError(f"a modal dialog was opened: {self!r}")

    monkeypatch.setattr(QDialog, "exec", refuse)


@pytest.fixture
def sim() -> Iterator[VendorSimulator]:
    with VendorSimulator(default_vendors(3), seed=4, knobs=Knobs(latency_ms=20)) as s:
        yield s


def connect_brands(svc: Services, sim: VendorSimulator | SimulatorProcess, n: int) -> None:
    for i in range(n):
        vendor = sim.vendor_ids[i % 3]
        sim.add_subject(vendor, f"s-{i}")
        svc.brands.add_brand(
            f"Shop {i:03d}",
            category=("retail", "finance")[i % 2],
            connector="openpref",
            connector_config={"base_url": sim.base_url(vendor), "subject": f"s-{i}"},
            secrets={"token": sim.token(vendor)},
        )
        svc.preferences.update_preferences(
            f"shop-{i:03d}", lambda p: p.with_channel(Channel.EMAIL, False)
        )


@pytest.fixture
def window(qtbot: Any, tmp_path: Path, sim: VendorSimulator) -> Iterator[MainWindow]:
    svc = open_services(tmp_path / "home")
    connect_brands(svc, sim, 12)
    svc.brands.add_brand("Corner Shop", category="food")
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    win = MainWindow(svc, Runner(), settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.model.rowCount() == 13, timeout=5000)
    yield win
    settle(qtbot, win.runner)
    svc.store.close()


def settle(qtbot: Any, runner: Runner) -> None:
    """Let every job of ``runner`` finish *and* call back before the window goes: a callback
    delivered after the window was deleted would fail in whichever test runs next."""

    def settled() -> bool:
        runner.wait()
        return not runner.pending()

    qtbot.waitUntil(settled, timeout=30_000)
