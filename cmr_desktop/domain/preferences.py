"""Immutable preference sets: what one brand may do, as the customer decided it.

A :class:`PreferenceSet` is a bag of independent *fields* (see :data:`FieldKey`). Every
field may be absent, which means "not decided; the vendor's default applies". The three-way
merge and the restrictiveness order of ARCHITECTURE 3.6 work field by field.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.vocabulary import Channel, DataCategory, Decision, Frequency, Purpose, parse
from cmr_desktop.domain.words import topic_words

_TOPIC_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}\Z")


def check_topic_id(topic: str) -> str:
    """Return ``topic`` if it is a valid vendor topic id, else raise :class:`DomainError`."""
    if not _TOPIC_ID.match(topic):
        raise DomainError(
            f"invalid topic id {topic!r} (lower-case letters, digits, '_', '-', '.'; "
            "at most 64 characters)"
        )
    return topic


@dataclass(frozen=True, slots=True)
class Grant:
    """Permission (or refusal) for one data category and purpose.

    Attributes:
        decision: allow or deny.
        expires: last day the grant holds; after it the grant counts as deny.
    """

    decision: Decision
    expires: dt.date | None = None

    def __post_init__(self) -> None:
        if self.expires is not None and self.decision == "deny":
            raise DomainError("a deny grant has no expiry date (only an allow can expire)")

    def effective(self, today: dt.date) -> Decision:
        """The decision that holds on ``today`` (an expired allow is a deny)."""
        if self.decision is Decision.ALLOW and self.expires is not None and today > self.expires:
            return Decision.DENY
        return self.decision

    def is_expired(self, today: dt.date) -> bool:
        return self.decision is Decision.ALLOW and self.expires is not None and today > self.expires

    def __str__(self) -> str:
        if self.expires is None:
            return self.decision.value
        return f"{self.decision.value}@{self.expires.isoformat()}"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window (local time) in which no brand may contact the customer.

    ``start`` may be later than ``end``: the window then runs over midnight.
    """

    start: dt.time
    end: dt.time

    @property
    def minutes(self) -> int:
        """Width of the window in minutes (a wider window is more restrictive)."""
        a = self.start.hour * 60 + self.start.minute
        b = self.end.hour * 60 + self.end.minute
        return (b - a) % (24 * 60)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, other: QuietHours) -> bool:
        """True when every minute of ``other`` is also quiet in this window."""
        own_start = self.start.hour * 60 + self.start.minute
        other_start = other.start.hour * 60 + other.start.minute
        offset = (other_start - own_start) % (24 * 60)
        return offset + other.minutes <= self.minutes

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """Parse ``"21:00-08:00"``."""
        # ASCII only: Python's \d and int() would read "１３:00" or "0٨:00" as times.
        m = re.fullmatch(
            r"\s*([0-9]{1,2}):([0-9]{2})\s*-\s*([0-9]{1,2}):([0-9]{2})\s*", text, re.ASCII
        )
        if not m:
            digits = (
                " with the digits 0-9" if any(c.isdigit() and not c.isascii() for c in text) else ""
            )
            raise DomainError(
                f"invalid quiet hours {text!r} (expected HH:MM-HH:MM{digits}, e.g. 21:00-08:00)"
            )
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        try:
            start, end = dt.time(h1, m1), dt.time(h2, m2)
        except ValueError:
            raise DomainError(f"invalid quiet hours {text!r} (hours 0-23, minutes 0-59)") from None
        if start == end:
            raise DomainError(f"invalid quiet hours {text!r} (start and end are the same)")
        return cls(start, end)


GrantKey: TypeAlias = tuple[DataCategory, Purpose]

#: A field of a preference set, the unit of the three-way merge.
FieldKey: TypeAlias = (
    tuple[Literal["channel"], Channel]
    | tuple[Literal["frequency"], Channel]
    | tuple[Literal["topic"], str]
    | tuple[Literal["grant"], DataCategory, Purpose]
    | tuple[Literal["quiet_hours"]]
)
FieldValue: TypeAlias = bool | Frequency | Grant | QuietHours | None

_EMPTY: Mapping[Any, Any] = MappingProxyType({})


def _frozen(mapping: Mapping[Any, Any] | None) -> Mapping[Any, Any]:
    if not mapping:
        return _EMPTY
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class PreferenceSet:
    """What one brand may do. Immutable: every ``with_*`` method returns a new set.

    Attributes:
        channels: channel -> allowed (True) or not (False). Absent: vendor default.
        frequencies: channel -> the most often it may be used. Absent: vendor default.
        topics: vendor topic id -> wanted or not.
        grants: (data category, purpose) -> :class:`Grant`.
        quiet_hours: a daily window with no contact, or None.
    """

    channels: Mapping[Channel, bool] = field(default_factory=lambda: _EMPTY)
    frequencies: Mapping[Channel, Frequency] = field(default_factory=lambda: _EMPTY)
    topics: Mapping[str, bool] = field(default_factory=lambda: _EMPTY)
    grants: Mapping[GrantKey, Grant] = field(default_factory=lambda: _EMPTY)
    quiet_hours: QuietHours | None = None

    def __post_init__(self) -> None:
        # Copy and freeze whatever the caller passed (a read-only proxy of the caller's dict
        # would still change with it), so nobody can change a set after the fact.
        for name in ("channels", "frequencies", "topics", "grants"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PreferenceSet):
            return NotImplemented
        return (
            dict(self.channels) == dict(other.channels)
            and dict(self.frequencies) == dict(other.frequencies)
            and dict(self.topics) == dict(other.topics)
            and dict(self.grants) == dict(other.grants)
            and self.quiet_hours == other.quiet_hours
        )

    def __hash__(self) -> int:
        return hash(frozenset(self.fields().items()))

    # --- field access -------------------------------------------------------------------

    def fields(self) -> dict[FieldKey, FieldValue]:
        """Every decided field of this set (absent fields are left out)."""
        out: dict[FieldKey, FieldValue] = {}
        for ch, on in self.channels.items():
            out[("channel", ch)] = on
        for ch, freq in self.frequencies.items():
            out[("frequency", ch)] = freq
        for topic, on in self.topics.items():
            out[("topic", topic)] = on
        for (cat, purpose), grant in self.grants.items():
            out[("grant", cat, purpose)] = grant
        if self.quiet_hours is not None:
            out[("quiet_hours",)] = self.quiet_hours
        return out

    def get(self, key: FieldKey) -> FieldValue:
        """The value of one field, or None when it is absent."""
        # mypy cannot narrow a union of tuples by its first item; the kinds are checked here.
        k: tuple[Any, ...] = key
        kind = k[0]
        if kind == "channel":
            return self.channels.get(k[1])
        if kind == "frequency":
            return self.frequencies.get(k[1])
        if kind == "topic":
            return self.topics.get(k[1])
        if kind == "grant":
            return self.grants.get((k[1], k[2]))
        return self.quiet_hours

    @classmethod
    def from_fields(cls, values: Mapping[FieldKey, FieldValue]) -> PreferenceSet:
        """Build a set from field values; None values are left out."""
        channels: dict[Channel, bool] = {}
        frequencies: dict[Channel, Frequency] = {}
        topics: dict[str, bool] = {}
        grants: dict[GrantKey, Grant] = {}
        quiet: QuietHours | None = None
        for key, value in values.items():
            if value is None:
                continue
            k: tuple[Any, ...] = key
            kind = k[0]
            if kind == "channel":
                channels[k[1]] = bool(value)
            elif kind == "frequency":
                assert isinstance(value, Frequency)
                frequencies[k[1]] = value
            elif kind == "topic":
                topics[k[1]] = bool(value)
            elif kind == "grant":
                assert isinstance(value, Grant)
                grants[(k[1], k[2])] = value
            else:
                assert isinstance(value, QuietHours)
                quiet = value
        return cls(channels, frequencies, topics, grants, quiet)

    def replace_field(self, key: FieldKey, value: FieldValue) -> PreferenceSet:
        """A copy with one field set (or removed when ``value`` is None)."""
        values = self.fields()
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
        return PreferenceSet.from_fields(values)

    # --- edits --------------------------------------------------------------------------

    def with_channel(self, channel: Channel, enabled: bool | None) -> PreferenceSet:
        return self.replace_field(("channel", channel), enabled)

    def with_frequency(self, channel: Channel, frequency: Frequency | None) -> PreferenceSet:
        return self.replace_field(("frequency", channel), frequency)

    def with_topic(self, topic: str, wanted: bool | None) -> PreferenceSet:
        return self.replace_field(("topic", check_topic_id(topic)), wanted)

    def with_grant(
        self, category: DataCategory, purpose: Purpose, grant: Grant | None
    ) -> PreferenceSet:
        return self.replace_field(("grant", category, purpose), grant)

    def with_quiet_hours(self, quiet: QuietHours | None) -> PreferenceSet:
        return self.replace_field(("quiet_hours",), quiet)

    # --- reading ------------------------------------------------------------------------

    def undecided_in(self, vendor: PreferenceSet) -> PreferenceSet:
        """What ``vendor`` holds for the fields these decisions leave undecided: the vendor's
        own settings, which apply until the customer decides (shown as the vendor's)."""
        mine = self.fields()
        return PreferenceSet.from_fields(
            {k: v for k, v in vendor.fields().items() if k not in mine}
        )

    def effective_grants(self, today: dt.date) -> dict[GrantKey, Decision]:
        """Every grant's decision on ``today``: an expired allow reads as deny."""
        return {key: g.effective(today) for key, g in self.grants.items()}

    def expired_grants(self, today: dt.date) -> list[GrantKey]:
        """Grants that were allowed but whose expiry date has passed (to revoke)."""
        return sorted(k for k, g in self.grants.items() if g.is_expired(today))

    def with_expired_revoked(self, today: dt.date) -> PreferenceSet:
        """A copy where every expired allow is an explicit deny (what gets pushed)."""
        out = self
        for cat, purpose in self.expired_grants(today):
            out = out.with_grant(cat, purpose, Grant(Decision.DENY))
        return out

    def describe(
        self,
        brand_name: str,
        today: dt.date | None = None,
        topics: Mapping[str, str] | None = None,
    ) -> Iterator[str]:
        """Sentences a customer would use: "Acme may email you at most weekly".

        With ``today``, grants whose expiry has passed are told as expired. ``topics``: the
        vendor's topic labels by id, where known (else the id is told in words).
        """
        for ch in Channel:
            on = self.channels.get(ch)
            freq = self.frequencies.get(ch)
            if on is False:
                yield f"{brand_name} may not {ch.verb}."
            elif on is True:
                how = f" {freq.label}" if freq else ""
                yield f"{brand_name} may {ch.verb}{how}."
            elif freq is not None:
                yield f"If {brand_name} may {ch.verb}, then {freq.label}."
        for topic, wanted in sorted(self.topics.items()):
            label = (topics or {}).get(topic) or topic_words(topic)
            yield f"Topic '{label}': {'yes' if wanted else 'no'}."
        denied_everywhere = {
            purpose
            for purpose in Purpose
            if all(
                self.grants.get((cat, purpose), _ALLOW).decision is Decision.DENY
                for cat in DataCategory
            )
        }
        for purpose in sorted(denied_everywhere):
            yield f"{brand_name} may not use any of your data for {purpose.label.lower()}."
        for (cat, purpose), grant in sorted(self.grants.items()):
            if purpose in denied_everywhere:
                continue
            what = f"{cat.label.lower()} data for {purpose.label.lower()}"
            if grant.decision is Decision.DENY:
                yield f"{brand_name} may not use {what}."
            elif grant.expires and today is not None and grant.is_expired(today):
                yield (
                    f"{brand_name} may no longer use {what}: "
                    f"your permission ended on {grant.expires.isoformat()}."
                )
            elif grant.expires:
                yield f"{brand_name} may use {what} until {grant.expires.isoformat()}."
            else:
                yield f"{brand_name} may use {what}."
        if self.quiet_hours:
            qh = self.quiet_hours
            yield f"No contact between {qh.start:%H:%M} and {qh.end:%H:%M}."

    # --- plain data (export format) -----------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The export shape (``preferences`` of a brand in export v1), with stable order."""
        # ``_value_`` rather than ``.value``: the property costs a descriptor call, and an
        # export of 10,000 brands makes half a million of them.
        channels: dict[str, dict[str, Any]] = {}
        own_channels, own_freqs = self.channels, self.frequencies
        for ch in _CHANNELS:
            entry: dict[str, Any] = {}
            if ch in own_channels:
                entry["enabled"] = own_channels[ch]
            if ch in own_freqs:
                entry["frequency"] = own_freqs[ch]._value_
            if entry:
                channels[ch._value_] = entry
        grants = []
        for (cat, purpose), g in sorted(self.grants.items()):
            item: dict[str, Any] = {
                "category": cat._value_,
                "purpose": purpose._value_,
                "decision": g.decision._value_,
            }
            if g.expires is not None:
                item["expires"] = g.expires.isoformat()
            grants.append(item)
        qh = self.quiet_hours
        return {
            "channels": channels,
            "topics": dict(sorted(self.topics.items())),
            "grants": grants,
            "quiet_hours": {"start": f"{qh.start:%H:%M}", "end": f"{qh.end:%H:%M}"} if qh else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PreferenceSet:
        """Inverse of :meth:`to_dict`. Raises :class:`DomainError` naming the bad value."""
        channels: dict[Channel, bool] = {}
        frequencies: dict[Channel, Frequency] = {}
        for name, entry in (data.get("channels") or {}).items():
            ch = _CHANNEL_IDS.get(name) if isinstance(name, str) else None
            ch = ch or parse(Channel, name)
            if "enabled" in entry:
                channels[ch] = bool(entry["enabled"])
            freq = entry.get("frequency")
            if freq is not None:
                frequencies[ch] = (
                    _FREQUENCY_IDS.get(freq) if isinstance(freq, str) else None
                ) or parse(Frequency, freq)
        topics = {}
        for topic, wanted in (data.get("topics") or {}).items():
            topics[topic if topic in _KNOWN_TOPICS else _check_topic(topic)] = bool(wanted)
        grants: dict[GrantKey, Grant] = {}
        for item in data.get("grants") or []:
            cat, purpose = item["category"], item["purpose"]
            key = (
                (_CATEGORY_IDS.get(cat) if isinstance(cat, str) else None)
                or parse(DataCategory, cat),
                (_PURPOSE_IDS.get(purpose) if isinstance(purpose, str) else None)
                or parse(Purpose, purpose),
            )
            grants[key] = _grant(item["decision"], item.get("expires"))
        qh = data.get("quiet_hours")
        quiet = _quiet_hours(qh["start"], qh["end"]) if qh else None
        return cls._trusted(channels, frequencies, topics, grants, quiet)

    @classmethod
    def _trusted(
        cls,
        channels: dict[Channel, bool],
        frequencies: dict[Channel, Frequency],
        topics: dict[str, bool],
        grants: dict[GrantKey, Grant],
        quiet: QuietHours | None,
    ) -> PreferenceSet:
        """Wrap freshly built dicts without copying them again (they are ours alone)."""
        self = object.__new__(cls)
        setattr_ = object.__setattr__
        setattr_(self, "channels", MappingProxyType(channels) if channels else _EMPTY)
        setattr_(self, "frequencies", MappingProxyType(frequencies) if frequencies else _EMPTY)
        setattr_(self, "topics", MappingProxyType(topics) if topics else _EMPTY)
        setattr_(self, "grants", MappingProxyType(grants) if grants else _EMPTY)
        setattr_(self, "quiet_hours", quiet)
        return self


_CHANNELS = tuple(Channel)
_ALLOW = Grant(Decision.ALLOW)
_CHANNEL_IDS: Mapping[str, Channel] = {c.value: c for c in Channel}
_FREQUENCY_IDS: Mapping[str, Frequency] = {f.value: f for f in Frequency}
_CATEGORY_IDS: Mapping[str, DataCategory] = {c.value: c for c in DataCategory}
_PURPOSE_IDS: Mapping[str, Purpose] = {p.value: p for p in Purpose}
_KNOWN_TOPICS: set[str] = set()


def _check_topic(topic: str) -> str:
    check_topic_id(topic)
    if len(_KNOWN_TOPICS) < 10_000:  # topic ids repeat across brands: check each once
        _KNOWN_TOPICS.add(topic)
    return topic


@functools.lru_cache(maxsize=8192)
def _grant(decision: str, expires: str | None) -> Grant:
    # Grants are immutable, and a few thousand distinct ones cover 10,000 brands.
    return Grant(parse(Decision, decision), parse_date(expires) if expires else None)


@functools.lru_cache(maxsize=1024)
def _quiet_hours(start: str, end: str) -> QuietHours:
    return QuietHours.parse(f"{start}-{end}")


#: English month names (``calendar.month_name`` follows the locale Qt sets).
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _why_not_a_date(text: str) -> str:
    """Why ``text`` (already shaped YYYY-MM-DD) is not a day of the calendar."""
    year, month, day = (int(part) for part in text.split("-"))
    if year < 1:
        return "there is no year 0"
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    days = calendar.monthrange(year, month)[1]
    return f"{_MONTHS[month - 1]} {year} has {days} days, not {day}"


def parse_date(text: str) -> dt.date:
    """Parse an ISO date (YYYY-MM-DD), with a clear message (saying why) when it is not one."""
    expected = "expected YYYY-MM-DD, e.g. 2027-06-30"
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise DomainError(f"invalid date {text!r} ({expected})")  # ASCII digits only
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise DomainError(f"invalid date {text!r}: {_why_not_a_date(text)}; {expected}") from None


def check_new_end_date(expires: dt.date, today: dt.date) -> dt.date:
    """Return ``expires`` if it may be chosen as a permission's new end date, else raise.

    The one place that says the rule: a *new* end date is today or later (the permission
    holds through its last day). Dates already stored are never checked against it: a
    permission that has ended loads and shows as ended.
    """
    if expires < today:
        raise DomainError(
            f"the end date {expires.isoformat()} is in the past: an end date must be today "
            f"({today.isoformat()}) or later"
        )
    return expires


def parse_new_end_date(text: str, today: dt.date) -> dt.date:
    """A new end date typed by the customer: a real date (:func:`parse_date`), not in the
    past (:func:`check_new_end_date`)."""
    return check_new_end_date(parse_date(text.strip()), today)


def parse_grant(text: str) -> Grant:
    """Parse ``allow``, ``deny`` or ``allow@2027-06-30``."""
    decision_text, at, expires_text = text.partition("@")
    decision = parse(Decision, decision_text)
    if at and not expires_text:
        raise DomainError(f"invalid grant {text!r}: a date must follow '@' (e.g. allow@2027-06-30)")
    expires = parse_date(expires_text) if expires_text else None
    if decision is Decision.DENY and expires is not None:
        raise DomainError(f"invalid grant {text!r}: a deny has no expiry date")
    return Grant(decision, expires)


def parse_new_grant(text: str, today: dt.date) -> Grant:
    """:func:`parse_grant` for a new choice: its end date, if any, must not be in the past."""
    grant = parse_grant(text)
    if grant.expires is not None:
        check_new_end_date(grant.expires, today)
    return grant
