"""What a simulated vendor is (its spec) and how it misbehaves (its knobs), as given by a test
or the command line; and what it counts (its stats)."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cmr_desktop.testing.simulator.preferences import (
    canonical,
    check_subject_id,
    validate_preferences,
)
from cmr_desktop.testing.simulator.problems import ProblemError
from cmr_desktop.testing.simulator.vocabulary import (
    CATEGORIES,
    CHANNEL_ORDER,
    CHANNELS,
    FREQUENCIES,
    ID,
    PURPOSES,
)

RETRY_AFTER_SECONDS = 1
"""``Retry-After`` sent with injected 429 and 503 answers."""


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
        if not ID.match(self.id):
            raise ValueError(f"invalid vendor id {self.id!r}")
        if not self.token or not all(0x21 <= ord(c) <= 0x7E for c in self.token):
            raise ValueError(f"vendor {self.id}: the token must be non-empty printable ASCII")
        _check_ids(self.id, "channel", self.channels, CHANNELS)
        _check_ids(self.id, "frequency", self.frequencies, FREQUENCIES)
        for topic in self.topics:
            if not ID.match(topic.id):
                raise ValueError(f"vendor {self.id}: invalid topic id {topic.id!r}")
        if len({t.id for t in self.topics}) != len(self.topics):
            raise ValueError(f"vendor {self.id}: duplicate topic ids")
        for use in self.data_uses:
            _check_ids(self.id, "data category", [use.category], CATEGORIES)
            _check_ids(self.id, "purpose", [use.purpose], PURPOSES)
        for subject, prefs in self.subjects.items():
            check_subject_id(subject)
            if prefs is not None:
                try:
                    validate_preferences(self, prefs)
                except ProblemError as exc:
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
        return canonical(
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
    others = [c for c in CHANNELS if c != "email"]
    uses = [(c, p) for c in CATEGORIES for p in PURPOSES]
    for i in range(1, n + 1):
        vid = f"vendor-{i:03d}"
        word = _WORDS[(i - 1) % len(_WORDS)]
        kind = _KINDS[(i - 1) % len(_KINDS)]  # 8 words x 9 kinds: 72 distinct names
        name = f"{word} {kind}" if i <= len(_WORDS) * len(_KINDS) else f"{word} {kind} {i}"
        channels = ["email", *rng.sample(others, rng.randint(1, 4))]
        channels.sort(key=CHANNEL_ORDER.__getitem__)
        lo = rng.randint(0, 2)
        hi = rng.randint(max(lo + 1, 2), len(FREQUENCIES) - 1)
        frequencies = list(FREQUENCIES[lo : hi + 1])
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


def _check_ids(vendor: str, kind: str, values: Sequence[str], known: Sequence[str]) -> None:
    for value in values:
        if value not in known:
            raise ValueError(
                f"vendor {vendor}: unknown {kind} {value!r} (expected one of: {', '.join(known)})"
            )
    if len(set(values)) != len(values):
        raise ValueError(f"vendor {vendor}: duplicate {kind} ids")
