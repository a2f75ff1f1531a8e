"""The exercise vendor of docs/plugins.md: Kettle & Co's small contact-preferences API.

A plugin author learning to write a connector writes one for this API (the guide describes
it; this module is the running vendor to test against). Run it by hand::

    python -m cmr_desktop.testing.exercise_vendor            # prints its address and token
    python -m cmr_desktop.testing.exercise_vendor --port 8765

or in a test, as a context manager::

    with ExerciseVendor() as kettle:
        kettle.url        # the base URL to configure, ending in /v2
        kettle.token      # the bearer token
        kettle.customer   # the one customer it knows, C-1001
        kettle.writes_applied

The API (one customer, ``C-1001``; every request needs ``Authorization: Bearer <token>``):

``GET /v2/options``
    What Kettle & Co offers: ``{"channels": ["email", "sms", "post"], "newsletters":
    [{"id": "recipes", "title": "Recipes"}, ..., {"id": "safety", "title": "...",
    "mandatory": true, "why": "..."}]}``

``GET /v2/customers/{id}/preferences``
    ``{"customer": "C-1001", "contact": {"email": true, "sms": false, "post": true},
    "newsletters": {"recipes": true, "deals": false, "safety": true}}`` with the version in
    the ``ETag`` header (``"r1"``, ``"r2"`` ...).

``PATCH /v2/customers/{id}/preferences``
    Headers ``If-Match: <the ETag read>`` (required: 428 without) and ``Idempotency-Key``
    (required: 400 without). Body: the keys to change, same shape (``{"contact": {"sms":
    true}}``); keys left out keep their value. 200 with the new state and ``ETag``; 412
    when ``If-Match`` is not the current version; a key seen before with the same body is
    answered as the first time and not applied again (with another body: 422
    ``idempotency_key_reused``).

Errors: ``{"error": "<code>", "detail": "<sentence>", "field": "<path>"}`` (``field`` on
422 only): 401 ``bad_token``, 404 ``unknown_customer`` / ``not_found``, 412
``version_mismatch``, 422 ``invalid`` (e.g. ``newsletters.safety`` cannot be turned off),
428 ``if_match_required``. It never fails on its own: inject failures with the conformance
kit's fault proxy.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hmac
import json
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CUSTOMER = "C-1001"
TOKEN = "kettle-exercise-token"
OPTIONS: dict[str, Any] = {
    "channels": ["email", "sms", "post"],
    "newsletters": [
        {"id": "recipes", "title": "Recipes of the week"},
        {"id": "deals", "title": "Deals and discounts"},
        {
            "id": "safety",
            "title": "Product safety notices",
            "mandatory": True,
            "why": "We must tell every owner about a recall.",
        },
    ],
}
_PREFS = f"/v2/customers/{CUSTOMER}/preferences"


def initial_preferences() -> dict[str, Any]:
    """What Kettle & Co holds for C-1001 when it starts."""
    return {
        "customer": CUSTOMER,
        "contact": {"email": True, "sms": False, "post": True},
        "newsletters": {"recipes": True, "deals": False, "safety": True},
    }


class ExerciseVendor:
    """Kettle & Co's API on 127.0.0.1 (a context manager; see the module docstring)."""

    token = TOKEN
    customer = CUSTOMER

    def __init__(self, port: int = 0) -> None:
        self.preferences = initial_preferences()
        self.revision = 1
        self.writes_applied = 0
        self._replies: dict[str, tuple[str, dict[str, Any], int]] = {}
        self._lock = threading.Lock()
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                vendor._serve(self)

            def do_PATCH(self) -> None:
                vendor._serve(self)

            def do_PUT(self) -> None:
                vendor._serve(self)

            def do_POST(self) -> None:
                vendor._serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """The base URL a connector is configured with."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v2"

    def __enter__(self) -> ExerciseVendor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        sent = h.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(sent, f"Bearer {TOKEN}".encode()):
            return _reply(h, 401, _error("bad_token", "the token was not accepted"))
        if h.command == "GET" and h.path == "/v2/options":
            return _reply(h, 200, OPTIONS)
        if not h.path.startswith("/v2/customers/"):
            return _reply(h, 404, _error("not_found", "no such resource"))
        if h.path != _PREFS:
            return _reply(h, 404, _error("unknown_customer", "no such customer"))
        with self._lock:
            if h.command == "GET":
                return _reply(h, 200, self.preferences, self.revision)
            if h.command != "PATCH":
                return _reply(h, 405, _error("method_not_allowed", "use GET or PATCH"))
            status, body, revision = self._patch(h, raw)
        _reply(h, status, body, revision)

    def _patch(self, h: BaseHTTPRequestHandler, raw: bytes) -> tuple[int, dict[str, Any], int]:
        """Apply one PATCH (the caller holds the lock): (status, body, revision for ETag)."""
        key = h.headers.get("Idempotency-Key", "")
        if not key:
            return 400, _error("idempotency_key_required", "send an Idempotency-Key"), 0
        seen = self._replies.get(key)
        if seen is not None:
            if seen[0] != raw.decode("utf-8", "replace"):
                return 422, _error("idempotency_key_reused", "key used for another change"), 0
            return 200, seen[1], seen[2]
        match = h.headers.get("If-Match")
        if match is None:
            return 428, _error("if_match_required", "send If-Match with the ETag you read"), 0
        if match.strip().removeprefix("W/") != f'"r{self.revision}"':
            return 412, _error("version_mismatch", "the preferences changed meanwhile"), 0
        try:
            change = json.loads(raw)
        except ValueError:
            return 400, _error("bad_json", "the body is not JSON"), 0
        problem = _problem(change)
        if problem:
            return 422, _error("invalid", problem[1], problem[0]), 0
        new = copy.deepcopy(self.preferences)
        for section in ("contact", "newsletters"):
            new[section].update(change.get(section, {}))
        self.preferences = new
        self.revision += 1
        self.writes_applied += 1
        self._replies[key] = (raw.decode("utf-8", "replace"), new, self.revision)
        return 200, new, self.revision


def _problem(change: Any) -> tuple[str, str] | None:
    """(field, reason) of the first thing Kettle & Co refuses in a PATCH body, or None."""
    if not isinstance(change, dict):
        return "", "the body must be a JSON object"
    known = {
        "contact": set(OPTIONS["channels"]),
        "newsletters": {n["id"] for n in OPTIONS["newsletters"]},
    }
    for section, value in change.items():
        if section not in known or not isinstance(value, dict):
            return section, f"{section} is not something you can change"
        for name, on in value.items():
            if name not in known[section] or not isinstance(on, bool):
                return f"{section}.{name}", f"{section}.{name} must be a known name: true/false"
    if change.get("newsletters", {}).get("safety") is False:
        return "newsletters.safety", "product safety notices cannot be turned off"
    return None


def _error(code: str, detail: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "detail": detail}
    if field is not None:
        body["field"] = field
    return body


def _reply(h: BaseHTTPRequestHandler, status: int, body: Any, revision: int = 0) -> None:
    data = json.dumps(body).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(data)))
    if revision:
        h.send_header("ETag", f'"r{revision}"')
    h.end_headers()
    h.wfile.write(data)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve Kettle & Co until interrupted; print how to reach it first."""
    parser = argparse.ArgumentParser(
        prog="python -m cmr_desktop.testing.exercise_vendor",
        description="Kettle & Co, the exercise vendor of docs/plugins.md, on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    args = parser.parse_args(argv)
    try:
        vendor = ExerciseVendor(args.port)
    except OSError as exc:
        parser.exit(2, f"{parser.prog}: error: cannot listen on port {args.port}: {exc}\n")
    with vendor:
        print(f"Kettle & Co exercise API at {vendor.url}", flush=True)
        print(f"customer: {CUSTOMER}   token: {TOKEN}   (Ctrl-C stops it)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
