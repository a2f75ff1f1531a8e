"""The app starts with the cyclic garbage collector off and turns it on once its window is
on the screen (cmr_desktop.app.gui_main, ui.app.after_first_paint)."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator

import pytest

from cmr_desktop.ui.app import after_first_paint


@pytest.fixture
def collector_off() -> Iterator[None]:
    was = gc.isenabled()
    gc.disable()
    yield
    gc.unfreeze()
    if was:
        gc.enable()


@pytest.mark.usefixtures("collector_off")
def test_the_first_paint_turns_the_collector_on_and_freezes_what_start_up_made() -> None:
    after_first_paint()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0


def test_a_window_that_never_shows_still_leaves_the_collector_on() -> None:
    """gui_main turns it off for start-up; when main() returns without a window having
    shown (here a stand-in main), it is on again."""
    code = (
        "import gc, sys\n"
        "from cmr_desktop import app\n"
        "import cmr_desktop.ui.app as ui\n"
        "seen = []\n"
        "def main(argv, build):\n"
        "    seen.append(gc.isenabled())\n"
        "    return 0\n"
        "ui.main = main\n"
        "app.gui_main([])\n"
        "print(seen, gc.isenabled())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["[False]", "True"]
