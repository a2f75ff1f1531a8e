"""The Open Preference API v1 as one simulated vendor serves it (the catalog, reading and
writing a subject's preferences), with the misbehaviour its knobs ask for.

Injected failures are decided in this order, after the latency and the authentication check:
rate limit (429), hang (the request is not applied), server error (500/503; not applied),
then the request is served; an applied write may then be held or dropped; a ``200`` answer
may then have its body replaced by garbage (a write *is* applied in that case), and a ``GET``
of preferences may first be preceded by a remote tamper. A write's body is checked against
the document's ``requestBody`` schema (:mod:`~cmr_desktop.testing.simulator.schema`), its
values against the vendor's catalog, in the order the document gives.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from email.utils import formatdate
from typing import Any

from cmr_desktop.testing.simulator import schema
from cmr_desktop.testing.simulator.preferences import fit_catalog
from cmr_desktop.testing.simulator.problems import (
    ProblemError,
    method_not_allowed,
    not_found,
)
from cmr_desktop.testing.simulator.server import (
    Hang,
    Response,
    check_content_type,
    etag_matches,
    ok,
    parse_json,
)
from cmr_desktop.testing.simulator.spec import Knobs
from cmr_desktop.testing.simulator.state import (
    Draws,
    Stored,
    Subject,
    Vendor,
    future_catalog,
    future_preferences,
    lax,
)

IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
"""How long a stored answer to an ``Idempotency-Key`` is replayed."""

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$")

GARBAGE = (
    b'{"subject": "subject-001", "preferences": {"channels": {"email": {"enab',
    b"<html><head><title>502 Bad Gateway</title></head><body>upstream error</body></html>",
    b"\x00\xff\xfe\x1b[0m\x89PNG garbage \xc3\x28",
)
"""Bodies of ``garbage_rate`` answers: cut JSON, an HTML error page, binary noise."""


def serve(
    vendor: Vendor,
    method: str,
    route: list[str],
    headers: Any,
    body: bytes,
    stopping: threading.Event,
) -> Response:
    """Answer one request to a vendor's ``/v1`` (``route``: the path after it), with its
    knobs' misbehaviour; ``stopping`` cuts injected waits short when the simulator stops.

    Raises:
        ProblemError: the answer is a problem.
        Hang: the answer is no answer.
    """
    draws = vendor.draw()
    knobs = vendor.knobs
    delay = knobs.latency_ms + draws.jitter * knobs.jitter_ms
    if delay > 0:
        stopping.wait(delay / 1000)
    _authenticate(vendor, headers)
    if not vendor.admit(time.monotonic()):
        raise ProblemError(
            429,
            "rate-limited",
            "Too many requests",
            f"at most {knobs.rate_limit} requests per second",
            headers=retry_after(knobs),
        )
    if draws.timeout < knobs.timeout_rate:
        raise Hang(knobs.hang_seconds)
    if draws.error < knobs.error_rate:
        unavailable = draws.error_kind < 0.5 if knobs.error_status == 0 else None
        if unavailable or knobs.error_status == 503:
            raise ProblemError(
                503,
                "unavailable",
                "Service unavailable",
                "the vendor is temporarily unavailable; retry later",
                headers=retry_after(knobs),
            )
        raise ProblemError(500, "internal-error", "Internal server error", "injected error")
    response = _route(vendor, method, route, headers, body, draws)
    applied = (
        method == "PUT" and response.status == 200 and "Idempotent-Replayed" not in response.headers
    )
    if applied and knobs.hold_after_apply:
        raise Hang(None)  # applied; the answer is never sent
    if applied and knobs.drop_after_apply:
        raise Hang(0)  # applied; the connection is closed without an answer
    if response.status == 200 and draws.garbage < knobs.garbage_rate:
        garbage = GARBAGE[int(draws.garbage_kind * len(GARBAGE))]
        response = Response(200, garbage, response.headers, response.content_type)
    pad_to = knobs.huge_body_bytes if response.status == 200 else 0
    return response._replace(trickle_ms=knobs.trickle_ms, pad_to=pad_to)


def _authenticate(vendor: Vendor, headers: Any) -> None:
    auth = headers.get("Authorization") or ""
    scheme, _, token = auth.strip().partition(" ")
    if not auth:
        raise ProblemError(
            401,
            "unauthorized",
            "Authentication required",
            "send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": 'Bearer realm="openpref"'},
        )
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode("utf-8", "surrogateescape"), vendor.spec.token.encode()
    ):
        raise ProblemError(
            401,
            "unauthorized",
            "Authentication failed",
            "the bearer token is not valid for this vendor",
            headers={"WWW-Authenticate": 'Bearer realm="openpref", error="invalid_token"'},
        )


def _route(
    vendor: Vendor,
    method: str,
    route: list[str],
    headers: Any,
    body: bytes,
    draws: Draws,
) -> Response:
    if route == ["catalog"]:
        if method not in ("GET", "HEAD"):
            raise method_not_allowed(method, "GET")
        catalog = vendor.spec.catalog()
        return ok(future_catalog(catalog) if vendor.knobs.future_vocabulary else catalog)
    if len(route) == 3 and route[0] == "subjects" and route[2] == "preferences":
        subject = route[1]
        if method in ("GET", "HEAD"):
            if draws.tamper < vendor.knobs.tamper_rate:
                vendor.tamper_randomly(subject, draws.tamper_pick)
            return _get_preferences(vendor, subject)
        if method == "PUT":
            return _put_preferences(vendor, subject, headers, body)
        raise method_not_allowed(method, "GET, PUT")
    raise not_found("no such resource (see the Open Preference API v1)")


def _subject_response(vendor: Vendor, subject: str, entry: Subject) -> Response:
    prefs = entry.preferences
    return ok(
        {
            "subject": subject,
            "preferences": future_preferences(prefs) if vendor.knobs.future_vocabulary else prefs,
            "updated_at": entry.updated_at,
        },
        headers={"ETag": entry.etag},
    )


def _get_preferences(vendor: Vendor, subject: str) -> Response:
    with vendor.lock:
        entry = vendor.subjects.get(subject)
        if entry is None:
            raise not_found(f"no subject {subject!r} at {vendor.spec.id}")
        return _subject_response(vendor, subject, entry)


def _put_preferences(vendor: Vendor, subject: str, headers: Any, body: bytes) -> Response:
    with vendor.lock:
        if subject not in vendor.subjects:
            raise not_found(f"no subject {subject!r} at {vendor.spec.id}")
    if_match = headers.get("If-Match")
    if if_match is None or not if_match.strip():
        raise ProblemError(
            428,
            "precondition-required",
            "If-Match required",
            "send If-Match with the ETag of the preferences you read"
            + ("" if if_match is None else " (it was empty)"),
        )
    key = headers.get("Idempotency-Key")
    if key is None:
        raise ProblemError(
            400,
            "missing-idempotency-key",
            "Idempotency-Key required",
            "send an Idempotency-Key header (1-255 printable characters)",
        )
    if not _IDEMPOTENCY_KEY.match(key):
        raise ProblemError(
            400,
            "invalid-idempotency-key",
            "Invalid Idempotency-Key",
            "the Idempotency-Key must be 1-255 printable ASCII characters",
        )
    check_content_type(headers)
    doc = parse_json(body)
    schema.check(schema.WRITE_BODY, doc)  # the document's requestBody schema: 400
    fingerprint = _fingerprint(subject, doc)
    with vendor.lock:
        now = time.monotonic()
        stored = vendor.idempotency.get(key)
        if stored is not None and now - stored.stored_at > IDEMPOTENCY_TTL_SECONDS:
            del vendor.idempotency[key]
            stored = None
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise ProblemError(
                    422,
                    "idempotency-key-reused",
                    "Idempotency-Key reused",
                    "this Idempotency-Key was already used for a different request",
                )
            vendor.count(writes_replayed=1)
            return Response(
                stored.status,
                stored.body,
                {"ETag": stored.etag, "Idempotent-Replayed": "true"},
            )
        entry = vendor.subjects.get(subject)
        if entry is None:
            raise not_found(f"no subject {subject!r} at {vendor.spec.id}")
        if not etag_matches(if_match, entry.etag):
            raise ProblemError(
                412,
                "version-conflict",
                "Version conflict",
                f"the preferences changed since you read them (now {entry.etag}); "
                "read them again, merge, and retry",
            )
        prefs = fit_catalog(vendor.spec, doc["preferences"])
        if vendor.knobs.lax_write:
            looser = lax(vendor.spec, entry.preferences, prefs)
            if looser != prefs:
                vendor.count(writes_loosened=1)
            prefs = looser
        entry = vendor.store(subject, prefs)
        vendor.count(writes_applied=1)
        response = _subject_response(vendor, subject, entry)
        if len(vendor.idempotency) > 10_000:
            vendor.idempotency = {
                k: v
                for k, v in vendor.idempotency.items()
                if now - v.stored_at <= IDEMPOTENCY_TTL_SECONDS
            }
        vendor.idempotency[key] = Stored(
            fingerprint, now, response.status, response.body, entry.etag
        )
        return response


# --- admin ---------------------------------------------------------------------------


def retry_after(knobs: Knobs) -> dict[str, str]:
    """The ``Retry-After`` header of an injected 429 or 503."""
    if knobs.retry_after_date:
        return {"Retry-After": formatdate(time.time() + knobs.retry_after_seconds, usegmt=True)}
    return {"Retry-After": str(knobs.retry_after_seconds)}


def _fingerprint(subject: str, body: Any) -> str:
    canonical = json.dumps([subject, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
