"""A home that cannot be opened: a dialog says what is wrong and what to do; exit status 2."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from cmr_desktop.app import build_services
from cmr_desktop.ui import app as ui_app
from cmr_desktop.ui.errors import error_box
from tests.conftest import BIN


def _corrupt(home: Path) -> Path:
    home.mkdir()
    (home / "cmr.sqlite3").write_bytes(bytes(range(256)) * 40)  # not a database
    return home


def _a_file(home: Path) -> Path:
    home.write_text("not a folder\n")
    return home


def _newer(home: Path) -> Path:
    home.mkdir()
    con = sqlite3.connect(home / "cmr.sqlite3")
    con.execute("CREATE TABLE alembic_version (version_num TEXT)")
    con.execute("INSERT INTO alembic_version VALUES ('9999')")
    con.commit()
    con.close()
    return home


def _unreadable(home: Path) -> Path:
    # A folder where the database file should be: unreadable even for root (chmod is not).
    (home / "cmr.sqlite3").mkdir(parents=True)
    return home


BROKEN = {
    "random bytes": (_corrupt, "is not an SQLite database, or it is damaged"),
    "a file": (_a_file, "it is a file, not a folder"),
    "newer": (_newer, "written by a newer CMR Desktop"),
    "unreadable": (_unreadable, "is a folder, not a database"),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_a_home_that_cannot_be_opened_is_explained_in_a_dialog_and_exits_with_2(
    qapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    make, reason = BROKEN[kind]
    home = make(tmp_path / "home")
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(
        ui_app, "show_error", lambda title, text, parent=None: shown.append((title, text))
    )
    assert ui_app.main(["--home", str(home)], build_services) == 2
    [(title, text)] = shown
    assert title == "CMR Desktop cannot start"
    assert str(home) in text
    assert reason in text
    assert "another folder with --home" in text
    if kind != "a file":
        assert os.path.exists(home / "cmr.sqlite3")  # nothing was moved or deleted


def test_the_error_dialog_shows_plain_text(qapp: Any) -> None:
    box = error_box("CMR Desktop cannot start", "<b>/tmp/a&b</b> is not a database")
    assert box.textFormat() is Qt.TextFormat.PlainText
    assert box.text() == "<b>/tmp/a&b</b> is not a database"
    box.deleteLater()


@pytest.mark.parametrize("kind", ["random bytes", "a file"])
def test_the_real_app_on_a_broken_home_exits_with_2_and_no_traceback(
    tmp_path: Path, kind: str
) -> None:
    make, reason = BROKEN[kind]
    home = make(tmp_path / "home")
    env = {
        **os.environ,
        "CMR_HOME": str(home),
        "QT_QPA_PLATFORM": "offscreen",
        "CMR_DESKTOP_ERRORS": "stderr",  # the dialog's text is printed instead of shown
    }
    proc = subprocess.run(
        [str(BIN / "cmr-desktop")], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"cmr-desktop: CMR Desktop cannot open the data folder {home}")
    assert reason in line


def _run_demo(tmp_path: Path, kind: str) -> dict[str, Any]:
    """Run ``cmr-desktop --demo`` with a stand-in build_demo (``kind``: slow or broken) in a
    child process (tests/ui/demo_probe.py), and return what its probe saw."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.ui.demo_probe", kind],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    seen: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "error" not in seen, (seen, proc.stderr)
    assert seen.pop("status") == 0, proc.stderr
    return seen


def test_the_demo_window_is_visible_and_preparing_before_its_brands_are_built(
    tmp_path: Path,
) -> None:
    seen = _run_demo(tmp_path, "slow")
    assert seen == {
        "visible while building": True,
        "page while building": True,
        "preparing text": "Preparing the demo…",
        "rows while building": 0,
        "page after": True,
    }


def test_a_demo_that_cannot_be_prepared_says_so_in_its_window(tmp_path: Path) -> None:
    seen = _run_demo(tmp_path, "broken")
    assert seen["title"] == "The demo could not be prepared"
    assert "the demo directory is missing" in seen["text"]
    assert seen["welcome"] is False  # not "you have no brands" for a demo that failed
