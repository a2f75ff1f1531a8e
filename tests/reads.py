"""What tests read back to check a use case, through the public paths or the storage itself.

``Services`` had methods only tests called (``list_brands``, ``export_document``,
``consent_receipts``, ``directory_entry``); they went when the services were split, and the
tests read the same things here.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

from cmr_desktop.domain.directory import DirectoryEntry
from cmr_desktop.services import BrandView, Services


def list_brands(services: Services) -> list[BrandView]:
    """Every brand with its pending flag, as stored (sorted as the repository lists them)."""
    with services.store.read() as uow:
        pending = uow.brands.pending_slugs()
        return [BrandView(b, b.slug in pending) for b in uow.brands.all()]


def export_document(services: Services) -> dict[str, Any]:
    """The export document, as ``cmr export`` writes it."""
    out = io.StringIO()
    services.transfer.export_json(out)
    document: dict[str, Any] = json.loads(out.getvalue())
    return document


def consent_receipts(services: Services, refs: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The consent receipts of ``refs`` (default: every brand), as
    ``cmr export --format receipts`` writes them."""
    out = io.StringIO()
    services.transfer.export_receipts(out, refs)
    receipts: list[dict[str, Any]] = json.loads(out.getvalue())
    return receipts


def directory_entry(services: Services, slug: str) -> DirectoryEntry | None:
    """One organisation of the imported company directory, as stored."""
    with services.store.read() as uow:
        return uow.directory.get(slug)
