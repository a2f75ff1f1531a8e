"""Before Qt starts: a missing system library of Qt's xcb plugin is named with its package."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from cmr_desktop import app as composition
from cmr_desktop.ui import qtlibs

# What `ldd libqxcb.so` prints on a minimal Debian 12 (abridged; the three libraries that
# were missing on a real one).
MINIMAL_DEBIAN = """\
\tlinux-vdso.so.1 (0x00007ffd5a3f2000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x1)
\tlibQt6Gui.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6Gui.so.6 (0x2)
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x3)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x4)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x5)
\tlibxcb-icccm.so.4 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f53b282f000)
"""


def test_the_missing_libraries_are_read_from_ldd_once_each_in_order() -> None:
    assert qtlibs.missing_libraries(MINIMAL_DEBIAN) == [
        "libxcb-cursor.so.0",
        "libxcb-icccm.so.4",
        "libxcb-keysyms.so.1",
    ]


def test_the_message_names_the_debian_packages_to_install(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def fake_ldd(args: Sequence[str]) -> str:
        calls.append(list(args))
        return MINIMAL_DEBIAN

    plugin = tmp_path / "libqxcb.so"
    text = qtlibs.check(plugin, run=fake_ldd)
    assert calls == [["ldd", str(plugin)]]
    assert text is not None
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4, libxcb-keysyms.so.1" in text
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in text
    assert "Traceback" not in text


def test_an_unknown_library_is_named_with_how_to_find_its_package() -> None:
    text = qtlibs.message(["libxcb-cursor.so.0", "libweird.so.3"])
    assert "sudo apt-get install libxcb-cursor0" in text
    assert "apt-file search libweird.so.3" in text


def test_nothing_is_said_when_every_library_is_there(tmp_path: Path) -> None:
    complete = MINIMAL_DEBIAN.replace("not found", "/lib/x86_64-linux-gnu/x.so (0x9)")
    assert qtlibs.check(tmp_path / "libqxcb.so", run=lambda _args: complete) is None


def test_no_ldd_means_no_verdict(tmp_path: Path) -> None:
    def no_ldd(_args: Sequence[str]) -> str:
        raise FileNotFoundError("ldd")

    assert qtlibs.check(tmp_path / "libqxcb.so", run=no_ldd) is None


@pytest.mark.parametrize(
    ("environ", "xcb"),
    [
        ({}, True),
        ({"QT_QPA_PLATFORM": "offscreen"}, False),
        ({"QT_QPA_PLATFORM": "xcb"}, True),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, False),
        ({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, False),
    ],
)
def test_the_check_applies_only_where_qt_would_use_xcb(
    environ: dict[str, str], xcb: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    assert qtlibs.uses_xcb(environ) is xcb


def test_the_plugin_of_this_install_loads_here() -> None:
    plugin = qtlibs.xcb_plugin()
    assert plugin is not None
    assert plugin.name == "libqxcb.so"
    assert qtlibs.check(plugin) is None  # this machine has the libraries


def test_the_app_says_what_to_install_instead_of_starting_qt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(qtlibs, "quick_check", lambda: qtlibs.message(["libxcb-cursor.so.0"]))
    assert composition.gui_main(["--demo"]) == 1
    err = capsys.readouterr().err
    assert "sudo apt-get install libxcb-cursor0" in err


def test_the_command_line_check_exits_with_0_here() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cmr_desktop.ui.qtlibs"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
