"""The events of ``cmr sync --jsonl``: one JSON object per line, written by the CLI (the sync
process) and read by the desktop app (``ui/sync_process.py``). Both ends use these classes,
so the keys and their types are defined here only.

A line that is not one of these events, exactly (unknown event, a key missing or extra, a
value of the wrong type), is refused with :class:`BadEvent`, whose message says what is
wrong; the reader reports it and goes on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any, ClassVar

from cmr_desktop.sync.engine import BrandOutcome, Result, SyncReport

_RESULTS = frozenset(r.value for r in Result)
_TYPES: dict[str, type] = {"int": int, "str": str, "bool": bool}


class BadEvent(ValueError):
    """A line of the sync protocol that is not a valid event; the message says why."""


def _check(kind: str, key: str, value: Any, expected: type) -> Any:
    # bool is an int in Python; in the protocol a count is never true or false.
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if not ok:
        words = {int: "a whole number", str: "text", bool: "true or false", dict: "an object"}
        raise BadEvent(f"{kind!r} event: {key!r} must be {words[expected]}, not {value!r:.60}")
    return value


@dataclass(frozen=True, slots=True)
class SyncEvent:
    """One line of the protocol."""

    #: The value of the line's ``event`` key.
    kind: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        """The event as the JSON object of its line (``event`` first), in plain values (a
        result as its text)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        plain = {k: v.value if isinstance(v, Enum) else v for k, v in values.items()}
        return {"event": self.kind, **plain}

    def to_json(self) -> str:
        """The event's line, without the line break."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @staticmethod
    def from_json(line: str | bytes) -> SyncEvent:
        """Read one line.

        Raises:
            BadEvent: the line is not JSON, not an object, or not exactly one of the events.
        """
        try:
            data = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise BadEvent(f"not JSON: {line!r:.80}") from None
        if not isinstance(data, dict):
            raise BadEvent(f"not a JSON object: {line!r:.80}")
        kind = data.get("event")
        cls = _KINDS.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise BadEvent(f"unknown event {kind!r} (known: {', '.join(_KINDS)})")
        return cls._from_dict(data)

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> SyncEvent:
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in data]
        extra = sorted(k for k in data if k != "event" and k not in names)
        if missing:
            raise BadEvent(f"{cls.kind!r} event: {', '.join(map(repr, missing))} missing")
        if extra:
            raise BadEvent(f"{cls.kind!r} event: unknown {', '.join(map(repr, extra))}")
        return cls._checked({n: data[n] for n in names})

    @classmethod
    def _checked(cls, values: dict[str, Any]) -> SyncEvent:
        hints = {f.name: str(f.type) for f in fields(cls)}
        for name, value in values.items():
            expected = _TYPES.get(hints[name])  # the others are checked by the subclass
            if expected is not None:
                _check(cls.kind, name, value, expected)
        return cls(**values)


@dataclass(frozen=True, slots=True)
class SyncStarted(SyncEvent):
    """The sync knows how many brands it will sync."""

    kind: ClassVar[str] = "start"
    total: int


@dataclass(frozen=True, slots=True)
class BrandSynced(SyncEvent):
    """One brand finished (``done`` of ``total`` so far), however it went."""

    kind: ClassVar[str] = "brand"
    done: int
    total: int
    brand: str
    name: str
    result: Result
    detail: str
    attempts: int

    @classmethod
    def of(cls, outcome: BrandOutcome, done: int, total: int) -> BrandSynced:
        o = outcome
        return cls(done, total, o.slug, o.name, o.result, o.detail, o.attempts)

    @classmethod
    def _checked(cls, values: dict[str, Any]) -> SyncEvent:
        result = _check(cls.kind, "result", values["result"], str)
        try:
            values["result"] = Result(result)
        except ValueError:
            known = ", ".join(sorted(_RESULTS))
            raise BadEvent(f"'brand' event: unknown result {result!r} (known: {known})") from None
        return super(BrandSynced, cls)._checked(values)


@dataclass(frozen=True, slots=True)
class SyncEnded(SyncEvent):
    """The sync ended: ``ok`` when no brand failed or was cancelled; ``counts`` per result;
    ``cancelled``: the brands a cancel left pending."""

    kind: ClassVar[str] = "end"
    ok: bool
    counts: dict[str, int]
    cancelled: int

    @classmethod
    def of(cls, report: SyncReport) -> SyncEnded:
        counts = {str(r): report.count(r) for r in Result if report.count(r)}
        return cls(report.ok, counts, report.count(Result.CANCELLED))

    @classmethod
    def _checked(cls, values: dict[str, Any]) -> SyncEvent:
        counts = _check(cls.kind, "counts", values["counts"], dict)
        for result, n in counts.items():
            if result not in _RESULTS:
                raise BadEvent(f"'end' event: 'counts' names an unknown result {result!r}")
            _check(cls.kind, f"counts.{result}", n, int)
        return super(SyncEnded, cls)._checked(values)


@dataclass(frozen=True, slots=True)
class SyncFailed(SyncEvent):
    """The sync could not run (another sync holds the home ...): ``message`` says why."""

    kind: ClassVar[str] = "error"
    message: str


_KINDS: dict[str, type[SyncEvent]] = {
    cls.kind: cls for cls in (SyncStarted, BrandSynced, SyncEnded, SyncFailed)
}

__all__ = ["BadEvent", "BrandSynced", "SyncEnded", "SyncEvent", "SyncFailed", "SyncStarted"]
