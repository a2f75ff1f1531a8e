"""The stable vocabulary of ARCHITECTURE 3.3.

Every id here is part of the export format, the CLI and the plugin API: ids only ever get
added, never renamed. Labels are the words a customer reads in the app.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from cmr_desktop.domain.errors import VocabularyError


class Channel(StrEnum):
    """A way a brand can reach the customer."""

    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    POSTAL = "postal"
    PUSH = "push"
    IN_APP = "in_app"
    MESSAGING = "messaging"

    @property
    def label(self) -> str:
        return _CHANNEL_LABELS[self]

    @property
    def noun(self) -> str:
        """The channel inside a sentence: "no *phone calls* anywhere"."""
        return _CHANNEL_LABELS[self] if self is Channel.SMS else _CHANNEL_LABELS[self].lower()

    @property
    def verb(self) -> str:
        """How the customer says it: "Acme may *email you*"."""
        return _CHANNEL_VERBS[self]


_CHANNEL_LABELS = {
    Channel.EMAIL: "Email",
    Channel.SMS: "SMS",
    Channel.PHONE: "Phone calls",
    Channel.POSTAL: "Post",
    Channel.PUSH: "Push notifications",
    Channel.IN_APP: "In-app messages",
    Channel.MESSAGING: "Messaging apps",
}
_CHANNEL_VERBS = {
    Channel.EMAIL: "email you",
    Channel.SMS: "text you",
    Channel.PHONE: "call you",
    Channel.POSTAL: "send you post",
    Channel.PUSH: "send you push notifications",
    Channel.IN_APP: "message you in their app",
    Channel.MESSAGING: "message you on messaging apps",
}


class Frequency(StrEnum):
    """How often a channel may be used. Absent means "the vendor's default"."""

    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"

    @property
    def rank(self) -> int:
        """Restrictiveness rank: lower is more restrictive (quarterly < ... < realtime)."""
        return _FREQUENCY_RANK[self]

    @property
    def label(self) -> str:
        return {
            Frequency.REALTIME: "as it happens",
            Frequency.DAILY: "at most daily",
            Frequency.WEEKLY: "at most weekly",
            Frequency.MONTHLY: "at most monthly",
            Frequency.QUARTERLY: "at most quarterly",
        }[self]


_FREQUENCY_RANK = {
    Frequency.QUARTERLY: 0,
    Frequency.MONTHLY: 1,
    Frequency.WEEKLY: 2,
    Frequency.DAILY: 3,
    Frequency.REALTIME: 4,
}


class DataCategory(StrEnum):
    """A kind of personal data a brand may hold."""

    CONTACT = "contact"
    IDENTIFIERS = "identifiers"
    PURCHASE_HISTORY = "purchase_history"
    BROWSING = "browsing"
    LOCATION = "location"
    DEMOGRAPHICS = "demographics"
    FINANCIAL = "financial"
    HEALTH = "health"
    COMMUNICATIONS = "communications"
    INFERRED_PROFILE = "inferred_profile"

    @property
    def label(self) -> str:
        return _humanize(self.value)


class Purpose(StrEnum):
    """What a brand may use personal data for."""

    SERVICE = "service"
    PERSONALIZATION = "personalization"
    MARKETING = "marketing"
    ANALYTICS = "analytics"
    ADVERTISING = "advertising"
    THIRD_PARTY_SHARING = "third_party_sharing"
    SALE = "sale"
    RESEARCH = "research"
    AI_TRAINING = "ai_training"

    @property
    def label(self) -> str:
        return {Purpose.AI_TRAINING: "AI training"}.get(self, _humanize(self.value))


class Decision(StrEnum):
    """The customer's answer for one (data category, purpose) pair."""

    ALLOW = "allow"
    DENY = "deny"


class RelationshipStatus(StrEnum):
    """Where the customer stands with a brand."""

    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


def _humanize(value: str) -> str:
    return value.replace("_", " ").capitalize()


E = TypeVar("E", bound=StrEnum)

_KIND_NAMES: dict[type[StrEnum], str] = {
    Channel: "channel",
    Frequency: "frequency",
    DataCategory: "data category",
    Purpose: "purpose",
    Decision: "decision",
    RelationshipStatus: "status",
}


def parse(kind: type[E], value: str) -> E:
    """Turn a vocabulary id into its enum member, or say clearly what is wrong.

    Args:
        kind: the enum to parse into, e.g. ``Channel``.
        value: the id as typed or read from a file.

    Returns:
        The enum member.

    Raises:
        VocabularyError: the id is not part of the vocabulary; the message lists the valid ids.
    """
    # A plain dict look-up: calling the enum is several times slower, and imports of
    # 10,000 brands parse about a million ids.
    member = kind._value2member_map_.get(value) if isinstance(value, str) else None
    if member is not None:
        return member  # type: ignore[return-value]
    name = _KIND_NAMES.get(kind, kind.__name__)
    valid = ", ".join(m.value for m in kind)
    raise VocabularyError(f"unknown {name} {value!r} (expected one of: {valid})")
