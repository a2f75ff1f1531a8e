"""My Terms: the customer's own rules for every brand.

Examples: "no SMS anywhere", "email at most weekly", "never `sale`", "grants expire after 12
months". :meth:`MyTerms.evaluate` lists how a brand's preferences break the rules;
:meth:`MyTerms.apply` returns the preferences changed so that they keep them. Applying is
always towards *more* restrictive: it never opens anything up.

A rule is broken only where the brand can do what it forbids (:class:`Reach`):

* a field the customer *decided* to allow always breaks a rule against it (their own decision
  contradicts their own terms);
* an *undecided* field breaks it only when the brand can use it: the vendor offers that
  channel or data use (or what it offers is unknown: then the customer's advocate says
  "may"), and the vendor's last known state does not already refuse it. Where the vendor's
  own setting refuses it, the rule is *kept by the vendor's own setting*: reported as the
  vendor's (``Violation.kept``), never a break and never a decision.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.preferences import Grant, PreferenceSet, QuietHours
from cmr_desktop.domain.vocabulary import (
    Channel,
    DataCategory,
    Decision,
    Frequency,
    Purpose,
    parse,
)
from cmr_desktop.domain.words import plural


@dataclass(frozen=True, slots=True)
class Violation:
    """One way a brand's preferences break a rule (or, with ``kept``, a rule the customer
    has not decided on that only the vendor's own setting keeps: not a break)."""

    rule: str  # the rule's text, as shown by `cmr policy show`
    message: str  # customer words: "Acme may text you; My Terms say no SMS anywhere."
    kept: bool = False  # kept by the vendor's own setting (the vendor's, not a decision)


@dataclass(frozen=True, slots=True)
class Reach:
    """What a brand can do, as far as is known, for judging undecided fields.

    Attributes:
        channels: the channels its vendor offers (None: unknown, so every one may be used).
        data_uses: the (data category, purpose) pairs its vendor asks for (None: unknown).
        vendor: the vendor's last known state (None: never read). A field it refuses (a
            channel off, a data use denied, quiet hours that cover the rule's) is kept by the
            vendor's own setting.
    """

    channels: frozenset[Channel] | None = None
    data_uses: frozenset[tuple[DataCategory, Purpose]] | None = None
    vendor: PreferenceSet | None = None

    @property
    def knows_uses(self) -> bool:
        """Whether the data uses the vendor asks for are known."""
        return self.data_uses is not None

    def offers_channel(self, channel: Channel) -> bool:
        """Whether the brand can use ``channel``: its catalog offers it (or is unknown), or
        its vendor's own state has it on (whatever the catalog says)."""
        if self.channels is None or channel in self.channels:
            return True
        v = self.vendor
        return v is not None and (v.channels.get(channel) is True or channel in v.frequencies)

    def offers_use(self, category: DataCategory, purpose: Purpose) -> bool:
        """Whether the brand asks for this data use: its catalog has it (or is unknown), or
        its vendor's own state allows it."""
        if self.data_uses is None or (category, purpose) in self.data_uses:
            return True
        grant = self.vendor.grants.get((category, purpose)) if self.vendor else None
        return grant is not None and grant.decision is Decision.ALLOW

    def vendor_refuses_channel(self, channel: Channel) -> bool:
        return self.vendor is not None and self.vendor.channels.get(channel) is False

    def vendor_refuses_use(self, category: DataCategory, purpose: Purpose, today: dt.date) -> bool:
        grant = self.vendor.grants.get((category, purpose)) if self.vendor else None
        return grant is not None and grant.effective(today) is Decision.DENY


_CATEGORIES = tuple(sorted(DataCategory))  # as the messages list them
_WORDS: dict[Any, str] = {m: m.label.lower() for e in (DataCategory, Purpose) for m in e}

#: Nothing known about the brand (never synced, or handled by hand): undecided means "may".
UNKNOWN = Reach()


class _Judged:
    """``evaluate`` from ``judge``: the breaks, without what the vendor's own setting keeps."""

    __slots__ = ()

    def judge(
        self, prefs: PreferenceSet, today: dt.date, brand: str, reach: Reach = UNKNOWN
    ) -> list[Violation]:
        raise NotImplementedError

    def evaluate(
        self, prefs: PreferenceSet, today: dt.date, brand: str, reach: Reach = UNKNOWN
    ) -> list[Violation]:
        """How ``prefs`` break this rule where the brand can do what it forbids (``reach``:
        what is known of the brand; by default nothing, so undecided means "may")."""
        return [v for v in self.judge(prefs, today, brand, reach) if not v.kept]


class Rule(Protocol):
    kind: ClassVar[str]

    def evaluate(
        self, prefs: PreferenceSet, today: dt.date, brand: str, reach: Reach = ...
    ) -> list[Violation]: ...

    def judge(
        self, prefs: PreferenceSet, today: dt.date, brand: str, reach: Reach = ...
    ) -> list[Violation]: ...

    def apply(self, prefs: PreferenceSet, today: dt.date) -> PreferenceSet: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class NoChannel(_Judged):
    """No brand may use ``channel``."""

    kind: ClassVar[str] = "no_channel"
    channel: Channel

    def __str__(self) -> str:
        return f"no {self.channel.noun} anywhere"

    def judge(
        self, prefs: PreferenceSet, today: dt.date, brand: str, reach: Reach = UNKNOWN
    ) -> list[Violation]:
        decided = prefs.channels.get(self.channel)
        if decided is False:
            return []
        if decided:
            return [Violation(str(self), f"{brand} may {self.channel.verb}.")]
        if not reach.offers_channel(self.channel):
            return []  # the vendor does not offer it: nothing to break
        if reach.vendor_refuses_channel(self.channel):
            return [_kept(self, f"{brand} has {self.channel.noun} off (its own setting).")]
        return [
            Violation(
                str(self), f"{brand} may still {self.channel.verb}: you have not said no yet."
            )
        ]

    def apply(self, prefs: PreferenceSet, today: dt.date) -> PreferenceSet:
        return prefs.with_channel(self.channel, False)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.kind, "channel": self.channel.value}


@dataclass(frozen=True, slots=True)
class MaxFrequency(_Judged):
    """Where ``channel`` is allowed, no more often than ``frequency``."""

    kind: ClassVar[str] = "max_frequency"
    channel: Channel
    frequency: Frequency

    def __str__(self) -> str:
        return f"{self.channel.noun} {self.frequency.label}"

    def judge(
        self, prefs: PreferenceSet, today: dt.date, brand: str, reach: Reach = UNKNOWN
    ) -> list[Violation]:
        decided = prefs.channels.get(self.channel)
        if decided is False:
            return []
        current = prefs.frequencies.get(self.channel)
        if current is not None:
            if current.rank <= self.frequency.rank:
                return []
            return [Violation(str(self), f"{brand} may {self.channel.verb} {current.label}.")]
        if decided is None and not reach.offers_channel(self.channel):
            return []  # the vendor does not offer the channel
        if decided is None and reach.vendor_refuses_channel(self.channel):
            return [_kept(self, f"{brand} has {self.channel.noun} off (its own setting).")]
        theirs = reach.vendor.frequencies.get(self.channel) if reach.vendor else None
        if theirs is not None and theirs.rank <= self.frequency.rank:
            return [
                _kept(self, f"{brand} sends {self.channel.noun} {theirs.label} (its own setting).")
            ]
        return [Violation(str(self), f"{brand} may {self.channel.verb} as often as it likes.")]

    def apply(self, prefs: PreferenceSet, today: dt.date) -> PreferenceSet:
        if self.evaluate(prefs, today, ""):  # nothing known of the brand: as strict as can be
            return prefs.with_frequency(self.channel, self.frequency)
        return prefs

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.kind, "channel": self.channel.value, "frequency": self.frequency.value}


@dataclass(frozen=True, slots=True)
class NeverPurpose(_Judged):
    """No brand may use any personal data for ``purpose``."""

    kind: ClassVar[str] = "never_purpose"
    purpose: Purpose

    def __str__(self) -> str:
        return f"never {self.purpose.label.lower()}"

    def judge(
        self, prefs: PreferenceSet, today: dt.date, brand: str, reach: Reach = UNKNOWN
    ) -> list[Violation]:
        # Plain look-ups (a window load judges every brand; enum attributes cost).
        purpose, rule = self.purpose, str(self)
        what = _WORDS[purpose]
        grants = prefs.grants
        out = [
            Violation(rule, f"{brand} may use {_WORDS[cat]} data for {what}.")
            for cat in _CATEGORIES
            if (g := grants.get((cat, purpose))) is not None
            and g.effective(today) is Decision.ALLOW
        ]
        # Like a channel nobody said no to, an undecided data use is the brand's default,
        # where the brand asks for it at all.
        known = reach.knows_uses
        open_: list[DataCategory] = []
        refused: list[DataCategory] = []
        for cat in _CATEGORIES:
            if (cat, purpose) in grants or (known and not reach.offers_use(cat, purpose)):
                continue
            (refused if reach.vendor_refuses_use(cat, purpose, today) else open_).append(cat)
        if open_:
            if not known:  # what the brand asks for is unknown
                text = f"you have not said no for {plural(len(open_), 'kind')} of data"
            else:
                text = f"you have not said no for {_and(_WORDS[c] for c in open_)} data"
            out.append(Violation(rule, f"{brand} may still use your data for {what}: {text}."))
        if refused:
            out.append(
                _kept(
                    self,
                    f"{brand} does not use {_and(_WORDS[c] for c in refused)} data for "
                    f"{what} (its own setting).",
                )
            )
        return out

    def apply(self, prefs: PreferenceSet, today: dt.date) -> PreferenceSet:
        out = prefs
        for cat in DataCategory:
            grant = prefs.grants.get((cat, self.purpose))
            if grant is None or grant.decision is Decision.ALLOW:
                out = out.with_grant(cat, self.purpose, Grant(Decision.DENY))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.kind, "purpose": self.purpose.value}


@dataclass(frozen=True, slots=True)
class GrantMaxMonths(_Judged):
    """Every allow must expire within ``months`` months from today."""

    kind: ClassVar[str] = "grant_max_months"
    months: int

    def __post_init__(self) -> None:
        if not 1 <= self.months <= 120:
            raise DomainError(f"grant lifetime must be 1-120 months, not {self.months}")

    def __str__(self) -> str:
        return f"grants expire after {self.months} months"

    def judge(
        self, prefs: PreferenceSet, today: dt.date, brand: str, reach: Reach = UNKNOWN
    ) -> list[Violation]:
        # Only decided allows have an end date to judge (an undecided use is NeverPurpose's).
        limit = add_months(today, self.months)
        out = []
        for (cat, purpose), grant in sorted(prefs.grants.items()):
            if grant.effective(today) is not Decision.ALLOW:
                continue
            if grant.expires is None or grant.expires > limit:
                until = (
                    f"until {grant.expires.isoformat()}" if grant.expires else "with no end date"
                )
                out.append(
                    Violation(
                        str(self),
                        f"{brand} may use {cat.label.lower()} data for "
                        f"{purpose.label.lower()} {until}.",
                    )
                )
        return out

    def apply(self, prefs: PreferenceSet, today: dt.date) -> PreferenceSet:
        limit = add_months(today, self.months)
        out = prefs
        for (cat, purpose), grant in prefs.grants.items():
            if grant.effective(today) is Decision.ALLOW and (
                grant.expires is None or grant.expires > limit
            ):
                out = out.with_grant(cat, purpose, Grant(Decision.ALLOW, limit))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.kind, "months": self.months}


def _kept(rule: object, message: str) -> Violation:
    return Violation(str(rule), message, kept=True)


def _and(words: Iterable[str]) -> str:
    """ "a", "a and b", "a, b and c" """
    items = list(words)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, clamped to the end of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class QuietHoursRule(_Judged):
    """No brand may contact the customer during ``window`` (daily, local time)."""

    kind: ClassVar[str] = "quiet_hours"
    window: QuietHours

    def __str__(self) -> str:
        return f"quiet from {self.window.start:%H:%M} to {self.window.end:%H:%M}"

    def judge(
        self, prefs: PreferenceSet, today: dt.date, brand: str, reach: Reach = UNKNOWN
    ) -> list[Violation]:
        own = prefs.quiet_hours
        if own is not None and own.contains(self.window):
            return []
        if own is None:
            theirs = reach.vendor.quiet_hours if reach.vendor else None
            if theirs is not None and theirs.contains(self.window):
                return [_kept(self, f"{brand} keeps {theirs} quiet (its own setting).")]
            return [Violation(str(self), f"{brand} may contact you at any hour.")]
        return [Violation(str(self), f"{brand} keeps only {own} quiet.")]

    def apply(self, prefs: PreferenceSet, today: dt.date) -> PreferenceSet:
        if self.evaluate(prefs, today, ""):
            return prefs.with_quiet_hours(self.window)
        return prefs  # a wider window of the brand's own stays

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.kind,
            "start": f"{self.window.start:%H:%M}",
            "end": f"{self.window.end:%H:%M}",
        }


AnyRule = NoChannel | MaxFrequency | NeverPurpose | GrantMaxMonths | QuietHoursRule


def rule_from_dict(data: Mapping[str, Any]) -> AnyRule:
    """Build a rule from its export form. Raises :class:`DomainError` naming the problem."""
    kind = data.get("rule")
    try:
        if kind == NoChannel.kind:
            return NoChannel(parse(Channel, data["channel"]))
        if kind == MaxFrequency.kind:
            return MaxFrequency(
                parse(Channel, data["channel"]), parse(Frequency, data["frequency"])
            )
        if kind == NeverPurpose.kind:
            return NeverPurpose(parse(Purpose, data["purpose"]))
        if kind == GrantMaxMonths.kind:
            months = data["months"]
            if not isinstance(months, int) or isinstance(months, bool):
                raise DomainError(
                    f"grant lifetime must be a whole number of months, not {months!r}"
                )
            return GrantMaxMonths(months)
        if kind == QuietHoursRule.kind:
            return QuietHoursRule(QuietHours.parse(f"{data['start']}-{data['end']}"))
    except KeyError as exc:
        raise DomainError(f"rule {kind!r} is missing {exc.args[0]!r}") from None
    kinds = ", ".join(
        r.kind for r in (NoChannel, MaxFrequency, NeverPurpose, GrantMaxMonths, QuietHoursRule)
    )
    raise DomainError(f"unknown rule {kind!r} (expected one of: {kinds})")


@dataclass(frozen=True, slots=True)
class MyTerms:
    """The customer's policy: an ordered list of rules (duplicates removed)."""

    rules: tuple[AnyRule, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(dict.fromkeys(self.rules)))

    def evaluate(
        self,
        prefs: PreferenceSet,
        today: dt.date,
        brand: str = "This brand",
        reach: Reach = UNKNOWN,
    ) -> list[Violation]:
        """Every way ``prefs`` break these terms on ``today`` (empty when they keep them),
        where the brand can do what a rule forbids (``reach``; see the module docstring)."""
        return [v for v in self.judge(prefs, today, brand, reach) if not v.kept]

    def judge(
        self,
        prefs: PreferenceSet,
        today: dt.date,
        brand: str = "This brand",
        reach: Reach = UNKNOWN,
    ) -> list[Violation]:
        """The breaks, and (``kept``) the rules only the vendor's own setting keeps."""
        return [v for rule in self.rules for v in rule.judge(prefs, today, brand, reach)]

    def apply(self, prefs: PreferenceSet, today: dt.date) -> PreferenceSet:
        """``prefs`` changed so they keep these terms; unchanged when they already do."""
        for rule in self.rules:
            prefs = rule.apply(prefs, today)
        return prefs

    def to_dict(self) -> dict[str, Any]:
        return {"rules": [r.to_dict() for r in self.rules]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MyTerms:
        return cls(tuple(rule_from_dict(r) for r in data.get("rules") or []))

    @classmethod
    def of(cls, rules: Iterable[AnyRule]) -> MyTerms:
        return cls(tuple(rules))

    def describe(self) -> Sequence[str]:
        return [str(r) for r in self.rules]
