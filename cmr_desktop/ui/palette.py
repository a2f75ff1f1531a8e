"""Palettes and contrast: the dark palette the app is checked in, and WCAG 2.x contrast.

The contrast formulas are WCAG 2.2's own (relative luminance of sRGB, ratio
``(L1 + 0.05) / (L2 + 0.05)``): ten lines, so no library.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette

#: WCAG 2.2 minimum contrast: normal text (1.4.3, AA) and graphics (1.4.11).
TEXT_CONTRAST = 4.5
GRAPHICS_CONTRAST = 3.0


def _channel(value: float) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: QColor) -> float:
    """The relative luminance of an opaque colour (0: black, 1: white)."""
    return (
        0.2126 * _channel(color.red())
        + 0.7152 * _channel(color.green())
        + 0.0722 * _channel(color.blue())
    )


def contrast(a: QColor, b: QColor) -> float:
    """The WCAG contrast ratio of two opaque colours (1 to 21)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def over(color: QColor, background: QColor) -> QColor:
    """``color`` (which may be translucent) painted over an opaque ``background``."""
    a = color.alphaF()
    return QColor(
        round(color.red() * a + background.red() * (1 - a)),
        round(color.green() * a + background.green() * (1 - a)),
        round(color.blue() * a + background.blue() * (1 - a)),
    )


def readable_on(background: QColor, *candidates: QColor) -> QColor:
    """The first candidate with text contrast on ``background``, else black or white."""
    for color in candidates:
        if contrast(color, background) >= TEXT_CONTRAST:
            return color
    black, white = QColor(0, 0, 0), QColor(255, 255, 255)
    return black if contrast(black, background) >= contrast(white, background) else white


def dark_palette() -> QPalette:
    """A dark palette (the screenshots' and the contrast tests' second theme)."""
    p = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, "#2b2b2b"),
        (QPalette.ColorRole.WindowText, "#e6e6e6"),
        (QPalette.ColorRole.Base, "#1f1f1f"),
        (QPalette.ColorRole.AlternateBase, "#2a2a2a"),
        (QPalette.ColorRole.Text, "#e6e6e6"),
        (QPalette.ColorRole.Button, "#353535"),
        (QPalette.ColorRole.ButtonText, "#e6e6e6"),
        (QPalette.ColorRole.Highlight, "#2f65ca"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.ToolTipBase, "#353535"),
        (QPalette.ColorRole.ToolTipText, "#e6e6e6"),
        (QPalette.ColorRole.PlaceholderText, "#a0a0a0"),
    ):
        p.setColor(role, QColor(color))
    # Greyed out (what the vendor does not offer) must still look greyed out in the dark.
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    return p


def readable(palette: QPalette) -> QPalette:
    """``palette`` with a selection colour that selected text reads on (4.5:1): Fusion's
    light default has white on #308cc6, 3.7:1. The highlight is darkened (or lightened,
    under dark highlighted text) only as far as needed; every other colour is kept."""
    result = QPalette(palette)
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        text = palette.color(group, QPalette.ColorRole.HighlightedText)
        highlight = palette.color(group, QPalette.ColorRole.Highlight)
        darken = luminance(text) > 0.5
        for _ in range(40):
            if contrast(text, highlight) >= TEXT_CONTRAST:
                break
            highlight = highlight.darker(106) if darken else highlight.lighter(106)
        result.setColor(group, QPalette.ColorRole.Highlight, highlight)
    return result


def dimmed_text(palette: QPalette, role: QPalette.ColorRole = QPalette.ColorRole.Window) -> QColor:
    """A colour for text drawn dimmed that still reads (4.5:1) on ``role``: the disabled
    text colour where it does, else the text colour moved towards it as far as it can go."""
    background = palette.color(role)
    normal = palette.color(QPalette.ColorRole.WindowText)
    dim = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
    for step in range(10, -1, -1):
        t = step / 10
        mixed = QColor(
            round(normal.red() + (dim.red() - normal.red()) * t),
            round(normal.green() + (dim.green() - normal.green()) * t),
            round(normal.blue() + (dim.blue() - normal.blue()) * t),
        )
        if contrast(mixed, background) >= TEXT_CONTRAST:
            return mixed
    return normal


def use_readable_palette() -> None:
    """Give the application a readable selection colour if its palette lacks one (only
    then: an application palette set explicitly no longer follows the desktop's)."""
    app = QGuiApplication.instance()
    if not isinstance(app, QGuiApplication):
        return
    palette = QGuiApplication.palette()
    fixed = readable(palette)
    if fixed != palette:
        QGuiApplication.setPalette(fixed)
