"""Has another process changed the home? (The window refreshes when it has.)"""

from __future__ import annotations

from cmr_desktop.services.base import Context
from cmr_desktop.storage.changes import ChangeLog

__all__ = ["ChangeLog", "watch_changes"]


def watch_changes(services: Context) -> ChangeLog:
    """Start telling this process's own commits from other processes' on the open home.

    ``ChangeLog.paths`` are the files to watch; ``poll()`` (off the GUI thread: it looks at
    the files) says whether someone else changed them since the last poll.
    """
    return ChangeLog(services.store)
