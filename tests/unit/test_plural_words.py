"""Real plurals: "1 brand", "3 brands", never "brand(s)"; the window's plurals go through
Qt's translation machinery so a translation can follow."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QTranslator

from cmr_desktop.domain import DataCategory, Decision, Grant, PreferenceSet, Purpose
from cmr_desktop.domain.words import plural as plain_plural
from cmr_desktop.ui.text import plural, translate

PACKAGE = Path(__file__).resolve().parents[2] / "cmr_desktop"


@pytest.mark.parametrize("fn", [plural, plain_plural])
def test_plural_gives_one_brand_and_three_brands(fn: Any) -> None:
    assert fn(1, "brand") == "1 brand"
    assert fn(3, "brand") == "3 brands"
    assert fn(0, "brand") == "0 brands"
    assert fn(2, "company", "companies") == "2 companies"


def test_translate_makes_the_english_forms_when_no_translator_is_installed(qapp: Any) -> None:
    # Qt on its own substitutes %n and keeps the "(s)": the reason for the wrapper.
    assert QCoreApplication.translate("Test", "%n brand(s) to add", None, 3) == "3 brand(s) to add"
    assert translate("Test", "%n brand(s) to add", None, 1) == "1 brand to add"
    assert translate("Test", "%n brand(s) to add", None, 3) == "3 brands to add"
    end = "%n permission(s) end(s) within 30 days."
    assert translate("Test", end, None, 1) == "1 permission ends within 30 days."
    assert translate("Test", end, None, 2) == "2 permissions end within 30 days."
    assert translate("Test", "No count", None) == "No count"


class _German(QTranslator):
    def translate(  # type: ignore[override]
        self, context: str, source: str, disambiguation: str | None = None, n: int = -1
    ) -> str:
        if source == "%n brand(s) to add":
            return "%n Marke hinzufügen" if n == 1 else "%n Marken hinzufügen"
        if source == "%n brand(s)" and context == "plural":
            return "%n Marke" if n == 1 else "%n Marken"
        return ""


def test_an_installed_translator_wins(qapp: Any) -> None:
    german = _German()
    assert QCoreApplication.installTranslator(german)
    try:
        assert translate("Test", "%n brand(s) to add", None, 3) == "3 Marken hinzufügen"
        assert plural(1, "brand") == "1 Marke"
    finally:
        QCoreApplication.removeTranslator(german)
    assert plural(1, "brand") == "1 brand"


def test_descriptions_name_topics_in_words() -> None:
    prefs = (
        PreferenceSet()
        .with_topic("order-updates", True)
        .with_topic("t-17", False)
        .with_grant(DataCategory.CONTACT, Purpose.MARKETING, Grant(Decision.DENY))
    )
    lines = list(prefs.describe("Acme", topics={"t-17": "Price alerts"}))
    assert "Topic 'Order updates': yes." in lines
    assert "Topic 'Price alerts': no." in lines


def _strings(path: Path) -> list[tuple[int, str]]:
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return [(t.start[0], t.string) for t in tokens if t.type == tokenize.STRING]


def test_no_user_facing_string_says_brand_s() -> None:
    """No "(s)" in the strings of the layers that talk to the user: Qt plural sources
    ("%n ...(s)", made English by ui.text.translate) and docstrings aside."""
    found = []
    for layer in ("ui", "cli", "domain", "services", "interop"):
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            if path.name == "text.py" and layer == "ui":
                continue  # the plural machinery itself
            for line, text in _strings(path):
                if text.startswith(('"""', "'''")) or "%n" in text:
                    continue
                words = re.sub(r"\{[^{}]*\}", "", text)  # f-string code is not words
                if "(s)" in words.replace("http(s)", ""):
                    found.append(f"{path.relative_to(PACKAGE)}:{line}: {text}")
    assert found == []
