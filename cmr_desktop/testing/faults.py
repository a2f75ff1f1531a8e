"""A fault-injecting HTTP proxy for connector tests.

Sits between a connector and a real (or fake) vendor on 127.0.0.1 and forwards every request
unchanged, until told to fail: then it answers the next request(s) itself with an HTTP
error, a garbage body, or silence past the client's timeout. So the conformance suite can
check how any connector maps HTTP failures, whatever the shape of its vendor's API.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import requests

#: Fault kinds: an HTTP status code, "garbage" (200 with a body that is not JSON), or
#: "timeout" (no answer until the client gives up).
FAULTS: tuple[int | str, ...] = (
    401,
    403,
    404,
    409,
    412,
    422,
    429,
    500,
    503,
    "garbage",
    "timeout",
)
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "host",
    "content-encoding",
}
RETRY_AFTER = {429: "7", 503: "3"}


@dataclass
class _Armed:
    kind: int | str
    times: int
    retry_after: str | None = None


class FaultProxy:
    """Forward to ``upstream`` (a base URL), failing on demand.

    Args:
        upstream: the vendor's base URL, e.g. ``http://127.0.0.1:8765/api``.
        hang_seconds: how long a "timeout" fault stays silent (longer than the client's
            read timeout; shutdown does not wait for it).
    """

    def __init__(self, upstream: str, *, hang_seconds: float = 5.0) -> None:
        parts = urlsplit(upstream)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("FaultProxy only forwards to this machine")
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._path = parts.path.rstrip("/")
        self._query = f"?{parts.query}" if parts.query else ""
        self.hang_seconds = hang_seconds
        self._armed: _Armed | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._session = requests.Session()
        self._session.trust_env = False
        self.requests_seen = 0
        self.requests_failed = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests read the connector's own logs

            def _handle(self) -> None:
                proxy._serve(self)

            do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """Use this instead of the upstream base URL in the connector's settings."""
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}{self._path}{self._query}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)
        self._session.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail(self, kind: int | str, times: int = 1, *, retry_after: str | None = None) -> None:
        """Make the next ``times`` requests fail with ``kind`` (see :data:`FAULTS`).

        Args:
            kind: the fault.
            times: how many requests in a row get it.
            retry_after: the ``Retry-After`` value sent with it (seconds or an HTTP-date);
                by default :data:`RETRY_AFTER` for 429 and 503, none for the rest.
        """
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULTS}")
        with self._lock:
            self._armed = _Armed(kind, times, retry_after)

    def heal(self) -> None:
        with self._lock:
            self._armed = None

    def _take_fault(self) -> _Armed | None:
        with self._lock:
            self.requests_seen += 1
            armed = self._armed
            if armed is None:
                return None
            armed.times -= 1
            if armed.times <= 0:
                self._armed = None
            self.requests_failed += 1
            return armed

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        armed = self._take_fault()
        fault = None if armed is None else armed.kind
        if fault == "timeout":
            self._stopping.wait(self.hang_seconds)
            h.close_connection = True
            return
        if fault == "garbage":
            self._reply(h, 200, {"Content-Type": "application/json"}, b"<html>\x00oops{{")
            return
        if isinstance(fault, int):
            problem = {
                "type": "about:blank",
                "title": f"injected {fault}",
                "status": fault,
                "detail": "fault injected by the CMR Desktop test kit",
            }
            if fault == 422:
                problem["invalid-params"] = [{"name": "channels.sms", "reason": "injected"}]
            headers = {"Content-Type": "application/problem+json"}
            retry_after = armed.retry_after if armed is not None else None
            if retry_after is None:
                retry_after = RETRY_AFTER.get(fault)
            if retry_after is not None:
                headers["Retry-After"] = retry_after
            self._reply(h, fault, headers, json.dumps(problem).encode())
            return
        headers = {k: v for k, v in h.headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            upstream = self._session.request(
                h.command,
                self._origin + h.path,
                headers=headers,
                data=body or None,
                timeout=(5, 30),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            self._reply(h, 502, {"Content-Type": "text/plain"}, f"proxy: {exc}".encode())
            return
        out = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
        self._reply(h, upstream.status_code, out, upstream.content)

    @staticmethod
    def _reply(
        h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        h.send_response(status)
        for key, value in headers.items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)
