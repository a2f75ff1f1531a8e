"""VendorHttp, the plugin API's HTTP helper, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import keyring
import keyring.backends.fail
import pytest

from cmr_desktop.connectors.api import (
    API_VERSION,
    AuthenticationError,
    BearerAuth,
    Catalog,
    ConfigField,
    Connector,
    ConnectorContext,
    ConnectorError,
    ConnectorInfo,
    ConnectorTimeout,
    HeaderAuth,
    HttpResponse,
    InvalidResponse,
    NotFound,
    PermanentError,
    PreferenceSet,
    RateLimited,
    RejectedError,
    RemoteState,
    TransientError,
    VendorHttp,
    VendorProblem,
    VersionConflict,
    base_url_problems,
    check_base_url,
)
from cmr_desktop.connectors.http import TEST_MODE_ENV, in_test_mode, make_session
from cmr_desktop.domain.clock import SystemClock

TOKEN = "tok-3f9a-very-secret"


# --- a scripted vendor on 127.0.0.1 ---------------------------------------------------------


@dataclass
class Answer:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes/str sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    trickle: bool = False  # send the body a byte at a time, until the client goes away


class Vendor:
    """A ThreadingHTTPServer answering each path with the Answer set for it."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.seen: list[dict[str, Any]] = []
        self.stop = threading.Event()
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                vendor.seen.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": json.loads(raw) if raw else None,
                    }
                )
                answer = vendor.answers.get(self.path, Answer(404, {"detail": "no such path"}))
                body = answer.body
                if isinstance(body, dict | list):
                    body = json.dumps(body)
                data = body.encode() if isinstance(body, str) else (body or b"")
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(100_000 if answer.trickle else len(data)))
                self.end_headers()
                if not answer.trickle:
                    self.wfile.write(data)
                    return
                # Each byte well within the read timeout; the whole never within the deadline.
                try:
                    while not vendor.stop.wait(0.02):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                except OSError:
                    pass  # the client gave up: what the test waits for

            do_GET = do_PUT = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    v = Vendor()
    v.thread.start()
    yield v
    v.close()


# --- a small connector using the helper -----------------------------------------------------


class Demo(Connector):
    info = ConnectorInfo(id="demo", name="Demo Vendor", version="1", api_version=API_VERSION)
    config_fields = (
        ConfigField("base_url", "API address"),
        ConfigField("subject", "Subscriber id"),
        ConfigField("token", "Access token", secret=True),
    )

    def __init__(self, context: ConnectorContext) -> None:
        super().__init__(context)
        self.http = VendorHttp(
            self, base_url_field="base_url", auth=BearerAuth("token"), subject_field="subject"
        )

    def catalog(self) -> Catalog:
        return Catalog(channels=frozenset())

    def read(self) -> RemoteState:
        answer = self.http.get_json("/things")
        return RemoteState(PreferenceSet(), answer.required_header("ETag"))

    def write(
        self, desired: PreferenceSet, *, base_version: str, idempotency_key: str
    ) -> RemoteState:
        raise NotImplementedError


class _Secrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, field: str) -> str | None:
        return self.values.get(field)


def _demo(url: str, *, secrets: dict[str, str] | None = None, **session: Any) -> Demo:
    options: dict[str, Any] = {"timeout": (2.0, 5.0), "retries": 0, **session}
    return Demo(
        ConnectorContext(
            config={"base_url": url, "subject": "S-1"},
            secrets=_Secrets({"token": TOKEN} if secrets is None else secrets),
            session=make_session(**options),
            clock=SystemClock(),
        )
    )


def _error(connector: Demo, path: str = "/things") -> ConnectorError:
    with pytest.raises(ConnectorError) as caught:
        connector.http.get_json(path)
    return caught.value


def _assert_plain(error: BaseException) -> None:
    """What the customer reads: no secret, no library exception chained or quoted."""
    assert error.__cause__ is None
    assert error.__context__ is None
    text = f"{error}{error!r}"
    for library_words in ("urllib3", "requests.", "HTTPConnectionPool", "object at 0x", TOKEN):
        assert library_words not in text


# --- status -> typed error ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFound),
        (409, VersionConflict),
        (412, VersionConflict),
        (400, RejectedError),
        (422, RejectedError),
        (500, TransientError),
        (502, TransientError),
        (418, PermanentError),
        (302, InvalidResponse),
    ],
)
def test_each_http_status_becomes_its_typed_error(
    vendor: Vendor, status: int, kind: type[ConnectorError]
) -> None:
    vendor.answers["/v1/things"] = Answer(status, {"detail": "as the vendor says"})
    error = _error(_demo(vendor.url))
    assert type(error) is kind
    assert f"HTTP {status}" in str(error)
    _assert_plain(error)


def test_a_refused_token_is_an_authentication_error_naming_the_setting(vendor: Vendor) -> None:
    vendor.answers["/v1/things"] = Answer(401, {"title": "Unauthorized"})
    error = _error(_demo(vendor.url))
    assert str(error) == (
        "Demo Vendor refused the access token (HTTP 401: Unauthorized); enter it again"
    )


def test_not_found_names_the_subject(vendor: Vendor) -> None:
    error = _error(_demo(vendor.url), "/nowhere")
    assert isinstance(error, NotFound)
    assert "does not know subscriber id 'S-1'" in str(error)


def test_a_422_shows_the_vendors_reason_and_field(vendor: Vendor) -> None:
    vendor.answers["/v1/things"] = Answer(
        422,
        {
            "title": "Invalid preferences",
            "invalid-params": [{"name": "channels.sms", "reason": "sms is not offered"}],
        },
    )
    error = _error(_demo(vendor.url))
    assert isinstance(error, RejectedError)
    assert error.field == "channels.sms"
    assert "Invalid preferences: channels.sms: sms is not offered" in str(error)


def test_the_common_error_shape_is_read_too() -> None:
    body = {
        "code": "invalid_settings",
        "message": "Refused",
        "errors": [{"field": "mailings.paper_mail", "message": "at most weekly"}],
    }
    assert VendorProblem.from_body(body) == VendorProblem(
        "Refused: mailings.paper_mail: at most weekly", "mailings.paper_mail", "invalid_settings"
    )
    assert VendorProblem.from_body(["not", "an", "object"]) == VendorProblem()
    assert VendorProblem.from_body(None) == VendorProblem()


def test_a_secret_the_vendor_echoes_in_its_reason_is_redacted(vendor: Vendor) -> None:
    vendor.answers["/v1/things"] = Answer(422, {"detail": f"token {TOKEN} may not do this"})
    error = _error(_demo(vendor.url))
    assert "[redacted] may not do this" in str(error)
    _assert_plain(error)


def test_429_is_rate_limited_with_retry_after_in_seconds(vendor: Vendor) -> None:
    vendor.answers["/v1/things"] = Answer(429, {"detail": "slow down"}, {"Retry-After": "7"})
    error = _error(_demo(vendor.url))
    assert isinstance(error, RateLimited)
    assert error.retry_after == 7


def test_503_with_an_http_date_retry_after_is_transient_with_the_wait(vendor: Vendor) -> None:
    when = email.utils.formatdate(time.time() + 600, usegmt=True)
    vendor.answers["/v1/things"] = Answer(503, {"detail": "maintenance"}, {"Retry-After": when})
    error = _error(_demo(vendor.url))
    assert type(error) is TransientError
    assert error.retry_after is not None
    assert 500 < error.retry_after <= 600


def test_an_unreadable_retry_after_is_no_wait(vendor: Vendor) -> None:
    vendor.answers["/v1/things"] = Answer(429, {}, {"Retry-After": "soon-ish"})
    error = _error(_demo(vendor.url))
    assert isinstance(error, RateLimited)
    assert error.retry_after is None


def test_a_check_hook_maps_an_answer_its_own_way(vendor: Vendor) -> None:
    vendor.answers["/v1/things"] = Answer(409, {"code": "revision_unknown"})
    connector = _demo(vendor.url)

    def check(answer: HttpResponse) -> None:
        if answer.problem.code == "revision_unknown":
            raise VersionConflict("the vendor restored a backup; read again")

    connector.http = VendorHttp(connector, base_url_field="base_url", check=check)
    assert str(_error(connector)) == "the vendor restored a backup; read again"


# --- bodies ---------------------------------------------------------------------------------


def test_json_answers_come_back_typed_with_their_etag(vendor: Vendor) -> None:
    vendor.answers["/v1/things"] = Answer(200, {"a": 1}, {"ETag": '"v7"'})
    answer = _demo(vendor.url).http.get_json("/things")
    assert (answer.status, answer.json, answer.etag) == (200, {"a": 1}, '"v7"')
    assert answer.object() == {"a": 1}
    assert vendor.seen[-1]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert vendor.seen[-1]["headers"]["Accept"] == "application/json"


def test_writes_send_json_with_if_match_and_idempotency_key(vendor: Vendor) -> None:
    vendor.answers["/v1/things/1"] = Answer(200, {"ok": True}, {"ETag": '"v8"'})
    http = _demo(vendor.url).http
    put = http.put_json("/things/1", {"x": 1}, if_match='"v7"', idempotency_key="k-1")
    post = http.post_json("/things/1", {"y": 2}, idempotency_key="k-2")
    assert (put.etag, post.json) == ('"v8"', {"ok": True})
    first, second = vendor.seen[-2:]
    assert (first["method"], first["body"]) == ("PUT", {"x": 1})
    assert first["headers"]["If-Match"] == '"v7"'
    assert first["headers"]["Idempotency-Key"] == "k-1"
    assert (second["method"], second["body"]) == ("POST", {"y": 2})
    assert "If-Match" not in second["headers"]


def test_a_header_auth_sends_the_secret_in_its_own_header(vendor: Vendor) -> None:
    class KeyVendor(Demo):
        config_fields = (
            ConfigField("base_url", "API address"),
            ConfigField("api_key", "API key", secret=True),
        )

        def __init__(self, context: ConnectorContext) -> None:
            Connector.__init__(self, context)
            self.http = VendorHttp(
                self, base_url_field="base_url", auth=HeaderAuth("X-Api-Key", "api_key")
            )

    vendor.answers["/v1/things"] = Answer(200, {})
    connector = KeyVendor(_demo(vendor.url, secrets={"api_key": "key-1234"}).context)
    connector.http.get_json("/things")
    assert vendor.seen[-1]["headers"]["X-Api-Key"] == "key-1234"
    assert "Authorization" not in vendor.seen[-1]["headers"]


def test_no_stored_secret_is_an_authentication_error_before_any_request(
    vendor: Vendor,
) -> None:
    error = _error(_demo(vendor.url, secrets={}))
    assert isinstance(error, AuthenticationError)
    assert str(error) == "no access token is stored for this brand; enter it again"
    assert vendor.seen == []


def test_a_body_that_is_not_json_is_invalid_naming_the_path(vendor: Vendor) -> None:
    vendor.answers["/v1/things"] = Answer(200, "<html>oops</html>")
    error = _error(_demo(vendor.url))
    assert isinstance(error, InvalidResponse)
    assert str(error) == (
        "Demo Vendor's answer to GET /things is not JSON (Expecting value at byte 0)"
    )
    _assert_plain(error)


def test_json_of_the_wrong_shape_is_invalid_naming_the_path(vendor: Vendor) -> None:
    vendor.answers["/v1/things"] = Answer(200, [1, 2])
    answer = _demo(vendor.url).http.get_json("/things")
    with pytest.raises(InvalidResponse, match=r"GET /things is a JSON array, not a JSON object"):
        answer.object()
    with pytest.raises(InvalidResponse, match=r"GET /things has no ETag header"):
        answer.required_header("ETag")


def test_an_answer_over_the_size_cap_is_refused(vendor: Vendor) -> None:
    vendor.answers["/v1/things"] = Answer(200, {"pad": "x" * 5000})
    error = _error(_demo(vendor.url, max_bytes=1024))
    assert isinstance(error, InvalidResponse)
    assert "answer to GET /things is larger than" in str(error)
    _assert_plain(error)


def test_an_answer_that_trickles_past_the_deadline_times_out(vendor: Vendor) -> None:
    vendor.answers["/v1/things"] = Answer(200, trickle=True)
    error = _error(_demo(vendor.url, deadline=0.3))
    assert isinstance(error, ConnectorTimeout)
    assert str(error) == (
        "Demo Vendor did not answer in time (no complete answer to GET /things within 0.3 s)"
    )
    _assert_plain(error)


def test_a_vendor_that_is_not_there_is_transient_with_no_library_text(vendor: Vendor) -> None:
    url = vendor.url
    vendor.close()  # nothing listens on that port any more
    error = _error(_demo(url))
    assert type(error) is TransientError
    assert str(error) == "cannot reach Demo Vendor: the connection failed"
    _assert_plain(error)


# --- base URL checks and test mode ----------------------------------------------------------


def _as_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as a real installation sees it: no test markers, a real keyring.

    Called in the test's body: pytest sets PYTEST_CURRENT_TEST again for the call phase."""
    for name in ("PYTEST_CURRENT_TEST", "PYTHON_KEYRING_BACKEND", TEST_MODE_ENV):
        monkeypatch.delenv(name, raising=False)
    keyring.set_keyring(keyring.backends.fail.Keyring())  # the autouse fixture puts it back


def test_tests_and_the_test_keyring_are_test_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    from cmr_desktop.testing.keyring import InMemoryKeyring

    _as_installed(monkeypatch)
    assert not in_test_mode()
    monkeypatch.setenv(TEST_MODE_ENV, "1")
    assert in_test_mode()
    monkeypatch.delenv(TEST_MODE_ENV)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "cmr_desktop.testing.keyring.InMemoryKeyring")
    assert in_test_mode()
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    keyring.set_keyring(InMemoryKeyring())
    assert in_test_mode()


def test_loopback_http_is_refused_outside_test_mode(
    vendor: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    _as_installed(monkeypatch)
    with pytest.raises(ValueError, match=r"must use https \(plain http to this machine only in"):
        check_base_url(vendor.url)
    error = _error(_demo(vendor.url))
    assert isinstance(error, RejectedError)
    assert error.field == "base_url"
    assert vendor.seen == []  # refused before anything was sent


def test_loopback_http_is_allowed_in_test_mode(vendor: Vendor) -> None:
    assert in_test_mode()  # pytest is running this test
    assert check_base_url(vendor.url + "/") == vendor.url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://vendor.example/v1", "base_url 'http://vendor.example/v1' must use https"),
        ("ftp://vendor.example/v1", "is not an https address"),
        ("vendor.example/v1", "is not an https address"),
        ("https://bob:hunter22@vendor.example/v1", "must be a plain address"),
        ("https://vendor.example/v1?token=abc", "must be a plain address"),
        ("https://vendor.example:port/v1", "base_url is not a valid address"),
    ],
)
def test_https_is_required_and_credentials_stay_out_of_the_url(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        check_base_url(url)
    assert "hunter22" not in str(caught.value)
    assert base_url_problems({"base_url": url}, "base_url") == [str(caught.value)]


def test_https_is_accepted_outside_test_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    _as_installed(monkeypatch)
    assert check_base_url(" https://vendor.example/v1/ ") == "https://vendor.example/v1"
    assert base_url_problems({"api_url": "https://vendor.example"}, "api_url") == []


def test_the_helper_refuses_settings_the_connector_does_not_declare(vendor: Vendor) -> None:
    connector = _demo(vendor.url)
    with pytest.raises(ValueError, match="'token' is not a non-secret setting"):
        VendorHttp(connector, base_url_field="token")
    with pytest.raises(ValueError, match="'subject' is not a setting declared with secret=True"):
        VendorHttp(connector, base_url_field="base_url", auth=BearerAuth("subject"))


@pytest.mark.parametrize("pasted", ["token\u2019s", "token-123\n", "tok\x00en"])
def test_a_secret_that_cannot_go_in_a_header_asks_for_it_again_before_any_request(
    vendor: Vendor, pasted: str
) -> None:
    error = _error(_demo(vendor.url, secrets={"token": pasted}))
    assert isinstance(error, AuthenticationError)
    assert str(error).startswith("the stored access token holds characters that cannot be sent")
    assert pasted.strip() not in str(error)
    assert vendor.seen == []
    _assert_plain(error)


@pytest.mark.parametrize("address", ["https://exa mple.com", "https://example.com/a b"])
def test_an_address_with_a_space_is_refused(address: str) -> None:
    with pytest.raises(ValueError, match="base_url is not a valid address: it holds a space"):
        check_base_url(address)
