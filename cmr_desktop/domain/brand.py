"""Brands and the customer's relationship with each."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field, replace

from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.preferences import PreferenceSet
from cmr_desktop.domain.vocabulary import RelationshipStatus

#: The connector a brand gets when nobody says otherwise: no API, the customer records their
#: choices and carries them out by hand (unsubscribe links, letters, phone calls).
MANUAL_CONNECTOR = "manual"

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\Z")
_TAG = re.compile(r"^[\w][\w .&+-]{0,39}\Z")


def slugify(name: str) -> str:
    """A stable, readable id from a brand name: "Café Müller & Co" -> "cafe-muller-co"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:64].strip("-")
    if not slug:
        raise DomainError(f"cannot make an id from the name {name!r}; give one with --slug")
    return slug


#: Longest values, as in the export schema and the database columns.
LIMITS = {
    "name": 200,
    "account_id": 200,
    "category": 100,
    "website": 500,
    "privacy_contact": 500,
    "notes": 20_000,
}
_LABELS = {
    "name": "name",
    "account_id": "account",
    "category": "category",
    "website": "website",
    "privacy_contact": "privacy contact",
    "notes": "notes",
}


def check_text(label: str, value: str, *, limit: int, multiline: bool = False) -> str:
    """``value`` if it is storable text within ``limit`` characters, else DomainError."""
    if len(value) > limit:
        raise DomainError(f"{label} is too long ({len(value)} characters; at most {limit})")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise DomainError(f"{label} contains bytes that are not valid UTF-8 text") from None
    allowed = "\n\t" if multiline else ""
    if any(ord(c) < 32 and c not in allowed for c in value):
        raise DomainError(f"{label} contains control characters (such as a line break)")
    return value


def check_slug(slug: str) -> str:
    if not _SLUG.match(slug):
        raise DomainError(
            f"invalid brand id {slug!r} (lower-case letters, digits and '-', at most 64 characters)"
        )
    return slug


def check_tag(tag: str) -> str:
    if not _TAG.match(tag):
        raise DomainError(f"invalid tag {tag!r} (1-40 characters: letters, digits, space, .&+-_)")
    return tag


@dataclass(frozen=True, slots=True)
class Brand:
    """A brand the customer deals with, their relationship with it, and their choices.

    Attributes:
        slug: stable id (used by the CLI and in exports).
        name: display name.
        account_id: the customer's account, customer number or login at the brand.
        status: active, paused or closed.
        category: free-form grouping ("retail", "finance" ...).
        website: the brand's site.
        privacy_contact: e-mail address or URL for privacy requests.
        notes: the customer's own notes.
        tags: the customer's labels.
        connector: id of the connector that talks to the vendor (``manual`` = none).
        connector_config: non-secret connector settings (secrets live in the keyring).
        preferences: what the brand may do.
        created_at / updated_at: when the record was made / last changed (UTC).
    """

    slug: str
    name: str
    account_id: str = ""
    status: RelationshipStatus = RelationshipStatus.ACTIVE
    category: str = ""
    website: str = ""
    privacy_contact: str = ""
    notes: str = ""
    tags: tuple[str, ...] = ()
    connector: str = MANUAL_CONNECTOR
    connector_config: dict[str, str] = field(default_factory=dict, hash=False, compare=True)
    preferences: PreferenceSet = field(default_factory=PreferenceSet)
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        check_slug(self.slug)
        if not self.name.strip():
            raise DomainError(f"brand {self.slug!r} has an empty name")
        for field_name, limit in LIMITS.items():
            check_text(
                _LABELS[field_name],
                getattr(self, field_name),
                limit=limit,
                multiline=field_name == "notes",
            )
        for key, value in self.connector_config.items():
            check_text(f"connector setting {key!r}", value, limit=2000)
        for tag in self.tags:
            check_tag(tag)
        # Tags are a set the customer sees sorted; keep one canonical order.
        object.__setattr__(self, "tags", tuple(sorted(set(self.tags))))

    def with_preferences(self, prefs: PreferenceSet) -> Brand:
        return replace(self, preferences=prefs)

    @property
    def is_manual(self) -> bool:
        return self.connector == MANUAL_CONNECTOR
