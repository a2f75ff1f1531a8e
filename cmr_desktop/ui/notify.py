"""Notices: permissions ending within 7 days, drift found by a sync, failed syncs; and an
optional periodic check of every vendor (off by default).

Notices go to the system tray when there is one, else to the status bar; either way they
are kept in :attr:`Notifier.history` (the window's View > Notices lists them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from cmr_desktop.services import Services
from cmr_desktop.ui.icons import icon
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.text import plural

EXPIRY_DAYS = 7
#: Choices for the periodic check, in hours (0: off).
VERIFY_CHOICES = (0, 1, 6, 24)
_HOUR_MS = 3_600_000


class Notifier(QObject):
    """Raises notices and runs the periodic check.

    Args:
        verify: starts a check of every vendor (the window's "Check all vendors").
        show_window: brings the main window forward (tray icon clicked).

    Signals:
        notice(str, str): a title and a text (also sent to the tray or status bar).
    """

    notice = Signal(str, str)

    def __init__(
        self,
        services: Services,
        runner: Runner,
        settings: QSettings,
        verify: Callable[[], None],
        show_window: Callable[[], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.services, self.runner, self.settings = services, runner, settings
        self.verify = verify
        self.history: list[tuple[str, str]] = []
        self._told_expiring: set[tuple[str, str, str]] = set()
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(icon("app"), self)
            self.tray.setToolTip("CMR Desktop")
            self.tray.activated.connect(lambda _reason: show_window())
            self.tray.show()
        self.expiry_timer = QTimer(self)
        self.expiry_timer.setInterval(6 * _HOUR_MS)
        self.expiry_timer.timeout.connect(self.check_expiring)
        self.expiry_timer.start()
        self.verify_timer = QTimer(self)
        self.verify_timer.timeout.connect(self.verify)
        self.set_verify_hours(self.verify_hours())

    # --- notices --------------------------------------------------------------------------

    def tell(self, title: str, text: str) -> None:
        self.history.append((title, text))
        if self.tray is not None:
            self.tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 15_000)
        self.notice.emit(title, text)

    def check_expiring(self) -> None:
        """Tell about permissions that end within 7 days (each one once per session)."""
        services = self.services
        self.runner.run(
            lambda: services.preferences.expiring_grants(EXPIRY_DAYS),
            self._expiring,
            lambda _e: None,
        )

    def _expiring(self, found: list[Any]) -> None:
        new = [f for f in found if (f[0], f[2], f[3].isoformat()) not in self._told_expiring]
        if not new:
            return
        self._told_expiring |= {(f[0], f[2], f[3].isoformat()) for f in new}
        lines = [f"{name}: {what}, last day {ends:%Y-%m-%d}" for _, name, what, ends in new[:5]]
        more = f" (and {len(new) - 5} more)" if len(new) > 5 else ""
        self.tell(
            f"{plural(len(new), 'permission')} {'ends' if len(new) == 1 else 'end'} "
            f"within {EXPIRY_DAYS} days",
            "; ".join(lines) + more,
        )

    def sync_finished(self, outcomes: Sequence[dict[str, Any]]) -> None:
        """Tell about drift and failures after a sync."""
        drift = [o.get("name", o.get("brand")) for o in outcomes if o.get("result") == "drift"]
        failed = [o.get("name", o.get("brand")) for o in outcomes if o.get("result") == "failed"]
        if drift:
            names = ", ".join(map(str, drift[:5])) + ("…" if len(drift) > 5 else "")
            self.tell(
                f"{plural(len(drift), 'brand')} had changed your choices",
                f"{names}. Your choices were put back; see Sync results to decide.",
            )
        if failed:
            names = ", ".join(map(str, failed[:5])) + ("…" if len(failed) > 5 else "")
            self.tell(
                f"{plural(len(failed), 'brand')} could not be synced", f"{names}. See Sync results."
            )

    # --- periodic check -------------------------------------------------------------------

    def verify_hours(self) -> int:
        value = self.settings.value("notify/verify_hours", 0)
        try:
            hours = int(str(value))
        except ValueError:
            return 0
        return hours if hours in VERIFY_CHOICES else 0

    def set_verify_hours(self, hours: int) -> None:
        """Check every vendor every ``hours`` hours (0: never). Kept in the settings."""
        self.settings.setValue("notify/verify_hours", hours)
        if hours:
            self.verify_timer.start(hours * _HOUR_MS)
        else:
            self.verify_timer.stop()

    def verify_menu(self, parent: QWidget) -> QMenu:
        """A menu to choose the periodic check."""
        menu = QMenu("Check vendors &automatically", parent)
        group = QActionGroup(menu)
        current = self.verify_hours()
        for hours in VERIFY_CHOICES:
            text = "Never" if not hours else f"Every {plural(hours, 'hour')}"
            action = QAction(text, menu, checkable=True)
            action.setChecked(hours == current)
            action.triggered.connect(lambda _=False, h=hours: self.set_verify_hours(h))
            group.addAction(action)
            menu.addAction(action)
        return menu


def app_icon() -> QIcon:
    return icon("app")
