"""The mailbox (``services.discovery``): scan a source's headers, list the brands that write
to the customer, add the ones the customer picks, and measure how the brands behave.

The rule of the product holds here too: what a brand's mail shows (how often it writes,
whether it kept writing after an unsubscribe) is the *vendor's* behaviour. It is shown and
journaled as such and never written as a decision; the only decision :meth:`add_found`
records is the e-mail frequency the customer chose (the suggestion only pre-fills it).

**Scans** store what they read in batches of :data:`BATCH` messages, one write transaction
each, together with the source's resume point for exactly those messages: a cancel (or a
crash) keeps every stored batch and the next scan starts after the last one. Personal mail
is counted as read and never stored (see :mod:`cmr_desktop.discovery.grouping`).

**Removing a brand keeps its observations.** The stored messages belong to the mailbox
(keyed by the sender's brand key, not by a tracked brand), and matching is worked out on
every read from the brand's record, so a removed brand shows up again as found-but-not-
tracked, an undone removal matches again, and the journal's drift entries (kept after a
removal like every entry) still say which evidence was already reported.

**Drift from the mailbox**: after each scan, every tracked brand that wrote after the
deadline of its newest ``unsubscribe`` journal entry gets a ``drift`` journal entry (detail:
``source`` "mailbox", the unsubscribe's method and time, the deadline, the evidence as dates
and Message-IDs, never bodies) when there is evidence newer than the last such entry, and
its sync status becomes ``drift`` with a one-line reason, as the window shows other drift.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from cmr_desktop.discovery.grouping import Observation, domain_of, observe
from cmr_desktop.discovery.matching import DirectoryIndex, TrackedBrand, TrackedIndex
from cmr_desktop.discovery.measuring import (
    allowed_per_week,
    deadline_after,
    over_limit,
    suggest_frequency,
    window_weeks,
)
from cmr_desktop.domain.brand import Brand, slugify
from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.preferences import PreferenceSet
from cmr_desktop.domain.vocabulary import Channel, Frequency
from cmr_desktop.mail.headers import MailHeaders, MailSource, Skipped
from cmr_desktop.services.base import Context
from cmr_desktop.services.errors import InputError
from cmr_desktop.storage import KeyStats, TrackedRow, UnitOfWork

#: Messages stored per write transaction during a scan.
BATCH = 500
#: Skipped messages listed in a report (the rest are only counted).
REASONS_KEPT = 50
#: Evidence items kept in one drift journal entry (the newest; the count says how many).
EVIDENCE_KEPT = 50
#: The connector of brands added from the mailbox (built in: e-mail unsubscribes).
EMAIL_CONNECTOR = "email"
#: The journal kind of a brand added (or linked) from the mailbox.
ADDED_KIND = "from_mailbox"
DEFAULT_DAYS = 90


@dataclass(frozen=True, slots=True)
class ScanProgress:
    """How far a scan is: messages read (brand mail and personal), skipped, and the total
    when the source knows it up front."""

    read: int
    skipped: int
    total: int | None


@dataclass(frozen=True, slots=True)
class FoundBrand:
    """A brand that writes to the customer, as the mailbox shows it (the sender's
    behaviour; ``suggested`` only pre-fills the customer's choice)."""

    key: str
    name: str
    domain: str
    directory_slug: str
    directory_name: str
    privacy_contact: str
    messages: int
    per_week: float
    first_seen: dt.datetime
    last_seen: dt.datetime
    methods: tuple[str, ...]
    tracked_slug: str
    suggested: Frequency


@dataclass(frozen=True, slots=True)
class ScanReport:
    """What a scan did. ``skipped_reasons``: (where, reason) of the first skipped messages."""

    read: int
    skipped: int
    skipped_reasons: list[tuple[str, str]]
    cancelled: bool
    found: list[FoundBrand]
    stored: int = 0  # messages newly stored (a rescan of the same mail stores none)


@dataclass(frozen=True, slots=True)
class IgnoredUnsubscribe:
    """A brand kept writing after the customer unsubscribed, past the deadline."""

    method: str
    unsubscribed_at: dt.datetime
    deadline: dt.datetime
    evidence: tuple[tuple[dt.datetime, str], ...]  # (date, Message-ID), oldest first


@dataclass(frozen=True, slots=True)
class Measured:
    """How a tracked brand really writes (the vendor's behaviour), against the e-mail
    frequency the customer chose (``allowed_per_week``; None: no limit)."""

    per_week: float
    messages: int
    last_seen: dt.datetime | None
    allowed_per_week: float | None
    over_limit: bool
    ignored_unsubscribe: IgnoredUnsubscribe | None
    weeks: float = 1.0  # the span ``messages`` were counted over (``per_week``'s divisor)


def _methods(stats: KeyStats) -> tuple[str, ...]:
    flags = (("one-click", stats.one_click), ("mailto", stats.mailto), ("web", stats.web))
    return tuple(name for name, present in flags if present)


def _tracked(rows: list[TrackedRow]) -> TrackedIndex:
    return TrackedIndex(
        TrackedBrand(r.slug, r.name, r.website, r.privacy_contact, r.connector_config) for r in rows
    )


def _email_choice(preferences: Mapping[str, object]) -> tuple[bool | None, Frequency | None]:
    prefs = PreferenceSet.from_dict(preferences)
    return prefs.channels.get(Channel.EMAIL), prefs.frequencies.get(Channel.EMAIL)


@dataclass(frozen=True, slots=True)
class _Window:
    since: dt.datetime
    until: dt.datetime
    weeks: float
    days: int


class DiscoveryService:
    """The mailbox's brands: scanning, the found list, adding, measuring."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    # --- scanning --------------------------------------------------------------------------

    def scan(
        self,
        source: MailSource,
        *,
        progress: Callable[[ScanProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> ScanReport:
        """Read the new mail of ``source`` (from where its last scan ended) on the caller's
        thread, storing brand mail's headers in batches; then report drift the new mail
        proves and return the found brands.

        Raises:
            MailError (from the source): it could not be read; the batches stored before
                stay, with their resume point.
        """
        ctx = self._ctx
        with ctx.store.read() as uow:
            resume = uow.mail.resume_point(source.key)
        run = source.scan(resume)
        read = skipped = stored = 0
        reasons: list[tuple[str, str]] = []
        batch: list[Observation] = []
        cancelled = False
        total = run.total

        def flush() -> None:
            nonlocal stored
            point = run.resume_point()
            with ctx.store.write() as uow:
                stored += uow.mail.store_batch(
                    source.key, source.describe(), batch, point, now=ctx.now()
                )
            batch.clear()
            if progress is not None:
                progress(ScanProgress(read, skipped, total))

        try:
            if progress is not None:
                progress(ScanProgress(0, 0, total))
            for item in run:
                if isinstance(item, Skipped):
                    skipped += 1
                    if len(reasons) < REASONS_KEPT:
                        reasons.append((item.where, item.reason))
                elif isinstance(item, MailHeaders):
                    read += 1
                    observed = observe(item)
                    if observed is not None:
                        batch.append(observed)
                if read + skipped >= BATCH and (read + skipped) % BATCH == 0:
                    flush()
                if cancel is not None and cancel.is_set():
                    cancelled = True
                    break
            flush()
        finally:
            run.close()
        self._report_drift()
        return ScanReport(read, skipped, reasons, cancelled, self.found(), stored)

    # --- the found brands ---------------------------------------------------------------

    def _window(self, uow: UnitOfWork, days: int) -> _Window:
        now = self._ctx.now()
        newest, oldest = uow.mail.newest_and_oldest()
        until = min(newest, now) if newest is not None else now
        since = until - dt.timedelta(days=days)
        return _Window(since, until, window_weeks(days, oldest, until), days)

    def _found(self, uow: UnitOfWork, days: int) -> list[FoundBrand]:
        window = self._window(uow, days)
        stats = uow.mail.key_stats(window.since, window.until)
        tracked = _tracked(uow.mail.tracked())
        directory = DirectoryIndex(uow.mail.directory()) if stats else DirectoryIndex(())
        found = []
        for s in stats:
            if not s.messages or s.first_seen is None or s.last_seen is None:
                continue  # nothing dated in the window: the brand stopped writing
            entry = directory.lookup(s.domain)
            name = entry.name if entry else (s.name or s.domain or s.key.split(":", 1)[-1])
            found.append(
                FoundBrand(
                    key=s.key,
                    name=name,
                    domain=s.domain,
                    directory_slug=entry.slug if entry else "",
                    directory_name=entry.name if entry else "",
                    privacy_contact=entry.privacy_contact if entry else "",
                    messages=s.messages,
                    per_week=s.messages / window.weeks,
                    first_seen=s.first_seen,
                    last_seen=s.last_seen,
                    methods=_methods(s),
                    tracked_slug=tracked.match(s.key, s.domain, (s.name, name)),
                    suggested=suggest_frequency(s.messages, window.weeks),
                )
            )
        found.sort(key=lambda f: (-f.messages, f.name.casefold(), f.key))
        return found

    def found(self, *, days: int = DEFAULT_DAYS) -> list[FoundBrand]:
        """The brands whose mail is stored, with messages in the last ``days`` days (of the
        mailbox: up to its newest message), busiest first."""
        if days < 1:
            raise InputError(f"days must be at least 1 (got {days})")
        with self._ctx.store.read() as uow:
            return self._found(uow, days)

    # --- adding -------------------------------------------------------------------------

    def add_found(self, choices: Mapping[str, Frequency | None]) -> list[str]:
        """Add the found brands ``choices`` names (key -> the e-mail frequency the customer
        chose; None: no e-mail decision), in one transaction. A brand already tracked is
        linked, not duplicated (its e-mail frequency becomes the customer's choice, when one
        was given). Each is journaled ``from_mailbox`` with the measured figures as the
        sender's behaviour. Returns the ids of the brands added or linked, in order.

        Raises:
            InputError: a key is not among the found brands (nothing added).
        """
        ctx = self._ctx
        slugs: list[str] = []
        with ctx.store.write() as uow:
            found = {f.key: f for f in self._found(uow, DEFAULT_DAYS)}
            unknown = [k for k in choices if k not in found]
            if unknown:
                raise InputError(
                    f"no brand with key {unknown[0]!r} was found in the mailbox "
                    "(see `cmr discover --list` for the keys)"
                )
            now = ctx.now()
            taken = uow.brands.slugs()
            for key, frequency in choices.items():
                f = found[key]
                if f.tracked_slug:
                    slug = self._link(uow, f, frequency, now)
                else:
                    slug = self._create(uow, f, frequency, now, taken)
                    taken.add(slug)
                uow.journal.append(
                    at=now,
                    brand=slug,
                    kind=ADDED_KIND,
                    detail={
                        "action": "linked" if f.tracked_slug else "added",
                        "note": "added from the mailbox",
                        "key": key,
                        # The customer's own choice (None: they made none).
                        "email_frequency": frequency.value if frequency else None,
                        # What the mail shows: the sender's behaviour, not consent.
                        "measured": {
                            "what": "the sender's behaviour as the mailbox shows it",
                            "messages": f.messages,
                            "per_week": round(f.per_week, 3),
                            "days": DEFAULT_DAYS,
                            "first_seen": f.first_seen.isoformat(),
                            "last_seen": f.last_seen.isoformat(),
                            "methods": list(f.methods),
                        },
                    },
                )
                slugs.append(slug)
        return slugs

    @staticmethod
    def _decide(prefs: PreferenceSet, frequency: Frequency | None) -> PreferenceSet:
        if frequency is None:
            return prefs
        return prefs.with_channel(Channel.EMAIL, True).with_frequency(Channel.EMAIL, frequency)

    @staticmethod
    def _config(uow: UnitOfWork, f: FoundBrand) -> dict[str, str]:
        targets = uow.mail.unsubscribe_targets(f.key)
        uris = targets.uris if targets else ()
        https = [u for u in uris if u.lower().startswith("https:")]
        web = [u for u in uris if u.lower().startswith(("https:", "http:"))]
        mailto = [u for u in uris if u.lower().startswith("mailto:")]
        sender = f.domain or (domain_of(targets.from_address) if targets else "")
        return {
            "sender_domain": sender,
            "one_click_url": https[0] if targets and targets.one_click and https else "",
            "mailto": mailto[0] if mailto else "",
            "web_url": web[0] if web else "",
            "dkim_verified": "yes" if targets and targets.dkim_pass_domain else "no",
            "seen_at": targets.date.isoformat() if targets and targets.date else "",
        }

    def _link(
        self, uow: UnitOfWork, f: FoundBrand, frequency: Frequency | None, now: dt.datetime
    ) -> str:
        brand = uow.brands.get(f.tracked_slug)
        updated = brand.with_preferences(self._decide(brand.preferences, frequency))
        if brand.connector == EMAIL_CONNECTOR:
            updated = replace(
                updated, connector_config={**brand.connector_config, **self._config(uow, f)}
            )
        if updated != brand:
            uow.brands.update(updated, now=now)
        return brand.slug

    def _create(
        self,
        uow: UnitOfWork,
        f: FoundBrand,
        frequency: Frequency | None,
        now: dt.datetime,
        taken: set[str],
    ) -> str:
        entry = uow.directory.get(f.directory_slug) if f.directory_slug else None
        try:
            base = slugify(f.name)
        except DomainError:
            base = slugify(f.domain or "brand")
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base[: 60 - len(str(n))]}-{n}"
        try:
            brand = Brand(
                slug=slug,
                name=f.name[:200],
                website=entry.web[:500] if entry else "",
                privacy_contact=entry.privacy_contact[:500] if entry else "",
                category=entry.category[:100] if entry else "",
                connector=EMAIL_CONNECTOR,
                connector_config=self._config(uow, f),
                preferences=self._decide(PreferenceSet(), frequency),
            )
        except DomainError as exc:
            raise InputError(f"{f.key}: {exc}") from None
        uow.brands.add(brand, now=now)
        return slug

    # --- measuring ----------------------------------------------------------------------

    def _measure(self, uow: UnitOfWork) -> dict[str, Measured]:
        window = self._window(uow, DEFAULT_DAYS)
        stats = uow.mail.key_stats(window.since, window.until)
        rows = uow.mail.tracked()
        index = _tracked(rows)
        by_slug: dict[str, list[KeyStats]] = {}
        for s in stats:
            slug = index.match(s.key, s.domain, (s.name,))
            if slug:
                by_slug.setdefault(slug, []).append(s)
        if not by_slug:
            return {}
        unsubscribed = {
            e.brand: e
            for e in uow.mail.entries_of_kind("unsubscribe")
            if e.brand in by_slug and unsubscribe_done(e.detail)
        }  # the newest one that reached the sender, per brand
        deadlines: dict[str, tuple[str, dt.datetime, dt.datetime]] = {}
        for slug, e in unsubscribed.items():
            method, at = str(e.detail.get("method", "")), _at(e.detail, e.at)
            deadlines[slug] = (method, at, deadline_after(method, at))
        evidence: dict[str, list[tuple[dt.datetime, str]]] = {}
        if deadlines:
            key_slug = {s.key: slug for slug in deadlines for s in by_slug[slug]}
            earliest = min(d for _, _, d in deadlines.values())
            for key, date, ident in uow.mail.dated_after(key_slug, earliest):
                slug = key_slug[key]
                if date > deadlines[slug][2]:
                    evidence.setdefault(slug, []).append((date, ident))
        decisions = {r.slug: r.preferences for r in rows if r.slug in by_slug}
        result = {}
        for slug, keys in by_slug.items():
            messages = sum(s.messages for s in keys)
            seen = [s.last_seen for s in keys if s.last_seen is not None]
            enabled, frequency = _email_choice(decisions[slug])
            # E-mail refused: nothing is allowed, but the brand is blamed only once told
            # (the unsubscribe's deadline), never for the rate alone.
            limit = allowed_per_week(frequency) if enabled is not False else 0.0
            ignored = None
            if slug in evidence:
                method, at, deadline = deadlines[slug]
                ignored = IgnoredUnsubscribe(method, at, deadline, tuple(evidence[slug]))
            result[slug] = Measured(
                per_week=messages / window.weeks,
                messages=messages,
                last_seen=max(seen) if seen else None,
                allowed_per_week=limit,
                over_limit=(enabled is not False and over_limit(messages, window.weeks, frequency)),
                ignored_unsubscribe=ignored,
                weeks=window.weeks,
            )
        return result

    @staticmethod
    def rejudged(measured: Measured, preferences: Mapping[str, object]) -> Measured:
        """``measured`` judged against the customer's e-mail choice in ``preferences`` (after
        an edit): the same figures, the allowed rate and the over-limit flag anew; no
        mailbox read."""
        enabled, frequency = _email_choice(preferences)
        return replace(
            measured,
            allowed_per_week=allowed_per_week(frequency) if enabled is not False else 0.0,
            over_limit=enabled is not False
            and over_limit(measured.messages, measured.weeks, frequency),
        )

    def measured(self) -> dict[str, Measured]:
        """Brand id -> how it really writes, over the last 90 days of the mailbox, for every
        tracked brand whose mail is stored. A fixed number of queries whatever the number
        of brands (the dashboard calls it on every reload)."""
        with self._ctx.store.read() as uow:
            return self._measure(uow)

    def _report_drift(self) -> None:
        ctx = self._ctx
        with ctx.store.write() as uow:
            ignored = {
                slug: m.ignored_unsubscribe
                for slug, m in self._measure(uow).items()
                if m.ignored_unsubscribe is not None
            }
            if not ignored:
                return
            reported = uow.mail.latest_entries("drift", source="mailbox")
            now = ctx.now()
            for slug, item in ignored.items():
                newest = item.evidence[-1][0]
                last = reported.get(slug)
                if last is not None and last.detail.get("unsubscribed_at") == _iso(
                    item.unsubscribed_at
                ):
                    seen = last.detail.get("newest_evidence")
                    if isinstance(seen, str) and dt.datetime.fromisoformat(seen) >= newest:
                        continue  # nothing new since it was reported
                kept = item.evidence[-EVIDENCE_KEPT:]
                uow.journal.append(
                    at=now,
                    brand=slug,
                    kind="drift",
                    detail={
                        "source": "mailbox",
                        "reason": "kept writing after the unsubscribe's deadline",
                        "method": item.method,
                        "unsubscribed_at": _iso(item.unsubscribed_at),
                        "deadline": _iso(item.deadline),
                        "evidence": [{"date": _iso(d), "message_id": m} for d, m in kept],
                        "evidence_count": len(item.evidence),
                        "newest_evidence": _iso(newest),
                        "fields": [],
                    },
                )
                uow.sync.set_status(slug, "drift", drift_text(item))


def unsubscribe_done(detail: Mapping[str, object]) -> bool:
    """Whether an ``unsubscribe`` journal entry reached the sender (only then does the
    deadline run): its ``done`` flag when it has one, else what its ``result`` says (the
    unsubscribe service's words: "... the sender accepted the unsubscribe" for one-click,
    "accepted by <smtp host> ..." for mailto, "done by hand ..." for web). A refused or
    unconfirmed attempt starts no deadline."""
    done = detail.get("done")
    if isinstance(done, bool):
        return done
    result = str(detail.get("result", ""))
    return "the sender accepted the unsubscribe" in result or result.startswith(
        ("accepted by ", "done by hand")
    )


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def _at(detail: Mapping[str, object], fallback: dt.datetime) -> dt.datetime:
    """The unsubscribe's time from its journal detail (``at``, ISO-8601), else the entry's."""
    text = detail.get("at")
    if isinstance(text, str):
        try:
            at = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return fallback
        return at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return fallback


def drift_text(item: IgnoredUnsubscribe) -> str:
    """One line for the brand's status: the brand kept writing after the deadline."""
    n = len(item.evidence)
    return (
        f"kept writing after your {item.method} unsubscribe of "
        f"{item.unsubscribed_at:%Y-%m-%d %H:%M} UTC: {n} message{'s' if n != 1 else ''} "
        f"after the deadline ({item.deadline:%Y-%m-%d %H:%M} UTC), the newest dated "
        f"{item.evidence[-1][0]:%Y-%m-%d}"
    )
