"""An organisation from a company directory (name, categories, privacy contacts)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """One organisation, as the add-brand wizard offers it.

    Attributes:
        slug: the directory's stable id (lower-case letters, digits and dashes).
        name: the organisation's name.
        categories: the directory's categories ("commerce", "telecommunication" ...).
        countries: ISO 3166-1 alpha-2 codes, or "all".
        email: privacy contact e-mail address ("" if none).
        web: the organisation's website ("" if none).
        webform: a privacy request form ("" if none).
        phone: phone number ("" if none).
        address: postal address, lines separated by newlines.
        quality: how the record was checked: verified, tested or scraped.
        runs: other names the organisation trades under.
    """

    slug: str
    name: str
    categories: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    email: str = ""
    web: str = ""
    webform: str = ""
    phone: str = ""
    address: str = ""
    quality: str = ""
    runs: tuple[str, ...] = ()

    @property
    def privacy_contact(self) -> str:
        """Where privacy requests go: the e-mail address, else the web form."""
        return self.email or self.webform

    @property
    def category(self) -> str:
        """The first category (what the brand table shows), or ""."""
        return self.categories[0] if self.categories else ""
