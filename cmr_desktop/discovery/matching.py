"""Matching a found brand to the company directory and to the brands already tracked.

Both match by registrable domain (:func:`.grouping.registrable`):

- **Directory**: an organisation matches when the registrable domain of its privacy e-mail
  address or of its website is the found brand's domain. When several do, the one whose
  website matches wins over one whose e-mail does, a website that is a home page over one
  that is a part of a site (``otto.de/`` over ``otto.de/mytoys/``), then the directory's
  order (its slug).
- **Tracked brands**, in this order: the e-mail connector's ``sender_domain`` setting (or,
  for a ``list:``/``from:`` key, the key itself in ``list_id``); the website's registrable
  domain; the privacy contact's (an e-mail address or a URL); else the same name (case
  and accents aside). The first rule that matches any brand decides; within a rule, the
  first brand by id.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from cmr_desktop.discovery.grouping import domain_of, registrable
from cmr_desktop.domain.directory import DirectoryEntry


def host_domain(text: str) -> str:
    """The registrable domain of a URL, bare host or e-mail address ("" if none)."""
    value = text.strip()
    if not value:
        return ""
    if value.lower().startswith("mailto:"):
        value = value[7:].split("?", 1)[0]
    if "@" in value and "/" not in value:
        return registrable(domain_of(value))
    if "//" not in value:
        value = "//" + value
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        return ""
    return registrable(host)


def name_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def _has_path(url: str) -> bool:
    value = url.strip()
    if "//" not in value:
        value = "//" + value
    try:
        return urlsplit(value).path.strip("/") != ""
    except ValueError:
        return True


class DirectoryIndex:
    """The directory's organisations by registrable domain (built once per read)."""

    def __init__(self, entries: Iterable[DirectoryEntry]) -> None:
        by_web: dict[str, DirectoryEntry] = {}
        by_email: dict[str, DirectoryEntry] = {}
        # A site's own home page before a part of it ("otto.de/" before "otto.de/mytoys/").
        for e in sorted(entries, key=lambda e: (_has_path(e.web), e.slug)):
            if web := host_domain(e.web):
                by_web.setdefault(web, e)
            if email := host_domain(e.email):
                by_email.setdefault(email, e)
        self._by_web, self._by_email = by_web, by_email

    def lookup(self, domain: str) -> DirectoryEntry | None:
        if not domain:
            return None
        return self._by_web.get(domain) or self._by_email.get(domain)


@dataclass(frozen=True, slots=True)
class TrackedBrand:
    """What matching needs of a tracked brand."""

    slug: str
    name: str
    website: str = ""
    privacy_contact: str = ""
    connector_config: Mapping[str, str] | None = None


class TrackedIndex:
    """The tracked brands by each matching rule (built once per read: a look-up is a few
    dictionary reads, whatever the number of brands)."""

    def __init__(self, brands: Iterable[TrackedBrand]) -> None:
        self._rules: tuple[dict[str, str], ...] = ({}, {}, {}, {})
        self._names: dict[str, str] = {}
        sender, lists, web, privacy = self._rules
        for b in sorted(brands, key=lambda b: b.slug):
            cfg = b.connector_config or {}
            for index, value in (
                (sender, host_domain(cfg.get("sender_domain", ""))),
                (lists, cfg.get("list_id", "")),
                (web, host_domain(b.website)),
                (privacy, host_domain(b.privacy_contact)),
                (self._names, name_key(b.name)),
            ):
                if value:
                    index.setdefault(value, b.slug)

    def match(self, key: str, domain: str, names: Iterable[str] = ()) -> str:
        """The id of the tracked brand the found brand (``key``, ``domain``, its display
        ``names``) is, or ""."""
        sender, lists, web, privacy = self._rules
        if domain:
            for index in (sender, web, privacy):
                if slug := index.get(domain):
                    return slug
        elif slug := lists.get(key):
            return slug
        for n in names:
            if (k := name_key(n)) and (slug := self._names.get(k)):
                return slug
        return ""
