"""A simulated vendor's mutable state: its subjects, knobs, statistics, idempotency store and
random generator; and what a misbehaving vendor does to preferences (loosen them, speak a
later vocabulary)."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import random
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from cmr_desktop.testing.simulator.preferences import canonical, merge, validate_preferences
from cmr_desktop.testing.simulator.spec import Knobs, VendorSpec, VendorStats
from cmr_desktop.testing.simulator.vocabulary import FREQUENCY_RANK


class Draws(NamedTuple):
    """The random numbers one protocol request consumes (always all of them, in order)."""

    jitter: float
    timeout: float
    error: float
    error_kind: float
    garbage: float
    garbage_kind: float
    tamper: float
    tamper_pick: float


@dataclass
class Subject:
    preferences: dict[str, Any]
    version: int
    updated_at: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    def to_json(self) -> dict[str, Any]:
        return {
            "etag": self.etag,
            "preferences": copy.deepcopy(self.preferences),
            "updated_at": self.updated_at,
        }


@dataclass
class Stored:
    """An answer kept for an ``Idempotency-Key``."""

    fingerprint: str
    stored_at: float
    status: int
    body: bytes
    etag: str


class Vendor:
    """One vendor's mutable state. Every field is guarded by ``lock``."""

    def __init__(self, spec: VendorSpec, seed: int, knobs: Knobs) -> None:
        self.spec = spec
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)  # notified when the stats change
        self._seed = seed
        self._initial_knobs = knobs
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.rng = random.Random(f"openpref-simulator:{self._seed}:{self.spec.id}")
            self.knobs = self._initial_knobs
            self.stats = VendorStats()
            self.next_version = 1
            self.subjects: dict[str, Subject] = {}
            self.idempotency: dict[str, Stored] = {}
            self.recent: deque[float] = deque()
            for subject, prefs in self.spec.subjects.items():
                stored = (
                    self.spec.default_preferences()
                    if prefs is None
                    else validate_preferences(self.spec, prefs)
                )
                self.store(subject, stored)
            self.changed.notify_all()

    def count(self, **increments: int) -> None:
        """Add to the statistics (call with ``lock`` held)."""
        changes = {k: getattr(self.stats, k) + v for k, v in increments.items()}
        self.stats = dataclasses.replace(self.stats, **changes)
        self.changed.notify_all()

    def draw(self) -> Draws:
        """Count one protocol request and draw its random numbers."""
        with self.lock:
            self.count(requests=1)
            return Draws(*(self.rng.random() for _ in Draws._fields))

    def admit(self, now: float) -> bool:
        """The rate limiter: may one more request pass at ``now`` (monotonic seconds)?"""
        with self.lock:
            limit = self.knobs.rate_limit
            if limit <= 0:
                return True
            while self.recent and now - self.recent[0] >= 1.0:
                self.recent.popleft()
            if len(self.recent) >= limit:
                return False
            self.recent.append(now)
            return True

    def store(self, subject: str, prefs: dict[str, Any]) -> Subject:
        """Store preferences under a new version (call with ``lock`` held)."""
        entry = Subject(prefs, self.next_version, utc_now())
        self.next_version += 1
        self.subjects[subject] = entry
        return entry

    def tamper_randomly(self, subject: str, pick: float) -> None:
        """Loosen one stored field of ``subject``, as a vendor's own code might."""
        with self.lock:
            entry = self.subjects.get(subject)
            if entry is None:
                return
            changes = loosenings(self.spec, entry.preferences)
            if not changes:
                return
            self.store(
                subject, canonical(merge(entry.preferences, changes[int(pick * len(changes))]))
            )
            self.count(tampers=1)


def loosenings(spec: VendorSpec, prefs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every single change that makes ``prefs`` less restrictive, as partial preferences."""
    out: list[dict[str, Any]] = []
    for ch, entry in prefs["channels"].items():
        if entry.get("enabled") is False:
            out.append({"channels": {ch: {"enabled": True}}})
        freq = entry.get("frequency")
        if freq is not None:
            looser = [f for f in spec.frequencies if FREQUENCY_RANK[f] > FREQUENCY_RANK[freq]]
            if looser:
                out.append({"channels": {ch: {"frequency": looser[0]}}})
    for topic, wanted in prefs["topics"].items():
        if not wanted:
            out.append({"topics": {topic: True}})
    for g in prefs["grants"]:
        if g["decision"] == "deny" or "expires" in g:
            out.append(
                {
                    "grants": [
                        {"category": g["category"], "purpose": g["purpose"], "decision": "allow"}
                    ]
                }
            )
    if prefs["quiet_hours"] is not None:
        out.append({"quiet_hours": None})
    return out


def lax(spec: VendorSpec, before: Mapping[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """``sent`` with one field looser, preferably one the write made stricter than
    ``before`` (what a vendor keeps when it answers 200 but does not honour the change)."""
    changes = loosenings(spec, sent)
    if not changes:
        return sent
    for change in changes:
        looser = canonical(merge(sent, change))
        if _field_of(change, looser) == _field_of(change, before):
            return looser
    return canonical(merge(sent, changes[0]))


def _field_of(change: Mapping[str, Any], prefs: Mapping[str, Any]) -> Any:
    """The value in ``prefs`` of the one field a single-field ``change`` touches."""
    if "channels" in change:
        ((ch, entry),) = change["channels"].items()
        return {k: prefs["channels"].get(ch, {}).get(k) for k in entry}
    if "topics" in change:
        ((topic, _),) = change["topics"].items()
        return prefs["topics"].get(topic)
    if "grants" in change:
        key = (change["grants"][0]["category"], change["grants"][0]["purpose"])
        for g in prefs["grants"]:
            if (g["category"], g["purpose"]) == key:
                return (g["decision"], g.get("expires"))
        return None
    return prefs["quiet_hours"]


# Ids of a later vocabulary, sent with the future_vocabulary knob (clients must ignore them).
_FUTURE_CHANNEL = "hologram"
_FUTURE_FREQUENCY = "hourly"
_FUTURE_DATA_USES = (("biometrics", "marketing"), ("contact", "telepathy"))


def future_catalog(catalog: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(catalog)
    out["channels"].append(_FUTURE_CHANNEL)
    out["frequencies"].append(_FUTURE_FREQUENCY)
    out["data_uses"] += [{"category": c, "purpose": p} for c, p in _FUTURE_DATA_USES]
    return out


def future_preferences(prefs: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(prefs))
    out["channels"][_FUTURE_CHANNEL] = {"enabled": True, "frequency": _FUTURE_FREQUENCY}
    out["grants"] += [
        {"category": c, "purpose": p, "decision": "allow"} for c, p in _FUTURE_DATA_USES
    ]
    return out


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
