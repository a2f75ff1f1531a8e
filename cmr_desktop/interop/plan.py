"""What an import would change, for ``cmr import --dry-run`` and the import itself."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from cmr_desktop.domain.brand import DETAIL_FIELDS, Brand
from cmr_desktop.domain.fields import Field, in_order
from cmr_desktop.domain.policy import MyTerms
from cmr_desktop.domain.preferences import FieldKey, FieldValue


@dataclass(frozen=True, slots=True)
class BrandChange:
    old: Brand
    new: Brand
    details: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """Brands to add, brands to change, and whether My Terms change.

    Brands already stored but absent from the file are left alone: an import adds and
    updates, it never deletes.
    """

    added: tuple[Brand, ...] = ()
    changed: tuple[BrandChange, ...] = ()
    unchanged: int = 0
    policy_before: MyTerms = field(default_factory=MyTerms)
    policy_after: MyTerms | None = None  # None: unchanged

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.changed or self.policy_after is not None)

    def lines(self) -> Iterator[str]:
        """The diff as text, one line per brand (``+`` new, ``~`` changed)."""
        for b in self.added:
            yield f"+ {b.slug}: new brand {b.name!r}"
        for c in self.changed:
            yield f"~ {c.new.slug}: " + "; ".join(c.details)
        if self.policy_after is not None:
            before = ", ".join(self.policy_before.describe()) or "no rules"
            after = ", ".join(self.policy_after.describe()) or "no rules"
            yield f"~ My Terms: {before} -> {after}"
        yield (
            f"{len(self.added)} to add, {len(self.changed)} to change, "
            f"{self.unchanged} unchanged"
            + (", My Terms change" if self.policy_after is not None else "")
        )


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "-"
    return str(value) or "-"


def brand_differences(old: Brand, new: Brand) -> list[str]:
    """Human-readable differences between two versions of a brand (empty when equal)."""
    out = []
    for f in DETAIL_FIELDS:
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a != b:
            out.append(f"{f.name}: {_fmt(a)} -> {_fmt(b)}")
    fa: Mapping[FieldKey, FieldValue] = old.preferences.fields()
    fb: Mapping[FieldKey, FieldValue] = new.preferences.fields()
    for key in in_order(fa.keys() | fb.keys()):
        if fa.get(key) != fb.get(key):
            out.append(f"{Field(key).plan_name}: {_fmt(fa.get(key))} -> {_fmt(fb.get(key))}")
    return out


def plan_import(
    existing: Mapping[str, Brand], policy: MyTerms, incoming: tuple[Brand, ...], new_policy: MyTerms
) -> ImportPlan:
    added: list[Brand] = []
    changed: list[BrandChange] = []
    unchanged = 0
    for brand in incoming:
        old = existing.get(brand.slug)
        if old is None:
            added.append(brand)
            continue
        details = brand_differences(old, brand)
        if details:
            changed.append(BrandChange(old, brand, tuple(details)))
        else:
            unchanged += 1
    return ImportPlan(
        tuple(added),
        tuple(changed),
        unchanged,
        policy,
        new_policy if new_policy != policy else None,
    )
