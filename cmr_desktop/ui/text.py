"""Untrusted text (from vendors, imported files, the directory, plugins) in Qt widgets.

Labels are set to ``Qt.PlainText``. Tooltips have no such switch: Qt renders a tooltip as
rich text whenever it *looks* like markup, so ``<img src=...>`` in a brand name would be
interpreted. :func:`tooltip` escapes the text and wraps it so that Qt shows it verbatim.
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import QCoreApplication

from cmr_desktop.domain import words
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


#: English forms of the plural sources that the "(s)" rule cannot make (a verb agrees).
ENGLISH_FORMS: dict[str, tuple[str, str]] = {
    "%n permission(s) end(s) within 30 days.": (
        "%n permission ends within 30 days.",
        "%n permissions end within 30 days.",
    ),
}


def _english(source: str, n: int) -> str:
    """The English one/many form of a Qt-style plural source ("%n brand(s)")."""
    forms = ENGLISH_FORMS.get(source)
    if forms is not None:
        text = forms[0 if n == 1 else 1]
    else:
        text = re.sub(r"\(s\)", "" if n == 1 else "s", source)
    return text.replace("%n", str(n))


def translate(context: str, source: str, disambiguation: str | None = None, n: int = -1) -> str:
    """Qt's ``QCoreApplication.translate``, with English plurals when nothing translates.

    Named and called exactly like Qt's function, so ``pyside6-lupdate`` finds every string
    and a translation file (with Qt's plural forms) can follow. Sources with a count use
    Qt's convention: ``translate("Files", "Exported %n brand(s).", None, n)``. Qt replaces
    ``%n`` but, with no translator installed, keeps the "(s)": then the English form is
    made here ("1 brand", "3 brands"; :data:`ENGLISH_FORMS` for sentences whose verb
    agrees). Any installed translator that knows the string wins.
    """
    text = QCoreApplication.translate(context, source, disambiguation, n)
    if n < 0 or text != source.replace("%n", str(n)):
        return text  # no count, or a translator answered
    return _english(source, n)


def plural(count: int, one: str, many: str | None = None) -> str:
    """``"1 brand"``, ``"3 brands"``: a count with the word in its right form.

    Goes through Qt's plural machinery with the source ``"%n <one>(s)"`` (context
    "plural"), so an installed translator can answer; else the English form. The source is
    built at run time, so lupdate cannot collect it: new code should call :func:`translate`
    with a literal instead.
    """
    source = f"%n {one}(s)"
    text = QCoreApplication.translate("plural", source, None, count)
    if text != source.replace("%n", str(count)):
        return text
    return words.plural(count, one, many)
