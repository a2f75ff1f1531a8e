"""Words for people, in plain Python (for the domain, services and CLI, which cannot use
Qt's translation machinery; the window uses :mod:`cmr_desktop.ui.text`).
"""

from __future__ import annotations


def plural(count: int, one: str, many: str | None = None) -> str:
    """``"1 brand"``, ``"3 brands"``: a count with the word in its right English form
    (``many`` defaults to ``one`` + "s")."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def in_sentence(label: str) -> str:
    """A label inside a sentence: "Marketing" -> "marketing", but "AI training" and "SMS"
    keep their capitals."""
    if label[:2].isupper():
        return label
    return label[:1].lower() + label[1:]


def topic_words(topic: str) -> str:
    """A vendor topic id in words when the vendor's own label is not known
    ("order-updates" -> "Order updates")."""
    return topic.replace("-", " ").replace("_", " ").replace(".", " ").strip().capitalize()
