"""CSV export: one row per brand x channel, for spreadsheets.

Columns (documented in docs/cli.md):

* ``brand`` (id), ``name``, ``category``, ``status``, ``connector``, ``tags`` (``;``-separated)
* ``channel``: vocabulary id (all seven channels appear for every brand)
* ``enabled``: ``on``, ``off`` or empty (not decided: the vendor's default)
* ``frequency``: vocabulary id or empty
* ``quiet_hours``: ``HH:MM-HH:MM`` or empty (the same on every row of a brand)
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

from cmr_desktop.domain.brand import CSV_FIELDS, Brand, BrandFieldKind
from cmr_desktop.domain.vocabulary import Channel

#: Per channel, after the brand's columns (``domain.brand.CSV_FIELDS``).
CHANNEL_COLUMNS = ("channel", "enabled", "frequency", "quiet_hours")
CSV_COLUMNS = (*(f.column for f in CSV_FIELDS), *CHANNEL_COLUMNS)


def _cell(kind: BrandFieldKind, value: Any) -> str:
    if kind is BrandFieldKind.STATUS:
        return str(value.value)
    if kind is BrandFieldKind.TAGS:
        return ";".join(value)
    return str(value)


def write_csv(brands: Iterable[Brand], out: IO[str]) -> int:
    """Write the CSV view of ``brands`` to ``out``; returns the number of data rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows = 0
    for b in sorted(brands, key=lambda b: b.slug):
        head = [_cell(f.kind, getattr(b, f.name)) for f in CSV_FIELDS]
        p = b.preferences
        quiet = str(p.quiet_hours) if p.quiet_hours else ""
        for ch in Channel:
            on = p.channels.get(ch)
            freq = p.frequencies.get(ch)
            writer.writerow(
                [
                    *head,
                    ch.value,
                    "" if on is None else ("on" if on else "off"),
                    freq.value if freq else "",
                    quiet,
                ]
            )
            rows += 1
    return rows
