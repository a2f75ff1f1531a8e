"""The Runner: results come back on the GUI thread; writes in order; stale reads dropped."""

from __future__ import annotations

import threading
from typing import Any

from cmr_desktop.ui.runner import Runner


def test_only_the_latest_of_a_named_read_calls_back(qtbot: Any) -> None:
    runner = Runner()
    release = threading.Event()
    seen: list[str] = []

    def slow() -> str:
        release.wait(5)
        return "old"

    runner.run(slow, seen.append, lambda e: seen.append(f"error {e}"), latest="x")
    runner.run(lambda: "new", seen.append, lambda e: seen.append(f"error {e}"), latest="x")
    qtbot.waitUntil(lambda: seen == ["new"], timeout=3000)
    release.set()
    qtbot.waitUntil(lambda: not runner.pending(), timeout=3000)
    assert seen == ["new"]  # the older read finished last and was dropped
    runner.wait()


def test_writes_run_one_at_a_time_in_order(qtbot: Any) -> None:
    runner = Runner()
    order: list[int] = []
    lock = threading.Lock()
    running = [0, 0]  # now, most at once

    def write(n: int) -> int:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        order.append(n)
        with lock:
            running[0] -= 1
        return n

    done: list[int] = []
    for n in range(50):
        runner.run(lambda n=n: write(n), done.append, lambda e: None, write=True)
    qtbot.waitUntil(lambda: len(done) == 50, timeout=5000)
    assert order == list(range(50))
    assert done == list(range(50))
    assert running[1] == 1
    runner.wait()
