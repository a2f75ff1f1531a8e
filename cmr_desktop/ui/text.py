"""Untrusted text (from vendors, imported files, the directory, plugins) in Qt widgets.

Labels are set to ``Qt.PlainText``. Tooltips have no such switch: Qt renders a tooltip as
rich text whenever it *looks* like markup, so ``<img src=...>`` in a brand name would be
interpreted. :func:`tooltip` escapes the text and wraps it so that Qt shows it verbatim.
"""

from __future__ import annotations

import html


def tooltip(text: str) -> str:
    """``text`` as a tooltip that is always shown as plain text (line breaks kept)."""
    if not text:
        return ""
    return f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>"
