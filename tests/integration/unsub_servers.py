"""Real servers for the unsubscribe tests: an HTTPS one-click endpoint and SMTP servers
(implicit TLS and STARTTLS), all on loopback with ``trustme`` certificates."""

from __future__ import annotations

import asyncio
import ssl
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

#: The public-looking name the tests' resolver sends to 127.0.0.1.
HOST = "unsubscribe.example"
USER, PASSWORD = "me@example.org", "app-password"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class OneClickServer:
    """An HTTPS server on 127.0.0.1 answering every request with ``status`` (and
    ``location``), recording each request it got."""

    ca_file: str
    port: int = 0
    status: int = 200
    location: str = ""
    body: bytes = b"unsubscribed"
    seen: list[Seen] = field(default_factory=list)
    got: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str = "/u/abc?list=news") -> str:
        return f"https://{HOST}:{self.port}{path}"


def _handler(server: OneClickServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server.seen.append(
                Seen(self.command, self.path, {k: v for k, v in self.headers.items()}, body)
            )
            self.send_response(server.status)
            if server.location:
                self.send_header("Location", server.location)
            self.send_header("Set-Cookie", "tracker=1; Path=/")
            self.send_header("Content-Length", str(len(server.body)))
            self.end_headers()
            self.wfile.write(server.body)
            server.got.set()

        do_POST = _answer
        do_GET = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def make_ca(tmp_path: Path) -> tuple[trustme.CA, str]:
    ca = trustme.CA()
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, str(path)


def one_click_server(ca: trustme.CA, ca_file: str) -> Iterator[OneClickServer]:
    state = OneClickServer(ca_file)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(HOST, "127.0.0.1", "::1").configure_cert(context)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def loopback_resolver(host: str, port: int) -> list[str]:
    """The tests' DNS: every name is this machine."""
    return ["127.0.0.1"]


# --- SMTP ---------------------------------------------------------------------------------


class Recorder:
    """An aiosmtpd handler keeping every envelope it accepted."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 2.0.0 Ok: queued as TEST1"


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=True would send no reply


@dataclass
class SmtpServer:
    port: int
    recorder: Recorder


def smtp_server(ca: trustme.CA, mode: str) -> Iterator[SmtpServer]:
    """``mode``: "tls" (implicit TLS), "starttls" (STARTTLS required) or "plain" (no TLS
    offered at all, to prove the client refuses it)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    recorder = Recorder()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, Any] = {}

    def factory() -> SMTP:
        kwargs: dict[str, Any] = {"authenticator": _authenticator, "auth_required": True}
        if mode == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        if mode in ("plain", "tls"):
            # aiosmtpd cannot tell an implicit-TLS connection (it only knows its own
            # STARTTLS), so it would never offer AUTH there; "plain" lets AUTH be offered
            # so that only the missing STARTTLS stops the client.
            kwargs.update(auth_require_tls=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "AUTH while not requiring TLS"
            return SMTP(recorder, hostname="smtp.test", **kwargs)

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(
            loop.create_server(factory, "127.0.0.1", 0, ssl=context if mode == "tls" else None)
        )
        box["server"] = server
        box["port"] = server.sockets[0].getsockname()[1]
        ready.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait()
    try:
        yield SmtpServer(int(box["port"]), recorder)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()


def client_context(ca_file: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)
