"""No plugin code on the GUI thread: a connector that hangs or raises leaves the add-brand
wizard working (the plugin is blocked on an Event the test holds)."""

from __future__ import annotations

import importlib.metadata as md
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer

from cmr_desktop.connectors import registry
from cmr_desktop.services import Services
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.wizard import LOOKING, AddBrandWizard
from tests.conftest import open_services


@dataclass
class Gate:
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


GATES: dict[str, Gate] = {}

HANGS_ON_IMPORT = """
import sys
gate = sys.modules[{test!r}].GATES[{name!r}]
gate.entered.set()
gate.release.wait(20)
raise RuntimeError("this plugin is broken")
"""

HANGS_OR_RAISES_IN_CHECK = """
import sys
from cmr_desktop.connectors.api import API_VERSION, ConnectorInfo
from cmr_desktop.connectors.manual import ManualConnector
gate = sys.modules[{test!r}].GATES[{name!r}]

class Plugin(ManualConnector):
    info = ConnectorInfo(id={name!r}, name="Slow Vendor", version="1.0", api_version=API_VERSION)
    remote = True

    def check(self):
        gate.entered.set()
        gate.release.wait(20)
        raise {error}("the plugin gave up")
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``plugin(code)``: install a connector plugin (an entry point to a module in
    tmp_path) for the services opened afterwards; returns its id and gate."""
    monkeypatch.syspath_prepend(str(tmp_path))
    made: list[Gate] = []

    def install(code: str, **fmt: str) -> tuple[str, Gate]:
        name = f"slow_{uuid.uuid4().hex[:8]}"
        gate = GATES[name] = Gate()
        made.append(gate)
        (tmp_path / f"{name}.py").write_text(code.format(test=__name__, name=name, **fmt))
        real = registry.Registry.discover.__func__  # type: ignore[attr-defined]

        def discover(cls: Any, entry_points: Any = None) -> Any:
            eps = [*md.entry_points(group=registry.GROUP)]
            eps.append(md.EntryPoint(name, f"{name}:Plugin", registry.GROUP))
            return real(cls, eps)

        monkeypatch.setattr(registry.Registry, "discover", classmethod(discover))
        return name, gate

    yield install
    for gate in made:
        gate.release.set()  # let a blocked plugin thread end


@pytest.fixture
def open_wizard(qtbot: Any, tmp_path: Path) -> Iterator[Any]:
    opened: list[tuple[Services, Runner]] = []

    def make() -> AddBrandWizard:
        services, runner = open_services(tmp_path / "home"), Runner()
        opened.append((services, runner))
        wizard = AddBrandWizard(services, runner)
        qtbot.addWidget(wizard)
        wizard.show()
        return wizard

    yield make
    for services, runner in opened:
        runner.wait()
        services.store.close()


def _event_loop_runs(qtbot: Any) -> None:
    ticked: list[int] = []
    QTimer.singleShot(0, lambda: ticked.append(1))
    qtbot.waitUntil(lambda: bool(ticked), timeout=3000)


def test_a_plugin_that_hangs_while_it_is_imported_leaves_the_wizard_working(
    qtbot: Any, plugin: Any, open_wizard: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AddBrandWizard, "discovery_slow_ms", 50)
    name, gate = plugin(HANGS_ON_IMPORT)
    wizard = open_wizard()  # returns at once: the plugin is imported in the background
    how = wizard.how
    assert how.status.text() == LOOKING
    assert not how.ready
    qtbot.waitUntil(gate.entered.is_set, timeout=10_000)
    _event_loop_runs(qtbot)  # while the plugin is blocked
    wizard.who.name.setText("Some Brand")
    wizard.next()
    assert wizard.currentPage() is how
    assert not how.isComplete()  # nothing to choose yet: Next stays off
    assert not how.connector.isEnabled()
    qtbot.waitUntil(lambda: "may be stuck" in how.status.text(), timeout=5000)
    gate.release.set()
    qtbot.waitUntil(lambda: how.ready, timeout=10_000)
    offered = {how.connector.itemData(i) for i in range(how.connector.count())}
    assert {"manual", "openpref"} <= offered
    assert name not in offered
    assert f"{name} (broken" in how.status.text()
    assert "this plugin is broken" in how.status.text()
    assert how.isComplete()


def test_a_connector_whose_check_hangs_times_out_and_the_wizard_keeps_working(
    qtbot: Any, plugin: Any, open_wizard: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AddBrandWizard, "test_timeout_ms", 200)
    name, gate = plugin(HANGS_OR_RAISES_IN_CHECK, error="RuntimeError")
    wizard = open_wizard()
    qtbot.waitUntil(lambda: wizard.how.ready, timeout=10_000)
    wizard.who.name.setText("Slow Brand")
    wizard.next()
    how = wizard.how
    how.connector.setCurrentIndex(how.connector.findData(name))
    wizard.next()
    check = wizard.check
    assert check.test.isEnabled()
    check.test.click()
    assert check.result.text() == "Asking the vendor…"
    qtbot.waitUntil(gate.entered.is_set, timeout=10_000)
    _event_loop_runs(qtbot)  # while the connector is blocked
    qtbot.waitUntil(lambda: "no answer within 0.2 s" in check.result.text(), timeout=5000)
    assert check.test.isEnabled()  # try again, or go back
    wizard.back()
    assert wizard.currentPage() is how
    assert wizard.plugins.pending() == 0


@pytest.mark.parametrize("error", ["RuntimeError", "SystemExit"])
def test_a_connector_that_raises_in_its_check_is_reported_not_fatal(
    qtbot: Any, plugin: Any, open_wizard: Any, error: str
) -> None:
    name, gate = plugin(HANGS_OR_RAISES_IN_CHECK, error=error)
    gate.release.set()  # no waiting: it raises at once
    wizard = open_wizard()
    qtbot.waitUntil(lambda: wizard.how.ready, timeout=10_000)
    wizard.who.name.setText("Broken Brand")
    wizard.next()
    wizard.how.connector.setCurrentIndex(wizard.how.connector.findData(name))
    wizard.next()
    wizard.check.test.click()
    qtbot.waitUntil(
        lambda: wizard.check.result.text().startswith("The connection failed"), timeout=10_000
    )
    assert wizard.isVisible()


def test_the_e_mail_connector_is_not_offered_by_the_wizard_but_by_find_my_brands(
    tmp_path: Path,
) -> None:
    from cmr_desktop.ui.wizard import connector_choices

    services = open_services(tmp_path / "home")
    try:
        installed = {e.id for e in services.connections.connector_entries()}
        offered = {c.id for c in connector_choices(services).usable}
    finally:
        services.close()
    assert "email" in installed
    assert "email" not in offered
    assert {"manual", "openpref"} <= offered
