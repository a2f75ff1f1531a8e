"""Where windows open: fully on the screen that holds the main window, at the size and
place the user left them.

:func:`secondary_window` is what My Terms, the journal, the data map and the notices use:
Esc closes the window; its geometry is kept in QSettings (``<key>/geometry``, as the main
window keeps ``main/geometry``); and whenever it is shown it is put back on its main
window's screen, inside that screen's available area (a saved place on a screen that is
gone, or a window larger than a small screen, is moved and shrunk to fit). A window shown
for the first time is centred on its main window.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QByteArray, QEvent, QObject, QPoint, QRect, QSettings, QSize, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QScreen
from PySide6.QtWidgets import QWidget

#: A window may take at most this share of its screen's available area at first.
SCREEN_SHARE = 0.9


def screen_of(widget: QWidget | None) -> QScreen:
    """The screen that holds ``widget`` (its centre), else the primary screen."""
    if widget is not None:
        found = QGuiApplication.screenAt(widget.frameGeometry().center())
        if found is not None:
            return found
        if widget.screen() is not None:
            return widget.screen()
    return QGuiApplication.primaryScreen()


def fitted_size(wanted: QSize, screen: QScreen) -> QSize:
    """``wanted``, shrunk to a share of ``screen``'s available area if it is larger."""
    area = screen.availableGeometry()
    return QSize(
        min(wanted.width(), int(area.width() * SCREEN_SHARE)),
        min(wanted.height(), int(area.height() * SCREEN_SHARE)),
    )


def clamp(frame: QRect, area: QRect) -> QRect:
    """``frame`` moved (and shrunk if need be) to lie fully inside ``area``."""
    width, height = min(frame.width(), area.width()), min(frame.height(), area.height())
    x = min(max(frame.x(), area.x()), area.x() + area.width() - width)
    y = min(max(frame.y(), area.y()), area.y() + area.height() - height)
    return QRect(x, y, width, height)


def _frame_margins(window: QWidget, anchor: QWidget | None) -> tuple[int, int, int, int]:
    """left, top, right, bottom of the window manager's frame (the anchor's while the
    window has not been shown yet: its own are not known before that)."""
    for w in (window, anchor):
        if w is not None and w.isVisible():
            frame, inner = w.frameGeometry(), w.geometry()
            margins = (
                inner.x() - frame.x(),
                inner.y() - frame.y(),
                frame.right() - inner.right(),
                frame.bottom() - inner.bottom(),
            )
            if any(margins) or w is window:
                return margins
    return (0, 0, 0, 0)


def place_on_screen(window: QWidget, anchor: QWidget | None, centre: bool) -> None:
    """Put ``window`` fully inside the available area of ``anchor``'s screen (centred on
    ``anchor`` if ``centre``), frame included."""
    screen = screen_of(anchor)
    area = screen.availableGeometry()
    left, top, right, bottom = _frame_margins(window, anchor)
    inner = window.geometry()
    size = QSize(
        min(inner.width(), area.width() - left - right),
        min(inner.height(), area.height() - top - bottom),
    )
    if centre or QGuiApplication.screenAt(window.frameGeometry().center()) is not screen:
        middle = (anchor.frameGeometry() if anchor is not None else area).center()
        origin = QPoint(middle.x() - size.width() // 2, middle.y() - size.height() // 2)
    else:
        origin = inner.topLeft()
    frame = QRect(
        origin.x() - left,
        origin.y() - top,
        size.width() + left + right,
        size.height() + top + bottom,
    )
    frame = clamp(frame, area)
    target = QRect(
        frame.x() + left,
        frame.y() + top,
        frame.width() - left - right,
        frame.height() - top - bottom,
    )
    if target != inner:
        window.setGeometry(target)


class SecondaryWindow(QObject):
    """Keeps one secondary window on screen and its geometry in ``settings`` (see the
    module docstring). Made by :func:`secondary_window`."""

    def __init__(self, window: QWidget, key: str, settings: QSettings | None) -> None:
        super().__init__(window)
        self.window, self.key, self.settings = window, key, settings
        saved = settings.value(f"{key}/geometry") if settings is not None else None
        self._saved = saved if isinstance(saved, QByteArray) else None
        self._shown = False
        window.installEventFilter(self)

    def anchor(self) -> QWidget | None:
        parent = self.window.parentWidget()
        return parent.window() if parent is not None else None

    def save(self) -> None:
        if self.settings is not None and self._shown:
            self.settings.setValue(f"{self.key}/geometry", self.window.saveGeometry())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not shiboken6.isValid(self.window):  # hidden as it is deleted: nothing to keep
            return False
        kind = event.type()
        if kind == QEvent.Type.Show:
            first = not self._shown
            restored = False
            if first and self._saved is not None:
                restored = self.window.restoreGeometry(self._saved)
            if first and not restored:
                self.window.resize(fitted_size(self.window.size(), screen_of(self.anchor())))
            place_on_screen(self.window, self.anchor(), centre=first and not restored)
            self._shown = True
        elif kind in (QEvent.Type.Move, QEvent.Type.Resize, QEvent.Type.Hide) and (
            self.window.isVisible() or kind == QEvent.Type.Hide
        ):
            self.save()
        return False


def close_on_escape(window: QWidget) -> QAction:
    """Esc closes ``window`` (an open drop-down still takes Esc first)."""
    close = QAction("Close", window)
    close.setShortcut(QKeySequence(Qt.Key.Key_Escape))
    close.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    close.triggered.connect(window.close)
    window.addAction(close)
    return close


def secondary_window(
    window: QWidget, key: str, settings: QSettings | None = None
) -> SecondaryWindow:
    """Esc closes ``window``; it opens on its main window's screen, where it was left."""
    close_on_escape(window)
    return SecondaryWindow(window, key, settings)


def default_size(wanted: QSize, near: QWidget | None = None) -> QSize:
    """The size a main window starts at: ``wanted``, or less on a small screen."""
    return fitted_size(wanted, screen_of(near))
