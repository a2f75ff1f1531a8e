"""HTTP plumbing: a threading HTTP/1.1 server that can always stop quickly, and a handler
that reads bodies (length or chunked, capped), answers problems, trickles, pads, and hangs.

What a request means is not decided here: the server hands every request to its
:class:`App` (the simulator), which answers a :class:`Response` or raises a
:class:`~cmr_desktop.testing.simulator.problems.ProblemError` or :class:`Hang`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import re
import select
import socket
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Protocol

from cmr_desktop.testing.simulator.problems import PROBLEM_BASE, ProblemError, bad_body

log = logging.getLogger("cmr_desktop.testing.simulator")

MAX_BODY_BYTES = 1024 * 1024
"""Larger request bodies are refused with 413."""

_ENTITY_TAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


class App(Protocol):
    """What the server serves."""

    def handle(
        self, method: str, target: str, headers: Any, body: bytes, client: str
    ) -> Response: ...


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


class Response(NamedTuple):
    status: int
    body: bytes
    headers: dict[str, str]
    content_type: str = "application/json"
    trickle_ms: float = 0.0  # pause before each body byte
    pad_to: int = 0  # pad a JSON object body to this size, sent chunked


class Server(ThreadingHTTPServer):
    """A threading HTTP server that can always stop quickly."""

    request_queue_size = 1024
    daemon_threads = True
    block_on_close = False  # stop() joins the threads itself, with a deadline

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self.stopping = threading.Event()
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        worker = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"openpref-sim-{client_address[1]}",
            daemon=True,
        )
        with self._conn_lock:
            self._workers.add(worker)
            self._connections.add(request)
        worker.start()

    def _serve_connection(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._conn_lock:
                self._connections.discard(request)
                self._workers.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-answer, or a connection cut by stop(): not news.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def cut_connections(self) -> None:
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def join_workers(self, deadline: float) -> None:
        with self._conn_lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))


class Server6(Server):
    address_family = socket.AF_INET6


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "OpenPreferenceSimulator/1"
    sys_version = ""
    timeout = 120  # an idle keep-alive connection is closed after this
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every answer on a kept-alive connection.
    disable_nagle_algorithm = True
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    def do_TRACE(self) -> None:
        self._dispatch()

    def do_CONNECT(self) -> None:
        self._dispatch()

    def do_QUERY(self) -> None:
        self._dispatch()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors found by ``http.server`` itself (bad request line, unknown method, ...).

        Answered as problem documents too, and the connection is closed.
        """
        title, default = self.responses.get(code, ("Error", ""))
        slug = "method-not-implemented" if code == 501 else "bad-request"
        body = json_bytes(
            {
                "type": PROBLEM_BASE + slug,
                "title": title,
                "status": code,
                "detail": message or explain or default,
            }
        )
        self.send_response(code, message)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    # --- plumbing ------------------------------------------------------------------------

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
            response = self.server.app.handle(
                self.command, self.path, self.headers, body, self.client_address[0]
            )
        except ProblemError as exc:
            response = problem(exc)
        except Hang as hang:
            self._wait_quietly(hang.seconds)
            self.close_connection = True
            return
        except Exception:  # a bug in the simulator: answer 500, keep serving
            log.exception("simulator error on %s %s", self.command, self.path)
            response = problem(
                ProblemError(500, "internal-error", "Internal server error", "simulator bug")
            )
        self._send(response)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        if not raw.strip().isdigit():
            self.close_connection = True
            raise ProblemError(400, "invalid-body", "Bad request", "invalid Content-Length")
        length = int(raw)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise ProblemError(
                413, "payload-too-large", "Payload too large", f"at most {MAX_BODY_BYTES} bytes"
            )
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise ProblemError(
                    400, "invalid-body", "Bad request", "invalid chunked encoding"
                ) from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                self.close_connection = True
                raise ProblemError(
                    413,
                    "payload-too-large",
                    "Payload too large",
                    f"at most {MAX_BODY_BYTES} bytes",
                )
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, response: Response) -> None:
        body = response.body
        huge = response.pad_to > len(body) and body.endswith(b"}") and self.command != "HEAD"
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        if huge:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            self.wfile.flush()
        elif huge:
            self._send_padded(body, response.pad_to)
        elif response.trickle_ms > 0:
            self._trickle(body, response.trickle_ms / 1000)
        else:
            self.wfile.write(body)
            self.wfile.flush()

    def _trickle(self, body: bytes, pause: float) -> None:
        self.wfile.flush()
        for i in range(len(body)):
            if self.server.stopping.wait(pause):
                self.close_connection = True
                return
            self.wfile.write(body[i : i + 1])
            self.wfile.flush()

    def _send_padded(self, body: bytes, size: int) -> None:
        """``body`` (a JSON object) with a ``padding`` member, to ``size`` bytes, chunked."""
        head = body[:-1] + (b', "padding": "' if len(body) > 2 else b'{"padding": "')
        tail = b'"}'
        pads = max(0, size - len(head) - len(tail))
        self._chunk(head)
        block = b"x" * (64 * 1024)
        while pads > 0 and not self.server.stopping.is_set():
            piece = block[:pads]
            self._chunk(piece)
            pads -= len(piece)
        self._chunk(tail)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _wait_quietly(self, seconds: float | None) -> None:
        """Send nothing for ``seconds`` (None: for ever), until the simulator stops or the
        client closes the connection, whichever is first."""
        end = None if seconds is None else time.monotonic() + seconds
        stopping = self.server.stopping
        while not stopping.is_set():
            step = 0.1 if end is None else min(0.1, end - time.monotonic())
            if step <= 0:
                return
            try:
                readable, _, _ = select.select([self.connection], [], [], step)
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    return  # the client closed the connection
            except (OSError, ValueError):
                return  # the connection was cut (stop()) or is gone
            if readable:
                stopping.wait(step)  # the client sent more: keep quiet all the same


class Hang(Exception):
    """Injected timeout: hang (``seconds``; None: until the client or the simulator goes
    away), then close the connection without an answer."""

    def __init__(self, seconds: float | None) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def problem(exc: ProblemError) -> Response:
    return Response(exc.status, json_bytes(exc.body()), exc.headers, "application/problem+json")


def ok(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, json_bytes(data), dict(headers or {}))


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise bad_body("the request needs a JSON body")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_body(f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise bad_body("the body is nested too deeply") from None


def check_content_type(headers: Any) -> None:
    ctype = headers.get("Content-Type")
    if ctype is None:
        raise ProblemError(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as application/json (there was no Content-Type)",
        )
    media = ctype.split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ProblemError(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            f"send application/json, not {media or 'an empty Content-Type'}",
        )


def etag_matches(header: str, etag: str) -> bool:
    """RFC 9110 ``If-Match`` with strong comparison against the current ``etag``."""
    if header.strip() == "*":
        return True
    pos = 0
    while pos < len(header):
        m = _ENTITY_TAG.match(header, pos)
        if m is None or m.end() == pos:
            return False
        if m.group(1) is None and m.group(2) == etag:
            return True
        pos = m.end()
    return False


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped.is_loopback
    return addr.is_loopback
