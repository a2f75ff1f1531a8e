"""The mailbox's stored headers: scanned sources with their resume point, and one row per
message from a brand (headers only, never a body).

Plain SQL (as ``SyncRepository``): a scan stores hundreds of rows per batch, and the
dashboard's read-out is a few aggregate queries whatever the number of brands.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from cmr_desktop.discovery.grouping import Observation
from cmr_desktop.domain.directory import DirectoryEntry


def _stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


@dataclass(frozen=True, slots=True)
class KeyStats:
    """What the stored mail of one brand key says (the sender's behaviour).

    ``messages`` counts distinct messages dated within the asked window; ``first_seen`` and
    ``last_seen`` cover every dated message stored.
    """

    key: str
    domain: str
    name: str
    messages: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    one_click: bool
    mailto: bool
    web: bool


@dataclass(frozen=True, slots=True)
class UnsubscribeTargets:
    """The unsubscribe headers of a key's newest message that has any, DKIM-verified first."""

    uris: tuple[str, ...]
    one_click: bool
    dkim_pass_domain: str
    from_address: str
    date: dt.datetime | None


@dataclass(frozen=True, slots=True)
class TrackedRow:
    """A tracked brand as matching and measuring need it."""

    slug: str
    name: str
    website: str
    privacy_contact: str
    connector_config: dict[str, str]
    preferences: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LatestEntry:
    """A brand's newest journal entry of one kind."""

    brand: str
    at: dt.datetime
    detail: dict[str, Any]


_INSERT = (
    "INSERT OR IGNORE INTO mail_messages (source, ident, brand_key, domain, name, message_id, "
    "date, from_address, list_id, unsubscribe, one_click, methods, dkim_pass_domain, location) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
#: The bits of ``mail_messages.methods``.
ONE_CLICK, MAILTO, WEB = 1, 2, 4
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode

#: Every brand key's figures in one pass over the covering index (brand_key, date, methods,
#: ident); its name and domain from its newest message.
_STATS = """
SELECT m.brand_key,
  (SELECT n.domain FROM mail_messages n WHERE n.brand_key = m.brand_key LIMIT 1),
  (SELECT n.name FROM mail_messages n WHERE n.brand_key = m.brand_key AND n.name != ''
   ORDER BY n.date DESC LIMIT 1),
  count(DISTINCT CASE WHEN m.date >= :since AND m.date <= :until THEN m.ident END),
  min(m.date), max(m.date), max(m.methods & 1), max(m.methods & 2), max(m.methods & 4)
FROM mail_messages m GROUP BY m.brand_key
"""


def methods_of(o: Observation) -> int:
    """The unsubscribe methods ``o`` offers (the bits of ``mail_messages.methods``)."""
    lowered = [u[:8].lower() for u in o.unsubscribe]
    https = any(u.startswith("https:") for u in lowered)
    bits = ONE_CLICK if o.one_click and https else 0
    if any(u.startswith("mailto:") for u in lowered):
        bits |= MAILTO
    if any(u.startswith(("https:", "http:")) for u in lowered):
        bits |= WEB
    return bits


class MailRepository:
    """Scanned sources and the brand mail they held."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _sql(self, sql: str, params: Any = None) -> Any:
        return self.session.connection().exec_driver_sql(sql, params or {})

    # --- sources and scans -------------------------------------------------------------

    def resume_point(self, key: str) -> dict[str, Any] | None:
        """Where the next scan of source ``key`` starts (None: never scanned)."""
        row = self._sql("SELECT resume FROM mail_sources WHERE key = :key", {"key": key}).first()
        return dict(json.loads(row[0])) if row else None

    def store_batch(
        self,
        source: str,
        description: str,
        observations: Sequence[Observation],
        resume: dict[str, Any],
        *,
        now: dt.datetime,
    ) -> int:
        """Store a batch of messages of ``source`` and the resume point that covers exactly
        them (call inside one write transaction). A message already stored from this source
        (same Message-ID) is not stored twice. Returns how many were new."""
        self._sql(
            "INSERT INTO mail_sources (key, description, resume, scanned_at) "
            "VALUES (:key, :description, :resume, :at) ON CONFLICT(key) DO UPDATE SET "
            "description = excluded.description, resume = excluded.resume, "
            "scanned_at = excluded.scanned_at",
            {
                "key": source,
                "description": description,
                "resume": json.dumps(resume, sort_keys=True),
                "at": _stamp(now),
            },
        )
        if not observations:
            return 0
        before = self._sql("SELECT total_changes()").scalar()
        stamp = _stamp
        self._sql(
            _INSERT,
            [
                (
                    source,
                    o.ident,
                    o.brand_key,
                    o.domain,
                    o.name,
                    o.message_id,
                    stamp(o.date) if o.date is not None else None,
                    o.from_address,
                    o.list_id,
                    _ENCODE(list(o.unsubscribe)),
                    o.one_click,
                    methods_of(o),
                    o.dkim_pass_domain,
                    o.where,
                )
                for o in observations
            ],
        )
        return int(self._sql("SELECT total_changes()").scalar()) - int(before)

    def sources(self) -> list[tuple[str, str, dt.datetime]]:
        """(key, description, last scanned) of every scanned source."""
        rows = self._sql("SELECT key, description, scanned_at FROM mail_sources ORDER BY key")
        return [(r[0], r[1], dt.datetime.fromisoformat(r[2])) for r in rows]

    # --- reading -----------------------------------------------------------------------

    def newest_and_oldest(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The dates of the newest and the oldest stored message (None when none)."""
        row = self._sql("SELECT max(date), min(date) FROM mail_messages").one()
        return _time(row[0]), _time(row[1])

    def key_stats(self, since: dt.datetime, until: dt.datetime) -> list[KeyStats]:
        """Every brand key's figures, counting messages dated in [since, until] (one query)."""
        rows = self._sql(_STATS, {"since": _stamp(since), "until": _stamp(until)})
        return [
            KeyStats(
                key=r[0],
                domain=r[1] or "",
                name=r[2] or "",
                messages=int(r[3]),
                first_seen=_time(r[4]),
                last_seen=_time(r[5]),
                one_click=bool(r[6]),
                mailto=bool(r[7]),
                web=bool(r[8]),
            )
            for r in rows
        ]

    def unsubscribe_targets(self, key: str) -> UnsubscribeTargets | None:
        """The unsubscribe headers of ``key``'s newest message that carries any, taking a
        DKIM-verified message before one that is not."""
        row = self._sql(
            "SELECT unsubscribe, one_click, dkim_pass_domain, from_address, date "
            "FROM mail_messages WHERE brand_key = :key AND unsubscribe != '[]' "
            "ORDER BY dkim_pass_domain != '' DESC, date DESC LIMIT 1",
            {"key": key},
        ).first()
        if row is None:
            return None
        return UnsubscribeTargets(
            tuple(json.loads(row[0])), bool(row[1]), row[2], row[3], _time(row[4])
        )

    def dated_after(
        self, keys: Iterable[str], after: dt.datetime
    ) -> list[tuple[str, dt.datetime, str]]:
        """(key, date, Message-ID or place) of each distinct message of ``keys`` dated after
        ``after``, oldest first (one query)."""
        wanted = sorted(set(keys))
        if not wanted:
            return []
        marks = ", ".join(f":k{i}" for i in range(len(wanted)))
        params: dict[str, Any] = {f"k{i}": k for i, k in enumerate(wanted)}
        params["after"] = _stamp(after)
        rows = self._sql(
            "SELECT brand_key, min(date), ident FROM mail_messages "
            f"WHERE brand_key IN ({marks}) AND date > :after "
            "GROUP BY brand_key, ident ORDER BY min(date), ident",
            params,
        )
        return [(r[0], dt.datetime.fromisoformat(r[1]), r[2]) for r in rows]

    def directory(self) -> list[DirectoryEntry]:
        """The directory's organisations with what matching needs (one query)."""
        rows = self._sql("SELECT slug, name, email, web, webform, categories FROM directory")
        return [
            DirectoryEntry(
                slug=r[0],
                name=r[1],
                email=r[2],
                web=r[3],
                webform=r[4],
                categories=tuple(json.loads(r[5])),
            )
            for r in rows
        ]

    def tracked(self) -> list[TrackedRow]:
        """Every tracked brand's matching details and decisions (one query)."""
        rows = self._sql(
            "SELECT b.slug, b.name, b.website, b.privacy_contact, b.connector_config, p.local "
            "FROM brands b JOIN preferences p ON p.brand_id = b.id ORDER BY b.slug"
        )
        return [
            TrackedRow(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5])) for r in rows
        ]

    def entries_of_kind(self, kind: str) -> list[LatestEntry]:
        """Every journal entry of ``kind`` (a rare kind: unsubscribes), oldest first (one
        query)."""
        rows = self._sql(
            "SELECT brand, at, detail FROM journal WHERE kind = :kind ORDER BY id", {"kind": kind}
        )
        return [LatestEntry(r[0], dt.datetime.fromisoformat(r[1]), json.loads(r[2])) for r in rows]

    def latest_entries(self, kind: str, *, source: str | None = None) -> dict[str, LatestEntry]:
        """Each brand's newest journal entry of ``kind`` (only those whose detail's
        ``source`` is ``source``, when given), by brand id (one query)."""
        where = "kind = :kind"
        params = {"kind": kind}
        if source is not None:
            where += " AND json_extract(detail, '$.source') = :source"
            params["source"] = source
        rows = self._sql(
            "SELECT brand, at, detail FROM journal WHERE id IN "
            f"(SELECT max(id) FROM journal WHERE {where} GROUP BY brand)",
            params,
        )
        return {
            r[0]: LatestEntry(r[0], dt.datetime.fromisoformat(r[1]), json.loads(r[2])) for r in rows
        }
