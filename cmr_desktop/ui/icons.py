"""Icons for channels and statuses, from the SVGs in ``resources/icons`` (CC0, see there).

Pixmaps are made on the GUI thread on first use and cached: the table asks for them on
every paint. A set of allowed channels becomes one strip of small icons (at most 2**7
different strips, so the cache stays small).
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from cmr_desktop.paths import resources_dir

SIZE = 16
GAP = 3


def _path(name: str) -> str:
    return str(resources_dir() / "icons" / f"{name}.svg")


@cache
def icon(name: str) -> QIcon:
    """``channel-email``, ``status-drift`` ... (an empty icon if there is no such file)."""
    return QIcon(_path(name))


def status_icon(status: str) -> QIcon:
    return icon(f"status-{status}")


def channel_icon(channel: str) -> QIcon:
    return icon(f"channel-{channel}")


@cache
def channel_strip(channels: tuple[str, ...], ratio: float = 1.0) -> QPixmap:
    """One pixmap with a small icon per allowed channel, in the given order."""
    width = max(1, len(channels) * (SIZE + GAP) - GAP)
    pixmap = QPixmap(round(width * ratio), round(SIZE * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    for n, channel in enumerate(channels):
        QSvgRenderer(_path(f"channel-{channel}")).render(
            painter, QRectF(n * (SIZE + GAP), 0, SIZE, SIZE)
        )
    painter.end()
    return pixmap
