"""Run ``cmr-desktop --demo`` in this process with a stand-in for build_demo, look at its
window while the demo is prepared, and print what was seen as one JSON line.

tests/ui/test_startup.py runs this in a child process: the app's ``main()`` is made to run
once per process (it selects the demo's keyring, quits the application's event loop, lets
go of its runner), so a test must not run it inside the shared test process.

Usage: python -m tests.ui.demo_probe slow|broken
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from cmr_desktop.app import build_services
from cmr_desktop.ui import app as ui_app
from cmr_desktop.ui.main_window import MainWindow

TIMEOUT = 60.0


def wait_until(condition: Callable[[], object], what: str) -> None:
    """Run the event loop until ``condition()`` holds (checked every 20 ms), or fail."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {TIMEOUT:.0f} s for {what}")
        loop = QEventLoop()
        QTimer.singleShot(20, loop.quit)
        loop.exec()


def probe_slow(window: MainWindow, seen: dict[str, Any], building: threading.Event,
               release: threading.Event) -> None:  # fmt: skip
    wait_until(building.is_set, "the demo to start building")
    seen["visible while building"] = window.isVisible()
    seen["page while building"] = window.pages.currentWidget() is window.pages.preparing
    seen["preparing text"] = window.pages.preparing.title.text()
    seen["rows while building"] = window.model.rowCount()
    ready: list[bool] = []
    window.pages.ready.connect(lambda: ready.append(True))
    release.set()
    wait_until(lambda: ready, "pages.ready")
    wait_until(lambda: window.model.rowCount() == 1, "the demo's brand in the table")
    seen["page after"] = window.pages.currentWidget() is window.pages.brands


def probe_broken(window: MainWindow, seen: dict[str, Any]) -> None:
    page = window.pages.preparing
    wait_until(lambda: page.title.text() != "Preparing the demo…", "the failure to show")
    seen["title"] = page.title.text()
    seen["text"] = page.text.text()
    seen["welcome"] = window.pages.currentWidget() is window.pages.welcome


def main(kind: str) -> int:
    app = QApplication(sys.argv[:1])
    seen: dict[str, Any] = {}
    building, release = threading.Event(), threading.Event()

    def slow_build(services: Any, simulator: Any) -> None:
        building.set()
        if not release.wait(TIMEOUT):
            raise TimeoutError("never released")
        assert simulator.vendor_ids  # the vendors' process is up
        services.brands.add_brand("Demo Shop", category="retail")

    def broken_build(services: Any, simulator: Any) -> None:
        raise RuntimeError("the demo directory is missing")

    ui_app.build_demo = slow_build if kind == "slow" else broken_build  # type: ignore[assignment]

    def run_probe() -> None:
        try:
            [window] = [
                w
                for w in app.topLevelWidgets()
                if isinstance(w, MainWindow) and "demo" in w.windowTitle() and w.isVisible()
            ]
            if kind == "slow":
                probe_slow(window, seen, building, release)
            else:
                probe_broken(window, seen)
        except BaseException as exc:  # reported in the JSON (never a hang)
            seen["error"] = repr(exc)
        finally:
            release.set()
            QTimer.singleShot(0, app.quit)

    QTimer.singleShot(0, run_probe)
    seen["status"] = ui_app.main(["--demo"], build_services)
    print(json.dumps(seen), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
