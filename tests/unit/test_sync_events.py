"""The events of ``cmr sync --jsonl`` (cmr_desktop.sync.events), shared by both ends."""

from __future__ import annotations

import json

import pytest

from cmr_desktop.sync.engine import BrandOutcome, Result, SyncReport
from cmr_desktop.sync.events import (
    BadEvent,
    BrandSynced,
    SyncEnded,
    SyncEvent,
    SyncFailed,
    SyncStarted,
)

EVENTS = [
    SyncStarted(3),
    BrandSynced(1, 3, "corner-shop", "Corner Shop", Result.SYNCED, "", 1),
    BrandSynced(2, 3, "acme", "Acme", Result.FAILED, "vendor said 503 (retried)", 3),
    SyncEnded(False, {"synced": 1, "failed": 1, "cancelled": 1}, 1),
    SyncFailed("a sync of this home is already running (pid 4242)"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_every_event_reads_back_as_it_was_written(event: SyncEvent) -> None:
    line = event.to_json()
    assert "\n" not in line
    assert SyncEvent.from_json(line) == event
    assert SyncEvent.from_json(line.encode("utf-8")) == event


def test_the_lines_keep_the_keys_the_protocol_always_had() -> None:
    outcome = BrandOutcome("acme", "Acme", Result.DRIFT, "email was off", 2)
    assert json.loads(BrandSynced.of(outcome, 2, 5).to_json()) == {
        "event": "brand",
        "done": 2,
        "total": 5,
        "brand": "acme",
        "name": "Acme",
        "result": "drift",
        "detail": "email was off",
        "attempts": 2,
    }
    report = SyncReport([outcome, BrandOutcome("b", "b", Result.CANCELLED)])
    assert json.loads(SyncEnded.of(report).to_json()) == {
        "event": "end",
        "ok": False,
        "counts": {"drift": 1, "cancelled": 1},
        "cancelled": 1,
    }
    assert json.loads(SyncStarted(0).to_json()) == {"event": "start", "total": 0}
    assert json.loads(SyncFailed("busy").to_json()) == {"event": "error", "message": "busy"}


def test_a_brand_event_as_a_dict_holds_plain_text_for_its_result() -> None:
    data = BrandSynced(1, 1, "a", "A", Result.FAILED, "", 1).to_dict()
    assert type(data["result"]) is str
    assert data["result"] in {"failed"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"total": 3}', "unknown event None"),
        ('{"event": "finish"}', "unknown event 'finish'"),
        ('{"event": "start"}', "'start' event: 'total' missing"),
        ('{"event": "start", "total": 3, "extra": 1}', "'start' event: unknown 'extra'"),
        ('{"event": "start", "total": "3"}', "'total' must be a whole number, not '3'"),
        ('{"event": "start", "total": true}', "'total' must be a whole number, not True"),
        ('{"event": "error", "message": 7}', "'message' must be text"),
        ('{"event": "end", "ok": 1, "counts": {}, "cancelled": 0}', "'ok' must be true or false"),
        (
            '{"event": "end", "ok": true, "counts": [], "cancelled": 0}',
            "'counts' must be an object",
        ),
        ('{"event": "end", "ok": true, "counts": {"won": 1}, "cancelled": 0}', "unknown result"),
        (
            '{"event": "brand", "done": 1, "total": 1, "brand": "a", "name": "A",'
            ' "result": "lost", "detail": "", "attempts": 1}',
            "unknown result 'lost'",
        ),
    ],
)
def test_a_line_that_is_not_exactly_an_event_is_refused_saying_why(
    line: str | bytes, message: str
) -> None:
    with pytest.raises(BadEvent, match=message.replace("(", r"\(").replace("[", r"\[")):
        SyncEvent.from_json(line)
