"""One identity per preference field, and every spelling of it derived from that identity.

A field of a preference set (the unit of the three-way merge) is known by its
:data:`~cmr_desktop.domain.preferences.FieldKey`, a tuple such as ``("frequency",
Channel.EMAIL)``. Everything else that names a field is derived here, never spelled by hand:

================  ==============================  ==========================================
spelling          example                         used by
================  ==============================  ==========================================
``key``           ``("grant", CONTACT, MARKETING)`` the merge, preference sets
``journal_name``  ``grant.contact.marketing``     the journal (stored: never changes)
``wire_path``     ``grants.contact:marketing``    the plugin API (``Catalog.violations``),
                                                  the Open Preference API's problem bodies
``plan_name``     ``grant contact marketing``     ``cmr import --dry-run``
``label()``       ``Contact for marketing``       the editor, the import preview, undo
``journal_words`` ``Contact for marketing``       the journal window
================  ==============================  ==========================================

Values have one text form too (:meth:`Field.format`, :meth:`Field.parse`): the journal's
``on``/``off``, ``weekly``, ``allow@2027-06-30``, ``21:00-08:00``, and ``default`` for an
undecided field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.preferences import (
    FieldKey,
    FieldValue,
    QuietHours,
    check_topic_id,
    parse_grant,
)
from cmr_desktop.domain.vocabulary import Channel, DataCategory, Frequency, Purpose, parse
from cmr_desktop.domain.words import in_sentence, topic_words

#: The journal's text of an undecided field's value.
UNDECIDED = "default"


@dataclass(frozen=True, slots=True)
class Field:
    """One preference field: its key and every name it goes by.

    Build one from its key (``Field(("channel", Channel.EMAIL))``), or from one of its
    spellings (:meth:`from_journal_name`, :meth:`from_wire_path`).
    """

    key: FieldKey

    # --- the spellings ----------------------------------------------------------------

    @property
    def kind(self) -> str:
        return str(self.key[0])

    @property
    def journal_name(self) -> str:
        """The journal's name (``channel.email``, ``frequency.sms``, ``topic.news``,
        ``grant.contact.marketing``, ``quiet_hours``). Stored in journal entries: fixed."""
        return journal_name(self.key)

    @property
    def wire_path(self) -> str:
        """The member of the Open Preference API's ``preferences`` object that holds it
        (``channels.email``, ``channels.email.frequency``, ``topics.news``,
        ``grants.contact:marketing``, ``quiet_hours``): the plugin API's field names."""
        return wire_path(self.key)

    @property
    def plan_name(self) -> str:
        """The name ``cmr import --dry-run`` prints (``grant contact marketing``)."""
        return " ".join(str(k) for k in self.key)

    @property
    def sort_key(self) -> tuple[str, ...]:
        """The order fields are listed in (journal entries, differences, the plan)."""
        return field_order(self.key)

    def label(self, topics: Mapping[str, str] | None = None) -> str:
        """The field in the customer's words ("Email frequency", "Contact for marketing",
        "Topic 'Order updates'", "Quiet hours"). ``topics``: the vendor's topic labels by
        id, where known (else the id is told in words)."""

        def topic_label(topic: str) -> str:
            return f"Topic '{(topics or {}).get(topic) or topic_words(topic)}'"

        return self._words(in_sentence, topic_label, "Quiet hours")

    @property
    def journal_words(self) -> str:
        """The field as the journal window tells it ("Email", "SMS frequency", "Contact for
        marketing", "topic offers", "quiet hours")."""
        return self._words(str.lower, "topic {}".format, "quiet hours")

    def _words(self, purpose: Callable[[str], str], topic: Callable[[str], str], quiet: str) -> str:
        k: tuple[Any, ...] = self.key
        if k[0] in ("channel", "frequency"):
            return Channel(k[1]).label + (" frequency" if k[0] == "frequency" else "")
        if k[0] == "grant":
            return f"{DataCategory(k[1]).label} for {purpose(Purpose(k[2]).label)}"
        if k[0] == "topic":
            return topic(str(k[1]))
        return quiet

    # --- values -----------------------------------------------------------------------

    def format(self, value: FieldValue) -> str:
        """A value of this field as the journal writes it (see :func:`format_value`)."""
        return format_value(value)

    def parse(self, text: str) -> FieldValue:
        """Inverse of :meth:`format`: the value of this field ``text`` stands for (None for
        ``default``). Raises :class:`DomainError` naming the field and the text."""
        if text == UNDECIDED:
            return None
        kind = self.kind
        try:
            if kind in ("channel", "topic"):
                if text not in ("on", "off"):
                    raise DomainError(f"expected on, off or {UNDECIDED}")
                return text == "on"
            if kind == "frequency":
                return parse(Frequency, text)
            if kind == "grant":
                return parse_grant(text)
            return QuietHours.parse(text)
        except DomainError as exc:
            raise DomainError(f"{self.journal_name}: invalid value {text!r}: {exc}") from None

    # --- reading a spelling back -------------------------------------------------------

    @classmethod
    def from_journal_name(cls, name: str) -> Field:
        """The field a journal name stands for. Raises :class:`DomainError`."""
        kind, dot, rest = name.partition(".")
        parts = (rest.split(".") if kind == "grant" else [rest]) if dot else []
        return cls._of(kind, parts, name)

    @classmethod
    def from_wire_path(cls, path: str) -> Field:
        """The field a plugin API path stands for. Raises :class:`DomainError`."""
        member, dot, rest = path.partition(".")
        parts = (rest.split(":") if member == "grants" else [rest]) if dot else []
        kind = _KIND_OF_MEMBER.get(member, "")
        if kind == "channel" and parts:
            # channels.email is the channel, channels.email.frequency its frequency.
            channel, dot, tail = parts[0].partition(".")
            if dot:
                kind = "frequency" if tail == "frequency" else ""
            parts = [channel]
        return cls._of(kind, parts, path)

    @classmethod
    def _of(cls, kind: str, parts: list[str], spelling: str) -> Field:
        """The field of ``kind`` named by the ids ``parts``, read from ``spelling``."""
        try:
            if kind in ("channel", "frequency") and len(parts) == 1:
                return cls(cast(FieldKey, (kind, parse(Channel, parts[0]))))
            if kind == "topic" and len(parts) == 1:
                return cls(("topic", check_topic_id(parts[0])))
            if kind == "grant" and len(parts) == 2:
                category, purpose = parse(DataCategory, parts[0]), parse(Purpose, parts[1])
                return cls(("grant", category, purpose))
            if kind == "quiet_hours" and not parts:
                return cls(("quiet_hours",))
        except DomainError as exc:
            raise DomainError(f"not a preference field: {spelling!r} ({exc})") from None
        raise DomainError(f"not a preference field: {spelling!r}")


#: The kind of field each member of the wire's ``preferences`` object holds.
_KIND_OF_MEMBER = {
    "channels": "channel",
    "topics": "topic",
    "grants": "grant",
    "quiet_hours": "quiet_hours",
}


def format_value(value: FieldValue) -> str:
    """A field's value as the journal writes it: ``on``/``off``, ``weekly``,
    ``allow@2027-06-30``, ``21:00-08:00``, and ``default`` for an undecided field."""
    if value is None:
        return UNDECIDED
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


# The spellings as plain functions of the key (what hot paths call: no Field is built).


def journal_name(key: FieldKey) -> str:
    """:attr:`Field.journal_name` of ``key``."""
    return ".".join(str(k) for k in key)


def wire_path(key: FieldKey) -> str:
    """:attr:`Field.wire_path` of ``key``."""
    k: tuple[Any, ...] = key
    if k[0] == "channel":
        return f"channels.{k[1]}"
    if k[0] == "frequency":
        return f"channels.{k[1]}.frequency"
    if k[0] == "topic":
        return f"topics.{k[1]}"
    if k[0] == "grant":
        return f"grants.{k[1]}:{k[2]}"
    return "quiet_hours"


def field_order(key: FieldKey) -> tuple[str, ...]:
    """:attr:`Field.sort_key` of ``key``, as a ``key=`` for :func:`sorted`."""
    return tuple(str(k) for k in key)


def in_order(keys: Iterable[FieldKey]) -> list[FieldKey]:
    """``keys`` in the order fields are listed (see :attr:`Field.sort_key`)."""
    return sorted(keys, key=field_order)


def every_field(
    channels: Iterable[Channel] = tuple(Channel),
    topics: Iterable[str] = (),
    data_uses: Iterable[tuple[DataCategory, Purpose]] | None = None,
    *,
    quiet_hours: bool = True,
) -> Iterator[Field]:
    """Every field a catalog with these channels, topics and data uses offers (default:
    every channel and data use of the vocabulary, no topics, quiet hours)."""
    for channel in channels:
        yield Field(("channel", channel))
        yield Field(("frequency", channel))
    for topic in topics:
        yield Field(("topic", topic))
    uses = data_uses if data_uses is not None else ((c, p) for c in DataCategory for p in Purpose)
    for category, purpose in uses:
        yield Field(("grant", category, purpose))
    if quiet_hours:
        yield Field(("quiet_hours",))
