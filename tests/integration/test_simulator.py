"""The vendor simulator over real local HTTP: the Open Preference API v1, knobs, admin API.

Every request goes through ``requests`` (or ``http.client``) to a simulator started on
127.0.0.1 with a free port.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from typing import Any

import pytest
import requests

from cmr_desktop.testing.simulator import (
    DataUse,
    Knobs,
    Topic,
    VendorSimulator,
    VendorSpec,
    default_vendors,
    main,
)

V = "vendor-001"
TOKEN = "token-vendor-001"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TIMEOUT = (5, 10)  # (connect, read): requests has no default timeout
PROBLEM = "https://openpref.example/problems/"


@pytest.fixture
def sim() -> Iterator[VendorSimulator]:
    with VendorSimulator(default_vendors(3, seed=1), seed=42) as s:
        yield s


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _prefs_url(sim: VendorSimulator, subject: str = "subject-001", vendor: str = V) -> str:
    return f"{sim.base_url(vendor)}/subjects/{subject}/preferences"


def _read(http: requests.Session, sim: VendorSimulator, subject: str = "subject-001") -> Any:
    r = http.get(_prefs_url(sim, subject), headers=AUTH, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r


def _put(
    http: requests.Session,
    sim: VendorSimulator,
    prefs: Any,
    *,
    etag: str | None,
    key: str | None,
    subject: str = "subject-001",
    **kwargs: Any,
) -> requests.Response:
    headers = dict(AUTH)
    if etag is not None:
        headers["If-Match"] = etag
    if key is not None:
        headers["Idempotency-Key"] = key
    headers.update(kwargs.pop("headers", {}))
    if "data" not in kwargs:
        kwargs["json"] = {"preferences": prefs}
    return http.put(_prefs_url(sim, subject), headers=headers, timeout=TIMEOUT, **kwargs)


def _problem(r: requests.Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["type"] == PROBLEM + slug
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


def _quieter(prefs: dict[str, Any]) -> dict[str, Any]:
    """The same preferences with email off and quiet hours at night."""
    out: dict[str, Any] = json.loads(json.dumps(prefs))
    out["channels"]["email"] = {"enabled": False}
    out["quiet_hours"] = {"start": "21:00", "end": "08:00"}
    return out


# --- authentication -----------------------------------------------------------------------


def test_every_request_needs_the_vendors_own_bearer_token(
    sim: VendorSimulator, http: requests.Session
) -> None:
    url = f"{sim.base_url(V)}/catalog"
    missing = http.get(url, timeout=TIMEOUT)
    _problem(missing, 401, "unauthorized")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = http.get(url, headers={"Authorization": "Bearer nope"}, timeout=TIMEOUT)
    _problem(wrong, 401, "unauthorized")
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    other = http.get(url, headers={"Authorization": "Bearer token-vendor-002"}, timeout=TIMEOUT)
    _problem(other, 401, "unauthorized")
    basic = http.get(url, headers={"Authorization": f"Basic {TOKEN}"}, timeout=TIMEOUT)
    _problem(basic, 401, "unauthorized")
    put = _put(http, sim, {}, etag='"1"', key="k", headers={"Authorization": "Bearer x"})
    _problem(put, 401, "unauthorized")
    assert http.get(url, headers=AUTH, timeout=TIMEOUT).status_code == 200
    assert sim.stats(V).requests == 6


# --- reading ------------------------------------------------------------------------------


def test_catalog_lists_what_the_vendor_offers(sim: VendorSimulator, http: requests.Session) -> None:
    r = http.get(f"{sim.base_url(V)}/catalog", headers=AUTH, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    cat = r.json()
    spec = sim.spec(V)
    assert cat["vendor"] == {"id": V, "name": spec.name}
    assert cat["channels"] == list(spec.channels)
    assert "email" in cat["channels"]
    assert cat["frequencies"] == list(spec.frequencies)
    assert set(cat) == {"vendor", "channels", "frequencies", "topics", "data_uses"}
    required = [t for t in cat["topics"] if t["required"]]
    assert [t["id"] for t in required] == ["order-updates"]
    for t in cat["topics"]:  # required topics say why (the optional reason)
        assert set(t) == {"id", "label", "required"} | ({"reason"} if t["required"] else set())
    assert required[0]["reason"] == "We must tell you when an order ships."
    assert {"category": "contact", "purpose": "marketing"} in cat["data_uses"]


def test_preferences_read_has_a_strong_etag_and_the_documented_shape(
    sim: VendorSimulator, http: requests.Session
) -> None:
    r = _read(http, sim)
    etag = r.headers["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert not etag.startswith("W/")
    assert etag == sim.state(V)["subject-001"]["etag"]
    assert int(r.headers["Content-Length"]) == len(r.content)
    doc = r.json()
    assert set(doc) == {"subject", "preferences", "updated_at"}
    assert doc["subject"] == "subject-001"
    assert doc["updated_at"].endswith("Z")
    assert "T" in doc["updated_at"]
    prefs = doc["preferences"]
    assert set(prefs) == {"channels", "topics", "grants", "quiet_hours"}
    assert prefs["channels"]["email"] == {"enabled": True, "frequency": "weekly"}
    assert prefs["topics"]["order-updates"] is True
    assert prefs["quiet_hours"] is None
    assert all(g["decision"] == "allow" for g in prefs["grants"])
    # The same read twice: same version.
    assert _read(http, sim).headers["ETag"] == etag


def test_unknown_subject_vendor_or_path_is_404(
    sim: VendorSimulator, http: requests.Session
) -> None:
    _problem(http.get(_prefs_url(sim, "nobody"), headers=AUTH, timeout=TIMEOUT), 404, "not-found")
    r = _put(
        http, sim, sim.state(V)["subject-001"]["preferences"], etag='"1"', key="k", subject="nobody"
    )
    _problem(r, 404, "not-found")
    root = sim.url
    _problem(
        http.get(f"{root}/vendors/vendor-999/v1/catalog", headers=AUTH, timeout=TIMEOUT),
        404,
        "not-found",
    )
    _problem(
        http.get(f"{sim.base_url(V)}/nothing", headers=AUTH, timeout=TIMEOUT), 404, "not-found"
    )
    r = http.delete(_prefs_url(sim), headers=AUTH, timeout=TIMEOUT)
    _problem(r, 405, "method-not-allowed")
    assert r.headers["Allow"] == "GET, PUT"


# --- writing ------------------------------------------------------------------------------


def test_put_round_trip(sim: VendorSimulator, http: requests.Session) -> None:
    first = _read(http, sim)
    wanted = _quieter(first.json()["preferences"])
    wanted["grants"] = [
        {
            "category": "contact",
            "purpose": "marketing",
            "decision": "allow",
            "expires": "2027-06-30",
        },
        {"category": "contact", "purpose": "service", "decision": "deny"},
    ]
    r = _put(http, sim, wanted, etag=first.headers["ETag"], key="round-trip-1")
    assert r.status_code == 200, r.text
    assert "Idempotent-Replayed" not in r.headers
    new_etag = r.headers["ETag"]
    assert new_etag != first.headers["ETag"]
    assert r.json()["preferences"] == wanted
    again = _read(http, sim)
    assert again.headers["ETag"] == new_etag
    assert again.json()["preferences"] == wanted
    assert sim.state(V)["subject-001"]["preferences"] == wanted
    assert sim.stats(V).writes_applied == 1


def test_stale_if_match_is_412_and_changes_nothing(
    sim: VendorSimulator, http: requests.Session
) -> None:
    first = _read(http, sim)
    prefs = first.json()["preferences"]
    sim.tamper(V, "subject-001", {"topics": {"order-updates": True}})  # someone else wrote
    before = sim.state(V)["subject-001"]
    r = _put(http, sim, _quieter(prefs), etag=first.headers["ETag"], key="stale-1")
    body = _problem(r, 412, "version-conflict")
    assert before["etag"] in body["detail"]
    assert sim.state(V)["subject-001"] == before
    assert sim.stats(V).writes_applied == 0
    # Weak tags never match (strong comparison); a list may name the current one; * matches.
    weak = _put(http, sim, _quieter(prefs), etag=f"W/{before['etag']}", key="stale-2")
    _problem(weak, 412, "version-conflict")
    listed = _put(http, sim, _quieter(prefs), etag=f'"nope", {before["etag"]}', key="stale-3")
    assert listed.status_code == 200, listed.text


def test_put_without_if_match_is_428(sim: VendorSimulator, http: requests.Session) -> None:
    prefs = _read(http, sim).json()["preferences"]
    _problem(_put(http, sim, prefs, etag=None, key="k"), 428, "precondition-required")
    assert sim.stats(V).writes_applied == 0


def test_put_without_or_with_a_bad_idempotency_key_is_400(
    sim: VendorSimulator, http: requests.Session
) -> None:
    r = _read(http, sim)
    prefs, etag = r.json()["preferences"], r.headers["ETag"]
    _problem(_put(http, sim, prefs, etag=etag, key=None), 400, "missing-idempotency-key")
    _problem(_put(http, sim, prefs, etag=etag, key="x" * 256), 400, "invalid-idempotency-key")
    assert _put(http, sim, prefs, etag=etag, key="x" * 255).status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type", "status", "slug"),
    [
        (b"{not json", "application/json", 400, "invalid-body"),
        (b"", "application/json", 400, "invalid-body"),
        (b'{"channels": {}}', "application/json", 400, "invalid-body"),
        (b'{"preferences": []}', "application/json", 400, "invalid-body"),
        (
            b'{"preferences": {"channels": {}, "topics": {}, "grants": []}}',
            None,
            400,
            "invalid-body",
        ),
        (
            b'{"preferences": {"channels": {"email": {"enabled": "yes"}}, "topics": {}, '
            b'"grants": [], "quiet_hours": null}}',
            None,
            400,
            "invalid-body",
        ),
        (
            b'{"preferences": {"channels": {}, "topics": {}, "grants": [{"category": "contact", '
            b'"purpose": "marketing", "decision": "deny", "expires": "2027-01-01"}], '
            b'"quiet_hours": null}}',
            None,
            400,
            "invalid-body",
        ),
        (
            b'{"preferences": {"channels": {}, "topics": {}, "grants": [], '
            b'"quiet_hours": {"start": "25:00", "end": "08:00"}}}',
            None,
            400,
            "invalid-body",
        ),
        (b'{"preferences": {}}', "text/plain", 415, "unsupported-media-type"),
    ],
)
def test_invalid_bodies_are_refused(
    sim: VendorSimulator,
    http: requests.Session,
    body: bytes,
    content_type: str | None,
    status: int,
    slug: str,
) -> None:
    etag = _read(http, sim).headers["ETag"]
    headers = {"Content-Type": content_type} if content_type else {}
    if content_type is None:
        headers["Content-Type"] = "application/json; charset=utf-8"
    r = _put(http, sim, None, etag=etag, key="bad-body", data=body, headers=headers)
    _problem(r, status, slug)
    assert sim.stats(V).writes_applied == 0


def test_values_outside_the_catalog_are_422_with_invalid_params(
    sim: VendorSimulator, http: requests.Session
) -> None:
    r = _read(http, sim)
    prefs, etag = r.json()["preferences"], r.headers["ETag"]
    spec = sim.spec(V)
    not_offered = next(
        c
        for c in ("sms", "phone", "push", "in_app", "messaging", "postal")
        if c not in spec.channels
    )
    bad = json.loads(json.dumps(prefs))
    bad["channels"]["fax"] = {"enabled": True}
    bad["channels"][not_offered] = {"enabled": True}
    bad["channels"]["email"]["frequency"] = "hourly"
    bad["topics"]["order-updates"] = False
    bad["topics"]["horoscopes"] = True
    bad["grants"].append({"category": "health", "purpose": "sale", "decision": "allow"})
    bad["quiet_hours"] = {"start": "08:00", "end": "08:00"}
    body = _problem(_put(http, sim, bad, etag=etag, key="bad-1"), 422, "invalid-preferences")
    names = {p["name"]: p["reason"] for p in body["invalid-params"]}
    assert set(names) == {
        "channels.fax",
        f"channels.{not_offered}",
        "channels.email.frequency",
        "topics.order-updates",
        "topics.horoscopes",
        f"grants[{len(bad['grants']) - 1}]",
        "quiet_hours",
    }
    assert "required" in names["topics.order-updates"]
    assert all(reason for reason in names.values())
    # Each problem alone is refused too.
    only_fax = json.loads(json.dumps(prefs))
    only_fax["channels"]["fax"] = {}
    body = _problem(_put(http, sim, only_fax, etag=etag, key="bad-2"), 422, "invalid-preferences")
    assert [p["name"] for p in body["invalid-params"]] == ["channels.fax"]
    required_off = json.loads(json.dumps(prefs))
    required_off["topics"]["order-updates"] = False
    body = _problem(
        _put(http, sim, required_off, etag=etag, key="bad-3"), 422, "invalid-preferences"
    )
    assert body["invalid-params"] == [
        {"name": "topics.order-updates", "reason": "a required topic cannot be turned off"}
    ]
    assert sim.state(V)["subject-001"]["etag"] == etag
    assert sim.stats(V).writes_applied == 0


# --- idempotency --------------------------------------------------------------------------


def test_a_replayed_write_is_applied_once(sim: VendorSimulator, http: requests.Session) -> None:
    first = _read(http, sim)
    wanted = _quieter(first.json()["preferences"])
    a = _put(http, sim, wanted, etag=first.headers["ETag"], key="once-1")
    assert a.status_code == 200, a.text
    # The retry carries the same key, body and (now stale) If-Match: it is replayed.
    b = _put(http, sim, wanted, etag=first.headers["ETag"], key="once-1")
    assert b.status_code == 200, b.text
    assert b.headers["Idempotent-Replayed"] == "true"
    assert b.headers["ETag"] == a.headers["ETag"]
    assert b.content == a.content
    stats = sim.stats(V)
    assert (stats.writes_applied, stats.writes_replayed) == (1, 1)
    assert stats["writes_applied"] == 1  # also readable like a mapping
    assert sim.state(V)["subject-001"]["etag"] == a.headers["ETag"]
    admin = http.get(f"{sim.url}/admin/vendors/{V}", timeout=TIMEOUT).json()
    assert admin["stats"]["writes_applied"] == 1
    assert admin["stats"]["writes_replayed"] == 1


def test_a_key_reused_for_a_different_body_is_422(
    sim: VendorSimulator, http: requests.Session
) -> None:
    first = _read(http, sim)
    prefs = first.json()["preferences"]
    a = _put(http, sim, _quieter(prefs), etag=first.headers["ETag"], key="reuse-1")
    assert a.status_code == 200
    b = _put(http, sim, prefs, etag=a.headers["ETag"], key="reuse-1")
    _problem(b, 422, "idempotency-key-reused")
    c = _put(
        http, sim, _quieter(prefs), etag=a.headers["ETag"], key="reuse-1", subject="subject-002"
    )
    _problem(c, 422, "idempotency-key-reused")
    stats = sim.stats(V)
    assert (stats.writes_applied, stats.writes_replayed) == (1, 0)
    # A refused write is not stored: the same key works once the cause is fixed.
    etag = _read(http, sim).headers["ETag"]
    bad = json.loads(json.dumps(prefs))
    bad["channels"]["fax"] = {}
    _problem(_put(http, sim, bad, etag=etag, key="fix-1"), 422, "invalid-preferences")
    assert _put(http, sim, prefs, etag=etag, key="fix-1").status_code == 200


# --- knobs --------------------------------------------------------------------------------


def test_error_rate_injects_500_and_503_with_retry_after(
    sim: VendorSimulator, http: requests.Session
) -> None:
    prefs = _read(http, sim).json()["preferences"]
    etag = sim.state(V)["subject-001"]["etag"]
    sim.set_knobs(V, error_rate=1.0)
    seen: dict[int, requests.Response] = {}
    for i in range(40):
        r = _put(http, sim, _quieter(prefs), etag=etag, key=f"err-{i}")
        seen.setdefault(r.status_code, r)
    assert set(seen) == {500, 503}
    _problem(seen[503], 503, "unavailable")
    assert seen[503].headers["Retry-After"] == "1"
    _problem(seen[500], 500, "internal-error")
    assert "Retry-After" not in seen[500].headers
    assert sim.stats(V).writes_applied == 0  # an injected error applies nothing
    assert sim.state(V)["subject-001"]["etag"] == etag
    sim.set_knobs(V, error_rate=0.0)
    assert _read(http, sim).status_code == 200


def test_rate_limit_answers_429_with_retry_after(
    sim: VendorSimulator, http: requests.Session
) -> None:
    sim.set_knobs(V, rate_limit=3)
    url = f"{sim.base_url(V)}/catalog"
    statuses = [http.get(url, headers=AUTH, timeout=TIMEOUT) for _ in range(8)]
    assert [r.status_code for r in statuses[:3]] == [200, 200, 200]
    limited = [r for r in statuses if r.status_code == 429]
    assert len(limited) >= 4  # 8 requests in (much) less than a second
    _problem(limited[0], 429, "rate-limited")
    assert limited[0].headers["Retry-After"] == "1"
    # Per vendor: another vendor is not limited.
    other = http.get(
        f"{sim.base_url('vendor-002')}/catalog",
        headers={"Authorization": "Bearer token-vendor-002"},
        timeout=TIMEOUT,
    )
    assert other.status_code == 200


def test_garbage_rate_sends_unparsable_200s_but_applies_writes(
    sim: VendorSimulator, http: requests.Session
) -> None:
    first = _read(http, sim)
    wanted = _quieter(first.json()["preferences"])
    sim.set_knobs(V, garbage_rate=1.0)
    for _ in range(5):
        r = http.get(_prefs_url(sim), headers=AUTH, timeout=TIMEOUT)
        assert r.status_code == 200
        with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)):
            json.loads(r.content)
    put = _put(http, sim, wanted, etag=first.headers["ETag"], key="garbled-1")
    assert put.status_code == 200
    with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)):
        json.loads(put.content)
    assert sim.stats(V).writes_applied == 1  # applied, though the client cannot tell
    sim.set_knobs(V, garbage_rate=0.0)
    retry = _put(http, sim, wanted, etag=first.headers["ETag"], key="garbled-1")
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["preferences"] == wanted
    assert sim.stats(V).writes_applied == 1


def test_timeout_rate_hangs_past_the_client_timeout(
    sim: VendorSimulator, http: requests.Session
) -> None:
    # The hang is far longer than the client's read timeout: a ReadTimeout means the
    # client gave up while the request still hung.
    sim.set_knobs(V, timeout_rate=1.0, hang_seconds=30.0)
    with pytest.raises(requests.ReadTimeout):
        http.get(_prefs_url(sim), headers=AUTH, timeout=(5, 0.3))
    # A hang shorter than the client's timeout ends with the connection closed, no answer.
    sim.set_knobs(V, hang_seconds=0.1)
    with requests.Session() as fresh, pytest.raises(requests.ConnectionError):
        fresh.get(_prefs_url(sim), headers=AUTH, timeout=TIMEOUT)
    sim.set_knobs(V, timeout_rate=0.0)
    assert _read(http, sim).status_code == 200


def test_tamper_rate_loosens_the_stored_state_before_a_read(
    sim: VendorSimulator, http: requests.Session
) -> None:
    prefs = sim.spec(V).default_preferences()
    prefs["channels"]["email"]["enabled"] = False
    optional = [t.id for t in sim.spec(V).topics if not t.required]
    prefs["topics"] = {t: False for t in optional} | {"order-updates": True}
    etag = sim.add_subject(V, "subject-009", prefs)
    sim.set_knobs(V, tamper_rate=1.0)
    r = _read(http, sim, "subject-009")
    assert r.headers["ETag"] != etag
    got = r.json()["preferences"]
    assert got != prefs
    loosened = got["channels"]["email"].get("enabled") is True or any(
        got["topics"][t] for t in optional
    )
    assert loosened
    assert sim.stats(V).tampers == 1
    assert sim.stats(V).writes_applied == 0


def test_tamper_through_the_python_api(sim: VendorSimulator) -> None:
    before = sim.state(V)["subject-002"]
    etag = sim.tamper(
        V,
        "subject-002",
        {
            "channels": {"email": {"frequency": "monthly"}},
            "quiet_hours": {"start": "22:00", "end": "07:00"},
        },
    )
    after = sim.state(V)["subject-002"]
    assert etag == after["etag"] != before["etag"]
    assert after["preferences"]["channels"]["email"] == {"enabled": True, "frequency": "monthly"}
    assert after["preferences"]["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    with pytest.raises(ValueError, match=r"channels\.fax"):
        sim.tamper(V, "subject-002", {"channels": {"fax": {"enabled": True}}})
    with pytest.raises(KeyError):
        sim.tamper(V, "nobody", {})


def test_knobs_and_specs_are_checked() -> None:
    with pytest.raises(ValueError, match="error_rate"):
        Knobs(error_rate=1.5)
    with pytest.raises(ValueError, match="latency_ms"):
        Knobs(latency_ms=-1)
    with pytest.raises(ValueError, match="unknown knob"):
        Knobs().changed(eror_rate=0.1)
    with pytest.raises(ValueError, match="fax"):
        VendorSpec("v", "V", "t", channels=["fax"], frequencies=[], topics=[], data_uses=[])
    with pytest.raises(ValueError, match="required topic"):
        VendorSpec(
            "v",
            "V",
            "t",
            channels=["email"],
            frequencies=[],
            topics=[Topic("news", "News", required=True)],
            data_uses=[DataUse("contact", "marketing")],
            subjects={
                "s": {"channels": {}, "topics": {"news": False}, "grants": [], "quiet_hours": None}
            },
        )
    with pytest.raises(ValueError, match="unique"):
        VendorSimulator(default_vendors(1) + default_vendors(1))


def test_latency_is_added(http: requests.Session) -> None:
    with VendorSimulator(default_vendors(1), knobs=Knobs(latency_ms=150)) as sim:
        started = time.monotonic()
        http.get(f"{sim.base_url(V)}/catalog", headers=AUTH, timeout=TIMEOUT)
        assert time.monotonic() - started >= 0.15


def test_failures_are_deterministic_under_a_seed() -> None:
    def decisions(seed: int) -> list[int]:
        knobs = Knobs(error_rate=0.5)
        with (
            VendorSimulator(default_vendors(2), seed=seed, knobs=knobs) as sim,
            requests.Session() as http,
        ):
            out = []
            for i in range(40):
                vendor = ("vendor-001", "vendor-002")[i % 2]
                r = http.get(
                    f"{sim.base_url(vendor)}/catalog",
                    headers={"Authorization": f"Bearer token-{vendor}"},
                    timeout=TIMEOUT,
                )
                out.append(r.status_code)
            return out

    first, second = decisions(7), decisions(7)
    assert first == second
    assert {200, 500, 503} <= set(first)
    assert decisions(8) != first


def test_default_vendors_are_varied_and_reproducible() -> None:
    vendors = default_vendors(12, seed=3)
    assert [v.id for v in vendors] == [f"vendor-{i:03d}" for i in range(1, 13)]
    assert [v.token for v in vendors] == [f"token-vendor-{i:03d}" for i in range(1, 13)]
    assert len({v.name for v in vendors}) == 12
    assert len({v.channels for v in vendors}) > 3
    for v in vendors:
        assert len(v.required_topics) == 1
        assert v.required_topics[0] in ("order-updates", "account-notices", "security-alerts")
        assert list(v.subjects) == [f"subject-{s:03d}" for s in range(1, 6)]
    assert default_vendors(12, seed=3) == vendors
    assert default_vendors(12, seed=4) != vendors


# --- the server -----------------------------------------------------------------------------


def test_keep_alive_serves_many_requests_on_one_connection(sim: VendorSimulator) -> None:
    conn = HTTPConnection("127.0.0.1", int(sim.url.rsplit(":", 1)[1]), timeout=5)
    try:
        for _ in range(5):
            conn.request("GET", f"/vendors/{V}/v1/catalog", headers=AUTH)
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200
            assert resp.version == 11
            assert int(resp.headers["Content-Length"]) == len(body)
            assert not resp.will_close
        conn.request("GET", f"/vendors/{V}/v1/catalog")  # an error answer keeps it open too
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 401
        assert not resp.will_close
    finally:
        conn.close()


def test_500_concurrent_connections() -> None:
    n = 500
    with VendorSimulator(default_vendors(1)) as sim:
        port = int(sim.url.rsplit(":", 1)[1])
        all_connected = threading.Barrier(n, timeout=20)

        def one(_: int) -> int:
            conn = HTTPConnection("127.0.0.1", port, timeout=20)
            try:
                conn.connect()
                all_connected.wait()  # every connection is open before any request is sent
                conn.request(
                    "GET", f"/vendors/{V}/v1/subjects/subject-001/preferences", headers=AUTH
                )
                resp = conn.getresponse()
                json.loads(resp.read())
                return resp.status
            finally:
                conn.close()

        with ThreadPoolExecutor(n) as pool:
            statuses = list(pool.map(one, range(n)))
        # The Barrier proves all n connections were open at once (it raises otherwise).
        assert statuses == [200] * n
        assert sim.stats(V).requests == n


def test_stop_does_not_wait_for_a_hanging_request() -> None:
    sim = VendorSimulator(default_vendors(1), knobs=Knobs(timeout_rate=1.0, hang_seconds=30))
    sim.start()
    outcome: list[BaseException | int] = []

    def client() -> None:
        try:
            r = requests.get(f"{sim.base_url(V)}/catalog", headers=AUTH, timeout=(5, 20))
            outcome.append(r.status_code)
        except requests.RequestException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=client)
    thread.start()
    try:
        sim.wait_for_stats(V, lambda s: s.requests == 1)  # the request is in, and hangs
        stopped = threading.Event()

        def stop() -> None:
            sim.stop()
            stopped.set()

        stopper = threading.Thread(target=stop)
        stopper.start()
        # A stop that waited for the hang would take its 30 s; half of that is no timing
        # figure, only "it did not wait" with room for any load.
        assert stopped.wait(15)
        stopper.join()
    finally:
        sim.stop()
        thread.join(10)
    assert not thread.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], requests.ConnectionError)
    with pytest.raises(RuntimeError):
        sim.base_url(V)  # stopped: no URL any more


# --- admin API ----------------------------------------------------------------------------


def test_admin_api(sim: VendorSimulator, http: requests.Session) -> None:
    admin = f"{sim.url}/admin"
    listing = http.get(f"{admin}/vendors", timeout=TIMEOUT).json()
    assert [v["id"] for v in listing["vendors"]] == ["vendor-001", "vendor-002", "vendor-003"]
    assert listing["vendors"][0]["base_url"] == sim.base_url(V)
    assert listing["vendors"][0]["token"] == TOKEN

    detail = http.get(f"{admin}/vendors/{V}", timeout=TIMEOUT).json()
    assert detail["knobs"] == Knobs().to_dict()
    assert detail["stats"] == {
        "requests": 0,
        "writes_applied": 0,
        "writes_replayed": 0,
        "tampers": 0,
        "writes_loosened": 0,
    }
    assert set(detail["subjects"]) == {f"subject-{s:03d}" for s in range(1, 6)}
    assert detail["subjects"]["subject-001"]["etag"] == sim.state(V)["subject-001"]["etag"]
    assert detail["catalog"]["vendor"]["id"] == V

    r = http.patch(
        f"{admin}/vendors/{V}/knobs", json={"error_rate": 0.25, "rate_limit": 10}, timeout=TIMEOUT
    )
    assert r.status_code == 200
    assert r.json()["error_rate"] == 0.25
    assert sim.knobs(V).rate_limit == 10
    bad = http.patch(f"{admin}/vendors/{V}/knobs", json={"eror_rate": 1}, timeout=TIMEOUT)
    _problem(bad, 400, "invalid-body")
    _problem(
        http.patch(f"{admin}/vendors/{V}/knobs", json={"error_rate": 2}, timeout=TIMEOUT),
        400,
        "invalid-body",
    )
    http.patch(f"{admin}/vendors/{V}/knobs", json={"error_rate": 0}, timeout=TIMEOUT)

    prefs = sim.spec(V).default_preferences()
    prefs["channels"]["email"] = {"enabled": False}
    created = http.put(f"{admin}/vendors/{V}/subjects/new-subject", json=prefs, timeout=TIMEOUT)
    assert created.status_code == 201
    read = _read(http, sim, "new-subject")
    assert read.json()["preferences"] == prefs
    assert read.headers["ETag"] == created.headers["ETag"] == created.json()["etag"]
    replaced = http.put(
        f"{admin}/vendors/{V}/subjects/new-subject", json={"preferences": prefs}, timeout=TIMEOUT
    )
    assert replaced.status_code == 200
    bad_prefs = {**prefs, "channels": {"fax": {}}}
    _problem(
        http.put(f"{admin}/vendors/{V}/subjects/x", json=bad_prefs, timeout=TIMEOUT),
        422,
        "invalid-preferences",
    )

    before = sim.state(V)["new-subject"]
    tampered = http.post(
        f"{admin}/vendors/{V}/subjects/new-subject/tamper",
        json={"channels": {"email": {"enabled": True}}},
        timeout=TIMEOUT,
    )
    assert tampered.status_code == 200
    after = sim.state(V)["new-subject"]
    assert after["etag"] != before["etag"]
    assert after["preferences"]["channels"]["email"] == {"enabled": True}
    stats = http.get(f"{admin}/vendors/{V}", timeout=TIMEOUT).json()["stats"]
    assert stats["tampers"] == 1
    assert stats["writes_applied"] == 0
    _problem(
        http.post(f"{admin}/vendors/{V}/subjects/nobody/tamper", json={}, timeout=TIMEOUT),
        404,
        "not-found",
    )
    _problem(http.get(f"{admin}/vendors/vendor-999", timeout=TIMEOUT), 404, "not-found")

    reset = http.post(f"{admin}/reset", timeout=TIMEOUT)
    assert reset.status_code == 200
    assert "new-subject" not in sim.state(V)
    assert sim.knobs(V) == Knobs()
    assert sim.stats(V).tampers == 0


# --- the console script -------------------------------------------------------------------


def _line_reader(proc: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """The child's stdout lines, read by a thread (``None`` at end of output)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        with proc.stdout:
            for line in proc.stdout:
                lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _next_line(lines: queue.Queue[str | None], timeout: float = 30) -> str:
    line = lines.get(timeout=timeout)  # queue.Empty: the simulator said nothing in time
    assert line is not None, "the simulator exited early"
    return line


def test_console_script_serves_until_sigterm() -> None:
    code = (
        "import sys; from cmr_desktop.testing.simulator import main; sys.exit(main(sys.argv[1:]))"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "--port",
            "0",
            "--vendors",
            "2",
            "--seed",
            "5",
            "--latency-ms",
            "1",
            "--rate-limit",
            "1000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        reader = _line_reader(proc)
        lines = [_next_line(reader) for _ in range(3)]
        assert lines[0].startswith("Open Preference API v1 simulator at http://127.0.0.1:")
        assert lines[1].startswith("vendor-001  http://127.0.0.1:")
        assert "token=token-vendor-001" in lines[1]
        assert lines[2].startswith("vendor-002  ")
        base_url = lines[1].split()[1]
        r = requests.get(f"{base_url}/catalog", headers=AUTH, timeout=TIMEOUT)
        assert r.status_code == 200
        assert r.json()["vendor"]["id"] == V
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_console_script_refuses_a_remote_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--host", "0.0.0.0", "--port", "0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err
    assert main(["--error-rate", "2"]) == 2
    assert main(["--help"]) == 0
    assert "--tamper-rate" in capsys.readouterr().out
