"""The window's end of ``cmr sync --jsonl``: lines are read as the typed sync events."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest

from cmr_desktop.sync.engine import Result
from cmr_desktop.sync.events import BrandSynced, SyncEnded, SyncStarted
from cmr_desktop.ui.sync_process import SyncProcess


def _printing(*lines: str) -> list[str]:
    """A stand-in for ``cmr``: a process that writes ``lines`` and exits."""
    script = "import sys\nfor line in sys.argv[1].split('\\n'):\n    print(line, flush=True)\n"
    # SyncProcess appends "sync --jsonl ...": the script reads only its first argument.
    return [sys.executable, "-c", script, "\n".join(lines)]


def _run(qtbot: Any, command: list[str]) -> tuple[SyncProcess, dict[str, Any], list[Any]]:
    sync = SyncProcess(command)
    brands: list[Any] = []
    sync.brand.connect(brands.append)
    with qtbot.waitSignal(sync.finished, timeout=20_000) as finished:
        sync.start()
    sync.process.waitForFinished(5000)
    return sync, finished.args[0], brands


def test_a_garbled_line_is_reported_and_the_sync_is_read_to_its_end(
    qtbot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    synced = BrandSynced(1, 1, "corner-shop", "Corner Shop", Result.SYNCED, "", 1)
    command = _printing(
        SyncStarted(1).to_json(),
        '{"event": "brand", "done": "one"',  # cut off mid-line
        '{"event": "brand", "done": "1", "total": 1}',  # ill-typed
        synced.to_json(),
        SyncEnded(True, {"synced": 1}, 0).to_json(),
    )
    with caplog.at_level(logging.WARNING, logger="cmr_desktop.ui.sync_process"):
        sync, result, brands = _run(qtbot, command)
    assert result == {"ok": True, "counts": {"synced": 1}, "cancelled": 0, "done": 1}
    assert brands == [synced.to_dict()]
    assert [p.split(":")[0] for p in sync.bad_lines] == ["line 2", "line 3"]
    assert "not JSON" in sync.bad_lines[0]
    assert (
        "'brand' event: 'brand', 'name', 'result', 'detail', 'attempts' missing"
        in (sync.bad_lines[1])
    )
    assert "not a sync event: line 2: not JSON" in caplog.text


def test_a_sync_process_that_writes_only_garbage_ends_with_an_error_naming_it(
    qtbot: Any,
) -> None:
    _sync, result, brands = _run(qtbot, _printing("Traceback? no: plain text"))
    assert brands == []
    assert result["ok"] is False
    assert result["error"].startswith("The sync stopped unexpectedly: it wrote what is not")
    assert "line 1: not JSON" in result["error"]
