"""Brands and the customer's relationship with each."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

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


class BrandFieldKind(StrEnum):
    """What a brand field holds (how storage and the export write it)."""

    ID = "id"  # the slug: lower-case letters, digits, '-'
    TEXT = "text"  # one line of text
    NOTES = "notes"  # text that may run over several lines
    STATUS = "status"  # a RelationshipStatus
    TAGS = "tags"  # the customer's labels (a sorted tuple; stored in their own table)
    SETTINGS = "settings"  # the connector's non-secret settings (a str -> str mapping)
    STAMP = "stamp"  # a UTC timestamp the app keeps


@dataclass(frozen=True, slots=True)
class BrandField:
    """One field of a brand's record (besides its preferences), declared once.

    Attributes:
        name: the attribute of :class:`Brand`; also the export document's key and the
            database column.
        label: the field in the customer's words ("Privacy contact"); lower-cased in
            error messages.
        kind: what it holds (:class:`BrandFieldKind`).
        limit: the longest value (as in the export schema and the database columns);
            None: not a checked text.
        editable: the customer may change it on a stored brand (``edit_brand``).
        detail: a relationship detail an import may change (compared by the import plan
            and listed in its preview).
        form: its place in the editor's Relationship form (0: not there).
        csv: its place among the CSV export's brand columns (0: not there).
        csv_name: the CSV column's name ("": :attr:`name`).
    """

    name: str
    label: str
    kind: BrandFieldKind
    limit: int | None = None
    editable: bool = True
    detail: bool = True
    form: int = 0
    csv: int = 0
    csv_name: str = ""

    @property
    def column(self) -> str:
        """The CSV export's column of this field."""
        return self.csv_name or self.name


_K = BrandFieldKind

#: Every field of a brand besides its preferences, in the export document's order. The
#: repositories, the export (JSON and CSV), the import plan, the services and the editor
#: derive their lists from this one.
BRAND_FIELDS: tuple[BrandField, ...] = (
    BrandField("slug", "Id", _K.ID, editable=False, detail=False, csv=1, csv_name="brand"),
    BrandField("name", "Name", _K.TEXT, limit=200, csv=2),
    BrandField("account_id", "Account", _K.TEXT, limit=200, form=3),
    BrandField("status", "Status", _K.STATUS, csv=4),
    BrandField("category", "Category", _K.TEXT, limit=100, form=1, csv=3),
    BrandField("website", "Website", _K.TEXT, limit=500, form=2),
    BrandField("privacy_contact", "Privacy contact", _K.TEXT, limit=500, form=4),
    BrandField("notes", "Notes", _K.NOTES, limit=20_000, form=5),
    BrandField("tags", "Tags", _K.TAGS, csv=6),
    BrandField("connector", "Connector", _K.TEXT, csv=5),
    BrandField("connector_config", "Connector settings", _K.SETTINGS, editable=False),
    BrandField("created_at", "Added", _K.STAMP, editable=False, detail=False),
    BrandField("updated_at", "Last changed", _K.STAMP, editable=False, detail=False),
)
BRAND_FIELD: Mapping[str, BrandField] = MappingProxyType({f.name: f for f in BRAND_FIELDS})
#: The fields the customer may change on a stored brand.
EDITABLE_FIELDS: tuple[BrandField, ...] = tuple(f for f in BRAND_FIELDS if f.editable)
#: The relationship details an import compares (in the document's order).
DETAIL_FIELDS: tuple[BrandField, ...] = tuple(f for f in BRAND_FIELDS if f.detail)
#: The editor's Relationship form, in its order.
FORM_FIELDS: tuple[BrandField, ...] = tuple(
    sorted((f for f in BRAND_FIELDS if f.form), key=lambda f: f.form)
)
#: The CSV export's brand columns, in their order.
CSV_FIELDS: tuple[BrandField, ...] = tuple(
    sorted((f for f in BRAND_FIELDS if f.csv), key=lambda f: f.csv)
)
#: (name, words, limit, multiline) of the texts a brand checks.
_CHECKED = tuple(
    (f.name, f.label.lower(), f.limit, f.kind is BrandFieldKind.NOTES)
    for f in BRAND_FIELDS
    if f.limit is not None
)


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
        for name, words, limit, multiline in _CHECKED:
            check_text(words, getattr(self, name), limit=limit, multiline=multiline)
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
