"""One read model of a brand's preferences and status, for every view that counts them.

The table, the sidebar, the status bar, the data map, notices and services all ask the same
questions of a brand: which channels it may use, how often, which data uses are active, which
permissions end soon, whether it breaks My Terms, whether its vendor has something open that
the customer never decided, and which status it is in. :class:`BrandSummary` answers them
once, from the stored decisions (``PreferenceSet.to_dict()`` shape), the vendor's last
reported state (same shape, or None before the first sync), the pending flag, the last sync
status, today's date and My Terms, so every view counts the same brands.

Rules kept here:

* An ended permission (an allow whose last day has passed) is a refusal: it never counts as an
  active data use, and never as ending soon.
* A vendor's value is never a decision: "vendor allows what you have not decided" lists the
  undecided fields the vendor has open (a channel or topic on, a data use allowed, a
  frequency), and ``objected`` those of them My Terms would object to.
* One status vocabulary (:class:`Status`) for the table, sidebar, status bar and CLI.
* One judgement of My Terms (:func:`judge_terms`) for the counts, the My Terms window and the
  CLI: a rule is broken where the customer decided against it, or where an undecided field
  is something the brand can do (see ``domain.policy``). What the brand can do comes from what
  its vendor's catalog offered at the last sync, stored with the vendor's state
  (:func:`reach_of`); a brand handled by hand, never synced, or synced before the catalog was
  stored, may do anything (the customer's advocate assumes the worst) unless the vendor's own
  state refuses it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cmr_desktop.domain.policy import (
    UNKNOWN,
    GrantMaxMonths,
    MaxFrequency,
    MyTerms,
    NeverPurpose,
    NoChannel,
    QuietHoursRule,
    Reach,
    Violation,
    add_months,
)
from cmr_desktop.domain.preferences import FieldKey, FieldValue, Grant, PreferenceSet
from cmr_desktop.domain.vocabulary import Channel, DataCategory, Decision, Frequency, Purpose

_CHANNEL_IDS = tuple(c.value for c in Channel)
_FREQ_RANK = {f.value: f.rank for f in Frequency}
_RANK_FREQ = {f.rank: f.value for f in Frequency}
_NONE: Mapping[str, Any] = {}


@functools.lru_cache(maxsize=4096)
def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


#: A permission ending within this many days is "ending soon" (the dashboard's flag).
SOON_DAYS = 30


class Status(StrEnum):
    """Where a brand stands with its vendor: the one vocabulary of every view."""

    NEW = "new"  # never synced, choices waiting
    PENDING = "pending"  # changed since the vendor last confirmed
    IN_SYNC = "in_sync"  # the vendor confirmed the customer's choices
    DRIFT = "drift"  # the vendor had loosened a choice (it was put back)
    FAILED = "failed"  # the last sync failed
    NEEDS_REAUTH = "needs_reauth"  # the vendor refused the stored token
    MANUAL = "manual"  # no vendor API: the customer carries the choices out by hand

    @property
    def label(self) -> str:
        return _STATUS_TEXT[self][0]

    @property
    def description(self) -> str:
        return _STATUS_TEXT[self][1]

    @property
    def needs_attention(self) -> bool:
        return self in ATTENTION


_STATUS_TEXT = {
    Status.IN_SYNC: ("In sync", "The vendor confirmed your choices."),
    Status.PENDING: (
        "Pending",
        "Your latest changes have not been confirmed by the vendor yet.",
    ),
    Status.DRIFT: (
        "Drift",
        "The vendor had loosened a choice of yours; yours was sent again (the brand says "
        "whether the vendor kept it).",
    ),
    Status.FAILED: ("Failed", "The last sync failed; see the brand for the reason."),
    Status.NEEDS_REAUTH: (
        "Needs sign-in",
        "The vendor refused the stored token: enter it again.",
    ),
    Status.MANUAL: ("By hand", "No vendor API: carry out your choices yourself."),
    Status.NEW: ("Not synced yet", "This brand has never been synced."),
}

#: Statuses that need the customer (counted under "Needs attention").
ATTENTION = frozenset({Status.DRIFT, Status.FAILED, Status.NEEDS_REAUTH, Status.MANUAL})


def status_of(connector: str, pending: bool, sync_status: str, confirmed: str | None) -> Status:
    """The status of a brand from what is stored (connector id, outbox, last sync)."""
    if sync_status in ("needs_reauth", "failed", "drift"):
        return Status(sync_status)
    if connector == "manual" or sync_status == "manual":  # by hand, or left to the customer
        return Status.MANUAL if pending else Status.IN_SYNC
    if pending:
        return Status.PENDING if confirmed else Status.NEW
    return Status.IN_SYNC


@dataclass(frozen=True, slots=True)
class DataUse:
    """A permission that holds today: a kind of data, a purpose, and its last day (or None)."""

    category: DataCategory
    purpose: Purpose
    expires: dt.date | None

    @property
    def words(self) -> str:
        """ "purchase history data for marketing" """
        return f"{self.category.label.lower()} data for {self.purpose.label.lower()}"


@dataclass(frozen=True, slots=True)
class VendorOpen:
    """A field the customer left undecided that the vendor has open (its value, not a
    decision), and the My Terms rules that object to it (empty: none do)."""

    key: FieldKey
    value: FieldValue
    objections: tuple[str, ...] = ()


def active_uses(decisions: Mapping[str, Any], today: dt.date) -> tuple[DataUse, ...]:
    """The allowed data uses that hold ``today`` (an ended permission is a refusal)."""
    out = []
    categories, purposes = DataCategory._value2member_map_, Purpose._value2member_map_
    for g in decisions.get("grants") or ():
        if g.get("decision") != "allow":
            continue
        expires = _date(g["expires"]) if g.get("expires") else None
        if expires is not None and expires < today:
            continue
        out.append(DataUse(categories[g["category"]], purposes[g["purpose"]], expires))  # type: ignore[arg-type]
    return tuple(out)


def ending_within(uses: tuple[DataUse, ...], today: dt.date, days: int) -> tuple[DataUse, ...]:
    """The uses whose last day is within ``days`` of ``today`` (today included)."""
    last = today + dt.timedelta(days=days)
    return tuple(u for u in uses if u.expires is not None and today <= u.expires <= last)


def _allows(key: FieldKey, value: FieldValue, vendor: PreferenceSet, today: dt.date) -> bool:
    """Whether a vendor's value of an undecided field leaves something open."""
    k: tuple[Any, ...] = key  # mypy cannot narrow a union of tuples by its first item
    kind = k[0]
    if kind in ("channel", "topic"):
        return value is True
    if kind == "grant":
        return isinstance(value, Grant) and value.effective(today) is Decision.ALLOW
    if kind == "frequency":
        # How often a channel may be used matters only where the vendor has it on.
        return isinstance(value, Frequency) and vendor.channels.get(k[1]) is not False
    return False  # quiet hours restrict, never allow


def objections(terms: MyTerms, key: FieldKey, value: FieldValue, today: dt.date) -> tuple[str, ...]:
    """The rules of My Terms that object to ``key`` holding ``value`` (their texts)."""
    k: tuple[Any, ...] = key
    out = []
    for rule in terms.rules:
        if isinstance(rule, NoChannel):
            hit = key == ("channel", rule.channel) and value is True
        elif isinstance(rule, MaxFrequency):
            hit = (
                key == ("frequency", rule.channel)
                and isinstance(value, Frequency)
                and value.rank > rule.frequency.rank
            )
        elif isinstance(rule, NeverPurpose):
            hit = (
                key[0] == "grant"
                and k[2] == rule.purpose
                and isinstance(value, Grant)
                and value.effective(today) is Decision.ALLOW
            )
        elif isinstance(rule, GrantMaxMonths):
            limit = add_months(today, rule.months)
            hit = (
                key[0] == "grant"
                and isinstance(value, Grant)
                and value.effective(today) is Decision.ALLOW
                and (value.expires is None or value.expires > limit)
            )
        elif isinstance(rule, QuietHoursRule):
            hit = False  # a vendor's quiet hours never open anything
        else:  # pragma: no cover - every rule kind is listed above
            hit = False
        if hit:
            out.append(str(rule))
    return tuple(out)


def vendor_open(
    decisions: PreferenceSet, vendor: PreferenceSet | None, terms: MyTerms, today: dt.date
) -> tuple[VendorOpen, ...]:
    """Undecided fields the vendor has open, with My Terms' objections to each."""
    if vendor is None:
        return ()
    decided = decisions.fields()
    out = []
    for key, value in sorted(vendor.fields().items(), key=lambda kv: str(kv[0])):
        if key in decided or not _allows(key, value, vendor, today):
            continue
        k: tuple[Any, ...] = key
        if k[0] == "frequency" and decisions.channels.get(k[1]) is False:
            continue  # the customer refused the channel: its frequency does not matter
        out.append(VendorOpen(key, value, objections(terms, key, value, today)))
    return tuple(out)


def offered_text(
    channels: Iterable[Channel], data_uses: Iterable[tuple[DataCategory, Purpose]]
) -> str:
    """What a vendor's catalog offers, as the stored text (``preferences.offered``)."""
    return json.dumps(
        {
            "channels": sorted(c.value for c in channels),
            "data_uses": sorted([c.value, p.value] for c, p in data_uses),
        },
        separators=(",", ":"),
    )


@functools.lru_cache(maxsize=256)
def _offered(
    text: str,
) -> tuple[frozenset[Channel], frozenset[tuple[DataCategory, Purpose]]] | None:
    """The stored offer read back (brands of one vendor share one text, so one parse)."""
    try:
        data = json.loads(text)
        channels = frozenset(Channel(c) for c in data["channels"])
        uses = frozenset((DataCategory(c), Purpose(p)) for c, p in data["data_uses"])
    except (ValueError, KeyError, TypeError):
        return None  # unreadable: treated as unknown (the brand may do anything)
    return channels, uses


def reach_of(connector: str, vendor: PreferenceSet | None, offered: str | None = None) -> Reach:
    """What a brand can do, from what is stored: the channels and data uses its vendor's
    catalog offered at the last sync, and the vendor's last reported state. Unknown parts
    (brands handled by hand, never synced, an older home) mean it may do anything."""
    if connector == "manual":
        return Reach()
    known = _offered(offered) if offered is not None else None
    if known is None:
        return Reach(vendor=vendor) if vendor is not None else UNKNOWN
    return Reach(channels=known[0], data_uses=known[1], vendor=vendor)


def judge_terms(
    terms: MyTerms,
    *,
    name: str,
    connector: str,
    decisions: PreferenceSet,
    vendor: PreferenceSet | None,
    today: dt.date,
    offered: str | None = None,
) -> tuple[tuple[Violation, ...], tuple[Violation, ...]]:
    """How a brand breaks My Terms, and the rules only its vendor's own setting keeps: the
    one judgement behind every count and list of "Breaks My Terms"."""
    if not terms.rules:
        return (), ()
    found = terms.judge(decisions, today, name, reach_of(connector, vendor, offered))
    return tuple(v for v in found if not v.kept), tuple(v for v in found if v.kept)


@dataclass(frozen=True, slots=True)
class BrandSummary:
    """What one brand may do and where it stands, computed once (see the module docstring).

    Attributes:
        slug / name: the brand.
        status: its :class:`Status`.
        pending: whether the vendor has yet to confirm the customer's choices.
        channels: channel ids the customer allowed, in vocabulary order.
        frequency: the most frequent limit among the allowed channels (a Frequency id), or "".
        data_uses: the permissions that hold today.
        ending_soon: the data uses whose last day is within ``SOON_DAYS``.
        violations: how the brand breaks My Terms (``domain.policy``: a decision against
            them, or an undecided field the brand can use).
        vendor_open: undecided fields the vendor has open (the vendor's values).
        kept_by_vendor: rules the customer has not decided on that only the vendor's own
            setting keeps (the vendor's, not a decision; not a break).
    """

    slug: str
    name: str
    status: Status
    pending: bool
    channels: tuple[str, ...]
    frequency: str
    data_uses: tuple[DataUse, ...]
    ending_soon: tuple[DataUse, ...]
    violations: tuple[Violation, ...]
    vendor_open: tuple[VendorOpen, ...]
    kept_by_vendor: tuple[Violation, ...] = ()

    @property
    def breaks_terms(self) -> bool:
        return bool(self.violations)

    @property
    def objected(self) -> tuple[VendorOpen, ...]:
        """Of :attr:`vendor_open`, what My Terms would object to."""
        return tuple(v for v in self.vendor_open if v.objections)

    @property
    def vendor_allows_undecided(self) -> bool:
        """The vendor allows something the customer has not decided, and My Terms object
        (the dashboard's "Vendor allows what you haven't decided")."""
        return any(v.objections for v in self.vendor_open)

    @property
    def needs_attention(self) -> bool:
        """Counted under "Needs attention": its status, My Terms, an ending permission, or
        the vendor allowing what My Terms object to and the customer has not decided."""
        return (
            self.status in ATTENTION
            or self.breaks_terms
            or bool(self.ending_soon)
            or self.vendor_allows_undecided
        )

    @classmethod
    def build(
        cls,
        *,
        slug: str,
        name: str,
        connector: str,
        decisions: Mapping[str, Any],
        vendor: Mapping[str, Any] | None,
        pending: bool,
        sync_status: str,
        confirmed_at: str | None,
        today: dt.date,
        terms: MyTerms,
        offered: str | None = None,
    ) -> BrandSummary:
        """From stored data: ``decisions`` and ``vendor`` in ``PreferenceSet.to_dict()`` shape,
        ``offered`` as stored (:func:`offered_text`)."""
        # Plain look-ups on ids (enum calls cost a microsecond each, and a window load
        # summarises every brand).
        channels_data = decisions.get("channels") or {}
        allowed = tuple(
            ch for ch in _CHANNEL_IDS if (channels_data.get(ch) or _NONE).get("enabled")
        )
        top = max(
            (_FREQ_RANK[channels_data[ch]["frequency"]] for ch in allowed
             if channels_data[ch].get("frequency")),
            default=-1,
        )  # fmt: skip
        frequency = _RANK_FREQ[top] if top >= 0 else ""
        uses = active_uses(decisions, today)
        violations: tuple[Violation, ...] = ()
        kept: tuple[Violation, ...] = ()
        opened: tuple[VendorOpen, ...] = ()
        if terms.rules or vendor is not None:
            prefs = PreferenceSet.from_dict(decisions)
            theirs = PreferenceSet.from_dict(vendor) if vendor is not None else None
            violations, kept = judge_terms(
                terms,
                name=name,
                connector=connector,
                decisions=prefs,
                vendor=theirs,
                today=today,
                offered=offered,
            )
            if theirs is not None:
                opened = vendor_open(prefs, theirs, terms, today)
        return cls(
            slug=slug,
            name=name,
            status=status_of(connector, pending, sync_status, confirmed_at),
            pending=pending,
            channels=allowed,
            frequency=frequency,
            data_uses=uses,
            ending_soon=ending_within(uses, today, SOON_DAYS),
            violations=violations,
            vendor_open=opened,
            kept_by_vendor=kept,
        )

    @classmethod
    def of_record(cls, record: Any, today: dt.date, terms: MyTerms) -> BrandSummary:
        """From a storage ``BrandRecord`` (duck-typed: the domain imports no storage)."""
        return cls.build(
            slug=record.slug,
            name=record.name,
            connector=record.connector,
            decisions=record.preferences,
            vendor=record.vendor,
            pending=record.pending,
            sync_status=record.sync_status,
            confirmed_at=record.confirmed_at,
            today=today,
            terms=terms,
            offered=record.offered_json,
        )


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts over many summaries, the same for every view (sidebar, status bar, notices)."""

    total: int = 0
    by_status: Mapping[Status, int] | None = None
    attention: int = 0
    breaks_terms: int = 0
    ending_soon: int = 0
    vendor_allows_undecided: int = 0

    @classmethod
    def of(cls, summaries: Any) -> Tally:
        by_status: dict[Status, int] = {}
        total = attention = terms = ending = vendor = 0
        for s in summaries:
            total += 1
            by_status[s.status] = by_status.get(s.status, 0) + 1
            attention += s.needs_attention
            terms += s.breaks_terms
            ending += bool(s.ending_soon)
            vendor += s.vendor_allows_undecided
        return cls(total, by_status, attention, terms, ending, vendor)
