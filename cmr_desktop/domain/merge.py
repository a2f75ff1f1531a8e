"""Restrictiveness and the three-way merge of ARCHITECTURE 3.6.

Three things are kept per brand and never confused:

* **decisions**: what the customer decided, field by field (absent = *undecided*);
* **vendor state** (``remote``): what the vendor reports now;
* **base**: the last state both sides agreed on (None before the first sync).

Rules, per field:

* undecided: the field is sent as the vendor has it (a write is the full state) and stays
  undecided. A vendor's value never becomes a decision by itself.
* decided, and the vendor holds the same value: nothing to do.
* only the customer changed it (or this is the first sync): push the customer's decision.
* only the vendor changed it: if the vendor's value is *more restrictive* than the decision
  (say, the customer unsubscribed through a link in a mail), it is taken into the decisions
  (the one exception; journaled and shown); otherwise it is **drift**: reported, and the
  customer's decision is re-asserted.
* both changed it differently: the customer's decision wins and is pushed.

So a merge never yields a state less restrictive than a decision, never drops a decision,
never turns an undecided field into a decision, and merging again after a successful push
has nothing left to do.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum

from cmr_desktop.domain.fields import field_order
from cmr_desktop.domain.preferences import FieldKey, FieldValue, Grant, PreferenceSet, QuietHours
from cmr_desktop.domain.vocabulary import Decision, Frequency

# An absent field means "vendor default": the least restrictive thing we can assume.
_ABSENT = (9,)


def restrictiveness(key: FieldKey, value: FieldValue) -> tuple[float, ...]:
    """A sort key for one field's value: lower is more restrictive.

    Absent (None) sorts after every decided value: the vendor's default could be anything.
    """
    if value is None:
        return _ABSENT
    kind = key[0]
    if kind in ("channel", "topic"):
        return (2,) if value else (1,)  # off is more restrictive than on
    if kind == "frequency":
        assert isinstance(value, Frequency)
        return (0, value.rank)
    if kind == "grant":
        assert isinstance(value, Grant)
        if value.decision is Decision.DENY:
            return (0,)
        # Earlier expiry is more restrictive than a later one, or than none.
        return (1, value.expires.toordinal() if value.expires else float("inf"))
    assert isinstance(value, QuietHours)
    return (0, -value.minutes)  # a sort key only; see more_restrictive for the real order


def more_restrictive(key: FieldKey, a: FieldValue, b: FieldValue) -> bool:
    """True when ``a`` is strictly more restrictive than ``b`` for field ``key``.

    Quiet hours are only partly ordered: a window is more restrictive than another only when
    it covers every minute of it (08:30-20:00 is wider than 21:00-08:00, but would let
    brands call at night, so it is not "more restrictive").
    """
    if key[0] == "quiet_hours" and isinstance(a, QuietHours) and isinstance(b, QuietHours):
        return a != b and a.contains(b)
    return restrictiveness(key, a) < restrictiveness(key, b)


def at_least_as_restrictive(key: FieldKey, a: FieldValue, b: FieldValue) -> bool:
    """True when ``a`` is as restrictive as ``b`` or more (equal values count)."""
    return a == b or more_restrictive(key, a, b)


class Outcome(StrEnum):
    """What the merge decided for one field."""

    AGREED = "agreed"
    PUSH = "push"  # the customer changed it: send it to the vendor
    ACCEPTED = "accepted"  # the vendor made it stricter: take it locally
    DRIFT = "drift"  # the vendor made it looser: report it and re-assert the customer's value
    CONFLICT = "conflict"  # both changed it: the customer's value wins and is pushed


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field the merge did something about."""

    key: FieldKey
    outcome: Outcome
    base: FieldValue
    local: FieldValue
    remote: FieldValue
    result: FieldValue


@dataclass(frozen=True, slots=True)
class MergeResult:
    """The plan for one brand.

    Attributes:
        merged: what the vendor must hold afterwards (the full state a write sends: the
            decisions, and the vendor's own values for undecided fields).
        decisions: the customer's decisions afterwards: the decisions given, plus the decided
            fields the vendor tightened (taken). Never a field that was undecided.
        changes: every decided field that was not simply agreed, with its outcome.
    """

    merged: PreferenceSet
    decisions: PreferenceSet
    changes: tuple[FieldChange, ...] = field(default_factory=tuple)

    def _of(self, *outcomes: Outcome) -> list[FieldChange]:
        return [c for c in self.changes if c.outcome in outcomes]

    @property
    def to_push(self) -> list[FieldChange]:
        """Fields whose value the vendor must be told (push, conflict, re-asserted drift)."""
        return self._of(Outcome.PUSH, Outcome.CONFLICT, Outcome.DRIFT)

    @property
    def accepted(self) -> list[FieldChange]:
        """Decided fields the vendor tightened, taken into the decisions."""
        return self._of(Outcome.ACCEPTED)

    @property
    def drift(self) -> list[FieldChange]:
        """Fields the vendor loosened without the customer's say (re-asserted)."""
        return self._of(Outcome.DRIFT)

    @property
    def needs_push(self) -> bool:
        return bool(self.to_push)


def three_way_merge(
    base: PreferenceSet | None,
    local: PreferenceSet,
    remote: PreferenceSet,
    *,
    required_topics: Collection[str] = (),
) -> MergeResult:
    """Merge the customer's decisions with the vendor's state of one brand.

    Args:
        base: last agreed state, or None before the first sync (treated as all-absent).
        local: the customer's decisions (absent fields are undecided).
        remote: what the vendor reports now.
        required_topics: vendor-required topics; they cannot be off, so they are on in what
            the vendor holds and never count as drift (the decision itself is left alone).

    Returns:
        A :class:`MergeResult`.
    """
    base = base or PreferenceSet()
    b, loc, rem = base.fields(), local.fields(), remote.fields()
    result: dict[FieldKey, FieldValue] = dict(rem)  # undecided fields: as the vendor has them
    decisions: dict[FieldKey, FieldValue] = dict(loc)
    changes: list[FieldChange] = []
    required = set(required_topics)
    for key in sorted(loc.keys() | {("topic", t) for t in required}, key=field_order):
        bv, lv, rv = b.get(key), loc.get(key), rem.get(key)
        if key[0] == "topic" and key[1] in required:
            # The vendor needs it on (order updates, say): it is on, and never drift.
            result[key] = True
            if rv is not True:
                changes.append(FieldChange(key, Outcome.PUSH, bv, lv, rv, True))
            continue
        if lv == rv:
            continue
        if key[0] == "frequency" and result.get(("channel", key[1])) is False and lv == bv:
            # The channel is off: how often it may be used does not matter, so a vendor that
            # changes or drops it is neither drift nor a change to take over.
            result[key] = lv
            continue
        if lv != bv and rv != bv:
            outcome, value = Outcome.CONFLICT, lv
        elif lv != bv:
            outcome, value = Outcome.PUSH, lv
        elif more_restrictive(key, rv, lv):
            outcome, value = Outcome.ACCEPTED, rv
            decisions[key] = rv
        else:
            outcome, value = Outcome.DRIFT, lv
        result[key] = value
        changes.append(FieldChange(key, outcome, bv, lv, rv, value))
    return MergeResult(
        PreferenceSet.from_fields(result), PreferenceSet.from_fields(decisions), tuple(changes)
    )
