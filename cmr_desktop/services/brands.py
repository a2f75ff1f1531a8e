"""Brands: add, read, edit, remove and put back (``services.brands``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cmr_desktop.connectors.http import REDACTOR
from cmr_desktop.domain.brand import EDITABLE_FIELDS, MANUAL_CONNECTOR, Brand, check_slug, slugify
from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.summary import BrandSummary
from cmr_desktop.services.base import (
    BrandView,
    Context,
    brand_view,
    bulk_work,
    check_connector_settings,
    connector_class,
    records_by_name,
    resolve,
    secret_names,
    store_secrets,
)
from cmr_desktop.services.errors import InputError
from cmr_desktop.storage import AlreadyExists, BrandRecord, BrandSnapshot

_EDITABLE = frozenset(f.name for f in EDITABLE_FIELDS)


@dataclass(frozen=True, slots=True)
class RemovedBrand:
    """What removing a brand took away, for an undo to put back
    (:meth:`BrandService.restore_brands`).

    ``secrets`` are the brand's secrets as the keyring held them before they were deleted:
    kept in this object only (in memory, for the undo), never stored, printed or logged.
    """

    snapshot: BrandSnapshot
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: Secret names the keyring could not read: left in it (not deleted), and an undo
    #: cannot vouch for them (sign in again).
    unread: tuple[str, ...] = ()
    #: Secret names the keyring would not delete: they are still in it.
    kept: tuple[str, ...] = ()

    @property
    def slug(self) -> str:
        return self.snapshot.brand.slug

    @property
    def name(self) -> str:
        return self.snapshot.brand.name


class BrandService:
    """The brands of the home and their relationship details."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def add_brand(
        self,
        name: str,
        *,
        slug: str | None = None,
        connector: str = MANUAL_CONNECTOR,
        connector_config: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> Brand:
        """Add a brand, handled by ``connector`` (``manual``: by hand).

        Args:
            name: the brand's name.
            slug: its id (made from the name when not given).
            connector: the connector id.
            connector_config: the connector's non-secret settings.
            secrets: the connector's secret settings; stored in the system keyring.
            **fields: relationship fields of :class:`Brand` (category, website, tags ...).

        Everything is checked first; the brand is stored only if the secrets could be kept.
        """
        ctx = self._ctx
        config = dict(connector_config or {})
        secret_values = dict(secrets or {})
        try:
            slug = check_slug(slug) if slug is not None else slugify(name)
            check_connector_settings(ctx, connector, config, secret_values)
            brand = Brand(
                slug=slug,
                name=name.strip(),
                connector=connector,
                connector_config=config,
                **fields,
            )
        except (DomainError, TypeError) as exc:
            raise InputError(str(exc)) from None
        with ctx.store.write() as uow:
            try:
                added = uow.brands.add(brand, now=ctx.now())
            except AlreadyExists:
                raise InputError(
                    f"{brand.name} exists already (as {slug!r}); give the new one another "
                    "name (or, in the command line, another id with --slug)"
                ) from None
            # Still inside the transaction: if the keyring refuses, the brand is not stored.
            store_secrets(ctx, slug, secret_values)
        return added

    def get_brand(self, ref: str) -> BrandView:
        """One brand (by id or exact name) with its pending flag and the vendor's state."""
        with self._ctx.store.read() as uow:
            return brand_view(uow, resolve(uow, ref))

    def edit_brand(self, ref: str, **changes: Any) -> Brand:
        """Change relationship fields (name, category, tags ...) of a brand."""
        unknown = set(changes) - _EDITABLE
        if unknown:
            raise InputError(f"cannot edit {', '.join(sorted(unknown))}")
        if "connector" in changes:
            connector_class(self._ctx, changes["connector"])  # installed?
        with self._ctx.store.write() as uow:
            brand = resolve(uow, ref)
            try:
                updated = replace(brand, **changes)
            except DomainError as exc:
                raise InputError(str(exc)) from None
            return uow.brands.update(updated, now=self._ctx.now())

    def remove_brand(self, ref: str) -> Brand:
        """Remove a brand: its decisions, details, the vendor's state and its secrets.
        Its journal entries stay (with a ``removed`` entry)."""
        return self.remove_brands([ref])[0].snapshot.brand

    def remove_brands(self, refs: Sequence[str]) -> list[RemovedBrand]:
        """Remove brands in one transaction, each journaled as ``removed``; their secrets
        are deleted from the keyring once the removal is stored. The journal keeps every
        entry of a removed brand.

        Returns what was removed, with the secrets as they were (in memory only), so that
        an undo can put everything back with :meth:`restore_brands`.
        """
        ctx = self._ctx
        taken: list[tuple[BrandSnapshot, dict[str, str], list[str], list[str]]] = []
        with ctx.store.write() as uow:
            brands = {b.slug: b for b in (resolve(uow, r) for r in refs)}
            now = ctx.now()
            for slug, brand in brands.items():
                snapshot = uow.brands.snapshot(slug)
                secrets: dict[str, str] = {}
                read: list[str] = []
                unread: list[str] = []
                for name in secret_names(ctx, brand.connector):
                    try:
                        value = ctx.secrets.get(slug, name)
                    except Exception:
                        unread.append(name)  # not deleted either: it cannot be put back
                        continue
                    read.append(name)
                    if value:
                        REDACTOR.add_secret(value)
                        secrets[name] = value
                uow.brands.remove(slug)
                uow.journal.append(at=now, brand=slug, kind="removed", detail={"name": brand.name})
                taken.append((snapshot, secrets, read, unread))
        removed = []
        for snapshot, secrets, read, unread in taken:
            kept = []
            for name in read:
                try:
                    ctx.secrets.delete(snapshot.brand.slug, name)
                except Exception:
                    kept.append(name)
            removed.append(RemovedBrand(snapshot, secrets, tuple(unread), tuple(kept)))
        return removed

    def restore_brands(self, removed: Sequence[RemovedBrand]) -> list[str]:
        """Put removed brands back as they were (the undo of :meth:`remove_brands`), in one
        transaction, each journaled as ``restored``; then their secrets go back to the
        keyring.

        Returns the names of the brands whose secrets the keyring would not take back
        (sign in again for them); the brands are restored either way.

        Raises:
            InputError: a brand with the same id was added meanwhile (nothing restored).
        """
        ctx = self._ctx
        with ctx.store.write() as uow:
            now = ctx.now()
            for item in removed:
                try:
                    uow.brands.restore(item.snapshot, now=now)
                except AlreadyExists:
                    raise InputError(
                        f"{item.name} cannot be put back: a brand with id {item.slug!r} was "
                        "added since"
                    ) from None
                uow.journal.append(
                    at=now, brand=item.slug, kind="restored", detail={"name": item.name}
                )
        refused = []
        for item in removed:
            try:
                store_secrets(ctx, item.slug, item.secrets)
            except Exception:
                refused.append(item.name)
                continue
            if item.unread:
                refused.append(item.name)  # its secrets were never read: cannot vouch for them
        return refused

    def brand_records(self) -> list[BrandRecord]:
        """Every brand as stored, sorted by name: a fast read-out for listings (no domain
        objects are built). Turn one into export-shaped data with ``interop.record_json``."""
        return records_by_name(self._ctx)

    def brand_record(self, slug: str) -> BrandRecord | None:
        """One brand as stored (the fast read-out), or None if it is gone."""
        with self._ctx.store.read() as uow:
            found = uow.brands.records(slug=slug)
        return found[0] if found else None

    def brand_summaries(
        self, slugs: Sequence[str] | None = None
    ) -> list[tuple[BrandRecord, BrandSummary]]:
        """Brands as stored with their :class:`BrandSummary` (the one read model of their
        preferences and status), sorted by name; only ``slugs`` when given (gone ones are
        left out). One read transaction; an edit re-reads only the brand it touched."""
        with bulk_work(), self._ctx.store.read() as uow:
            terms = uow.settings.policy()
            if slugs is None:
                records = uow.brands.records(order="name")
            else:
                records = [r for slug in slugs for r in uow.brands.records(slug=slug)]
        today = self._ctx.today()
        return [(r, BrandSummary.of_record(r, today, terms)) for r in records]
