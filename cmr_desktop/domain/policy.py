"""My Terms: the customer's own rules for every brand.

Examples: "no SMS anywhere", "email at most weekly", "never `sale`", "grants expire after 12
months". :meth:`MyTerms.evaluate` lists how a brand's preferences break the rules;
:meth:`MyTerms.apply` returns the preferences changed so that they keep them. Applying is
always towards *more* restrictive: it never opens anything up.
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
    """One way a brand's preferences break a rule."""

    rule: str  # the rule's text, as shown by `cmr policy show`
    message: str  # customer words: "Acme may text you; My Terms say no SMS anywhere."


class Rule(Protocol):
    kind: ClassVar[str]

    def evaluate(self, prefs: PreferenceSet, today: dt.date, brand: str) -> list[Violation]: ...

    def apply(self, prefs: PreferenceSet, today: dt.date) -> PreferenceSet: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class NoChannel:
    """No brand may use ``channel``."""

    kind: ClassVar[str] = "no_channel"
    channel: Channel

    def __str__(self) -> str:
        return f"no {self.channel.noun} anywhere"

    def evaluate(self, prefs: PreferenceSet, today: dt.date, brand: str) -> list[Violation]:
        if prefs.channels.get(self.channel) is False:
            return []
        if prefs.channels.get(self.channel):
            return [Violation(str(self), f"{brand} may {self.channel.verb}.")]
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
class MaxFrequency:
    """Where ``channel`` is allowed, no more often than ``frequency``."""

    kind: ClassVar[str] = "max_frequency"
    channel: Channel
    frequency: Frequency

    def __str__(self) -> str:
        return f"{self.channel.noun} {self.frequency.label}"

    def evaluate(self, prefs: PreferenceSet, today: dt.date, brand: str) -> list[Violation]:
        if prefs.channels.get(self.channel) is False:
            return []
        current = prefs.frequencies.get(self.channel)
        if current is not None and current.rank <= self.frequency.rank:
            return []
        how = current.label if current else "as often as it likes"
        return [Violation(str(self), f"{brand} may {self.channel.verb} {how}.")]

    def apply(self, prefs: PreferenceSet, today: dt.date) -> PreferenceSet:
        if self.evaluate(prefs, today, ""):
            return prefs.with_frequency(self.channel, self.frequency)
        return prefs

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.kind, "channel": self.channel.value, "frequency": self.frequency.value}


@dataclass(frozen=True, slots=True)
class NeverPurpose:
    """No brand may use any personal data for ``purpose``."""

    kind: ClassVar[str] = "never_purpose"
    purpose: Purpose

    def __str__(self) -> str:
        return f"never {self.purpose.label.lower()}"

    def evaluate(self, prefs: PreferenceSet, today: dt.date, brand: str) -> list[Violation]:
        effective = prefs.effective_grants(today)
        what = self.purpose.label.lower()
        out = [
            Violation(str(self), f"{brand} may use {cat.label.lower()} data for {what}.")
            for (cat, purpose), decision in sorted(effective.items())
            if purpose is self.purpose and decision is Decision.ALLOW
        ]
        # Like a channel nobody said no to, an undecided data use is the brand's default.
        undecided = [c for c in DataCategory if (c, self.purpose) not in effective]
        if undecided:
            out.append(
                Violation(
                    str(self),
                    f"{brand} may still use your data for {what}: you have not said no for "
                    f"{plural(len(undecided), 'kind')} of data.",
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
class GrantMaxMonths:
    """Every allow must expire within ``months`` months from today."""

    kind: ClassVar[str] = "grant_max_months"
    months: int

    def __post_init__(self) -> None:
        if not 1 <= self.months <= 120:
            raise DomainError(f"grant lifetime must be 1-120 months, not {self.months}")

    def __str__(self) -> str:
        return f"grants expire after {self.months} months"

    def evaluate(self, prefs: PreferenceSet, today: dt.date, brand: str) -> list[Violation]:
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


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, clamped to the end of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class QuietHoursRule:
    """No brand may contact the customer during ``window`` (daily, local time)."""

    kind: ClassVar[str] = "quiet_hours"
    window: QuietHours

    def __str__(self) -> str:
        return f"quiet from {self.window.start:%H:%M} to {self.window.end:%H:%M}"

    def evaluate(self, prefs: PreferenceSet, today: dt.date, brand: str) -> list[Violation]:
        own = prefs.quiet_hours
        if own is not None and own.contains(self.window):
            return []
        if own is None:
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
        self, prefs: PreferenceSet, today: dt.date, brand: str = "This brand"
    ) -> list[Violation]:
        """Every way ``prefs`` break these terms on ``today`` (empty when they keep them)."""
        return [v for rule in self.rules for v in rule.evaluate(prefs, today, brand)]

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
