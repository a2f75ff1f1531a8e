"""Vendor simulator: many Open Preference API v1 vendors served from one local process.

The Open Preference API v1 (ARCHITECTURE 3.5) is the small open HTTP protocol through which
CMR Desktop reads and writes one subscriber's marketing preferences at a vendor. Its contract
is ``cmr_desktop/resources/openapi/open-preference-api-v1.yaml``. This module implements it
for any number of simulated vendors on one real HTTP/1.1 server (stdlib ``http.server``,
keep-alive, one thread per connection), with knobs that make vendors slow, flaky, rate
limited, broken or sneaky, so the sync engine and connectors can be tested against the real
thing over real sockets.

Each vendor lives under ``{root}/vendors/{vendor}/v1`` and has its own bearer token, catalog,
subjects, knobs, statistics and random generator. Every failure-injection decision comes from
that vendor's ``random.Random`` seeded from ``(seed, vendor id)``, drawn in the order requests
arrive, so the same request sequence against two simulators with the same seed meets the same
failures.

Python use (tests)::

    with VendorSimulator(default_vendors(3), seed=7) as sim:
        url = sim.base_url("vendor-001")          # http://127.0.0.1:PORT/vendors/vendor-001/v1
        sim.set_knobs("vendor-001", error_rate=0.2)
        ...
        assert sim.stats("vendor-001").writes_applied == 1

Knobs (per vendor; see :class:`Knobs`): ``latency_ms``, ``jitter_ms``, ``error_rate`` with
``error_status``, ``timeout_rate`` with ``hang_seconds``, ``rate_limit``,
``retry_after_seconds`` and ``retry_after_date`` (the ``Retry-After`` of injected 429/503),
``garbage_rate``, ``tamper_rate``, ``trickle_ms`` (slow bodies), ``huge_body_bytes`` (big
bodies), ``lax_write`` (200, but a looser value kept), ``hold_after_apply`` and
``drop_after_apply`` (a write applied, its answer held or lost), ``future_vocabulary`` (ids
of a later vocabulary in answers).
Injected failures are decided in this order, after the latency and the authentication check:
rate limit (429), hang (the request is not applied), server error (500/503; not applied),
then the request is served; an applied write may then be held or dropped; a ``200`` answer
may then have its body replaced by garbage (a write *is* applied in that case, which is what
makes idempotent retries matter), and a ``GET`` of preferences may first be preceded by a
remote tamper. Bodies are then padded (``huge_body_bytes``) or trickled (``trickle_ms``).

A vendor whose catalog offers no frequencies is a ``VendorSpec(frequencies=[])``: its
catalog lists ``"frequencies": []`` and a write carrying a frequency is ``422``.

Admin API (no authentication; answered only to loopback clients; JSON in and out):

``GET /admin/vendors``
    ``{"vendors": [{"id", "name", "base_url", "token"}, ...]}``.
``GET /admin/vendors/{vendor}``
    ``{"id", "name", "base_url", "token", "catalog", "knobs", "stats": {"requests",
    "writes_applied", "writes_replayed", "tampers", "writes_loosened"}, "subjects": {subject:
    {"etag", "preferences", "updated_at"}}}``.
``PATCH /admin/vendors/{vendor}/knobs``
    Body: knob changes, e.g. ``{"error_rate": 0.5}``. Answers the vendor's knobs. Unknown
    knobs or bad values: 400.
``PUT /admin/vendors/{vendor}/subjects/{subject}``
    Body: preferences (``P`` of the protocol, or ``{"preferences": P}``; ``null`` for the
    vendor's defaults); creates (201) or
    replaces (200) the subject's stored preferences and answers the subject with its new
    ``etag``. Invalid preferences: 400 (shape) or 422 (outside the catalog).
``POST /admin/vendors/{vendor}/subjects/{subject}/tamper``
    Body: partial preferences merged into the stored state (channel entries and topics are
    merged key by key, grants replace the grant with the same category and purpose,
    ``quiet_hours`` replaces); bumps the ETag and counts as a tamper, not as a write.
``POST /admin/reset``
    Every vendor back to its initial subjects, knobs, statistics and random generator.

Errors of the admin API are ``application/problem+json`` like those of the protocol.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any, NamedTuple, Self
from urllib.parse import unquote, urlsplit

import click

from cmr_desktop.domain.vocabulary import Channel, DataCategory, Frequency, Purpose

__all__ = [
    "DataUse",
    "Knobs",
    "SimulatorProcess",
    "Topic",
    "VendorSimulator",
    "VendorSpec",
    "VendorStats",
    "default_vendors",
    "main",
]

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://openpref.example/problems/"
"""Prefix of every problem ``type`` URI; the slug after it names the problem."""

IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
"""How long a stored answer to an ``Idempotency-Key`` is replayed."""

MAX_BODY_BYTES = 1024 * 1024
"""Larger request bodies are refused with 413."""

RETRY_AFTER_SECONDS = 1
"""``Retry-After`` sent with injected 429 and 503 answers."""

_CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)
_FREQUENCIES: tuple[str, ...] = tuple(f.value for f in Frequency)
_CATEGORIES: tuple[str, ...] = tuple(c.value for c in DataCategory)
_PURPOSES: tuple[str, ...] = tuple(p.value for p in Purpose)
_CHANNEL_ORDER = {c: i for i, c in enumerate(_CHANNELS)}
_FREQUENCY_RANK = {f.value: f.rank for f in Frequency}

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$")
_HHMM = re.compile(r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_ENTITY_TAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')

_PREFERENCE_MEMBERS = ("channels", "topics", "grants", "quiet_hours")


# --- public data types -------------------------------------------------------------------


class Topic(NamedTuple):
    """A vendor-defined topic of its catalog.

    Attributes:
        id: stable id (lower-case letters, digits, ``_ . -``), e.g. ``offers``.
        label: what a customer reads, e.g. "Offers and discounts".
        required: the vendor always sends it (e.g. order updates); it cannot be turned off.
        reason: why a required topic cannot be turned off (shown to the customer).
    """

    id: str
    label: str
    required: bool = False
    reason: str = ""


class DataUse(NamedTuple):
    """A (data category, purpose) pair the vendor asks permission for."""

    category: str
    purpose: str


@dataclass(frozen=True)
class VendorSpec:
    """One simulated vendor: identity, token, catalog and initial subjects.

    Sequences are stored as tuples; everything is checked against the vocabulary of
    ARCHITECTURE 3.3 when the spec is made.

    Attributes:
        id: the vendor id in URLs (``/vendors/{id}/v1``), e.g. ``vendor-001``.
        name: display name, e.g. "Acme Outdoor".
        token: the bearer token clients must send.
        channels: channel ids the vendor offers.
        frequencies: frequency ids the vendor offers (for any channel).
        topics: the vendor's topics.
        data_uses: (category, purpose) pairs the vendor asks permission for.
        subjects: initial subjects: subject id -> preferences (``P`` of the protocol), or
            ``None`` for the vendor's defaults (:meth:`default_preferences`).

    Raises:
        ValueError: an id is outside the vocabulary or an initial subject's preferences do
            not fit the catalog.
    """

    id: str
    name: str
    token: str
    channels: Sequence[str]
    frequencies: Sequence[str]
    topics: Sequence[Topic]
    data_uses: Sequence[DataUse]
    subjects: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "channels", tuple(self.channels))
        set_(self, "frequencies", tuple(self.frequencies))
        set_(self, "topics", tuple(Topic(*t) for t in self.topics))
        set_(self, "data_uses", tuple(DataUse(*d) for d in self.data_uses))
        set_(self, "subjects", dict(self.subjects))
        if not _ID.match(self.id):
            raise ValueError(f"invalid vendor id {self.id!r}")
        if not self.token or not all(0x21 <= ord(c) <= 0x7E for c in self.token):
            raise ValueError(f"vendor {self.id}: the token must be non-empty printable ASCII")
        _check_ids(self.id, "channel", self.channels, _CHANNELS)
        _check_ids(self.id, "frequency", self.frequencies, _FREQUENCIES)
        for topic in self.topics:
            if not _ID.match(topic.id):
                raise ValueError(f"vendor {self.id}: invalid topic id {topic.id!r}")
        if len({t.id for t in self.topics}) != len(self.topics):
            raise ValueError(f"vendor {self.id}: duplicate topic ids")
        for use in self.data_uses:
            _check_ids(self.id, "data category", [use.category], _CATEGORIES)
            _check_ids(self.id, "purpose", [use.purpose], _PURPOSES)
        for subject, prefs in self.subjects.items():
            _check_subject_id(subject)
            if prefs is not None:
                try:
                    _validate_preferences(self, prefs)
                except _ProblemError as exc:
                    raise ValueError(f"vendor {self.id}, {subject}: {exc.describe()}") from None

    @property
    def required_topics(self) -> tuple[str, ...]:
        """Ids of the topics that cannot be turned off."""
        return tuple(t.id for t in self.topics if t.required)

    def catalog(self) -> dict[str, Any]:
        """The body of ``GET /catalog``."""
        return {
            "vendor": {"id": self.id, "name": self.name},
            "channels": list(self.channels),
            "frequencies": list(self.frequencies),
            "topics": [
                {"id": t.id, "label": t.label, "required": t.required}
                | ({"reason": t.reason} if t.reason else {})
                for t in self.topics
            ],
            "data_uses": [{"category": d.category, "purpose": d.purpose} for d in self.data_uses],
        }

    def default_preferences(self) -> dict[str, Any]:
        """The vendor's defaults for a new subject: everything on, every data use allowed.

        Email, SMS and push get the vendor's default frequency (``weekly`` if offered).
        """
        freq: str | None = None
        if self.frequencies:
            freq = "weekly" if "weekly" in self.frequencies else self.frequencies[0]
        channels: dict[str, Any] = {}
        for ch in self.channels:
            entry: dict[str, Any] = {"enabled": True}
            if freq is not None and ch in ("email", "sms", "push"):
                entry["frequency"] = freq
            channels[ch] = entry
        return _canonical(
            {
                "channels": channels,
                "topics": {t.id: True for t in self.topics},
                "grants": [
                    {"category": d.category, "purpose": d.purpose, "decision": "allow"}
                    for d in self.data_uses
                ],
                "quiet_hours": None,
            }
        )


@dataclass(frozen=True)
class Knobs:
    """How a simulated vendor misbehaves. All default to a well-behaved vendor.

    Knobs are per vendor (:meth:`VendorSimulator.set_knobs`, ``PATCH
    /admin/vendors/{vendor}/knobs``); ``cmr-vendor-sim`` sets them for every vendor with
    ``--knob-name value`` options (``--lax-write`` for a flag).

    Attributes:
        latency_ms: added to every protocol request before it is answered.
        jitter_ms: a further random delay, uniform in ``[0, jitter_ms]``.
        error_rate: share (0..1) of requests answered with an injected server error (see
            ``error_status``). Not applied.
        error_status: which injected error: 0 for half ``503`` with ``Retry-After`` and half a
            plain ``500``; 500 or 503 for always that one.
        timeout_rate: share (0..1) of requests that hang for ``hang_seconds`` (past a
            client's timeout) and then have their connection closed without an answer.
            Not applied. ``timeout_rate=1`` makes the whole vendor unresponsive: every
            protocol request (catalog, read, write) hangs until the client gives up (closes
            the connection), ``hang_seconds`` pass or the simulator stops, whichever is first.
        hang_seconds: how long a hanging request hangs.
        rate_limit: most protocol requests per second per vendor; more are answered ``429``
            with ``Retry-After``. 0 means no limit.
        retry_after_seconds: the wait asked for by ``Retry-After`` on injected ``429`` and
            ``503`` answers (a long one, say 120, is past what a client waits in-line).
        retry_after_date: send that ``Retry-After`` as an HTTP-date (``Fri, 04 Dec 2026
            10:02:00 GMT``, now plus ``retry_after_seconds``) instead of delay-seconds.
        garbage_rate: share (0..1) of ``200`` answers whose body is replaced by garbage that
            is not JSON (a write is still applied).
        tamper_rate: share (0..1) of preference reads before which the vendor silently
            loosens the subject's stored preferences (re-enables a disabled channel, turns
            an ``off`` topic on, ...), bumping the ETag.
        trickle_ms: pause, in milliseconds, before each byte of every protocol answer's body
            (0: off). At 1000 the body trickles out a byte a second, each socket read well
            within a client's read timeout.
        huge_body_bytes: pad every ``200`` protocol answer to at least this many bytes (0:
            off), with an unknown member ``padding`` (still a well-formed document), sent
            with ``Transfer-Encoding: chunked`` and made as it is sent, so hundreds of MiB
            cost the simulator no memory.
        lax_write: answer a write ``200`` but keep (and answer) a looser value than sent for
            one field, preferably one the write made stricter (a channel the write turned off
            stays on, ...). Counted in ``writes_applied`` and ``writes_loosened``.
        hold_after_apply: apply a write (stored state, ``writes_applied``, idempotency store:
            all visible on the admin API at once) and then hold the answer: it is never sent,
            until the simulator stops or the client closes the connection. Replays are
            answered as usual.
        drop_after_apply: apply a write, then close the connection without an answer.
        future_vocabulary: answers carry ids from a later version of the vocabulary: the
            catalog lists channel ``hologram``, frequency ``hourly`` and data uses
            ``biometrics/marketing`` and ``contact/telepathy``; preference answers carry a
            channel ``hologram`` (``enabled``, ``frequency: hourly``) and grants for those
            data uses. Clients must ignore them. A write that uses them is still ``422``.

    Raises:
        ValueError: a rate outside 0..1, a negative duration or limit, a flag that is not
            true or false, or an ``error_status`` other than 0, 500, 503.
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 0
    timeout_rate: float = 0.0
    hang_seconds: float = 30.0
    rate_limit: int = 0
    retry_after_seconds: int = RETRY_AFTER_SECONDS
    retry_after_date: bool = False
    garbage_rate: float = 0.0
    tamper_rate: float = 0.0
    trickle_ms: float = 0.0
    huge_body_bytes: int = 0
    lax_write: bool = False
    hold_after_apply: bool = False
    drop_after_apply: bool = False
    future_vocabulary: bool = False

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(f.default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"knob {f.name} must be true or false, not {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"knob {f.name} must be a number, not {value!r}")
            if value != value or value < 0 or value == float("inf"):  # NaN, negative, inf
                raise ValueError(f"knob {f.name} must be >= 0, not {value!r}")
            if f.name.endswith("_rate") and value > 1:
                raise ValueError(f"knob {f.name} is a share between 0 and 1, not {value!r}")
            if isinstance(f.default, int):
                if value != int(value):
                    raise ValueError(f"knob {f.name} must be a whole number, not {value!r}")
                object.__setattr__(self, f.name, int(value))
        if self.error_status not in (0, 500, 503):
            raise ValueError(f"knob error_status must be 0, 500 or 503, not {self.error_status!r}")

    def changed(self, **changes: Any) -> Knobs:
        """A copy with some knobs changed.

        Raises:
            ValueError: an unknown knob name or a bad value.
        """
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(
                f"unknown knob(s): {', '.join(unknown)} (known: {', '.join(sorted(names))})"
            )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The knobs as JSON-ready data."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class VendorStats:
    """What a vendor has seen since it started (or since the last reset).

    Read as attributes (``stats.writes_applied``) or like a mapping (``stats["requests"]``).

    Attributes:
        requests: protocol requests received (every status, including injected failures).
        writes_applied: preference writes applied (replays not counted).
        writes_replayed: writes answered from the idempotency store without applying them.
        tampers: remote changes made by ``tamper_rate`` or by :meth:`VendorSimulator.tamper`.
        writes_loosened: applied writes of which ``lax_write`` kept a looser value.
    """

    requests: int = 0
    writes_applied: int = 0
    writes_replayed: int = 0
    tampers: int = 0
    writes_loosened: int = 0

    def __getitem__(self, name: str) -> int:
        if name not in self.to_dict():
            raise KeyError(name)
        value: int = getattr(self, name)
        return value

    def to_dict(self) -> dict[str, int]:
        """The counts as JSON-ready data."""
        return dataclasses.asdict(self)


def default_vendors(n: int, seed: int = 0) -> list[VendorSpec]:
    """Make ``n`` vendors with varied catalogs, reproducibly from ``seed``.

    Vendor ``i`` (from 1) has id ``vendor-{i:03d}``, token ``token-vendor-{i:03d}``, email plus
    a few other channels, some frequencies, two to four optional topics and one required
    topic (``order-updates``, ``account-notices`` or ``security-alerts``), several data uses,
    and subjects ``subject-001`` .. ``subject-005`` holding the vendor's defaults.

    Args:
        n: how many vendors.
        seed: the same seed always gives the same vendors.

    Returns:
        The vendor specs, in id order.
    """
    rng = random.Random(f"openpref-default-vendors:{seed}")
    specs = []
    others = [c for c in _CHANNELS if c != "email"]
    uses = [(c, p) for c in _CATEGORIES for p in _PURPOSES]
    for i in range(1, n + 1):
        vid = f"vendor-{i:03d}"
        word = _WORDS[(i - 1) % len(_WORDS)]
        kind = _KINDS[(i - 1) % len(_KINDS)]  # 8 words x 9 kinds: 72 distinct names
        name = f"{word} {kind}" if i <= len(_WORDS) * len(_KINDS) else f"{word} {kind} {i}"
        channels = ["email", *rng.sample(others, rng.randint(1, 4))]
        channels.sort(key=_CHANNEL_ORDER.__getitem__)
        lo = rng.randint(0, 2)
        hi = rng.randint(max(lo + 1, 2), len(_FREQUENCIES) - 1)
        frequencies = list(_FREQUENCIES[lo : hi + 1])
        topic_ids = sorted(rng.sample(sorted(_OPTIONAL_TOPICS), rng.randint(2, 4)))
        topics = [Topic(t, _OPTIONAL_TOPICS[t]) for t in topic_ids]
        required = _REQUIRED_TOPICS[(i - 1) % len(_REQUIRED_TOPICS)]
        topics.append(Topic(required[0], required[1], required=True, reason=required[2]))
        data_uses = [DataUse("contact", "service"), DataUse("contact", "marketing")]
        for cat, purpose in rng.sample(uses, rng.randint(2, 6)):
            if DataUse(cat, purpose) not in data_uses:
                data_uses.append(DataUse(cat, purpose))
        specs.append(
            VendorSpec(
                id=vid,
                name=name,
                token=f"token-{vid}",
                channels=channels,
                frequencies=frequencies,
                topics=topics,
                data_uses=sorted(data_uses),
                subjects={f"subject-{s:03d}": None for s in range(1, 6)},
            )
        )
    return specs


_WORDS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wonka")
_KINDS = ("Outdoor", "Bank", "Travel", "Mobile", "News", "Pharmacy", "Energy", "Foods", "Books")
_OPTIONAL_TOPICS = {
    "offers": "Offers and discounts",
    "newsletter": "Newsletter",
    "new-products": "New products",
    "events": "Events near you",
    "surveys": "Surveys and feedback",
    "loyalty": "Loyalty programme",
    "partner-offers": "Offers from partners",
    "tips": "Tips and how-tos",
}
_REQUIRED_TOPICS = (
    ("order-updates", "Order and delivery updates", "We must tell you when an order ships."),
    ("account-notices", "Account notices", "The law requires us to tell you about your account."),
    ("security-alerts", "Security alerts", "We warn you when someone signs in to your account."),
)


# --- validation ----------------------------------------------------------------------------


class _ProblemError(Exception):
    """An RFC 9457 problem to answer with."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        return {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }

    def describe(self) -> str:
        params = self.extra.get("invalid-params")
        if params:
            return "; ".join(f"{p['name']}: {p['reason']}" for p in params)
        return self.detail


def _check_ids(vendor: str, kind: str, values: Sequence[str], known: Sequence[str]) -> None:
    for value in values:
        if value not in known:
            raise ValueError(
                f"vendor {vendor}: unknown {kind} {value!r} (expected one of: {', '.join(known)})"
            )
    if len(set(values)) != len(values):
        raise ValueError(f"vendor {vendor}: duplicate {kind} ids")


def _check_subject_id(subject: str) -> None:
    if not subject or len(subject) > 200 or "/" in subject:
        raise ValueError(f"invalid subject id {subject!r} (1-200 characters, no '/')")


def _bad_body(detail: str) -> _ProblemError:
    return _ProblemError(400, "invalid-body", "The request body is not valid", detail)


def _check_shape(prefs: Any, where: str = "preferences") -> None:
    """Raise a 400 problem unless ``prefs`` has exactly the shape ``P`` of the protocol."""
    if not isinstance(prefs, dict):
        raise _bad_body(f"{where} must be an object")
    for name in _PREFERENCE_MEMBERS:
        if name not in prefs:
            raise _bad_body(f"{where}.{name} is required")
    for name in prefs:
        if name not in _PREFERENCE_MEMBERS:
            raise _bad_body(f"unknown member {where}.{name}")
    channels = prefs["channels"]
    if not isinstance(channels, dict):
        raise _bad_body(f"{where}.channels must be an object")
    for ch, entry in channels.items():
        path = f"{where}.channels.{ch}"
        if not isinstance(entry, dict):
            raise _bad_body(f"{path} must be an object")
        for key, value in entry.items():
            if key == "enabled" and not isinstance(value, bool):
                raise _bad_body(f"{path}.enabled must be true or false")
            if key == "frequency" and not isinstance(value, str):
                raise _bad_body(f"{path}.frequency must be a string")
            if key not in ("enabled", "frequency"):
                raise _bad_body(f"unknown member {path}.{key}")
    topics = prefs["topics"]
    if not isinstance(topics, dict):
        raise _bad_body(f"{where}.topics must be an object")
    for topic, wanted in topics.items():
        if not isinstance(wanted, bool):
            raise _bad_body(f"{where}.topics.{topic} must be true or false")
    grants = prefs["grants"]
    if not isinstance(grants, list):
        raise _bad_body(f"{where}.grants must be an array")
    for i, grant in enumerate(grants):
        path = f"{where}.grants[{i}]"
        if not isinstance(grant, dict):
            raise _bad_body(f"{path} must be an object")
        for key in ("category", "purpose", "decision"):
            if not isinstance(grant.get(key), str):
                raise _bad_body(f"{path}.{key} is required and must be a string")
        for key in grant:
            if key not in ("category", "purpose", "decision", "expires"):
                raise _bad_body(f"unknown member {path}.{key}")
        if grant["decision"] not in ("allow", "deny"):
            raise _bad_body(f"{path}.decision must be 'allow' or 'deny'")
        if "expires" in grant:
            if grant["decision"] != "allow":
                raise _bad_body(f"{path}.expires is only allowed on an 'allow' grant")
            if not _is_date(grant["expires"]):
                raise _bad_body(f"{path}.expires must be a date (YYYY-MM-DD)")
    quiet = prefs["quiet_hours"]
    if quiet is not None:
        if not isinstance(quiet, dict) or set(quiet) != {"start", "end"}:
            raise _bad_body(f"{where}.quiet_hours must be null or {{'start', 'end'}}")
        for key in ("start", "end"):
            if not isinstance(quiet[key], str) or not _HHMM.match(quiet[key]):
                raise _bad_body(f"{where}.quiet_hours.{key} must be a time HH:MM (00:00-23:59)")


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _catalog_problems(spec: VendorSpec, prefs: Mapping[str, Any]) -> list[dict[str, str]]:
    """What in well-shaped preferences falls outside the vendor's catalog."""
    params: list[dict[str, str]] = []

    def bad(name: str, reason: str) -> None:
        params.append({"name": name, "reason": reason})

    for ch, entry in prefs["channels"].items():
        if ch not in spec.channels:
            known = "unknown channel" if ch not in _CHANNELS else "channel not offered"
            bad(f"channels.{ch}", f"{known} (offered: {', '.join(spec.channels)})")
            continue
        freq = entry.get("frequency")
        if freq is not None and freq not in spec.frequencies:
            known = "unknown frequency" if freq not in _FREQUENCIES else "frequency not offered"
            bad(
                f"channels.{ch}.frequency",
                f"{known} {freq!r} (offered: {', '.join(spec.frequencies) or 'none'})",
            )
    topic_ids = {t.id for t in spec.topics}
    for topic, wanted in prefs["topics"].items():
        if topic not in topic_ids:
            bad(f"topics.{topic}", "not a topic of this vendor's catalog")
        elif not wanted and topic in spec.required_topics:
            bad(f"topics.{topic}", "a required topic cannot be turned off")
    seen: set[tuple[str, str]] = set()
    for i, grant in enumerate(prefs["grants"]):
        key = (grant["category"], grant["purpose"])
        if key in seen:
            bad(f"grants[{i}]", f"a second grant for {key[0]}/{key[1]}")
        elif DataUse(*key) not in spec.data_uses:
            bad(f"grants[{i}]", f"the vendor does not ask for {key[0]}/{key[1]}")
        seen.add(key)
    quiet = prefs["quiet_hours"]
    if quiet is not None and quiet["start"] == quiet["end"]:
        bad("quiet_hours", "start and end are the same")
    return params


def _validate_preferences(spec: VendorSpec, prefs: Any) -> dict[str, Any]:
    """Check preferences against the protocol's shape and the vendor's catalog.

    Args:
        spec: the vendor.
        prefs: preferences (``P`` of the protocol) as decoded from JSON.

    Returns:
        A canonical copy (channels in vocabulary order, topics and grants sorted).

    Raises:
        _ProblemError: 400 ``invalid-body`` for a wrong shape, 422 ``invalid-preferences``
            (with ``invalid-params``) for values outside the catalog.
    """
    _check_shape(prefs)
    params = _catalog_problems(spec, prefs)
    if params:
        raise _ProblemError(
            422,
            "invalid-preferences",
            "The preferences do not fit the vendor's catalog",
            f"{len(params)} value(s) are outside the catalog of {spec.id}",
            extra={"invalid-params": params},
        )
    return _canonical(prefs)


def _canonical(prefs: Mapping[str, Any]) -> dict[str, Any]:
    channels: dict[str, dict[str, Any]] = {}
    for ch in sorted(prefs["channels"], key=lambda c: (_CHANNEL_ORDER.get(c, 99), c)):
        entry = prefs["channels"][ch]
        out: dict[str, Any] = {}
        if "enabled" in entry:
            out["enabled"] = entry["enabled"]
        if entry.get("frequency") is not None:
            out["frequency"] = entry["frequency"]
        channels[ch] = out
    grants = []
    for g in sorted(prefs["grants"], key=lambda g: (g["category"], g["purpose"])):
        item = {"category": g["category"], "purpose": g["purpose"], "decision": g["decision"]}
        if g.get("expires") is not None:
            item["expires"] = g["expires"]
        grants.append(item)
    quiet = prefs["quiet_hours"]
    return {
        "channels": channels,
        "topics": dict(sorted(prefs["topics"].items())),
        "grants": grants,
        "quiet_hours": None if quiet is None else {"start": quiet["start"], "end": quiet["end"]},
    }


def _merge(stored: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    """Partial preferences ``change`` merged into ``stored`` (see the admin ``tamper``)."""
    if not isinstance(change, Mapping):
        raise _bad_body("a tamper must be an object of partial preferences")
    unknown = [k for k in change if k not in _PREFERENCE_MEMBERS]
    if unknown:
        raise _bad_body(f"unknown member(s): {', '.join(map(str, unknown))}")
    out = copy.deepcopy(dict(stored))
    channels = change.get("channels", {})
    if not isinstance(channels, Mapping):
        raise _bad_body("channels must be an object")
    for ch, entry in channels.items():
        if not isinstance(entry, Mapping):
            raise _bad_body(f"channels.{ch} must be an object")
        merged = {**out["channels"].get(ch, {}), **entry}
        out["channels"][ch] = {k: v for k, v in merged.items() if v is not None}
    topics = change.get("topics", {})
    if not isinstance(topics, Mapping):
        raise _bad_body("topics must be an object")
    out["topics"].update(topics)
    grants = change.get("grants", [])
    if not isinstance(grants, list):
        raise _bad_body("grants must be an array")
    for grant in grants:
        if not isinstance(grant, Mapping):
            raise _bad_body("every grant must be an object")
        key = (grant.get("category"), grant.get("purpose"))
        out["grants"] = [g for g in out["grants"] if (g["category"], g["purpose"]) != key]
        out["grants"].append(dict(grant))
    if "quiet_hours" in change:
        out["quiet_hours"] = change["quiet_hours"]
    return out


# --- vendor state --------------------------------------------------------------------------


class _Draws(NamedTuple):
    """The random numbers one protocol request consumes (always all of them, in order)."""

    jitter: float
    timeout: float
    error: float
    error_kind: float
    garbage: float
    garbage_kind: float
    tamper: float
    tamper_pick: float


@dataclass
class _Subject:
    preferences: dict[str, Any]
    version: int
    updated_at: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    def to_json(self) -> dict[str, Any]:
        return {
            "etag": self.etag,
            "preferences": copy.deepcopy(self.preferences),
            "updated_at": self.updated_at,
        }


@dataclass
class _Stored:
    """An answer kept for an ``Idempotency-Key``."""

    fingerprint: str
    stored_at: float
    status: int
    body: bytes
    etag: str


class _Vendor:
    """One vendor's mutable state. Every field is guarded by ``lock``."""

    def __init__(self, spec: VendorSpec, seed: int, knobs: Knobs) -> None:
        self.spec = spec
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)  # notified when the stats change
        self._seed = seed
        self._initial_knobs = knobs
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.rng = random.Random(f"openpref-simulator:{self._seed}:{self.spec.id}")
            self.knobs = self._initial_knobs
            self.stats = VendorStats()
            self.next_version = 1
            self.subjects: dict[str, _Subject] = {}
            self.idempotency: dict[str, _Stored] = {}
            self.recent: deque[float] = deque()
            for subject, prefs in self.spec.subjects.items():
                stored = (
                    self.spec.default_preferences()
                    if prefs is None
                    else _validate_preferences(self.spec, prefs)
                )
                self._store(subject, stored)
            self.changed.notify_all()

    def count(self, **increments: int) -> None:
        """Add to the statistics (call with ``lock`` held)."""
        changes = {k: getattr(self.stats, k) + v for k, v in increments.items()}
        self.stats = dataclasses.replace(self.stats, **changes)
        self.changed.notify_all()

    def draw(self) -> _Draws:
        """Count one protocol request and draw its random numbers."""
        with self.lock:
            self.count(requests=1)
            return _Draws(*(self.rng.random() for _ in _Draws._fields))

    def admit(self, now: float) -> bool:
        """The rate limiter: may one more request pass at ``now`` (monotonic seconds)?"""
        with self.lock:
            limit = self.knobs.rate_limit
            if limit <= 0:
                return True
            while self.recent and now - self.recent[0] >= 1.0:
                self.recent.popleft()
            if len(self.recent) >= limit:
                return False
            self.recent.append(now)
            return True

    def _store(self, subject: str, prefs: dict[str, Any]) -> _Subject:
        """Store preferences under a new version (call with ``lock`` held)."""
        entry = _Subject(prefs, self.next_version, _now())
        self.next_version += 1
        self.subjects[subject] = entry
        return entry

    def tamper_randomly(self, subject: str, pick: float) -> None:
        """Loosen one stored field of ``subject``, as a vendor's own code might."""
        with self.lock:
            entry = self.subjects.get(subject)
            if entry is None:
                return
            changes = _loosenings(self.spec, entry.preferences)
            if not changes:
                return
            self._store(
                subject, _canonical(_merge(entry.preferences, changes[int(pick * len(changes))]))
            )
            self.count(tampers=1)


def _loosenings(spec: VendorSpec, prefs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every single change that makes ``prefs`` less restrictive, as partial preferences."""
    out: list[dict[str, Any]] = []
    for ch, entry in prefs["channels"].items():
        if entry.get("enabled") is False:
            out.append({"channels": {ch: {"enabled": True}}})
        freq = entry.get("frequency")
        if freq is not None:
            looser = [f for f in spec.frequencies if _FREQUENCY_RANK[f] > _FREQUENCY_RANK[freq]]
            if looser:
                out.append({"channels": {ch: {"frequency": looser[0]}}})
    for topic, wanted in prefs["topics"].items():
        if not wanted:
            out.append({"topics": {topic: True}})
    for g in prefs["grants"]:
        if g["decision"] == "deny" or "expires" in g:
            out.append(
                {
                    "grants": [
                        {"category": g["category"], "purpose": g["purpose"], "decision": "allow"}
                    ]
                }
            )
    if prefs["quiet_hours"] is not None:
        out.append({"quiet_hours": None})
    return out


def _lax(spec: VendorSpec, before: Mapping[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """``sent`` with one field looser, preferably one the write made stricter than
    ``before`` (what a vendor keeps when it answers 200 but does not honour the change)."""
    changes = _loosenings(spec, sent)
    if not changes:
        return sent
    for change in changes:
        looser = _canonical(_merge(sent, change))
        if _field_of(change, looser) == _field_of(change, before):
            return looser
    return _canonical(_merge(sent, changes[0]))


def _field_of(change: Mapping[str, Any], prefs: Mapping[str, Any]) -> Any:
    """The value in ``prefs`` of the one field a single-field ``change`` touches."""
    if "channels" in change:
        ((ch, entry),) = change["channels"].items()
        return {k: prefs["channels"].get(ch, {}).get(k) for k in entry}
    if "topics" in change:
        ((topic, _),) = change["topics"].items()
        return prefs["topics"].get(topic)
    if "grants" in change:
        key = (change["grants"][0]["category"], change["grants"][0]["purpose"])
        for g in prefs["grants"]:
            if (g["category"], g["purpose"]) == key:
                return (g["decision"], g.get("expires"))
        return None
    return prefs["quiet_hours"]


# Ids of a later vocabulary, sent with the future_vocabulary knob (clients must ignore them).
_FUTURE_CHANNEL = "hologram"
_FUTURE_FREQUENCY = "hourly"
_FUTURE_DATA_USES = (("biometrics", "marketing"), ("contact", "telepathy"))


def _future_catalog(catalog: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(catalog)
    out["channels"].append(_FUTURE_CHANNEL)
    out["frequencies"].append(_FUTURE_FREQUENCY)
    out["data_uses"] += [{"category": c, "purpose": p} for c, p in _FUTURE_DATA_USES]
    return out


def _future_preferences(prefs: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(prefs))
    out["channels"][_FUTURE_CHANNEL] = {"enabled": True, "frequency": _FUTURE_FREQUENCY}
    out["grants"] += [
        {"category": c, "purpose": p, "decision": "allow"} for c, p in _FUTURE_DATA_USES
    ]
    return out


def _retry_after(knobs: Knobs) -> dict[str, str]:
    """The ``Retry-After`` header of an injected 429 or 503."""
    if knobs.retry_after_date:
        return {"Retry-After": formatdate(time.time() + knobs.retry_after_seconds, usegmt=True)}
    return {"Retry-After": str(knobs.retry_after_seconds)}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


_GARBAGE = (
    b'{"subject": "subject-001", "preferences": {"channels": {"email": {"enab',
    b"<html><head><title>502 Bad Gateway</title></head><body>upstream error</body></html>",
    b"\x00\xff\xfe\x1b[0m\x89PNG garbage \xc3\x28",
)


# --- the HTTP server -----------------------------------------------------------------------


class _Response(NamedTuple):
    status: int
    body: bytes
    headers: dict[str, str]
    content_type: str = "application/json"
    trickle_ms: float = 0.0  # pause before each body byte
    pad_to: int = 0  # pad a JSON object body to this size, sent chunked


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that can always stop quickly."""

    request_queue_size = 1024
    daemon_threads = True
    block_on_close = False  # stop() joins the threads itself, with a deadline

    def __init__(self, address: tuple[str, int], simulator: VendorSimulator) -> None:
        self.simulator = simulator
        self.stopping = threading.Event()
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        super().__init__(address, _Handler)

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


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "OpenPreferenceSimulator/1"
    sys_version = ""
    timeout = 120  # an idle keep-alive connection is closed after this
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every answer on a kept-alive connection.
    disable_nagle_algorithm = True
    server: _Server

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
        body = _json(
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
            response = self.server.simulator._handle(
                self.command, self.path, self.headers, body, self.client_address[0]
            )
        except _ProblemError as exc:
            response = _problem(exc)
        except _Hang as hang:
            self._wait_quietly(hang.seconds)
            self.close_connection = True
            return
        except Exception:  # a bug in the simulator: answer 500, keep serving
            log.exception("simulator error on %s %s", self.command, self.path)
            response = _problem(
                _ProblemError(500, "internal-error", "Internal server error", "simulator bug")
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
            raise _ProblemError(400, "invalid-body", "Bad request", "invalid Content-Length")
        length = int(raw)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise _ProblemError(
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
                raise _ProblemError(
                    400, "invalid-body", "Bad request", "invalid chunked encoding"
                ) from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                self.close_connection = True
                raise _ProblemError(
                    413,
                    "payload-too-large",
                    "Payload too large",
                    f"at most {MAX_BODY_BYTES} bytes",
                )
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, response: _Response) -> None:
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


class _Hang(Exception):
    """Injected timeout: hang (``seconds``; None: until the client or the simulator goes
    away), then close the connection without an answer."""

    def __init__(self, seconds: float | None) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def _problem(exc: _ProblemError) -> _Response:
    return _Response(exc.status, _json(exc.body()), exc.headers, "application/problem+json")


def _ok(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> _Response:
    return _Response(status, _json(data), dict(headers or {}))


def _not_found(detail: str) -> _ProblemError:
    return _ProblemError(404, "not-found", "Not found", detail)


def _method_not_allowed(method: str, allowed: str) -> _ProblemError:
    return _ProblemError(
        405,
        "method-not-allowed",
        "Method not allowed",
        f"{method} is not allowed here (allowed: {allowed})",
        headers={"Allow": allowed},
    )


def _parse_json(body: bytes) -> Any:
    if not body.strip():
        raise _bad_body("the request needs a JSON body")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad_body(f"the body is not JSON: {exc}") from None


def _check_content_type(headers: Any) -> None:
    ctype = headers.get("Content-Type")
    if ctype is None:
        raise _ProblemError(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as application/json (there was no Content-Type)",
        )
    media = ctype.split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise _ProblemError(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            f"send application/json, not {media or 'an empty Content-Type'}",
        )


def _if_match(header: str, etag: str) -> bool:
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


def _fingerprint(subject: str, body: Any) -> str:
    canonical = json.dumps([subject, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped.is_loopback
    return addr.is_loopback


# --- the simulator -------------------------------------------------------------------------


class VendorSimulator:
    """Serve many simulated Open Preference API v1 vendors over real local HTTP.

    Args:
        vendors: the vendors to serve (ids must be unique).
        seed: seeds each vendor's random generator together with its id.
        knobs: the initial knobs of every vendor (default: well-behaved).
        host: address to listen on (a loopback address unless you mean it).
        port: port to listen on; 0 picks a free one.

    Raises:
        ValueError: duplicate vendor ids.
    """

    def __init__(
        self,
        vendors: Sequence[VendorSpec],
        *,
        seed: int = 0,
        knobs: Knobs | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        ids = [v.id for v in vendors]
        if len(set(ids)) != len(ids):
            raise ValueError("vendor ids must be unique")
        self.seed = seed
        self.host = host
        self.port = port
        self._vendors = {v.id: _Vendor(v, seed, knobs or Knobs()) for v in vendors}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._root: str | None = None

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> str:
        """Start serving in a background thread.

        Returns:
            The root URL, e.g. ``http://127.0.0.1:54321``.

        Raises:
            RuntimeError: already started.
            OSError: the address cannot be bound.
        """
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        server_cls = _Server6 if ":" in self.host else _Server
        server = server_cls((self.host, self.port), self)
        self._server = server
        port = server.server_address[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._root = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="openpref-simulator",
            daemon=True,
        )
        self._thread.start()
        return self._root

    def stop(self, timeout: float = 1.0) -> None:
        """Stop serving: wake hanging requests, cut open connections, join the threads.

        Args:
            timeout: the longest to wait for connection threads to finish.
        """
        server, self._server = self._server, None
        if server is None:
            return
        deadline = time.monotonic() + timeout
        server.stopping.set()
        server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        server.cut_connections()
        server.join_workers(deadline)
        server.server_close()

    def __enter__(self) -> Self:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The root URL (only while running)."""
        if self._root is None or self._server is None:
            raise RuntimeError("the simulator is not running: call start() first")
        return self._root

    # --- Python API ----------------------------------------------------------------------

    @property
    def vendor_ids(self) -> list[str]:
        """The ids of the served vendors, in the order given."""
        return list(self._vendors)

    def spec(self, vendor_id: str) -> VendorSpec:
        """The spec a vendor was made from."""
        return self._vendor(vendor_id).spec

    def base_url(self, vendor_id: str) -> str:
        """The protocol base URL of a vendor, e.g. ``http://127.0.0.1:PORT/vendors/v/v1``."""
        self._vendor(vendor_id)
        return f"{self.url}/vendors/{vendor_id}/v1"

    def token(self, vendor_id: str) -> str:
        """The bearer token a vendor expects."""
        return self._vendor(vendor_id).spec.token

    def state(self, vendor_id: str) -> dict[str, dict[str, Any]]:
        """A copy of a vendor's stored subjects.

        Returns:
            subject id -> ``{"etag": '"7"', "preferences": P, "updated_at": "..."}``; the
            ``etag`` is the quoted form sent in the ``ETag`` header.
        """
        vendor = self._vendor(vendor_id)
        with vendor.lock:
            return {s: entry.to_json() for s, entry in vendor.subjects.items()}

    def stats(self, vendor_id: str) -> VendorStats:
        """A vendor's request and write counts."""
        vendor = self._vendor(vendor_id)
        with vendor.lock:
            return vendor.stats

    def wait_for_stats(
        self,
        vendor_id: str,
        predicate: Callable[[VendorStats], bool],
        timeout: float = 5.0,
    ) -> VendorStats:
        """Wait until a vendor's statistics satisfy ``predicate`` (no polling).

        Example: ``sim.wait_for_stats("vendor-001", lambda s: s.writes_applied >= 3)``.

        Returns:
            The statistics that satisfied ``predicate``.

        Raises:
            TimeoutError: ``predicate`` still fails after ``timeout`` seconds.
        """
        vendor = self._vendor(vendor_id)
        with vendor.changed:
            if not vendor.changed.wait_for(lambda: predicate(vendor.stats), timeout):
                raise TimeoutError(f"{vendor_id}: stats still {vendor.stats} after {timeout} s")
            return vendor.stats

    def knobs(self, vendor_id: str) -> Knobs:
        """A vendor's current knobs."""
        vendor = self._vendor(vendor_id)
        with vendor.lock:
            return vendor.knobs

    def set_knobs(self, vendor_id: str, **changes: Any) -> Knobs:
        """Change some of a vendor's knobs, e.g. ``set_knobs("vendor-001", error_rate=0.5)``.

        Returns:
            The vendor's knobs after the change.

        Raises:
            KeyError: unknown vendor.
            ValueError: unknown knob or bad value.
        """
        vendor = self._vendor(vendor_id)
        with vendor.lock:
            vendor.knobs = vendor.knobs.changed(**changes)
            return vendor.knobs

    def add_subject(
        self, vendor_id: str, subject: str, prefs: Mapping[str, Any] | None = None
    ) -> str:
        """Create or replace a subject's stored preferences.

        Args:
            vendor_id: the vendor.
            subject: the subject id.
            prefs: preferences (``P``); ``None`` for the vendor's defaults.

        Returns:
            The subject's new ETag (quoted, as in the header).

        Raises:
            KeyError: unknown vendor.
            ValueError: the preferences do not fit the protocol or the catalog.
        """
        vendor = self._vendor(vendor_id)
        _check_subject_id(subject)
        stored = self._validated(vendor, prefs)
        with vendor.lock:
            return vendor._store(subject, stored).etag

    def tamper(self, vendor_id: str, subject: str, change: Mapping[str, Any]) -> str:
        """Change a subject's stored preferences behind the client's back.

        Args:
            vendor_id: the vendor.
            subject: an existing subject.
            change: partial preferences merged into the stored state, e.g.
                ``{"channels": {"sms": {"enabled": True}}, "topics": {"offers": True}}``.

        Returns:
            The subject's new ETag.

        Raises:
            KeyError: unknown vendor or subject.
            ValueError: the merged preferences do not fit the protocol or the catalog.
        """
        vendor = self._vendor(vendor_id)
        with vendor.lock:
            entry = vendor.subjects.get(subject)
            if entry is None:
                raise KeyError(f"vendor {vendor_id} has no subject {subject!r}")
            try:
                merged = _validate_preferences(vendor.spec, _merge(entry.preferences, change))
            except _ProblemError as exc:
                raise ValueError(exc.describe()) from None
            vendor.count(tampers=1)
            return vendor._store(subject, merged).etag

    def reset(self) -> None:
        """Every vendor back to its initial subjects, knobs, statistics and generator."""
        for vendor in self._vendors.values():
            vendor.reset()

    def _vendor(self, vendor_id: str) -> _Vendor:
        try:
            return self._vendors[vendor_id]
        except KeyError:
            raise KeyError(f"unknown vendor {vendor_id!r}") from None

    @staticmethod
    def _validated(vendor: _Vendor, prefs: Mapping[str, Any] | None) -> dict[str, Any]:
        if prefs is None:
            return vendor.spec.default_preferences()
        try:
            return _validate_preferences(vendor.spec, prefs)
        except _ProblemError as exc:
            raise ValueError(exc.describe()) from None

    # --- HTTP ----------------------------------------------------------------------------

    def _handle(
        self, method: str, target: str, headers: Any, body: bytes, client: str
    ) -> _Response:
        """Answer one request (raises :class:`_ProblemError` or :class:`_Hang`)."""
        path = urlsplit(target).path
        parts = [unquote(p) for p in path.split("/")[1:]]
        if parts and parts[-1] == "" and len(parts) > 1:
            parts.pop()  # a trailing slash
        if parts[:1] == ["admin"]:
            if not _is_loopback(client):
                raise _ProblemError(
                    403, "forbidden", "Forbidden", "the admin API answers loopback clients only"
                )
            return self._admin(method, parts[1:], headers, body)
        if len(parts) >= 3 and parts[0] == "vendors" and parts[2] == "v1":
            vendor = self._vendors.get(parts[1])
            if vendor is None:
                raise _not_found(f"no vendor {parts[1]!r} here")
            return self._protocol(vendor, method, parts[3:], headers, body)
        raise _not_found(f"nothing at {path}")

    def _protocol(
        self, vendor: _Vendor, method: str, route: list[str], headers: Any, body: bytes
    ) -> _Response:
        draws = vendor.draw()
        knobs = vendor.knobs
        server = self._server
        delay = knobs.latency_ms + draws.jitter * knobs.jitter_ms
        if delay > 0 and server is not None:
            server.stopping.wait(delay / 1000)
        self._authenticate(vendor, headers)
        if not vendor.admit(time.monotonic()):
            raise _ProblemError(
                429,
                "rate-limited",
                "Too many requests",
                f"at most {knobs.rate_limit} requests per second",
                headers=_retry_after(knobs),
            )
        if draws.timeout < knobs.timeout_rate:
            raise _Hang(knobs.hang_seconds)
        if draws.error < knobs.error_rate:
            unavailable = draws.error_kind < 0.5 if knobs.error_status == 0 else None
            if unavailable or knobs.error_status == 503:
                raise _ProblemError(
                    503,
                    "unavailable",
                    "Service unavailable",
                    "the vendor is temporarily unavailable; retry later",
                    headers=_retry_after(knobs),
                )
            raise _ProblemError(500, "internal-error", "Internal server error", "injected error")
        response = self._route(vendor, method, route, headers, body, draws)
        applied = (
            method == "PUT"
            and response.status == 200
            and "Idempotent-Replayed" not in response.headers
        )
        if applied and knobs.hold_after_apply:
            raise _Hang(None)  # applied; the answer is never sent
        if applied and knobs.drop_after_apply:
            raise _Hang(0)  # applied; the connection is closed without an answer
        if response.status == 200 and draws.garbage < knobs.garbage_rate:
            garbage = _GARBAGE[int(draws.garbage_kind * len(_GARBAGE))]
            response = _Response(200, garbage, response.headers, response.content_type)
        pad_to = knobs.huge_body_bytes if response.status == 200 else 0
        return response._replace(trickle_ms=knobs.trickle_ms, pad_to=pad_to)

    @staticmethod
    def _authenticate(vendor: _Vendor, headers: Any) -> None:
        auth = headers.get("Authorization") or ""
        scheme, _, token = auth.strip().partition(" ")
        if not auth:
            raise _ProblemError(
                401,
                "unauthorized",
                "Authentication required",
                "send Authorization: Bearer <token>",
                headers={"WWW-Authenticate": 'Bearer realm="openpref"'},
            )
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode("utf-8", "surrogateescape"), vendor.spec.token.encode()
        ):
            raise _ProblemError(
                401,
                "unauthorized",
                "Authentication failed",
                "the bearer token is not valid for this vendor",
                headers={"WWW-Authenticate": 'Bearer realm="openpref", error="invalid_token"'},
            )

    def _route(
        self,
        vendor: _Vendor,
        method: str,
        route: list[str],
        headers: Any,
        body: bytes,
        draws: _Draws,
    ) -> _Response:
        if route == ["catalog"]:
            if method not in ("GET", "HEAD"):
                raise _method_not_allowed(method, "GET")
            catalog = vendor.spec.catalog()
            return _ok(_future_catalog(catalog) if vendor.knobs.future_vocabulary else catalog)
        if len(route) == 3 and route[0] == "subjects" and route[2] == "preferences":
            subject = route[1]
            if method in ("GET", "HEAD"):
                if draws.tamper < vendor.knobs.tamper_rate:
                    vendor.tamper_randomly(subject, draws.tamper_pick)
                return self._get_preferences(vendor, subject)
            if method == "PUT":
                return self._put_preferences(vendor, subject, headers, body)
            raise _method_not_allowed(method, "GET, PUT")
        raise _not_found("no such resource (see the Open Preference API v1)")

    @staticmethod
    def _subject_response(vendor: _Vendor, subject: str, entry: _Subject) -> _Response:
        prefs = entry.preferences
        return _ok(
            {
                "subject": subject,
                "preferences": _future_preferences(prefs)
                if vendor.knobs.future_vocabulary
                else prefs,
                "updated_at": entry.updated_at,
            },
            headers={"ETag": entry.etag},
        )

    def _get_preferences(self, vendor: _Vendor, subject: str) -> _Response:
        with vendor.lock:
            entry = vendor.subjects.get(subject)
            if entry is None:
                raise _not_found(f"no subject {subject!r} at {vendor.spec.id}")
            return self._subject_response(vendor, subject, entry)

    def _put_preferences(
        self, vendor: _Vendor, subject: str, headers: Any, body: bytes
    ) -> _Response:
        with vendor.lock:
            if subject not in vendor.subjects:
                raise _not_found(f"no subject {subject!r} at {vendor.spec.id}")
        if_match = headers.get("If-Match")
        if if_match is None or not if_match.strip():
            raise _ProblemError(
                428,
                "precondition-required",
                "If-Match required",
                "send If-Match with the ETag of the preferences you read"
                + ("" if if_match is None else " (it was empty)"),
            )
        key = headers.get("Idempotency-Key")
        if key is None:
            raise _ProblemError(
                400,
                "missing-idempotency-key",
                "Idempotency-Key required",
                "send an Idempotency-Key header (1-255 printable characters)",
            )
        if not _IDEMPOTENCY_KEY.match(key):
            raise _ProblemError(
                400,
                "invalid-idempotency-key",
                "Invalid Idempotency-Key",
                "the Idempotency-Key must be 1-255 printable ASCII characters",
            )
        _check_content_type(headers)
        doc = _parse_json(body)
        if not isinstance(doc, dict) or set(doc) != {"preferences"}:
            raise _bad_body('the body must be an object {"preferences": {...}}')
        _check_shape(doc["preferences"])
        fingerprint = _fingerprint(subject, doc)
        with vendor.lock:
            now = time.monotonic()
            stored = vendor.idempotency.get(key)
            if stored is not None and now - stored.stored_at > IDEMPOTENCY_TTL_SECONDS:
                del vendor.idempotency[key]
                stored = None
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    raise _ProblemError(
                        422,
                        "idempotency-key-reused",
                        "Idempotency-Key reused",
                        "this Idempotency-Key was already used for a different request",
                    )
                vendor.count(writes_replayed=1)
                return _Response(
                    stored.status,
                    stored.body,
                    {"ETag": stored.etag, "Idempotent-Replayed": "true"},
                )
            entry = vendor.subjects.get(subject)
            if entry is None:
                raise _not_found(f"no subject {subject!r} at {vendor.spec.id}")
            if not _if_match(if_match, entry.etag):
                raise _ProblemError(
                    412,
                    "version-conflict",
                    "Version conflict",
                    f"the preferences changed since you read them (now {entry.etag}); "
                    "read them again, merge, and retry",
                )
            prefs = _validate_preferences(vendor.spec, doc["preferences"])
            if vendor.knobs.lax_write:
                looser = _lax(vendor.spec, entry.preferences, prefs)
                if looser != prefs:
                    vendor.count(writes_loosened=1)
                prefs = looser
            entry = vendor._store(subject, prefs)
            vendor.count(writes_applied=1)
            response = self._subject_response(vendor, subject, entry)
            if len(vendor.idempotency) > 10_000:
                vendor.idempotency = {
                    k: v
                    for k, v in vendor.idempotency.items()
                    if now - v.stored_at <= IDEMPOTENCY_TTL_SECONDS
                }
            vendor.idempotency[key] = _Stored(
                fingerprint, now, response.status, response.body, entry.etag
            )
            return response

    # --- admin ---------------------------------------------------------------------------

    def _admin(self, method: str, route: list[str], headers: Any, body: bytes) -> _Response:
        if route == ["reset"]:
            if method != "POST":
                raise _method_not_allowed(method, "POST")
            self.reset()
            return _ok({"reset": True})
        if route == ["vendors"]:
            if method != "GET":
                raise _method_not_allowed(method, "GET")
            return _ok({"vendors": [self._vendor_summary(v) for v in self._vendors.values()]})
        if len(route) < 2 or route[0] != "vendors":
            raise _not_found("no such admin resource")
        vendor = self._vendors.get(route[1])
        if vendor is None:
            raise _not_found(f"no vendor {route[1]!r} here")
        rest = route[2:]
        if not rest:
            if method != "GET":
                raise _method_not_allowed(method, "GET")
            return _ok(self._vendor_detail(vendor))
        if rest == ["knobs"]:
            if method == "GET":
                return _ok(vendor.knobs.to_dict())
            if method != "PATCH":
                raise _method_not_allowed(method, "GET, PATCH")
            changes = _parse_json(body)
            if not isinstance(changes, dict):
                raise _bad_body("send an object of knob changes")
            try:
                knobs = self.set_knobs(vendor.spec.id, **changes)
            except (ValueError, TypeError) as exc:
                raise _bad_body(str(exc)) from None
            return _ok(knobs.to_dict())
        if len(rest) in (2, 3) and rest[0] == "subjects":
            subject = rest[1]
            if len(rest) == 2:
                if method == "GET":
                    with vendor.lock:
                        entry = vendor.subjects.get(subject)
                        if entry is None:
                            raise _not_found(f"no subject {subject!r} at {vendor.spec.id}")
                        return _ok({"subject": subject, **entry.to_json()})
                if method != "PUT":
                    raise _method_not_allowed(method, "GET, PUT")
                return self._admin_put_subject(vendor, subject, body)
            if rest[2] == "tamper":
                if method != "POST":
                    raise _method_not_allowed(method, "POST")
                return self._admin_tamper(vendor, subject, body)
        raise _not_found("no such admin resource")

    def _admin_put_subject(self, vendor: _Vendor, subject: str, body: bytes) -> _Response:
        doc = _parse_json(body)
        if isinstance(doc, dict) and set(doc) == {"preferences"}:
            doc = doc["preferences"]
        try:
            _check_subject_id(subject)
        except ValueError as exc:
            raise _bad_body(str(exc)) from None
        # null: the vendor's defaults for a new subject (as VendorSimulator.add_subject).
        prefs = (
            vendor.spec.default_preferences()
            if doc is None
            else _validate_preferences(vendor.spec, doc)
        )
        with vendor.lock:
            created = subject not in vendor.subjects
            entry = vendor._store(subject, prefs)
            return _ok(
                {"subject": subject, **entry.to_json()},
                status=201 if created else 200,
                headers={"ETag": entry.etag},
            )

    def _admin_tamper(self, vendor: _Vendor, subject: str, body: bytes) -> _Response:
        change = _parse_json(body)
        with vendor.lock:
            entry = vendor.subjects.get(subject)
            if entry is None:
                raise _not_found(f"no subject {subject!r} at {vendor.spec.id}")
            prefs = _validate_preferences(vendor.spec, _merge(entry.preferences, change))
            entry = vendor._store(subject, prefs)
            vendor.count(tampers=1)
            return _ok({"subject": subject, **entry.to_json()}, headers={"ETag": entry.etag})

    def _vendor_summary(self, vendor: _Vendor) -> dict[str, Any]:
        return {
            "id": vendor.spec.id,
            "name": vendor.spec.name,
            "base_url": self.base_url(vendor.spec.id),
            "token": vendor.spec.token,
        }

    def _vendor_detail(self, vendor: _Vendor) -> dict[str, Any]:
        with vendor.lock:
            return {
                **self._vendor_summary(vendor),
                "catalog": vendor.spec.catalog(),
                "knobs": vendor.knobs.to_dict(),
                "stats": vendor.stats.to_dict(),
                "subjects": {s: e.to_json() for s, e in vendor.subjects.items()},
            }


class SimulatorProcess:
    """``cmr-vendor-sim`` in a child process, driven through its admin API.

    Same methods as :class:`VendorSimulator` for what tests and benchmarks use. Use it when
    the simulator must not share the caller's GIL: a benchmark of the client, or a test of
    the desktop app's responsiveness (real vendors are not in the app's process either).

    Args:
        vendors: how many vendors to serve.
        seed: the simulator's seed.
        knobs: knobs for every vendor at start (latency, error rate, ...).
    """

    def __init__(self, vendors: int = 3, *, seed: int = 0, knobs: Knobs | None = None) -> None:
        import requests

        args = [sys.executable, "-m", "cmr_desktop.testing.simulator", "--port", "0"]
        args += ["--vendors", str(vendors), "--seed", str(seed)]
        self._proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self._proc.stdout is not None
        first = self._proc.stdout.readline()
        if " at " not in first:
            self._proc.kill()
            raise RuntimeError(f"cmr-vendor-sim did not start: {first!r}")
        self.root = first.split(" at ")[1].split()[0]
        self._vendors: dict[str, tuple[str, str]] = {}
        for _ in range(vendors):
            vid, url, token = self._proc.stdout.readline().split()[:3]
            self._vendors[vid] = (url, token.removeprefix("token="))
        self._admin = requests.Session()
        if knobs is not None:
            for vid in self._vendors:
                self.set_knobs(vid, **knobs.to_dict())

    @property
    def vendor_ids(self) -> list[str]:
        return list(self._vendors)

    def base_url(self, vendor_id: str) -> str:
        return self._vendors[vendor_id][0]

    def token(self, vendor_id: str) -> str:
        return self._vendors[vendor_id][1]

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._admin.request(method, f"{self.root}/admin/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def add_subject(self, vendor_id: str, subject: str, preferences: Any = None) -> None:
        """Create or replace a subject; ``None`` for the vendor's defaults (everything on,
        every data use allowed), as :meth:`VendorSimulator.add_subject`."""
        self._call("PUT", f"vendors/{vendor_id}/subjects/{subject}", {"preferences": preferences})

    def set_knobs(self, vendor_id: str, **changes: Any) -> dict[str, Any]:
        return dict(self._call("PATCH", f"vendors/{vendor_id}/knobs", changes))

    def state(self, vendor_id: str) -> dict[str, dict[str, Any]]:
        return dict(self._call("GET", f"vendors/{vendor_id}")["subjects"])

    def stats(self, vendor_id: str) -> dict[str, int]:
        return dict(self._call("GET", f"vendors/{vendor_id}")["stats"])

    def stop(self) -> None:
        self._admin.close()
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- console script ------------------------------------------------------------------------


def _rate(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise click.BadParameter("a share between 0 and 1")
    return value


@click.command(name="cmr-vendor-sim", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="0: any."
)
@click.option("--allow-remote", is_flag=True, help="Allow a --host that is not a loopback address.")
@click.option(
    "--vendors", "n_vendors", default=5, show_default=True, type=click.IntRange(1, 10_000)
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for every vendor.")
@click.option("--latency-ms", default=0.0, type=click.FloatRange(min=0), show_default=True)
@click.option("--jitter-ms", default=0.0, type=click.FloatRange(min=0), show_default=True)
@click.option("--error-rate", default=0.0, callback=_rate, show_default=True, type=float)
@click.option("--timeout-rate", default=0.0, callback=_rate, show_default=True, type=float)
@click.option("--hang-seconds", default=30.0, type=click.FloatRange(min=0), show_default=True)
@click.option("--rate-limit", default=0, type=click.IntRange(min=0), show_default=True)
@click.option("--garbage-rate", default=0.0, callback=_rate, show_default=True, type=float)
@click.option("--tamper-rate", default=0.0, callback=_rate, show_default=True, type=float)
@click.option(
    "--error-status",
    default="0",
    type=click.Choice(["0", "500", "503"]),
    callback=lambda ctx, param, value: int(value),
    show_default=True,
    help="Injected errors: 0 for half 503, half 500.",
)
@click.option(
    "--retry-after-seconds",
    default=RETRY_AFTER_SECONDS,
    type=click.IntRange(min=0),
    show_default=True,
    help="The wait Retry-After asks for on injected 429 and 503.",
)
@click.option("--retry-after-date", is_flag=True, help="Send Retry-After as an HTTP-date.")
@click.option(
    "--trickle-ms",
    default=0.0,
    type=click.FloatRange(min=0),
    show_default=True,
    help="Pause before each byte of an answer body.",
)
@click.option(
    "--huge-body-bytes",
    default=0,
    type=click.IntRange(min=0),
    show_default=True,
    help="Pad every 200 answer to this many bytes.",
)
@click.option("--lax-write", is_flag=True, help="Keep a looser value than a write sent.")
@click.option("--hold-after-apply", is_flag=True, help="Apply a write, never answer it.")
@click.option("--drop-after-apply", is_flag=True, help="Apply a write, then close the connection.")
@click.option("--future-vocabulary", is_flag=True, help="Send ids of a later vocabulary.")
def _command(
    host: str,
    port: int,
    allow_remote: bool,
    n_vendors: int,
    seed: int,
    **knob_values: Any,
) -> None:
    """Serve simulated Open Preference API v1 vendors until Ctrl-C or SIGTERM.

    Each vendor is served at http://HOST:PORT/vendors/VENDOR/v1 with its own bearer token;
    the admin API is at http://HOST:PORT/admin.
    """
    if not allow_remote and not _is_loopback(host):
        raise click.UsageError(
            f"--host {host} is not a loopback address; add --allow-remote if you mean it"
        )
    sim = VendorSimulator(
        default_vendors(n_vendors, seed),
        seed=seed,
        knobs=Knobs(**knob_values),
        host=host,
        port=port,
    )
    try:
        root = sim.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        click.echo(f"Open Preference API v1 simulator at {root} (admin API: {root}/admin)")
        for vid in sim.vendor_ids:
            spec = sim.spec(vid)
            click.echo(f"{vid}  {sim.base_url(vid)}  token={spec.token}  ({spec.name})")
        click.echo("Press Ctrl-C to stop.")
        sys.stdout.flush()
        while not stop.wait(0.25):
            pass
    finally:
        sim.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("Stopped.", err=True)


def main(argv: list[str] | None = None) -> int:
    """The ``cmr-vendor-sim`` console script.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        0 after a clean stop (Ctrl-C or SIGTERM), 1 if the server could not start, 2 for a
        usage error.
    """
    try:
        _command.main(args=argv, prog_name="cmr-vendor-sim", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except click.exceptions.Abort:
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
