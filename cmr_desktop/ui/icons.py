"""Icons for channels and statuses, from the SVGs in ``resources/icons`` (CC0, see there).

Pixmaps are made on the GUI thread on first use and cached: the table asks for them on
every paint. A set of allowed channels becomes one strip of small icons (at most 2**7
different strips, so the cache stays small).

Icons in item views carry explicit *Selected* pixmaps drawn in the palette's
HighlightedText colour: left to the style, a selected icon is its normal pixmap tinted
towards the highlight, and on the highlight that is nearly invisible. The channel icons
say on their own what a brand may do, so their normal colour keeps graphics contrast
(WCAG 1.4.11) on the palette's base: the drawn colour where it does, the text colour where
it does not (a dark palette).
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QIcon,
    QImage,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtSvg import QSvgRenderer

from cmr_desktop.paths import resources_dir
from cmr_desktop.ui.palette import GRAPHICS_CONTRAST, contrast, luminance

SIZE = 16
GAP = 3
#: The colour the channel SVGs are drawn in.
CHANNEL_COLOR = QColor("#4a6a8a")


def _path(name: str) -> str:
    return str(resources_dir() / "icons" / f"{name}.svg")


@cache
def icon(name: str) -> QIcon:
    """``channel-email``, ``status-drift`` ... (an empty icon if there is no such file)."""
    return QIcon(_path(name))


def channel_icon(channel: str) -> QIcon:
    return icon(f"channel-{channel}")


def strip_size(count: int) -> QSize:
    """The logical size of a strip of ``count`` channel icons."""
    return QSize(max(1, count * (SIZE + GAP) - GAP), SIZE)


@cache
def _image(names: tuple[str, ...], ratio: float, rgba: int | None) -> QImage:
    """SVGs side by side, in their own colours (``rgba`` None) or all in one colour."""
    size = strip_size(len(names))
    image = QImage(
        round(size.width() * ratio), round(SIZE * ratio), QImage.Format.Format_ARGB32_Premultiplied
    )
    image.setDevicePixelRatio(ratio)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    for n, name in enumerate(names):
        QSvgRenderer(_path(name)).render(painter, QRectF(n * (SIZE + GAP), 0, SIZE, SIZE))
    if rgba is not None:  # keep the shapes' alpha, take the colour
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        painter.fillRect(image.rect(), QColor.fromRgba(rgba))
    painter.end()
    return image


def _pixmap(names: tuple[str, ...], ratio: float, color: QColor | None) -> QPixmap:
    pixmap = QPixmap.fromImage(_image(names, ratio, None if color is None else color.rgba()))
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


def _ratio() -> float:
    app = QGuiApplication.instance()
    return app.devicePixelRatio() if isinstance(app, QGuiApplication) else 1.0


def _palette(palette: QPalette | None) -> QPalette:
    return palette if palette is not None else QGuiApplication.palette()


def channel_color(palette: QPalette | None = None) -> QColor:
    """The colour channel icons are drawn in, unselected: their own where it stands out
    from the view's base (both row colours), else the palette's text colour."""
    p = _palette(palette)
    bases = (p.color(QPalette.ColorRole.Base), p.color(QPalette.ColorRole.AlternateBase))
    if all(contrast(CHANNEL_COLOR, b) >= GRAPHICS_CONTRAST for b in bases):
        return CHANNEL_COLOR
    return p.color(QPalette.ColorRole.Text)


def _two_modes(
    names: tuple[str, ...], ratio: float, normal: QColor | None, palette: QPalette
) -> QIcon:
    result = QIcon()
    result.addPixmap(_pixmap(names, ratio, normal), QIcon.Mode.Normal)
    selected = palette.color(QPalette.ColorRole.HighlightedText)
    result.addPixmap(_pixmap(names, ratio, selected), QIcon.Mode.Selected)
    return result


@cache
def _strip_icon(channels: tuple[str, ...], ratio: float, normal: int, selected: int) -> QIcon:
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor.fromRgba(selected))
    names = tuple(f"channel-{c}" for c in channels)
    return _two_modes(names, ratio, QColor.fromRgba(normal), palette)


def channel_strip_icon(
    channels: tuple[str, ...], ratio: float | None = None, palette: QPalette | None = None
) -> QIcon:
    """A brand's allowed channels as one icon, with a Selected pixmap that stays visible."""
    p = _palette(palette)
    return _strip_icon(
        channels,
        ratio or _ratio(),
        channel_color(p).rgba(),
        p.color(QPalette.ColorRole.HighlightedText).rgba(),
    )


def channel_strip(channels: tuple[str, ...], ratio: float = 1.0) -> QPixmap:
    """One pixmap with a small icon per allowed channel, in the given order."""
    return _pixmap(tuple(f"channel-{c}" for c in channels), ratio, channel_color())


@cache
def _knockout(name: str, ratio: float, rgba: int) -> QImage:
    """A status icon for a selected row: its shape in ``rgba`` (the highlighted text),
    its white mark cut out so that the highlight shows through. A plain tint would fill
    the mark; the style's own tint leaves the shape nearly invisible on the highlight."""
    source = _image((name,), ratio, None).convertToFormat(QImage.Format.Format_ARGB32)
    result = QImage(source.size(), QImage.Format.Format_ARGB32)
    result.fill(Qt.GlobalColor.transparent)
    ink = QColor.fromRgba(rgba)
    for y in range(source.height()):
        for x in range(source.width()):
            pixel = source.pixelColor(x, y)
            if pixel.alpha() == 0:
                continue
            # The mark is white, the shapes are darker (luminance 0.13 to 0.35).
            whiteness = min(1.0, max(0.0, (luminance(pixel) - 0.45) / 0.55))
            out = QColor(ink)
            out.setAlphaF(pixel.alphaF() * (1 - whiteness))
            result.setPixelColor(x, y, out)
    result.setDevicePixelRatio(ratio)
    return result


@cache
def _status_icon(status: str, ratio: float, selected: int) -> QIcon:
    name = f"status-{status}"
    result = QIcon()
    result.addPixmap(_pixmap((name,), ratio, None), QIcon.Mode.Normal)
    selected_pixmap = QPixmap.fromImage(_knockout(name, ratio, selected))
    selected_pixmap.setDevicePixelRatio(ratio)
    result.addPixmap(selected_pixmap, QIcon.Mode.Selected)
    return result


def status_icon(status: str, ratio: float | None = None, palette: QPalette | None = None) -> QIcon:
    """A status's icon in its own colours; selected, in highlighted text (mark cut out)."""
    p = _palette(palette)
    return _status_icon(
        status, ratio or _ratio(), p.color(QPalette.ColorRole.HighlightedText).rgba()
    )
