"""Parsing of the CLI's ``KEY=VALUE`` options into preference edits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import click

from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.preferences import (
    PreferenceSet,
    QuietHours,
    check_topic_id,
    parse_new_grant,
)
from cmr_desktop.domain.vocabulary import Channel, DataCategory, Frequency, Purpose, parse
from cmr_desktop.services import InputError

Edit = Callable[[PreferenceSet], PreferenceSet]
_ON = {"on": True, "yes": True, "true": True, "off": False, "no": False, "false": False}
_CLEAR = ("default", "clear", "unset")


def _split(option: str, text: str, sep: str = "=") -> tuple[str, str]:
    key, found, value = text.partition(sep)
    if not found or not key or not value:
        raise InputError(f"{option} {text!r}: expected KEY{sep}VALUE")
    return key.strip(), value.strip()


def _switch(option: str, text: str, value: str) -> bool | None:
    if value.lower() in _CLEAR:
        return None
    try:
        return _ON[value.lower()]
    except KeyError:
        raise InputError(f"{option} {text!r}: expected on, off or default, not {value!r}") from None


def _wrap(option: str, text: str, fn: Callable[[], Edit]) -> Edit:
    try:
        return fn()
    except DomainError as exc:
        raise InputError(f"{option} {text!r}: {exc}") from None


def preference_edits(
    channels: Sequence[str] = (),
    frequencies: Sequence[str] = (),
    topics: Sequence[str] = (),
    shares: Sequence[str] = (),
    quiet_hours: str | None = None,
    *,
    today: dt.date,
) -> list[Edit]:
    """Turn ``--channel email=off`` style options into edits, checking every value first.

    ``today`` is the customer's date: a new end date of a permission must not be before it.
    """
    edits: list[Edit] = []
    for text in channels:
        key, value = _split("--channel", text)

        def channel_edit(key: str = key, value: str = value, text: str = text) -> Edit:
            ch, on = parse(Channel, key), _switch("--channel", text, value)
            return lambda p: p.with_channel(ch, on)

        edits.append(_wrap("--channel", text, channel_edit))
    for text in frequencies:
        key, value = _split("--frequency", text)

        def freq_edit(key: str = key, value: str = value) -> Edit:
            ch = parse(Channel, key)
            freq = None if value.lower() in _CLEAR else parse(Frequency, value)
            return lambda p: p.with_frequency(ch, freq)

        edits.append(_wrap("--frequency", text, freq_edit))
    for text in topics:
        key, value = _split("--topic", text)

        def topic_edit(key: str = key, value: str = value, text: str = text) -> Edit:
            topic, on = check_topic_id(key), _switch("--topic", text, value)
            return lambda p: p.with_topic(topic, on)

        edits.append(_wrap("--topic", text, topic_edit))
    for text in shares:
        key, value = _split("--share", text)

        def share_edit(key: str = key, value: str = value, text: str = text) -> Edit:
            cat_text, found, purpose_text = key.partition(":")
            if not found:
                raise InputError(f"--share {text!r}: expected CATEGORY:PURPOSE=allow|deny[@DATE]")
            cat, purpose = parse(DataCategory, cat_text), parse(Purpose, purpose_text)
            grant = None if value.lower() in _CLEAR else parse_new_grant(value, today)
            return lambda p: p.with_grant(cat, purpose, grant)

        edits.append(_wrap("--share", text, share_edit))
    if quiet_hours is not None:
        text = quiet_hours

        def quiet_edit() -> Edit:
            quiet = None if text.lower() in (*_CLEAR, "none", "off") else QuietHours.parse(text)
            return lambda p: p.with_quiet_hours(quiet)

        edits.append(_wrap("--quiet-hours", text, quiet_edit))
    return edits


def compose(edits: Sequence[Edit]) -> Edit:
    def run(prefs: PreferenceSet) -> PreferenceSet:
        for edit in edits:
            prefs = edit(prefs)
        return prefs

    return run


class AsciiInt(click.IntRange):
    """A whole number written with the digits 0-9 (click's ``int`` would take "１２").

    Args:
        min, max: the range allowed (None: unbounded).
    """

    name = "integer"

    def __init__(self, min: int | None = None, max: int | None = None) -> None:
        super().__init__(min, max)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            text = value.strip()
            digits = text[1:] if text[:1] in "+-" else text
            if not (digits.isascii() and digits.isdigit()):
                self.fail(
                    f"{value!r} is not a whole number written with the digits 0-9", param, ctx
                )
        return super().convert(value, param, ctx)

    def _describe_range(self) -> str:
        return super()._describe_range() if self.min is not None or self.max is not None else ""
