"""Before Qt starts: can its X11 platform plugin load, and if not, which package is missing?

On a minimal Debian or Ubuntu, Qt's xcb plugin (``libqxcb.so``) needs system libraries that
are not installed by default (``libxcb-cursor0``, ``libxcb-icccm4``, ``libxcb-keysyms1``,
...). Qt then aborts with "Could not load the Qt platform plugin "xcb"" and a list of
plugins, which does not say what to install. This module says it: it asks ``ldd`` which
libraries the plugin cannot find and names their Debian/Ubuntu packages.

Plain Python, no Qt import: it must run when Qt cannot. ``python -m cmr_desktop.ui.qtlibs``
prints the message and exits with 1 when a library is missing (``scripts/demo`` runs it).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

#: Shared libraries the xcb plugin (and Qt's GUI libraries) need, and the Debian/Ubuntu
#: package that provides each.
PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libEGL.so.1": "libegl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libpng16.so.16": "libpng16-16",
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")

Run = Callable[[Sequence[str]], str]


def xcb_plugin() -> Path | None:
    """PySide6's xcb platform plugin, found without importing PySide6 (None: not there)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        plugin = Path(root) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def missing_libraries(ldd_output: str) -> list[str]:
    """The libraries ``ldd`` reports as "not found", in its order, each once."""
    found: list[str] = []
    for line in ldd_output.splitlines():
        match = _NOT_FOUND.match(line)
        if match and match[1] not in found:
            found.append(match[1])
    return found


def message(missing: Sequence[str]) -> str:
    """What to tell the user about ``missing`` libraries (one paragraph, then the command)."""
    packages: list[str] = []
    unknown: list[str] = []
    for lib in missing:
        package = PACKAGES.get(lib)
        if package is None:
            unknown.append(lib)
        elif package not in packages:
            packages.append(package)
    lines = [
        "CMR Desktop cannot open its window: Qt's X11 platform plugin (xcb) needs "
        f"{'a system library' if len(missing) == 1 else 'system libraries'} that "
        f"{'is' if len(missing) == 1 else 'are'} not installed: {', '.join(missing)}."
    ]
    if packages:
        lines.append(
            "On Debian or Ubuntu, install "
            f"{'it' if len(missing) == 1 and not unknown else 'them'} with:\n"
            f"    sudo apt-get install {' '.join(packages)}"
        )
    if unknown:
        lines.append(
            f"For {', '.join(unknown)}, find the package with: apt-file search {unknown[0]}"
        )
    lines.append("Then start CMR Desktop again.")
    return "\n".join(lines)


def _ldd(args: Sequence[str]) -> str:
    return subprocess.run(
        list(args), capture_output=True, text=True, timeout=30, check=False
    ).stdout


def check(plugin: Path | None = None, run: Run = _ldd) -> str | None:
    """The message about missing libraries of Qt's xcb plugin, or None when nothing is
    missing (or it cannot be told: no plugin, no ``ldd``)."""
    plugin = plugin or xcb_plugin()
    if plugin is None:
        return None
    try:
        output = run(["ldd", str(plugin)])
    except (OSError, subprocess.SubprocessError):
        return None
    missing = missing_libraries(output)
    return message(missing) if missing else None


def uses_xcb(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Whether Qt would start with its xcb plugin here (Linux, not another platform asked
    for, and not a Wayland session where Qt prefers Wayland)."""
    if not sys.platform.startswith("linux"):
        return False
    asked = environ.get("QT_QPA_PLATFORM", "")
    if asked:
        return asked.split(":")[0].split(";")[0] == "xcb"
    return not (environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland")


def quick_check() -> str | None:
    """At the app's start: None at once when the plugin loads (one dlopen; Qt loads the same
    libraries right after), else the message naming what to install."""
    if not uses_xcb():
        return None
    plugin = xcb_plugin()
    if plugin is None:
        return None
    import ctypes

    try:
        ctypes.CDLL(str(plugin))
    except OSError:
        return check(plugin) or None
    return None


def main() -> int:
    """``python -m cmr_desktop.ui.qtlibs``: 1 (after saying what to install) when Qt's xcb
    plugin cannot load here, else 0."""
    problem = check() if uses_xcb() else None
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
