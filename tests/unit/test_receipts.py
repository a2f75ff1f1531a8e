"""``interop.receipts``: the unsubscribe history (``cmrHistory``) and withdrawal records."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jsonschema

from cmr_desktop.domain.brand import Brand
from cmr_desktop.domain.preferences import Grant, PreferenceSet
from cmr_desktop.domain.vocabulary import DataCategory, Decision, Purpose
from cmr_desktop.interop.receipts import (
    brand_receipts,
    channel_action,
    history,
    withdrawal_record,
)
from cmr_desktop.paths import resources_dir

SCHEMA = json.loads(
    (resources_dir() / "schemas" / "consent-receipt-v1.1.schema.json").read_text("utf-8")
)
T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
HASH = "ab" * 32


def _errors(item: dict[str, Any]) -> list[str]:
    return [e.message for e in jsonschema.Draft7Validator(SCHEMA).iter_errors(item)]


def _entry(method: str, target: str, result: str, at: dt.datetime, done: bool) -> dict[str, Any]:
    return {
        "method": method,
        "target": target,
        "result": result,
        "at": at.isoformat(),
        "done": done,
    }


def _allowing() -> Brand:
    prefs = PreferenceSet().with_grant(DataCategory.CONTACT, Purpose.SERVICE, Grant(Decision.ALLOW))
    return Brand("shop", "Shop", website="https://shop.example", preferences=prefs)


def test_a_failed_one_click_is_failed_and_a_2xx_is_done() -> None:
    url = "https://list.shop.example/u/abc?token=SECRET"
    failed = channel_action(T0, HASH, _entry("one-click", url, "HTTP 500 Error: no", T0, False))
    done = channel_action(T0, HASH, _entry("one-click", url, "HTTP 200 OK: accepted", T0, True))
    assert failed["outcome"] == "failed"
    assert done["outcome"] == "done"
    assert failed["target"] == done["target"] == "list.shop.example"
    assert failed["evidence"] == {"journalEntryHash": HASH}
    assert failed["at"] == "2026-11-01T09:00:00Z"
    assert failed["timestamp"] == int(T0.timestamp())


def test_a_web_page_is_done_by_hand_as_the_customer_confirmed() -> None:
    entry = _entry("web", "https://shop.example/prefs?k=SECRET", "done by hand", T0, True)
    action = channel_action(T0, HASH, entry)
    assert action["outcome"] == "done by hand, as confirmed by the customer"
    assert action["target"] == "shop.example"


def test_a_mailto_keeps_the_address_only_and_an_older_entry_claims_nothing() -> None:
    entry = _entry("mailto", "mailto:leave@shop.example?subject=tok-SECRET", "accepted", T0, True)
    entry["headers"], entry["text"] = {"To": "leave@shop.example"}, "the message"
    action = channel_action(T0, HASH, entry)
    assert action["target"] == "leave@shop.example"
    assert action["outcome"] == "done"
    assert "headers" not in action
    assert "text" not in action
    older = {k: v for k, v in entry.items() if k != "done"}
    assert channel_action(T0, HASH, older)["outcome"] == "not recorded"


def test_addresses_in_a_result_are_cut_to_their_host() -> None:
    result = "HTTP 303 See Other: a redirect to https://evil.example/x?token=SECRET, not followed"
    action = channel_action(T0, HASH, _entry("one-click", "https://a.example/u", result, T0, False))
    assert "SECRET" not in json.dumps(action)
    assert action["result"] == "HTTP 303 See Other: a redirect to evil.example, not followed"


def test_history_is_oldest_first_on_every_receipt_of_the_brand() -> None:
    later = T0 + dt.timedelta(days=2)
    actions = [
        channel_action(
            later, "cd" * 32, _entry("web", "https://s.example/", "by hand", later, True)
        ),
        channel_action(T0, HASH, _entry("one-click", "https://s.example/u", "HTTP 500", T0, False)),
    ]
    brand = _allowing()
    confirmed = [(T0, "ef" * 32, brand.preferences), (later, "01" * 32, brand.preferences)]
    receipts = brand_receipts(brand, confirmed, pending=True, actions=actions)
    assert len(receipts) == 3  # two confirmed states and the recorded one
    for r in receipts:
        assert _errors(r) == []
        assert [h["outcome"] for h in r["cmrHistory"]] == [
            "failed",
            "done by hand, as confirmed by the customer",
        ]
    assert history(actions) == receipts[0]["cmrHistory"]


def test_without_actions_a_receipt_is_as_before() -> None:
    (r,) = brand_receipts(_allowing(), [], pending=False)
    assert "cmrHistory" not in r
    assert _errors(r) == []


def test_a_withdrawal_record_is_not_a_receipt_and_validates() -> None:
    brand = Brand("paper", "Paper")
    assert withdrawal_record(brand, []) is None
    assert brand_receipts(brand, [], pending=False) == []  # nothing allowed: no receipt
    action = channel_action(T0, HASH, _entry("web", "https://paper.example/", "by hand", T0, True))
    record = withdrawal_record(brand, [action])
    assert record is not None
    assert record["cmrRecord"] == "withdrawal"
    assert "consentReceiptID" not in record
    assert _errors(record) == []
    assert _errors({**record, "cmrHistory": []}) != []  # a withdrawal says what was withdrawn
    bad = {**record, "cmrHistory": [{**action, "outcome": "consented"}]}
    assert _errors(bad) != []


def test_a_receipt_cannot_pass_for_a_withdrawal_or_the_reverse() -> None:
    (r,) = brand_receipts(_allowing(), [], pending=False)
    assert _errors({**r, "cmrRecord": "withdrawal"}) != []
