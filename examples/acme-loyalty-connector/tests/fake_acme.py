"""A tiny in-process fake of the Acme Loyalty Club member API (see ``acme_loyalty.connector``).

One member, ``M-1``, with API key ``acme-test-key-123``. It serves the documented GET and
POST on 127.0.0.1 (a free port, one thread per connection), counts applied writes, answers a
replayed ``request_id`` with the first answer without applying it again, and refuses a
``base_revision`` that is not the current one with 409. It never sleeps and never fails on
its own: the conformance kit's fault proxy injects failures.
"""

from __future__ import annotations

import copy
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

MEMBER = "M-1"
KEY = "acme-test-key-123"
MAILINGS = ("newsletter_email", "text_messages", "paper_mail")
CADENCES = ("every-day", "once-a-week", "once-a-month")
INTERESTS = ("deals", "store-events")
SHARING = ("partners", "personalised_ads")
_PATH = re.compile(r"^/members/([^/]+)/contact-settings$")


def initial_settings() -> dict[str, Any]:
    """Member M-1 as Acme holds it at the start of every test."""
    return {
        "member_id": MEMBER,
        "revision": 12,
        "mailings": {
            "newsletter_email": {"on": True, "cadence": "once-a-week"},
            "text_messages": {"on": False},
            "paper_mail": {"on": True, "cadence": "once-a-month"},
        },
        "interests": ["deals"],
        "data_sharing": {"partners": False, "personalised_ads": True},
    }


class AcmeFake:
    """The fake API. Use as a context manager; :attr:`url` is the ``api_url`` to configure."""

    key = KEY

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.members: dict[str, dict[str, Any]] = {MEMBER: initial_settings()}
        self._replies: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self.writes_applied = 0
        self.writes_replayed = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits up to one interval (0.5 s by default).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api"

    def settings(self, member: str = MEMBER) -> dict[str, Any]:
        """A copy of what Acme holds for ``member`` (in Acme's own words)."""
        with self._lock:
            return copy.deepcopy(self.members[member])

    def __enter__(self) -> AcmeFake:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    # --- requests -------------------------------------------------------------------------

    def _serve(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        match = _PATH.match(h.path.removeprefix("/api")) if h.path.startswith("/api/") else None
        if match is None:
            return _reply(h, 404, _error("not_found", "no such resource"))
        if not hmac.compare_digest(h.headers.get("X-Api-Key", "").encode(), KEY.encode()):
            return _reply(h, 401, _error("bad_api_key", "the API key was not accepted"))
        member = unquote(match.group(1))
        with self._lock:
            if member not in self.members:
                return _reply(h, 404, _error("unknown_member", f"no member {member[:20]}"))
            if method == "GET":
                return _reply(h, 200, self.members[member])
            status, answer = self._post(member, raw)
        _reply(h, status, answer)

    def _post(self, member: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        """Apply one POST (the caller holds the lock)."""
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, _error("bad_request", "the body is not JSON")
        if not isinstance(body, dict):
            return 400, _error("bad_request", "the body is not a JSON object")
        revision, request_id = body.get("base_revision"), body.get("request_id")
        if not isinstance(revision, int) or isinstance(revision, bool):
            return 400, _error("bad_request", "base_revision is required", "base_revision")
        if not isinstance(request_id, str) or not 0 < len(request_id) <= 100:
            return 400, _error("bad_request", "request_id is required", "request_id")
        fingerprint = json.dumps(body, sort_keys=True)
        seen = self._replies.get((member, request_id))
        if seen is not None:
            if seen[0] != fingerprint:
                return 422, _error(
                    "request_id_reused", "request_id was used for another change", "request_id"
                )
            self.writes_replayed += 1
            return 200, seen[1]
        current = self.members[member]
        if revision < current["revision"]:
            return 409, _error("revision_conflict", "the settings changed since base_revision")
        if revision > current["revision"]:
            return 409, _error("revision_unknown", "base_revision is not a known revision")
        problems = _problems(body.get("settings"))
        if problems:
            field, message = problems[0]
            return 422, _error("invalid_settings", message, field)
        new = _merged(current, body["settings"])
        self.members[member] = new
        self.writes_applied += 1
        self._replies[(member, request_id)] = (fingerprint, new)
        return 200, new


def _problems(settings: object) -> list[tuple[str, str]]:
    """(field, message) for every value Acme refuses in a POST's ``settings``."""
    if not isinstance(settings, dict):
        return [("settings", "settings must be an object")]
    out = []
    for name in settings:
        if name not in ("mailings", "interests", "data_sharing"):
            out.append((f"settings.{name}", "unknown section"))
    for key, entry in (settings.get("mailings") or {}).items():
        where = f"settings.mailings.{key}"
        if key not in MAILINGS or not isinstance(entry, dict):
            out.append((where, "unknown mailing"))
            continue
        if "on" in entry and not isinstance(entry["on"], bool):
            out.append((f"{where}.on", "must be true or false"))
        cadence = entry.get("cadence")
        if cadence is not None and cadence not in CADENCES:
            out.append((f"{where}.cadence", f"cadence must be one of {', '.join(CADENCES)}"))
        elif key == "paper_mail" and cadence == "every-day":
            out.append((f"{where}.cadence", "paper mail goes out at most once a week"))
    for section, known in (("interests", INTERESTS), ("data_sharing", SHARING)):
        for key, value in (settings.get(section) or {}).items():
            if key not in known or not isinstance(value, bool):
                out.append((f"settings.{section}.{key}", "unknown, or not true or false"))
    return out


def _merged(current: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    new = copy.deepcopy(current)
    for key, entry in (settings.get("mailings") or {}).items():
        new["mailings"].setdefault(key, {}).update(entry)
    wanted = {i: i in new["interests"] for i in INTERESTS} | (settings.get("interests") or {})
    new["interests"] = [i for i in INTERESTS if wanted[i]]
    new["data_sharing"].update(settings.get("data_sharing") or {})
    new["revision"] += 1
    return new


def _error(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["errors"] = [{"field": field, "message": message}]
    return body


def _reply(h: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)
