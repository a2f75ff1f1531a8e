"""Where data lives (ARCHITECTURE 3.1).

``--home DIR`` (CLI) wins over ``CMR_HOME`` (environment), which wins over the platform's
user data folder (``platformdirs.user_data_dir("cmr-desktop")``).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "cmr-desktop"
ENV_HOME = "CMR_HOME"


def default_home() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The home folder to use.

    Args:
        explicit: a folder given on the command line, if any.
    """
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser().resolve()
    return default_home()


def resources_dir() -> Path:
    """The packaged resources (schemas, demo data, ...)."""
    return Path(__file__).with_name("resources")
