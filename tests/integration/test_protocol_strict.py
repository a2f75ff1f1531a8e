"""The Open Preference API kept to the letter, by the openpref connector, the shared HTTP
session and the simulator (issue 9, point 2).

Everything runs over loopback HTTP against the simulator, or against a small fake vendor
that answers exactly what a test gives it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from cmr_desktop.connectors.api import (
    Channel,
    ConnectorContext,
    ConnectorTimeout,
    DataCategory,
    Decision,
    Frequency,
    Grant,
    InvalidResponse,
    PreferenceSet,
    Purpose,
    QuietHours,
    RateLimited,
    RejectedError,
    TransientError,
)
from cmr_desktop.connectors.http import (
    MAX_RETRY_AFTER,
    DeadlineExceeded,
    ResponseTooLarge,
    make_session,
)
from cmr_desktop.connectors.openpref import OpenPrefConnector
from cmr_desktop.domain.clock import SystemClock
from cmr_desktop.testing.simulator import (
    DataUse,
    Knobs,
    Topic,
    VendorSimulator,
    VendorSpec,
    default_vendors,
)

V = "vendor-001"
TIMEOUT = (5, 10)
PROBLEM = "https://openpref.example/problems/"


class _Secrets:
    def __init__(self, token: str) -> None:
        self.token = token

    def get(self, field: str) -> str | None:
        return self.token if field == "token" else None


def _connector(
    base_url: str, token: str, subject: str = "subject-001", **session: Any
) -> OpenPrefConnector:
    """An openpref connector wired as the host wires it (short timeouts, no retries unless
    the test asks for them)."""
    options: dict[str, Any] = {"timeout": (2.0, 5.0), "retries": 0, **session}
    return OpenPrefConnector(
        ConnectorContext(
            config={"base_url": base_url, "subject": subject},
            secrets=_Secrets(token),
            session=make_session(**options),
            clock=SystemClock(),
        )
    )


def _for(sim: VendorSimulator, vendor: str = V, **session: Any) -> OpenPrefConnector:
    return _connector(sim.base_url(vendor), sim.token(vendor), **session)


@pytest.fixture
def sim() -> Iterator[VendorSimulator]:
    with VendorSimulator(default_vendors(3, seed=1), seed=42) as s:
        yield s


def _auth(sim: VendorSimulator, vendor: str = V) -> dict[str, str]:
    return {"Authorization": f"Bearer {sim.token(vendor)}"}


def _prefs_url(sim: VendorSimulator, vendor: str = V, subject: str = "subject-001") -> str:
    return f"{sim.base_url(vendor)}/subjects/{subject}/preferences"


def _problem(r: requests.Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["type"] == PROBLEM + slug
    assert body["status"] == status
    return body


# --- a fake vendor that answers exactly what it is given --------------------------------


class _Fake:
    """Answers every request with ``status``, ``headers`` and ``body``; with ``hold`` set,
    sends the headers and the first bytes of the body and then waits for ``release``."""

    def __init__(self) -> None:
        self.status = 200
        self.headers: dict[str, str] = {}
        self.body = b"{}"
        self.hold = False
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                for name, value in fake.headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in fake.headers:
                    self.send_header("Content-Length", str(len(fake.body)))
                self.end_headers()
                self.wfile.write(fake.body)
                self.wfile.flush()
                if fake.hold:
                    fake.release.wait(30)
                    self.close_connection = True

            do_PUT = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answer(self, body: Any, status: int = 200, **headers: str) -> None:
        self.status = status
        self.body = json.dumps(body).encode()
        self.headers = {k.replace("_", "-"): v for k, v in headers.items()}


@pytest.fixture
def fake() -> Iterator[_Fake]:
    f = _Fake()
    f.thread.start()
    yield f
    f.release.set()
    f.server.shutdown()
    f.server.server_close()


CATALOG = {
    "vendor": {"id": "later", "name": "Later Vendor"},
    "channels": ["email", "sms"],
    "frequencies": ["weekly", "monthly"],
    "topics": [{"id": "offers", "label": "Offers", "required": False}],
    "data_uses": [{"category": "contact", "purpose": "marketing"}],
}


def _document(prefs: dict[str, Any]) -> dict[str, Any]:
    return {"subject": "subject-001", "preferences": prefs, "updated_at": "2026-12-01T10:00:00Z"}


# --- 1. quiet hours reach every vendor ----------------------------------------------------


def test_every_open_preference_vendor_takes_quiet_hours(sim: VendorSimulator) -> None:
    catalog = _for(sim).catalog()
    assert catalog.supports_quiet_hours is True
    wanted = PreferenceSet().with_quiet_hours(QuietHours.parse("21:00-08:00"))
    assert catalog.restrict(wanted).quiet_hours == QuietHours.parse("21:00-08:00")
    assert catalog.violations(wanted) == []
    # The simulator's catalog says nothing the spec does not define.
    raw = requests.get(f"{sim.base_url(V)}/catalog", headers=_auth(sim), timeout=TIMEOUT).json()
    assert "supports_quiet_hours" not in raw


def test_quiet_hours_written_through_openpref_are_stored_and_read_back(
    sim: VendorSimulator,
) -> None:
    connector = _for(sim)
    before = connector.read()
    quiet = QuietHours.parse("21:30-07:15")
    desired = connector.catalog().restrict(before.preferences.with_quiet_hours(quiet))
    after = connector.write(desired, base_version=before.version, idempotency_key="quiet-1")
    assert after.preferences.quiet_hours == quiet
    assert sim.state(V)["subject-001"]["preferences"]["quiet_hours"] == {
        "start": "21:30",
        "end": "07:15",
    }
    assert connector.read().preferences.quiet_hours == quiet


# --- 2. ids of a later vocabulary are ignored ---------------------------------------------


def test_a_vendor_speaking_a_later_vocabulary_is_read_without_the_ids_it_does_not_know(
    sim: VendorSimulator,
) -> None:
    spec = sim.spec(V)
    sim.set_knobs(V, future_vocabulary=True)
    raw = requests.get(f"{sim.base_url(V)}/catalog", headers=_auth(sim), timeout=TIMEOUT).json()
    assert "hologram" in raw["channels"]  # the simulator does send them
    connector = _for(sim)
    catalog = connector.catalog()
    assert catalog.channels == frozenset(Channel(c) for c in spec.channels)
    assert catalog.frequencies == frozenset(Frequency(f) for f in spec.frequencies)
    assert catalog.data_uses == frozenset(
        (DataCategory(d.category), Purpose(d.purpose)) for d in spec.data_uses
    )
    stored = PreferenceSet.from_dict(sim.state(V)["subject-001"]["preferences"])
    before = connector.read()
    assert before.preferences == stored
    desired = catalog.restrict(before.preferences.with_channel(Channel.EMAIL, False))
    after = connector.write(desired, base_version=before.version, idempotency_key="later-1")
    assert after.preferences == desired  # the write's answer is read the same way


def test_unknown_ids_inside_preferences_are_ignored_one_by_one(fake: _Fake) -> None:
    fake.answer(
        _document(
            {
                "channels": {
                    "email": {"enabled": False, "frequency": "hourly"},  # unknown frequency
                    "sms": {"enabled": True, "frequency": "weekly", "priority": 3},
                    "fax": {"enabled": True},  # unknown channel
                },
                "topics": {"offers": False},
                "grants": [
                    {"category": "contact", "purpose": "marketing", "decision": "deny"},
                    {"category": "contact", "purpose": "telepathy", "decision": "allow"},
                    {"category": "biometrics", "purpose": "marketing", "decision": "allow"},
                    {"category": "location", "purpose": "marketing", "decision": "ask_me"},
                ],
                "quiet_hours": {"start": "22:00", "end": "07:00"},
                "loyalty_tier": "gold",  # an unknown member
            }
        ),
        ETag='"3"',
    )
    state = _connector(fake.url, "t0ken").read()
    assert state.version == '"3"'
    assert state.preferences == PreferenceSet(
        channels={Channel.EMAIL: False, Channel.SMS: True},
        frequencies={Channel.SMS: Frequency.WEEKLY},
        topics={"offers": False},
        grants={(DataCategory.CONTACT, Purpose.MARKETING): Grant(Decision.DENY)},
        quiet_hours=QuietHours.parse("22:00-07:00"),
    )


def test_unknown_ids_in_a_catalog_are_ignored(fake: _Fake) -> None:
    fake.answer(
        {
            **CATALOG,
            "channels": ["email", "fax", "sms"],
            "frequencies": ["hourly", "weekly", "monthly"],
            "data_uses": [
                {"category": "contact", "purpose": "marketing"},
                {"category": "biometrics", "purpose": "marketing"},
                {"category": "contact", "purpose": "telepathy"},
            ],
        }
    )
    catalog = _connector(fake.url, "t0ken").catalog()
    assert catalog.channels == {Channel.EMAIL, Channel.SMS}
    assert catalog.frequencies == {Frequency.WEEKLY, Frequency.MONTHLY}
    assert catalog.data_uses == {(DataCategory.CONTACT, Purpose.MARKETING)}
    assert catalog.problems() == []


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("channels", {"channels": ["email"]}),
        ("channels.email", {"channels": {"email": True}}),
        ("enabled", {"channels": {"email": {"enabled": "yes"}}}),
        ("frequency", {"channels": {"email": {"frequency": 7}}}),
        ("topics.offers", {"topics": {"offers": "on"}}),
        ("grants", {"grants": {"contact": "deny"}}),
        ("category", {"grants": [{"purpose": "marketing", "decision": "deny"}]}),
        ("quiet_hours", {"quiet_hours": "21:00-08:00"}),
    ],
)
def test_malformed_preferences_are_still_refused(
    fake: _Fake, where: str, change: dict[str, Any]
) -> None:
    prefs = {"channels": {}, "topics": {}, "grants": [], "quiet_hours": None, **change}
    fake.answer(_document(prefs), ETag='"1"')
    with pytest.raises(InvalidResponse, match=where):
        _connector(fake.url, "t0ken").read()


@pytest.mark.parametrize(
    "change",
    [
        {"channels": "email"},
        {"channels": ["email", 3]},
        {"frequencies": [None]},
        {"data_uses": [{"category": "contact"}]},
        {"data_uses": ["contact/marketing"]},
    ],
)
def test_a_malformed_catalog_is_still_refused(fake: _Fake, change: dict[str, Any]) -> None:
    fake.answer({**CATALOG, **change})
    with pytest.raises(InvalidResponse, match="catalog cannot be read"):
        _connector(fake.url, "t0ken").catalog()


# --- 3. a vendor that offers no frequencies --------------------------------------------------

NO_FREQUENCIES = VendorSpec(
    id="plain-post",
    name="Plain Post",
    token="token-plain",
    channels=["email", "postal"],
    frequencies=[],
    topics=[Topic("news", "News")],
    data_uses=[DataUse("contact", "marketing")],
    subjects={"subject-001": None},
)


def test_a_catalog_without_frequencies_and_a_write_with_one_is_422() -> None:
    with VendorSimulator([NO_FREQUENCIES]) as sim:
        vid = NO_FREQUENCIES.id
        raw = requests.get(
            f"{sim.base_url(vid)}/catalog", headers=_auth(sim, vid), timeout=TIMEOUT
        ).json()
        assert raw["frequencies"] == []
        connector = _for(sim, vid)
        assert connector.catalog().frequencies == frozenset()
        before = connector.read()
        assert before.preferences.frequencies == {}
        asking = before.preferences.with_frequency(Channel.EMAIL, Frequency.WEEKLY)
        with pytest.raises(RejectedError) as refused:
            connector.write(asking, base_version=before.version, idempotency_key="freq-1")
        assert refused.value.field == "channels.email.frequency"
        assert "offered: none" in str(refused.value)
        assert sim.stats(vid).writes_applied == 0


# --- 4. Retry-After as the vendor says ------------------------------------------------------


def test_a_long_retry_after_on_503_is_reported_not_slept_through(sim: VendorSimulator) -> None:
    sim.set_knobs(V, error_rate=1.0, error_status=503, retry_after_seconds=120)
    connector = _for(sim, retries=2, backoff=0.01)
    with pytest.raises(TransientError) as caught:
        connector.read()
    assert caught.value.retry_after == 120
    assert sim.stats(V).requests == 1  # not retried in-line


def test_a_retry_after_given_as_an_http_date_is_read_as_seconds_from_now(
    sim: VendorSimulator,
) -> None:
    sim.set_knobs(
        V, error_rate=1.0, error_status=503, retry_after_seconds=600, retry_after_date=True
    )
    raw = requests.get(_prefs_url(sim), headers=_auth(sim), timeout=TIMEOUT)
    _problem(raw, 503, "unavailable")
    when = email.utils.parsedate_to_datetime(raw.headers["Retry-After"])
    assert when.tzinfo is not None
    assert when > dt.datetime.now(dt.UTC)
    with pytest.raises(TransientError) as caught:
        _for(sim, retries=2, backoff=0.01).read()
    assert caught.value.retry_after is not None
    assert 500 < caught.value.retry_after <= 600
    assert sim.stats(V).requests == 2  # the raw one and the connector's: no in-line retry


def test_a_429_carries_the_vendors_wait_in_seconds_or_as_a_date(sim: VendorSimulator) -> None:
    sim.set_knobs(V, rate_limit=1, retry_after_seconds=300)
    connector = _for(sim)
    connector.catalog()
    with pytest.raises(RateLimited) as seconds:
        connector.catalog()
    assert seconds.value.retry_after == 300
    sim.set_knobs(V, retry_after_date=True)
    with pytest.raises(RateLimited) as date:
        connector.catalog()
    assert date.value.retry_after is not None
    assert 200 < date.value.retry_after <= 300


def test_a_short_retry_after_is_still_retried_in_line(sim: VendorSimulator) -> None:
    sim.set_knobs(V, error_rate=1.0, error_status=503, retry_after_seconds=0)
    assert MAX_RETRY_AFTER >= 0
    with pytest.raises(TransientError) as caught:
        _for(sim, retries=2, backoff=0.01).read()
    assert caught.value.retry_after == 0
    assert sim.stats(V).requests == 3  # the first try and two in-line retries


# --- 5. bounded answers -------------------------------------------------------------------


def test_a_body_that_trickles_out_ends_at_the_deadline_for_that_brand_only(
    sim: VendorSimulator,
) -> None:
    sim.set_knobs(V, trickle_ms=1000)  # the catalog would take minutes
    session: dict[str, Any] = {"timeout": (2.0, 5.0), "deadline": 0.5}
    with pytest.raises(ConnectorTimeout, match="did not answer in time"):
        _for(sim, **session).catalog()
    assert _for(sim, "vendor-002", **session).catalog().channels  # the others are fine


def test_the_deadline_is_a_requests_timeout_of_the_session(sim: VendorSimulator) -> None:
    sim.set_knobs(V, trickle_ms=1000)
    session = make_session(timeout=(2.0, 5.0), retries=0, deadline=0.5)
    with pytest.raises(DeadlineExceeded) as caught:
        session.get(f"{sim.base_url(V)}/catalog", headers=_auth(sim))
    assert isinstance(caught.value, requests.Timeout)


def test_a_huge_answer_is_refused_at_the_cap_for_that_brand_only(sim: VendorSimulator) -> None:
    sim.set_knobs(V, huge_body_bytes=1024 * 1024)
    raw = requests.get(f"{sim.base_url(V)}/catalog", headers=_auth(sim), timeout=TIMEOUT)
    assert len(raw.content) >= 1024 * 1024
    assert raw.json()["channels"]  # well-formed, just big
    cap = 64 * 1024
    with pytest.raises(InvalidResponse, match=r"larger than 0\.0625 MiB"):
        _for(sim, max_bytes=cap).read()
    session = make_session(timeout=(2.0, 5.0), retries=0, max_bytes=cap)
    with pytest.raises(ResponseTooLarge) as caught:
        session.get(f"{sim.base_url(V)}/catalog", headers=_auth(sim))
    assert caught.value.limit == cap
    assert _for(sim, "vendor-002", max_bytes=cap).read().version


def test_a_declared_length_over_the_cap_is_refused_before_reading(fake: _Fake) -> None:
    # 300 MiB announced, a few bytes sent, then silence: only the header can say "too big".
    fake.answer(CATALOG, Content_Length=str(300 * 1024 * 1024))
    fake.hold = True
    session = make_session(timeout=(2.0, 20.0), retries=0, deadline=20.0)
    with pytest.raises(ResponseTooLarge):
        session.get(f"{fake.url}/catalog")


def test_answers_within_the_bounds_read_as_before(fake: _Fake) -> None:
    fake.answer(CATALOG)
    session = make_session(timeout=(2.0, 5.0), retries=0, max_bytes=len(fake.body))
    response = session.get(f"{fake.url}/catalog", stream=True)
    assert response.json() == CATALOG
    assert b"".join(response.iter_content(7)) == fake.body


# --- 6. a strict simulator ----------------------------------------------------------------


def test_a_write_without_a_json_content_type_is_415(sim: VendorSimulator) -> None:
    current = requests.get(_prefs_url(sim), headers=_auth(sim), timeout=TIMEOUT)
    body = json.dumps({"preferences": current.json()["preferences"]}).encode()
    base = {**_auth(sim), "If-Match": current.headers["ETag"], "Idempotency-Key": "ct-1"}
    with requests.Session() as http:
        request = requests.Request("PUT", _prefs_url(sim), headers=base, data=body).prepare()
        request.headers.pop("Content-Type", None)
        missing = http.send(request, timeout=TIMEOUT)
        _problem(missing, 415, "unsupported-media-type")
        plain = http.put(
            _prefs_url(sim),
            headers={**base, "Content-Type": "text/plain"},
            data=body,
            timeout=TIMEOUT,
        )
        _problem(plain, 415, "unsupported-media-type")
    assert sim.stats(V).writes_applied == 0


def test_an_empty_if_match_is_428(sim: VendorSimulator) -> None:
    current = requests.get(_prefs_url(sim), headers=_auth(sim), timeout=TIMEOUT)
    r = requests.put(
        _prefs_url(sim),
        headers={**_auth(sim), "If-Match": "", "Idempotency-Key": "im-1"},
        json={"preferences": current.json()["preferences"]},
        timeout=TIMEOUT,
    )
    _problem(r, 428, "precondition-required")
    assert sim.stats(V).writes_applied == 0


# --- 7. knobs for engine tests ------------------------------------------------------------


def test_lax_write_answers_200_but_keeps_a_looser_value(sim: VendorSimulator) -> None:
    sim.set_knobs(V, lax_write=True)
    connector = _for(sim)
    before = connector.read()
    assert before.preferences.channels[Channel.EMAIL] is True
    desired = before.preferences.with_channel(Channel.EMAIL, False)
    after = connector.write(desired, base_version=before.version, idempotency_key="lax-1")
    assert after.preferences.channels[Channel.EMAIL] is True  # kept on, though asked off
    assert after.preferences != desired
    assert sim.state(V)["subject-001"]["preferences"]["channels"]["email"]["enabled"] is True
    stats = sim.stats(V)
    assert (stats.writes_applied, stats.writes_loosened) == (1, 1)
    assert connector.read().preferences == after.preferences


def test_a_whole_vendor_can_be_made_unresponsive_and_stop_ends_its_hanging_handlers() -> None:
    sim = VendorSimulator(default_vendors(2), knobs=Knobs())
    sim.start()
    try:
        sim.set_knobs(V, timeout_rate=1.0, hang_seconds=600)
        connector = _for(sim, timeout=(2.0, 0.3))
        with pytest.raises(ConnectorTimeout):
            connector.catalog()
        with pytest.raises(ConnectorTimeout):
            connector.read()
        with pytest.raises(ConnectorTimeout):
            connector.write(PreferenceSet(), base_version='"1"', idempotency_key="hang-1")
        assert sim.stats(V).writes_applied == 0
        assert _for(sim, "vendor-002").catalog().channels  # another vendor answers
        # A client that is still waiting when the simulator stops gets its connection cut.
        waiting = HTTPConnection("127.0.0.1", int(sim.url.rsplit(":", 1)[1]), timeout=30)
        waiting.request("GET", f"/vendors/{V}/v1/catalog", headers=_auth(sim))
        sim.wait_for_stats(V, lambda s: s.requests == 4)
        server = sim._server
        assert server is not None
    finally:
        sim.stop()
    with pytest.raises((ConnectionError, OSError)):
        waiting.getresponse()
    waiting.close()
    assert not [w for w in server._workers if w.is_alive()]


def _put_raw(
    sim: VendorSimulator, prefs: dict[str, Any], etag: str, key: str
) -> tuple[HTTPConnection, bytes]:
    """Send a write on a connection of its own, without waiting for the answer."""
    conn = HTTPConnection("127.0.0.1", int(sim.url.rsplit(":", 1)[1]), timeout=30)
    body = json.dumps({"preferences": prefs}).encode()
    conn.request(
        "PUT",
        f"/vendors/{V}/v1/subjects/subject-001/preferences",
        body=body,
        headers={
            **_auth(sim),
            "Content-Type": "application/json",
            "If-Match": etag,
            "Idempotency-Key": key,
        },
    )
    return conn, body


def test_hold_after_apply_applies_a_write_and_never_answers_it(sim: VendorSimulator) -> None:
    current = sim.state(V)["subject-001"]
    wanted = json.loads(json.dumps(current["preferences"]))
    wanted["channels"]["email"] = {"enabled": False}
    sim.set_knobs(V, hold_after_apply=True)
    conn, body = _put_raw(sim, wanted, current["etag"], "hold-1")
    sim.wait_for_stats(V, lambda s: s.writes_applied == 1)
    server = sim._server
    assert server is not None
    held = set(server._workers)  # the one connection so far: the held write's
    # Applied, and visible on the admin API, while the client still waits for its answer.
    admin = requests.get(f"{sim.url}/admin/vendors/{V}", timeout=TIMEOUT).json()
    assert admin["stats"]["writes_applied"] == 1
    assert admin["subjects"]["subject-001"]["preferences"]["channels"]["email"] == {
        "enabled": False
    }
    # The write's key was stored: a retry after a crash is a replay, answered at once.
    replay = requests.put(
        _prefs_url(sim),
        headers={
            **_auth(sim),
            "Content-Type": "application/json",
            "If-Match": current["etag"],
            "Idempotency-Key": "hold-1",
        },
        data=body,
        timeout=TIMEOUT,
    )
    assert replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert sim.stats(V).writes_applied == 1
    # The client goes away (as a SIGKILLed one does): its held handler ends.
    conn.close()
    for worker in held:
        worker.join(10)
    assert not [w for w in held if w.is_alive()]


def test_hold_after_apply_ends_when_a_killed_client_process_goes_away(
    sim: VendorSimulator,
) -> None:
    current = sim.state(V)["subject-001"]
    wanted = json.loads(json.dumps(current["preferences"]))
    wanted["quiet_hours"] = {"start": "20:00", "end": "09:00"}
    sim.set_knobs(V, hold_after_apply=True)
    script = (
        "import json, sys, requests\n"
        "r = requests.put(sys.argv[1], headers=json.loads(sys.argv[2]),"
        " json={'preferences': json.loads(sys.argv[3])}, timeout=(5, 60))\n"
        "print('answered', r.status_code, flush=True)\n"
    )
    headers = {**_auth(sim), "If-Match": current["etag"], "Idempotency-Key": "kill-1"}
    client = subprocess.Popen(
        [sys.executable, "-c", script, _prefs_url(sim), json.dumps(headers), json.dumps(wanted)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        sim.wait_for_stats(V, lambda s: s.writes_applied == 1, timeout=30)
        assert sim.state(V)["subject-001"]["preferences"]["quiet_hours"] == wanted["quiet_hours"]
        server = sim._server
        assert server is not None
        workers = set(server._workers)
        client.send_signal(signal.SIGKILL)
        client.wait(10)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    assert client.stdout is not None
    assert client.stdout.read() == ""  # it never got an answer
    client.stdout.close()
    for worker in workers:
        worker.join(10)
    assert not [w for w in workers if w.is_alive()]


def test_drop_after_apply_applies_a_write_and_loses_the_answer(sim: VendorSimulator) -> None:
    sim.set_knobs(V, drop_after_apply=True)
    connector = _for(sim)
    before = connector.read()
    desired = before.preferences.with_channel(Channel.EMAIL, False)
    with pytest.raises(TransientError):
        connector.write(desired, base_version=before.version, idempotency_key="drop-1")
    assert sim.stats(V).writes_applied == 1
    assert sim.state(V)["subject-001"]["preferences"]["channels"]["email"]["enabled"] is False
    # The retry with the same key (after the outcome was unknown) is a replay.
    after = connector.write(desired, base_version=before.version, idempotency_key="drop-1")
    assert after.preferences == desired
    assert (sim.stats(V).writes_applied, sim.stats(V).writes_replayed) == (1, 1)


def test_new_knobs_are_checked_and_settable_through_the_admin_api(sim: VendorSimulator) -> None:
    admin = f"{sim.url}/admin/vendors/{V}/knobs"
    changed = requests.patch(
        admin,
        json={"lax_write": True, "error_status": 503, "retry_after_seconds": 90},
        timeout=TIMEOUT,
    )
    assert changed.status_code == 200, changed.text
    assert sim.knobs(V).lax_write is True
    assert (sim.knobs(V).error_status, sim.knobs(V).retry_after_seconds) == (503, 90)
    for bad in ({"lax_write": 1}, {"error_status": 502}, {"retry_after_seconds": 1.5}):
        refused = requests.patch(admin, json=bad, timeout=TIMEOUT)
        _problem(refused, 400, "invalid-body")
    with pytest.raises(ValueError, match="true or false"):
        Knobs(hold_after_apply="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be >= 0"):
        Knobs(hang_seconds=float("inf"))


def test_console_script_takes_the_new_knobs() -> None:
    args = [sys.executable, "-m", "cmr_desktop.testing.simulator", "--port", "0"]
    args += ["--vendors", "1", "--lax-write", "--hold-after-apply", "--future-vocabulary"]
    args += ["--error-status", "503", "--retry-after-seconds", "120", "--retry-after-date"]
    args += ["--trickle-ms", "5", "--huge-body-bytes", "4096", "--drop-after-apply"]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert " at " in first, first
        root = first.split(" at ")[1].split()[0]
        knobs = requests.get(f"{root}/admin/vendors/{V}/knobs", timeout=TIMEOUT).json()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert knobs["lax_write"] is knobs["hold_after_apply"] is knobs["drop_after_apply"] is True
    assert knobs["future_vocabulary"] is knobs["retry_after_date"] is True
    assert (knobs["error_status"], knobs["retry_after_seconds"]) == (503, 120)
    assert (knobs["trickle_ms"], knobs["huge_body_bytes"]) == (5.0, 4096)
