"""Decisions and the vendor's state kept apart; the push in flight kept with the outbox.

Before this revision the first sync copied every vendor default into the customer's
preferences ("recorded N settings you had not decided"). This revision:

* adds ``preferences.vendor``: what the vendor last reported (shown as the vendor's);
* adds ``outbox.pending_push``: the body and idempotency key of a push, stored before it
  is sent, so the engine recognises the vendor state it caused after a crash;
* makes every field that was only ever *taken over* from a vendor (journal entries of kind
  ``accepted`` whose former value was ``default``) undecided again, when the stored value is
  still the one taken over, and journals that (kind ``undecided``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _grant_text(item: dict[str, Any]) -> str:
    expires = item.get("expires")
    return f"{item['decision']}@{expires}" if expires else str(item["decision"])


def _value(doc: dict[str, Any], name: str) -> str | None:
    """The journal's text of field ``name`` in a stored preference document, or None."""
    kind, _, rest = name.partition(".")
    channels = doc.get("channels") or {}
    if kind == "channel":
        entry = channels.get(rest) or {}
        return None if "enabled" not in entry else ("on" if entry["enabled"] else "off")
    if kind == "frequency":
        freq = (channels.get(rest) or {}).get("frequency")
        return str(freq) if freq else None
    if kind == "topic":
        topics = doc.get("topics") or {}
        return None if rest not in topics else ("on" if topics[rest] else "off")
    if kind == "grant":
        for item in doc.get("grants") or []:
            if f"{item['category']}.{item['purpose']}" == rest:
                return _grant_text(item)
        return None
    if kind == "quiet_hours":
        qh = doc.get("quiet_hours")
        return f"{qh['start']}-{qh['end']}" if qh else None
    return None


def _without(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """``doc`` with field ``name`` removed (undecided)."""
    kind, _, rest = name.partition(".")
    doc = json.loads(json.dumps(doc))
    channels = doc.get("channels") or {}
    if kind in ("channel", "frequency") and rest in channels:
        channels[rest].pop("enabled" if kind == "channel" else "frequency", None)
        if not channels[rest]:
            del channels[rest]
    elif kind == "topic":
        (doc.get("topics") or {}).pop(rest, None)
    elif kind == "grant":
        doc["grants"] = [
            g for g in doc.get("grants") or [] if f"{g['category']}.{g['purpose']}" != rest
        ]
    elif kind == "quiet_hours":
        doc["quiet_hours"] = None
    return doc


def upgrade() -> None:
    with op.batch_alter_table("preferences") as batch:
        batch.add_column(sa.Column("vendor", sa.Text(), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("pending_push", sa.Text(), nullable=True))
    conn = op.get_bind()
    conn.exec_driver_sql("UPDATE preferences SET vendor = base")
    taken: dict[str, list[tuple[str, str]]] = {}
    chain: dict[tuple[str, str], str] = {}  # (brand, field) -> the vendor's value last taken
    for brand, detail in conn.exec_driver_sql(
        "SELECT brand, detail FROM journal WHERE kind = 'accepted' ORDER BY id"
    ):
        for f in json.loads(detail).get("fields") or []:
            name, was, vendor = str(f.get("field") or ""), f.get("was"), str(f.get("vendor"))
            if not name:
                continue
            if was == "default" or chain.get((brand, name)) == was:
                # Taken over from the vendor, or a later vendor change of a value that was
                # only ever the vendor's: still never decided by the customer.
                chain[(brand, name)] = vendor
                taken.setdefault(brand, []).append((name, vendor))
            else:
                chain.pop((brand, name), None)  # the customer had decided it meanwhile
                taken.setdefault(brand, []).append((name, "\x00decided"))
    if not taken:
        return
    from cmr_desktop.storage.repositories import GENESIS, entry_hash

    last = conn.exec_driver_sql("SELECT id, hash FROM journal ORDER BY id DESC LIMIT 1").first()
    entry_id, prev = (last[0], last[1]) if last else (0, GENESIS)
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for slug, fields in sorted(taken.items()):
        row = conn.exec_driver_sql(
            "SELECT p.brand_id, p.local FROM preferences p JOIN brands b ON b.id = p.brand_id "
            "WHERE b.slug = ?",
            (slug,),
        ).first()
        if row is None:
            continue
        brand_id, doc = row[0], json.loads(row[1])
        undone = []
        for name, vendor_value in dict(fields).items():  # the last take-over of each field
            if _value(doc, name) == vendor_value:
                doc = _without(doc, name)
                undone.append({"field": name, "vendor": vendor_value})
        if not undone:
            continue
        conn.exec_driver_sql(
            "UPDATE preferences SET local = ? WHERE brand_id = ?",
            (json.dumps(doc, ensure_ascii=False), brand_id),
        )
        text = json.dumps(
            {"fields": undone, "reason": "taken over from the vendor, never decided by you"},
            ensure_ascii=False,
            sort_keys=True,
        )
        entry_id += 1
        digest = entry_hash(entry_id, now, slug, "undecided", text, prev)
        conn.exec_driver_sql(
            "INSERT INTO journal (id, at, brand, kind, detail, prev_hash, hash) "
            "VALUES (?, ?, ?, 'undecided', ?, ?, ?)",
            (entry_id, stamp, slug, text, prev, digest),
        )
        prev = digest


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("pending_push")
    with op.batch_alter_table("preferences") as batch:
        batch.drop_column("vendor")
