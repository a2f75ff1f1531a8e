"""A test double for a vendor's API, on `pytest-httpserver <https://pytest-httpserver.readthedocs.io>`_.

pytest-httpserver is a well-kept local HTTP server (werkzeug) that records every request;
:class:`VendorDouble` wraps its :class:`HTTPServer` with what a connector's tests need, so a
plugin author describes their vendor in a page instead of writing ``http.server`` plumbing:

- :meth:`VendorDouble.preferences`: a stateful preferences resource with a version (sent as an
  ``ETag``), optimistic locking (a stale ``If-Match``, or whatever the vendor uses, is refused
  with 412 or the vendor's own status), idempotent replay of a write by its key, and a count
  of applied writes;
- :meth:`VendorDouble.require_header`: the vendor's authentication (a wrong or missing key is a
  401 with the vendor's body);
- :meth:`VendorDouble.fail_next`, :meth:`rate_limit`, :meth:`unauthorized`,
  :meth:`server_error`: the next requests get an error answer (a 429 with ``Retry-After`` ...);
- :attr:`VendorDouble.requests`: every request seen, to assert on headers, and
  :meth:`VendorDouble.assert_secret_only_in` to prove a secret travelled only where it should.

Use it as a context manager (or the ``vendor_double`` pytest fixture)::

    with VendorDouble() as vendor:
        vendor.require_header("X-Api-Key", "key-1")
        prefs = vendor.preferences("/members/M-1/prefs", {"email": True}, write_method="POST")
        ...connect your connector to vendor.url...

For an endpoint the helpers do not cover, use :attr:`VendorDouble.server` (the
pytest-httpserver server) directly: ``vendor.server.expect_request("/catalog").respond_with_json``.
"""

from __future__ import annotations

import copy
import hmac
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

try:
    from pytest_httpserver import HTTPServer
    from werkzeug import Request, Response
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "cmr_desktop.testing.vendor_double needs pytest-httpserver: "
        "pip install 'pytest-httpserver>=1.0,<2' (or cmr-desktop[test])"
    ) from exc

__all__ = [
    "HTTPServer",
    "PreferencesResource",
    "QuickHTTPServer",
    "Refusal",
    "Request",
    "Response",
    "SeenRequest",
    "VendorDouble",
    "if_match",
    "json_response",
    "merge_json",
]

Handler = Callable[[Request], Response]


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON answer."""
    return Response(
        json.dumps(body), status=status, headers=dict(headers or {}), mimetype="application/json"
    )


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "status": status, "detail": detail}


class Refusal(Exception):
    """Raise it from an ``apply`` function to refuse a write with the vendor's own answer."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class SeenRequest:
    """One request the double received (in arrival order in :attr:`VendorDouble.requests`)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def url(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")

    def json(self) -> Any:
        return json.loads(self.body)


def merge_json(state: dict[str, Any], body: Any) -> dict[str, Any]:
    """The default write: ``body`` (a JSON object) merged into ``state`` key by key, nested
    objects merged too, so a partial write leaves absent keys alone."""
    if not isinstance(body, dict):
        raise Refusal(400, _problem(400, "Bad request", "the body must be a JSON object"))
    out = copy.deepcopy(state)
    for key, value in body.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_json(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def if_match(request: Request) -> str | None:
    """The base version a write names in ``If-Match`` (quotes and ``W/`` dropped)."""
    value = request.headers.get("If-Match")
    if value is None:
        return None
    return value.strip().removeprefix("W/").strip('"')


def _idempotency_header(request: Request) -> str | None:
    return request.headers.get("Idempotency-Key")


@dataclass
class PreferencesResource:
    """One subscriber's preferences at the double (see :meth:`VendorDouble.preferences`).

    Attributes:
        state: what the vendor holds now (in the vendor's own shape).
        version: a counter, one up per applied write; sent as ``ETag: "<version>"``.
        writes_applied / writes_replayed / conflicts: what the writes did.
    """

    path: str
    state: dict[str, Any]
    version: int = 1
    writes_applied: int = 0
    writes_replayed: int = 0
    conflicts: int = 0
    _replies: dict[str, tuple[bytes, Response]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> dict[str, Any]:
        """A copy of the state, safe to compare later."""
        with self._lock:
            return copy.deepcopy(self.state)

    def tamper(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Change the state as the vendor would on its own (a new version, no write counted)."""
        with self._lock:
            change(self.state)
            self.version += 1


class QuickHTTPServer(HTTPServer):
    """pytest-httpserver's server, stopping in about 50 ms instead of 0.5 s (its documented
    ``thread_target`` hook polls for shutdown more often), so each test can have its own."""

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.05)


class VendorDouble:
    """A vendor API on 127.0.0.1 (see the module docstring).

    Args:
        server: a pytest-httpserver server to use (the ``httpserver`` fixture's, say); by
            default a threaded one of its own, started by ``__enter__``.
    """

    def __init__(self, server: HTTPServer | None = None) -> None:
        self._own = server is None
        self.server = server or QuickHTTPServer(host="127.0.0.1", port=0, threaded=True)
        # A path nobody stubbed is a 404, as at a real vendor (pytest-httpserver says 500).
        self.server.no_handler_status_code = 404
        self._auth: list[tuple[str, str, Response]] = []
        self._resources: list[PreferencesResource] = []

    # --- life -------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        if not self.server.is_running():
            self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._own and self.server.is_running():
            self.server.clear()
            self.server.stop()

    @property
    def url(self) -> str:
        """The base URL (``http://127.0.0.1:PORT``), without a trailing slash."""
        return self.server.url_for("/").rstrip("/")

    # --- authentication ---------------------------------------------------------------------

    def require_header(self, name: str, value: str, *, refusal: Response | None = None) -> None:
        """Every stubbed endpoint answers 401 (or ``refusal``) unless header ``name`` is
        ``value`` (compared in constant time). For a bearer token:
        ``require_header("Authorization", f"Bearer {token}")``."""
        answer = refusal or json_response(
            401, _problem(401, "Unauthorized", "the credentials were not accepted")
        )
        self._auth.append((name, value, answer))

    def _refused(self, request: Request) -> Response | None:
        for name, value, answer in self._auth:
            given = request.headers.get(name, "")
            if not hmac.compare_digest(given.encode(), value.encode()):
                return answer
        return None

    def _guarded(self, handler: Handler) -> Handler:
        def guarded(request: Request) -> Response:
            return self._refused(request) or handler(request)

        return guarded

    # --- endpoints --------------------------------------------------------------------------

    def route(self, path: str, handler: Handler, *, method: str = "GET") -> None:
        """Serve ``method path`` with ``handler`` (behind :meth:`require_header`)."""
        self.server.expect_request(path, method=method).respond_with_handler(self._guarded(handler))

    def json(self, path: str, body: Any, *, method: str = "GET", status: int = 200) -> None:
        """Serve a fixed JSON document (a catalog, say)."""
        self.route(path, lambda request: json_response(status, body), method=method)

    def preferences(
        self,
        path: str,
        initial: Mapping[str, Any],
        *,
        write_method: str = "PUT",
        apply: Callable[[dict[str, Any], Any], dict[str, Any]] = merge_json,
        render: Callable[[dict[str, Any], int], Any] | None = None,
        base_version: Callable[[Request], str | None] = if_match,
        idempotency_key: Callable[[Request], str | None] = _idempotency_header,
        conflict: Callable[[PreferencesResource, str], Response] | None = None,
        require_version: bool = True,
        version: int = 1,
    ) -> PreferencesResource:
        """A stateful preferences resource at ``path``: GET reads, ``write_method`` writes.

        A write is checked in this order: a key already used replays the first answer (or
        422 if the body differs), without applying again; a base version that is not the
        current one is refused with ``conflict`` (default: 412 problem details); then
        ``apply(state, body)`` gives the new state (raise :class:`Refusal` to refuse a
        value) and the version goes up by one.

        Args:
            initial: the starting state, in the vendor's shape.
            apply: the vendor's write semantics (default :func:`merge_json`: partial merge).
            render: the answer body for a state and version (default: the state itself);
                every answer also carries ``ETag: "<version>"``.
            base_version: where a write names the version it is based on (default: the
                ``If-Match`` header; for a version in the body, e.g.
                ``lambda r: str(r.get_json()["base_revision"])``).
            idempotency_key: where a write carries its key (default: ``Idempotency-Key``).
            conflict: the answer to a write based on another version (given the resource and
                the version the write named).
            require_version: refuse a write that names no version (428), as an ETag vendor
                does.
            version: the starting version.
        """
        resource = PreferencesResource(path, dict(copy.deepcopy(initial)), version)
        self._resources.append(resource)

        def answer(status: int = 200) -> Response:
            body = render(resource.state, resource.version) if render else resource.state
            return json_response(status, body, {"ETag": f'"{resource.version}"'})

        def refuse_conflict(base: str) -> Response:
            resource.conflicts += 1
            if conflict is not None:
                return conflict(resource, base)
            detail = f"the preferences changed (now version {resource.version}); read again"
            return json_response(412, _problem(412, "Version conflict", detail))

        def read(request: Request) -> Response:
            with resource._lock:
                return answer()

        def write(request: Request) -> Response:
            raw = request.get_data()
            try:
                body = json.loads(raw) if raw else None
                base = base_version(request)
                key = idempotency_key(request)
            except (ValueError, KeyError, TypeError):
                return json_response(400, _problem(400, "Bad request", "unreadable body"))
            with resource._lock:
                if key is not None and key in resource._replies:
                    seen_body, reply = resource._replies[key]
                    if seen_body != raw:
                        detail = "this idempotency key was used for a different request"
                        return json_response(422, _problem(422, "Key reused", detail))
                    resource.writes_replayed += 1
                    return reply
                if base is None and require_version:
                    detail = "name the version you read (If-Match)"
                    return json_response(428, _problem(428, "Precondition required", detail))
                if base is not None and base != str(resource.version):
                    return refuse_conflict(base)
                try:
                    new = apply(resource.state, body)
                except Refusal as refused:
                    return json_response(refused.status, refused.body, refused.headers)
                resource.state = new
                resource.version += 1
                resource.writes_applied += 1
                reply = answer()
                if key is not None:
                    resource._replies[key] = (raw, reply)
                return reply

        self.route(path, read, method="GET")
        self.route(path, write, method=write_method)
        return resource

    @property
    def writes_applied(self) -> int:
        """Writes applied by every preferences resource of this double."""
        return sum(r.writes_applied for r in self._resources)

    # --- failures ---------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        path: str | re.Pattern[str] = re.compile(".*"),
        method: str = "__ALL",
    ) -> None:
        """The next ``times`` requests (to ``path``, any by default) get this answer instead
        of the stub's."""
        answer = body if body is not None else _problem(status, f"HTTP {status}", "injected")
        for _ in range(times):
            self.server.expect_oneshot_request(path, method=method).respond_with_response(
                json_response(status, answer, headers)
            )

    def rate_limit(self, retry_after: str = "7", *, times: int = 1, body: Any = None) -> None:
        """The next requests get ``429 Too Many Requests`` with ``Retry-After``
        (delta-seconds, or an HTTP-date such as ``email.utils.format_datetime(when)``)."""
        self.fail_next(429, body, headers={"Retry-After": retry_after}, times=times)

    def unauthorized(self, *, times: int = 1, body: Any = None) -> None:
        """The next requests get 401 (a revoked key)."""
        self.fail_next(401, body, times=times)

    def server_error(
        self, status: int = 500, *, retry_after: str | None = None, times: int = 1, body: Any = None
    ) -> None:
        """The next requests get a 5xx (with ``Retry-After`` when given)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else None
        self.fail_next(status, body, headers=headers, times=times)

    # --- what was sent ----------------------------------------------------------------------

    @property
    def requests(self) -> list[SeenRequest]:
        """Every request received so far, oldest first."""
        return [
            SeenRequest(
                r.method,
                r.path,
                r.query_string.decode("latin-1"),
                dict(r.headers.items()),
                r.get_data(),
            )
            for r, _ in list(self.server.log)
        ]

    def assert_secret_only_in(self, secret: str, headers: Iterable[str]) -> None:
        """Fail unless ``secret`` travelled only in the named headers: never in a URL, a
        body or another header (so it cannot reach a proxy's or urllib3's log line)."""
        allowed = {h.lower() for h in headers}
        for seen in self.requests:
            where = [f"the URL {seen.method} {seen.path}"] if secret in seen.url else []
            if secret.encode() in seen.body:
                where.append(f"the body of {seen.method} {seen.path}")
            where += [
                f"header {name}"
                for name, value in seen.headers.items()
                if secret in value and name.lower() not in allowed
            ]
            assert not where, f"the secret was sent in {', '.join(where)}"
