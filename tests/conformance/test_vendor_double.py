"""The vendor double (pytest-httpserver underneath) behaves as a careful vendor does."""

from __future__ import annotations

import pytest
import requests

from cmr_desktop.testing.vendor_double import Refusal, VendorDouble

PATH = "/v1/subjects/s-1/preferences"


@pytest.fixture
def prefs(vendor_double: VendorDouble) -> VendorDouble:
    vendor_double.require_header("Authorization", "Bearer tok-1")
    vendor_double.preferences(PATH, {"channels": {"email": True, "sms": False}, "topics": {}})
    return vendor_double


def call(double: VendorDouble, method: str, **headers: str) -> requests.Response:
    body = headers.pop("body", None)
    sent = {"Authorization": "Bearer tok-1", **headers}
    return requests.request(method, double.url + PATH, headers=sent, json=body, timeout=5)


def test_a_read_carries_the_version_as_an_etag(prefs: VendorDouble) -> None:
    answer = call(prefs, "GET")
    assert answer.status_code == 200
    assert answer.headers["ETag"] == '"1"'
    assert answer.json()["channels"] == {"email": True, "sms": False}


def test_a_write_merges_and_moves_the_version_on(prefs: VendorDouble) -> None:
    body = {"channels": {"sms": True}}
    answer = call(prefs, "PUT", body=body, **{"If-Match": '"1"', "Idempotency-Key": "k1"})
    assert answer.status_code == 200
    assert answer.headers["ETag"] == '"2"'
    assert answer.json()["channels"] == {"email": True, "sms": True}
    assert prefs.writes_applied == 1


def test_a_stale_if_match_is_412_and_changes_nothing(prefs: VendorDouble) -> None:
    call(prefs, "PUT", body={"topics": {"a": True}}, **{"If-Match": '"1"', "Idempotency-Key": "k1"})
    stale = call(
        prefs, "PUT", body={"topics": {"a": False}}, **{"If-Match": '"1"', "Idempotency-Key": "k2"}
    )
    assert stale.status_code == 412
    assert call(prefs, "GET").json()["topics"] == {"a": True}


def test_a_write_without_if_match_is_428(prefs: VendorDouble) -> None:
    assert call(prefs, "PUT", body={}, **{"Idempotency-Key": "k1"}).status_code == 428


def test_a_replay_answers_the_first_answer_and_a_reused_key_is_422(prefs: VendorDouble) -> None:
    headers = {"If-Match": '"1"', "Idempotency-Key": "k1"}
    first = call(prefs, "PUT", body={"topics": {"a": True}}, **headers)
    again = call(prefs, "PUT", body={"topics": {"a": True}}, **headers)
    assert again.json() == first.json()
    assert again.headers["ETag"] == '"2"'
    assert prefs.writes_applied == 1
    assert call(prefs, "PUT", body={"topics": {"a": False}}, **headers).status_code == 422


def test_a_wrong_credential_is_401(prefs: VendorDouble) -> None:
    assert call(prefs, "GET", Authorization="Bearer nope").status_code == 401


def test_injected_failures_come_first_then_the_stub_answers_again(prefs: VendorDouble) -> None:
    prefs.rate_limit("7")
    prefs.server_error(503, retry_after="3")
    prefs.unauthorized()
    limited, down, refused = (call(prefs, "GET") for _ in range(3))
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert (down.status_code, down.headers["Retry-After"]) == (503, "3")
    assert refused.status_code == 401
    assert call(prefs, "GET").status_code == 200


def test_a_path_nobody_stubbed_is_404(prefs: VendorDouble) -> None:
    answer = requests.get(prefs.url + "/nothing", timeout=5)
    assert answer.status_code == 404


def test_an_apply_function_refuses_with_the_vendors_own_answer(
    vendor_double: VendorDouble,
) -> None:
    def apply(state: dict[str, object], body: object) -> dict[str, object]:
        raise Refusal(422, {"code": "nope", "field": "x"})

    vendor_double.preferences("/p", {}, apply=apply)
    answer = requests.put(vendor_double.url + "/p", json={}, headers={"If-Match": "1"}, timeout=5)
    assert (answer.status_code, answer.json()) == (422, {"code": "nope", "field": "x"})


def test_requests_are_captured_and_a_secret_in_a_url_is_caught(prefs: VendorDouble) -> None:
    call(prefs, "GET")
    assert [(r.method, r.path) for r in prefs.requests] == [("GET", PATH)]
    assert prefs.requests[0].headers["Authorization"] == "Bearer tok-1"
    prefs.assert_secret_only_in("tok-1", ["Authorization"])
    requests.get(prefs.url + PATH + "?token=tok-1", timeout=5)
    with pytest.raises(AssertionError, match="the secret was sent in the URL"):
        prefs.assert_secret_only_in("tok-1", ["Authorization"])
