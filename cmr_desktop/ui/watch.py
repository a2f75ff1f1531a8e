"""The window follows changes other processes make to its home (``cmr`` in a terminal).

A QFileSystemWatcher on the database, its ``-wal`` file and the home folder says that
something was written; after a short pause (a burst of commits is one refresh) a check on a
pool thread says whether it was someone else (:mod:`cmr_desktop.storage.changes`); if so,
:attr:`HomeWatcher.changed` fires and the window reloads the way it does after a sync. A
slow timer checks as well, for file systems that do not report changes.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from cmr_desktop.services import Services
from cmr_desktop.services.changes import ChangeLog, watch_changes
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.runner import Runner

DEBOUNCE_MS = 250
FALLBACK_MS = 5000


class HomeWatcher(QObject):
    """Fires :attr:`changed` when another process changed the home.

    Args:
        services: the open home.
        runner: where the (file-only) check runs.
        busy: while it returns True, outside changes are not reported (the window's own
            sync child writes them, and the window reloads when it ends).

    Signals:
        changed(): another process changed the home; reload.
    """

    changed = Signal()

    def __init__(
        self,
        services: Services,
        runner: Runner,
        parent: QObject | None = None,
        *,
        busy: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__(parent)
        self.runner, self.busy = runner, busy
        self.log: ChangeLog = watch_changes(services)
        self._home = str(services.store.home)
        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(self._touched)
        self.watcher.directoryChanged.connect(self._touched)
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.check)
        self._fallback = QTimer(self, interval=FALLBACK_MS)
        self._fallback.timeout.connect(self.check)
        self._fallback.start()
        self._watch()

    def _watch(self) -> None:
        # A file that is deleted or replaced drops out of the watch: add it (back) when the
        # folder changes (the -wal file comes and goes with connections).
        wanted = [self._home, *(str(p) for p in self.log.paths)]
        present = set(self.watcher.files()) | set(self.watcher.directories())
        missing = [p for p in wanted if p not in present]
        if missing:
            self.watcher.addPaths(missing)  # paths that do not exist yet are skipped

    def _touched(self, _path: str) -> None:
        self._watch()
        self._debounce.start()

    def check(self) -> None:
        """Ask (off the GUI thread) whether another process changed the home."""
        log = self.log
        self.runner.run(log.poll, self._checked, lambda _exc: None, latest="home-changes")

    def _checked(self, outside: bool | None) -> None:
        if outside is None:  # one of our writes was running: look again after it
            self._debounce.start()
        elif outside and not self.busy():
            self.changed.emit()

    def stop(self) -> None:
        self._debounce.stop()
        self._fallback.stop()
        self.log.close()


def watch_window(window: MainWindow) -> HomeWatcher:
    """Make ``window`` reload when another process changed its home."""
    watcher = HomeWatcher(window.services, window.runner, window, busy=window.is_syncing)
    watcher.changed.connect(window.reload)
    return watcher
