"""Untrusted text (from vendors, imported files, the directory, plugins) in Qt widgets.

Labels are set to ``Qt.PlainText``. Tooltips have no such switch: Qt renders a tooltip as
rich text whenever it *looks* like markup, so ``<img src=...>`` in a brand name would be
interpreted. :func:`tooltip` escapes the text and wraps it so that Qt shows it verbatim.
"""

from __future__ import annotations

import html

from cmr_desktop.domain.preferences import FieldKey, FieldValue, Grant, PreferenceSet, QuietHours
from cmr_desktop.domain.vocabulary import Decision, Frequency


def tooltip(text: str) -> str:
    """``text`` as a tooltip that is always shown as plain text (line breaks kept)."""
    if not text:
        return ""
    return f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>"


def describe_value(value: FieldValue) -> str:
    """A field's value in the customer's words."""
    if value is None:
        return "their default"
    if isinstance(value, bool):
        return "allowed" if value else "refused"
    if isinstance(value, Frequency):
        return value.label
    if isinstance(value, Grant):
        if value.decision is Decision.DENY:
            return "refused"
        return f"allowed until {value.expires:%Y-%m-%d}" if value.expires else "allowed"
    if isinstance(value, QuietHours):
        return f"quiet {value.start:%H:%M}-{value.end:%H:%M}"
    return str(value)


def vendor_note(key: FieldKey, decided: FieldValue, vendor: PreferenceSet | None) -> str:
    """Beside an undecided field: "undecided — their setting: allowed" (the vendor's value,
    never the customer's decision). Empty when the field is decided, or when the vendor has
    never reported its state (never synced, or handled by hand), or holds nothing for it
    (the partly checked box says "undecided" on its own)."""
    if decided is not None or vendor is None:
        return ""
    value = vendor.get(key)
    if value is None:
        return ""
    return f"undecided — their setting: {describe_value(value)}"


def plural(count: int, one: str, many: str | None = None) -> str:
    """``"1 brand"``, ``"3 brands"``: a count with the word in its right form."""
    return f"{count} {one if count == 1 else (many or one + 's')}"
