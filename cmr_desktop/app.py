"""Composition root: the one place that wires concrete classes together."""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cmr_desktop import __version__

if TYPE_CHECKING:
    from cmr_desktop.domain.clock import Clock
    from cmr_desktop.services import Services


def build_services(home: str | Path | None = None, *, clock: Clock | None = None) -> Services:
    """Open the home folder (applying migrations) and return the use cases over it."""
    from cmr_desktop.paths import resolve_home
    from cmr_desktop.secrets import SecretStore
    from cmr_desktop.services import Services
    from cmr_desktop.storage import Store

    store = Store(resolve_home(home))
    return Services(store, SecretStore(), clock=clock, app_version=__version__)


def cli_main(argv: Sequence[str] | None = None) -> int:
    """``cmr``: the command line, wired to the real home, keyring and clock."""
    from cmr_desktop.cli.main import main

    return main(argv, build_services)


def gui_main(argv: Sequence[str] | None = None) -> int:
    """``cmr-desktop``: the desktop app (``--demo``: a throw-away home with simulated vendors).

    Returns 1 after naming the package to install when Qt's X11 plugin cannot load (Qt
    itself would abort with a list of plugins instead)."""
    from cmr_desktop.ui import qtlibs

    problem = qtlibs.quick_check()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    # Start-up makes ~140,000 objects that all stay (modules, classes, the window): the
    # cyclic collector walking them again and again as they come is 4% of the start-up
    # imports' instructions (callgrind: 2.80 G with it, 2.68 G without). The window turns
    # it back on once it is on the screen (ui/app.py, after_first_paint), and in any case
    # when the app ends.
    gc.disable()
    try:
        # The services (SQLAlchemy) before Qt: PySide6's import hook reads the source of
        # every module imported after it.
        import cmr_desktop.services  # noqa: F401
        from cmr_desktop.ui.app import main

        return main(argv, build_services)
    finally:
        gc.enable()
