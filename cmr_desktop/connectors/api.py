"""The connector plugin API (ARCHITECTURE 3.4). Third-party connectors import only this module.

A connector teaches CMR Desktop one vendor's API: what the vendor offers (its
:class:`Catalog`), how to read a subscriber's current preferences (with a version token),
and how to write the customer's desired preferences (given the version they were based on
and an idempotency key). Everything else (scheduling, retries across runs, merging,
journaling, secrets, the UI) is the host's job.

Versioning promise: :data:`API_VERSION` follows semantic versioning. Within a major version
this module only grows: names are never removed or changed incompatibly; a renamed name stays
importable and warns once. A connector declares the API version it was built for in
``ConnectorInfo.api_version``; the host loads it when the major versions match and lists it
as *incompatible* otherwise.

Minimal connector::

    from cmr_desktop.connectors.api import (
        API_VERSION, Catalog, ConfigField, Connector, ConnectorInfo, RemoteState,
    )

    class AcmeConnector(Connector):
        info = ConnectorInfo(id="acme", name="Acme", version="1.0.0", api_version=API_VERSION)
        config_fields = (
            ConfigField("api_url", "API address"),
            ConfigField("api_key", "API key", secret=True),
        )

        def catalog(self) -> Catalog: ...
        def read(self) -> RemoteState: ...
        def write(self, desired, *, base_version, idempotency_key) -> RemoteState: ...

Talking to the vendor (since API 1.2): :class:`VendorHttp` does the HTTP plumbing every
connector needs (base URL checks, the auth header from a secret setting, HTTP status to
typed errors, ``Retry-After``, JSON decoding), so a connector is left with its vendor's
words::

    def __init__(self, context: ConnectorContext) -> None:
        super().__init__(context)
        self.http = VendorHttp(
            self, base_url_field="api_url", auth=HeaderAuth("X-Api-Key", "api_key")
        )

    def read(self) -> RemoteState:
        answer = self.http.get_json("/members/M-1/settings")
        return RemoteState(parse(answer.object()), answer.required_header("ETag"))

Every hook a connector defines is checked against this module's signatures when the
connector is discovered: a wrong signature, or a public method named like a hook that is not
one (``raed``), lists the connector as broken with the reason.
"""

from __future__ import annotations

import abc
import ipaddress
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

import requests

from cmr_desktop.connectors import http as _http
from cmr_desktop.domain.clock import Clock
from cmr_desktop.domain.fields import wire_path
from cmr_desktop.domain.preferences import Grant, PreferenceSet, QuietHours
from cmr_desktop.domain.vocabulary import Channel, DataCategory, Decision, Frequency, Purpose

__all__ = [
    "API_VERSION",
    "AuthenticationError",
    "BearerAuth",
    "Catalog",
    "Channel",
    "Clock",
    "ConfigField",
    "Connector",
    "ConnectorContext",
    "ConnectorError",
    "ConnectorInfo",
    "ConnectorTimeout",
    "DataCategory",
    "Decision",
    "Frequency",
    "Grant",
    "HeaderAuth",
    "HttpAuth",
    "HttpResponse",
    "InvalidResponse",
    "NotFound",
    "PermanentError",
    "PreferenceSet",
    "Purpose",
    "QuietHours",
    "RateLimited",
    "RejectedError",
    "RemoteState",
    "SecretAccess",
    "Topic",
    "TransientError",
    "VendorHttp",
    "VendorProblem",
    "VersionConflict",
    "api_major",
    "base_url_problems",
    "check_base_url",
]

#: The version of this API. Semantic versioning; see the module docstring for the promise.
#: 1.1 added ``Topic.reason``; 1.2 added the HTTP helper (:class:`VendorHttp`,
#: :class:`BearerAuth`, :class:`HeaderAuth`, :class:`HttpResponse`, :class:`VendorProblem`,
#: :func:`check_base_url`, :func:`base_url_problems`).
API_VERSION = "1.2.0"

_ID = re.compile(r"^[a-z][a-z0-9_.-]{0,63}\Z")
_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,63}\Z")


def api_major(version: str) -> int:
    """The major part of a semantic version ("1.4.2" -> 1); ValueError when malformed."""
    match = re.match(r"^(\d+)\.\d+(?:\.\d+)?", version)
    if not match:
        raise ValueError(f"not a semantic version: {version!r}")
    return int(match.group(1))


# --- metadata and configuration ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectorInfo:
    """Who the connector is.

    Attributes:
        id: stable id, the entry-point name (lower-case, e.g. ``acme-loyalty``).
        name: shown to the customer ("Acme Loyalty Club").
        version: the connector's own version.
        api_version: the :data:`API_VERSION` it was built against.
        homepage: where to read about it or report problems.
        description: one sentence for the connector list.
    """

    id: str
    name: str
    version: str
    api_version: str
    homepage: str = ""
    description: str = ""

    def problems(self) -> list[str]:
        """What is wrong with this metadata (empty when it is valid)."""
        out = []
        if not _ID.match(self.id):
            out.append(f"invalid id {self.id!r} (lower-case letters, digits, '_', '-', '.')")
        if not self.name.strip():
            out.append("empty name")
        if not self.version.strip():
            out.append("empty version")
        try:
            api_major(self.api_version)
        except ValueError as exc:
            out.append(f"api_version: {exc}")
        return out


@dataclass(frozen=True, slots=True)
class ConfigField:
    """A setting the customer gives when they connect a brand.

    Secret fields (tokens, passwords) are kept in the system keyring by the host and reach
    the connector only through :attr:`ConnectorContext.secrets`; never in ``config``.

    Attributes:
        name: key (``api_url``, ``api_key``): lower-case letters, digits, ``_``.
        label: shown next to the input ("API key").
        help: one sentence on where to find the value.
        required: the connector cannot work without it.
        secret: keep in the keyring, hide when typed, never log or export.
        default: used when the customer gives nothing (not for secrets).
    """

    name: str
    label: str
    help: str = ""
    required: bool = True
    secret: bool = False
    default: str | None = None

    def problems(self) -> list[str]:
        out = []
        if not _FIELD.match(self.name):
            out.append(f"config field {self.name!r}: invalid name (lower-case, digits, '_')")
        if not self.label.strip():
            out.append(f"config field {self.name!r}: empty label")
        if self.secret and self.default is not None:
            out.append(f"config field {self.name!r}: a secret field cannot have a default")
        return out


# --- what the vendor offers ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Topic:
    """A subject the vendor writes about. ``required`` topics cannot be turned off.

    ``reason`` (since API 1.1): the vendor's explanation of why a required topic cannot be
    turned off, shown to the customer as plain text ("" when the vendor gives none).
    """

    id: str
    label: str
    required: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Catalog:
    """What a vendor supports: the only values a write may use.

    Attributes:
        channels: channels the vendor can switch on or off.
        frequencies: frequencies a subscriber may choose (empty: no frequency can be chosen).
        topics: its topics.
        data_uses: the (data category, purpose) pairs it asks permission for.
        supports_quiet_hours: whether it honours a daily quiet window (every Open
            Preference API vendor does: its preferences always carry ``quiet_hours``).
    """

    channels: frozenset[Channel]
    frequencies: frozenset[Frequency] = frozenset()
    topics: tuple[Topic, ...] = ()
    data_uses: frozenset[tuple[DataCategory, Purpose]] = frozenset()
    supports_quiet_hours: bool = False

    @property
    def required_topics(self) -> frozenset[str]:
        return frozenset(t.id for t in self.topics if t.required)

    @property
    def topic_ids(self) -> frozenset[str]:
        return frozenset(t.id for t in self.topics)

    def problems(self) -> list[str]:
        """What is wrong with the catalog itself (empty when valid)."""
        out = []
        ids = [t.id for t in self.topics]
        if len(ids) != len(set(ids)):
            out.append("topic ids repeat")
        for t in self.topics:
            if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,63}", t.id):
                out.append(f"invalid topic id {t.id!r}")
        for value, kind in (
            *((c, Channel) for c in self.channels),
            *((f, Frequency) for f in self.frequencies),
        ):
            if not isinstance(value, kind):
                out.append(f"{value!r} is not a {kind.__name__}")
        return out

    def violations(self, prefs: PreferenceSet) -> list[tuple[str, str]]:
        """Fields of ``prefs`` this vendor cannot take, as (field, reason) pairs."""
        out = []
        for ch in (*prefs.channels, *prefs.frequencies):
            if ch not in self.channels:
                out.append((wire_path(("channel", ch)), "channel not offered by this vendor"))
        for ch, freq in prefs.frequencies.items():
            # An empty list means the vendor offers no choice of frequency at all.
            if freq not in self.frequencies:
                out.append((wire_path(("frequency", ch)), f"{freq.value} not offered"))
        for topic, wanted in prefs.topics.items():
            if topic not in self.topic_ids:
                out.append((wire_path(("topic", topic)), "unknown topic"))
            elif not wanted and topic in self.required_topics:
                out.append((wire_path(("topic", topic)), "required topic cannot be turned off"))
        for cat, purpose in prefs.grants:
            if (cat, purpose) not in self.data_uses:
                out.append((wire_path(("grant", cat, purpose)), "data use not asked for"))
        if prefs.quiet_hours is not None and not self.supports_quiet_hours:
            out.append((wire_path(("quiet_hours",)), "vendor does not support quiet hours"))
        return sorted(set(out))

    def restrict(self, prefs: PreferenceSet) -> PreferenceSet:
        """``prefs`` cut down to what this vendor can take (what a write would send)."""
        bad = {name for name, _ in self.violations(prefs)}
        return PreferenceSet.from_fields(
            {
                key: value
                for key, value in prefs.fields().items()
                if wire_path(key) not in bad and wire_path(key).rsplit(".", 1)[0] not in bad
            }
        )


@dataclass(frozen=True, slots=True)
class RemoteState:
    """The vendor's view of the subscriber's preferences, and its version token.

    Attributes:
        preferences: what the vendor holds now.
        version: opaque token (an ETag, a revision number ...) to pass back as
            ``base_version`` on the next write so the vendor can refuse lost updates.
    """

    preferences: PreferenceSet
    version: str


# --- what the host injects ------------------------------------------------------------------


class SecretAccess(Protocol):
    """Read access to this brand's secret config fields (kept in the system keyring)."""

    def get(self, field: str) -> str | None: ...


@dataclass(frozen=True)
class ConnectorContext:
    """Everything a connector gets from the host. Connectors must not make their own.

    Attributes:
        config: non-secret config values by field name (defaults applied).
        secrets: secret config values, read on demand.
        session: the HTTP session to use for every request (timeouts, retries, User-Agent,
            TLS verification and log redaction are already set up). It raises ``requests``
            exceptions: catch ``requests.Timeout`` (-> :class:`ConnectorTimeout`) before
            ``requests.RequestException`` (-> :class:`TransientError`).
        clock: the current time (for expiry and timestamps).
        log: a logger for this connector and brand; never log secret values.
    """

    config: Mapping[str, str]
    secrets: SecretAccess
    session: requests.Session
    clock: Clock
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("cmr_desktop.connector"))


# --- errors --------------------------------------------------------------------------------


class ConnectorError(Exception):
    """Base of every error a connector raises. The message is shown to the customer: say
    what failed and, if you can, what to do. Never put a secret in it."""


class TransientError(ConnectorError):
    """Might work later (network trouble, 5xx). ``retry_after``: seconds the vendor asked
    us to wait, if it said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """The vendor says we are sending too many requests (HTTP 429)."""


class ConnectorTimeout(TransientError):
    """The vendor did not answer in time."""


class InvalidResponse(TransientError):
    """The vendor answered with something we cannot read (garbage, wrong shape)."""


class AuthenticationError(ConnectorError):
    """The credentials were refused (HTTP 401/403): the customer must re-enter them."""


class PermanentError(ConnectorError):
    """Retrying the same request will not help."""


class NotFound(PermanentError):
    """The vendor does not know this subscriber (HTTP 404)."""


class RejectedError(PermanentError):
    """The vendor refused the values (HTTP 400/422). ``field`` names the offending one
    (``channels.sms``, ``topics.offers`` ...) when the vendor said."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class VersionConflict(ConnectorError):
    """The vendor's state changed since ``base_version`` (HTTP 409/412): read again, merge,
    and write with the new version."""


# --- the connector -------------------------------------------------------------------------


class Connector(abc.ABC):
    """Base class of every connector. One instance serves one brand of one customer.

    Subclasses set :attr:`info` and :attr:`config_fields` and implement :meth:`catalog`,
    :meth:`read` and :meth:`write`. Every method may raise a :class:`ConnectorError` subclass;
    anything else is treated by the host as a bug in the connector.

    Args:
        context: what the host provides (config, secrets, HTTP session, clock, logger).
    """

    info: ClassVar[ConnectorInfo]
    config_fields: ClassVar[tuple[ConfigField, ...]] = ()
    #: False for connectors with no vendor API behind them (the built-in ``manual``).
    remote: ClassVar[bool] = True

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context
        #: The version of the vendor's state the host stored at the last sync that read or
        #: wrote it (``RemoteState.version``), or None before the first. The host sets it
        #: before it calls :meth:`read`; a connector that cannot read a vendor's state (the
        #: built-in ``email``) reports from it what it last heard.
        self.last_version: str | None = None

    @abc.abstractmethod
    def catalog(self) -> Catalog:
        """What the vendor supports (may be fetched from the vendor)."""

    @abc.abstractmethod
    def read(self) -> RemoteState:
        """The vendor's current preferences for this subscriber, with their version."""

    @abc.abstractmethod
    def write(
        self, desired: PreferenceSet, *, base_version: str, idempotency_key: str
    ) -> RemoteState:
        """Ask the vendor to hold ``desired`` (already restricted to the catalog).

        Fields absent from ``desired`` are undecided: leave them as the vendor has them (do
        not reset them). The host's session never retries a POST or PATCH by itself; a PUT
        or DELETE is retried on connection errors and 502/503/504 with the same
        idempotency key.

        Args:
            desired: the desired state: every field the customer decided.
            base_version: the version the customer's change was based on; the vendor must
                refuse the write (:class:`VersionConflict`) if its state moved on.
            idempotency_key: the same for every retry of this write; the vendor must apply
                it at most once.

        Returns:
            The vendor's state after the write.
        """

    def check(self) -> str:
        """Check that the connection works; return a short description of what was seen.

        The default reads the catalog and the subscriber's preferences.
        """
        catalog = self.catalog()
        state = self.read()
        return (
            f"connected: {len(catalog.channels)} channels, {len(catalog.topics)} topics; "
            f"preferences at version {state.version}"
        )

    @classmethod
    def problems(cls) -> list[str]:
        """What is wrong with this connector class (empty when it can be loaded)."""
        out = []
        info = getattr(cls, "info", None)
        if not isinstance(info, ConnectorInfo):
            return ["no ConnectorInfo in `info`"]
        out += info.problems()
        names = [f.name for f in cls.config_fields]
        if len(names) != len(set(names)):
            out.append("config field names repeat")
        for f in cls.config_fields:
            if not isinstance(f, ConfigField):
                out.append(f"config_fields holds {f!r}, not a ConfigField")
            else:
                out += f.problems()
        missing = sorted(getattr(cls, "__abstractmethods__", ()))
        if missing:
            word = "missing method" if len(missing) == 1 else "missing methods"
            out.append(f"{word}: {', '.join(missing)}")
        return out

    @classmethod
    def config_problems(cls, config: Mapping[str, str]) -> list[str]:
        """Check non-secret settings before they are stored (override to add your own
        checks, e.g. that a URL is https). Return one readable sentence per problem."""
        return []

    @classmethod
    def config_defaults(cls) -> dict[str, str]:
        return {f.name: f.default for f in cls.config_fields if f.default is not None}


# --- talking to the vendor over HTTP (since API 1.2) ---------------------------------------


def _sendable(value: str) -> bool:
    """Whether ``value`` can go in an HTTP header as it is (Latin-1, no control character)."""
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return not any(ord(c) < 32 or ord(c) == 127 for c in value)


def check_base_url(url: str, *, field: str = "base_url") -> str:
    """``url`` without surrounding blanks or a trailing slash, if it may be a vendor's base URL.

    It must be ``https://``. Plain ``http://`` is accepted only for this machine's loopback
    address (``127.0.0.1``, ``::1``, ``localhost``) and only in test mode (tests, the demo,
    or ``CMR_TEST_MODE=1``): a real vendor is never reached without TLS. It must not carry a
    user name, password, query or fragment: credentials travel in a header only.

    Args:
        url: the address the customer gave.
        field: the setting's name, used in the message.

    Raises:
        ValueError: one sentence naming ``field`` and what is wrong (it never repeats a
            password found in the URL).
    """
    text = url.strip()
    if any(c.isspace() for c in text):
        raise ValueError(f"{field} is not a valid address: it holds a space or a line break")
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise ValueError(f"{field} is not a valid address") from None
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError(
            f"{field} must be a plain address, with no user name, password, '?...' or '#...'; "
            "the credentials have their own setting"
        )
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError(f"{field} {text!r} is not an https address")
    if parts.scheme == "http":
        if not _is_loopback(host):
            raise ValueError(f"{field} {text!r} must use https")
        if not _http.in_test_mode():
            raise ValueError(
                f"{field} {text!r} must use https (plain http to this machine only in test "
                f"mode: {_http.TEST_MODE_ENV}=1)"
            )
    return text.rstrip("/")


def base_url_problems(config: Mapping[str, str], field: str) -> list[str]:
    """:func:`check_base_url` for :meth:`Connector.config_problems`: ``[]`` when
    ``config[field]`` is an acceptable base URL, else the one sentence saying why not."""
    try:
        check_base_url(config.get(field, ""), field=field)
    except ValueError as exc:
        return [str(exc)]
    return []


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


class HttpAuth(Protocol):
    """How a request proves who sends it: one header built from one secret setting."""

    @property
    def secret_field(self) -> str:
        """The name of the :class:`ConfigField` (declared ``secret=True``) holding the
        credential."""
        ...

    def header(self, secret: str) -> tuple[str, str]:
        """The (name, value) of the header that carries ``secret``."""
        ...


@dataclass(frozen=True, slots=True)
class BearerAuth:
    """``Authorization: Bearer <secret>`` (OAuth 2 bearer tokens, RFC 6750).

    Attributes:
        secret_field: the secret setting holding the token.
    """

    secret_field: str

    def header(self, secret: str) -> tuple[str, str]:
        """``("Authorization", "Bearer <secret>")``."""
        return "Authorization", f"Bearer {secret}"


@dataclass(frozen=True, slots=True)
class HeaderAuth:
    """The secret in a header of the vendor's choosing (``X-Api-Key: <secret>``).

    Attributes:
        name: the header's name.
        secret_field: the secret setting holding the key.
        prefix: put before the secret (``"Token "`` for ``Authorization: Token <secret>``).
    """

    name: str
    secret_field: str
    prefix: str = ""

    def header(self, secret: str) -> tuple[str, str]:
        """``(name, prefix + secret)``."""
        return self.name, f"{self.prefix}{secret}"


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _text(value: object) -> str:
    return _CONTROL.sub(" ", str(value)).strip() if isinstance(value, str | int) else ""


@dataclass(frozen=True, slots=True)
class VendorProblem:
    """What a vendor's error answer says about why it refused.

    Attributes:
        message: the vendor's reason, one line ("" when it gave none).
        field: the offending field as the vendor names it (None when it did not say);
            a connector's ``problem`` reader translates it to ours (``channels.sms`` ...).
        code: the vendor's machine-readable error code ("" when none).
    """

    message: str = ""
    field: str | None = None
    code: str = ""

    @classmethod
    def from_body(cls, body: Any) -> VendorProblem:
        """Read the usual error shapes: RFC 9457 problem details (``detail``, ``title``,
        ``invalid-params: [{name, reason}]``) and the common ``{"code", "message",
        "errors": [{"field", "message"}]}`` (``error`` as a string too). Anything else
        (no JSON, another shape) gives an empty problem."""
        if not isinstance(body, dict):
            return cls()
        message = ""
        for key in ("detail", "message", "title", "error"):
            message = _text(body.get(key))
            if message:
                break
        field_name = None
        for key, name_key, reason_key in (
            ("invalid-params", "name", "reason"),
            ("errors", "field", "message"),
        ):
            items = body.get(key)
            if isinstance(items, list) and items and isinstance(items[0], dict):
                field_name = _text(items[0].get(name_key)) or None
                reason = _text(items[0].get(reason_key))
                if reason and reason not in message:
                    lead = f"{message}: " if message else ""
                    message = f"{lead}{field_name}: {reason}" if field_name else lead + reason
                break
        code = _text(body.get("code")) or _text(body.get("type"))
        return cls(message, field_name, code)


@dataclass(frozen=True)
class HttpResponse:
    """A vendor's answer, read to its end and decoded.

    Attributes:
        method: the request's method (``GET`` ...).
        path: the path asked for, below the base URL (``/catalog``): what messages name.
        status: the HTTP status code.
        headers: the answer's headers (case-insensitive).
        json: the decoded JSON body; None when the body was empty (or, for an error answer
            only, not JSON).
        problem: what an error answer says (empty for a success).
        vendor: the vendor's name, for messages.
        etag: the ``ETag`` header (the usual version token), or None.
        status_code: the same as ``status`` (the name ``requests`` uses).
    """

    method: str
    path: str
    status: int
    headers: Mapping[str, str]
    json: Any
    problem: VendorProblem = VendorProblem()
    vendor: str = "the vendor"

    @property
    def status_code(self) -> int:
        """The same as :attr:`status` (the name ``requests`` uses)."""
        return self.status

    @property
    def etag(self) -> str | None:
        """The ``ETag`` header (the usual version token), or None."""
        return self.headers.get("ETag")

    def required_header(self, name: str) -> str:
        """The value of header ``name``; :class:`InvalidResponse` when it is absent or
        empty (say, a vendor that sent no ``ETag``)."""
        value = self.headers.get(name, "").strip()
        if not value:
            raise InvalidResponse(
                f"{self.vendor}'s answer to {self.method} {self.path} has no {name} header"
            )
        return value

    def object(self) -> dict[str, Any]:
        """The body as a JSON object; :class:`InvalidResponse` naming the path when it is
        an array, a string, a number or empty."""
        if not isinstance(self.json, dict):
            raise InvalidResponse(
                f"{self.vendor}'s answer to {self.method} {self.path} is "
                f"{_json_kind(self.json)}, not a JSON object"
            )
        return self.json


def _json_kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, str):
        return "a JSON string"
    if isinstance(value, bool):
        return "a JSON true/false"
    return "a JSON number"


#: What a failed request is called in a message: never the library's words.
_FAILURES: tuple[tuple[str, str], ...] = (
    ("SSLError", "its TLS certificate was not accepted"),
    ("ProxyError", "the connection failed"),
    ("ChunkedEncodingError", "the answer was cut off"),
    ("ContentDecodingError", "the answer could not be decompressed"),
    ("TooManyRedirects", "it redirected too often"),
    ("InvalidURL", "the address is not valid"),
    ("ConnectionError", "the connection failed"),
)


def _failure_words(exc: BaseException) -> str:
    names = {cls.__name__ for cls in type(exc).__mro__}
    for name, words in _FAILURES:
        if name in names:
            return words
    return "the request failed"


class VendorHttp:
    """The HTTP plumbing of a connector, on the host's session (``context.session``).

    It builds the URL from a base URL setting (checked with :func:`check_base_url` on every
    request), adds the auth header from a secret setting, sends JSON, reads the answer
    within the session's deadline and size cap, and turns every failure into the typed
    error the host expects, with a message for the customer that never holds a secret or a
    library's words (and is raised with no library exception chained to it):

    ==============================  =================================================
    the answer                      raises
    ==============================  =================================================
    401, 403                        :class:`AuthenticationError`
    404                             :class:`NotFound` (naming the subject setting)
    409, 412                        :class:`VersionConflict`
    400, 422                        :class:`RejectedError` with the vendor's reason and
                                    ``field`` (see ``problem``)
    429                             :class:`RateLimited`, ``retry_after`` from the
                                    ``Retry-After`` header (seconds or an HTTP-date,
                                    parsed by urllib3)
    500-599 (503 ...)               :class:`TransientError`, ``retry_after`` likewise
    other 4xx                       :class:`PermanentError`
    1xx, 3xx (never followed)       :class:`InvalidResponse`
    no answer in time, or past      :class:`ConnectorTimeout`
    the session's deadline
    larger than the session's cap   :class:`InvalidResponse`
    a 2xx that is not JSON          :class:`InvalidResponse` naming the path
    network trouble                 :class:`TransientError`
    ==============================  =================================================

    Args:
        connector: the connector it works for (its settings, secrets and session).
        base_url_field: the non-secret setting holding the vendor's base URL.
        auth: how requests carry the credential (:class:`BearerAuth`,
            :class:`HeaderAuth`); None for a vendor without authentication.
        subject_field: the setting naming whose preferences these are (a subscriber or
            member id), quoted in the :class:`NotFound` message.
        vendor: the vendor's name in messages (default: the connector's ``info.name``).
        problem: reads an error answer's decoded JSON body (None when it was not JSON) into
            a :class:`VendorProblem`; None means :meth:`VendorProblem.from_body`. Give your
            own to translate the vendor's field names to ours.
        check: called with every answer before the standard mapping; raise a
            :class:`ConnectorError` there to map an answer your own way (a vendor-specific
            error code), or return to let the table above apply.

    Attributes:
        context: the connector's context (its session sends every request).
        base_url_field, auth, subject_field, vendor: as given (``vendor`` filled in).

    Raises:
        ValueError: ``base_url_field`` or ``auth.secret_field`` is not a setting the
            connector declares (the base URL must not be secret; the credential must be).
    """

    def __init__(
        self,
        connector: Connector,
        *,
        base_url_field: str,
        auth: HttpAuth | None = None,
        subject_field: str | None = None,
        vendor: str | None = None,
        problem: Callable[[Any], VendorProblem] | None = None,
        check: Callable[[HttpResponse], None] | None = None,
    ) -> None:
        fields = {f.name: f for f in type(connector).config_fields}
        owner = type(connector).__name__
        base = fields.get(base_url_field)
        if base is None or base.secret:
            raise ValueError(
                f"{owner}: base_url_field {base_url_field!r} is not a non-secret setting"
            )
        if auth is not None:
            secret = fields.get(auth.secret_field)
            if secret is None or not secret.secret:
                raise ValueError(
                    f"{owner}: auth.secret_field {auth.secret_field!r} is not a setting "
                    "declared with secret=True"
                )
        if subject_field is not None and subject_field not in fields:
            raise ValueError(f"{owner}: subject_field {subject_field!r} is not a setting")
        self.context = connector.context
        self.base_url_field = base_url_field
        self.auth = auth
        self.subject_field = subject_field
        self.vendor = vendor or type(connector).info.name
        self._fields = fields
        self._problem = problem or VendorProblem.from_body
        self._check = check

    # --- requests ---------------------------------------------------------------------------

    def get_json(self, path: str, *, headers: Mapping[str, str] | None = None) -> HttpResponse:
        """``GET`` ``path`` (below the base URL, starting with ``/``); the decoded answer."""
        return self.request("GET", path, headers=headers)

    def put_json(
        self,
        path: str,
        body: Any,
        *,
        if_match: str | None = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """``PUT`` ``body`` as JSON to ``path``.

        Args:
            path: below the base URL, starting with ``/``.
            body: anything :func:`json.dumps` takes.
            if_match: sent as ``If-Match`` (the version the write is based on).
            idempotency_key: sent as ``Idempotency-Key``.
            headers: more headers.
        """
        return self.request(
            "PUT", path, body=body, headers=_extra(headers, if_match, idempotency_key)
        )

    def post_json(
        self,
        path: str,
        body: Any,
        *,
        if_match: str | None = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """``POST`` ``body`` as JSON to ``path`` (as :meth:`put_json`). The host's session
        never retries a POST: make it idempotent with a key the vendor honours."""
        return self.request(
            "POST", path, body=body, headers=_extra(headers, if_match, idempotency_key)
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """Send one request and map its answer (the table in the class docstring).

        Args:
            method: ``GET``, ``PUT``, ``POST``, ``PATCH``, ``DELETE`` ...
            path: below the base URL, starting with ``/``; quote the parts you put in it
                (``urllib.parse.quote(member, safe="")``).
            body: sent as JSON when not None.
            headers: more headers (they cannot replace the auth header).

        Returns:
            The answer, when its status is 2xx and its body is JSON (or empty).
        """
        if not path.startswith("/"):
            raise ValueError(f"path {path!r} must start with '/'")
        try:
            base = check_base_url(
                self.context.config.get(self.base_url_field, ""), field=self.base_url_field
            )
        except ValueError as exc:
            raise RejectedError(
                f"bad connector settings: {exc}", field=self.base_url_field
            ) from None
        sent = {"Accept": "application/json", **(headers or {})}
        secret = ""
        if self.auth is not None:
            secret = self.context.secrets.get(self.auth.secret_field) or ""
            if not secret:
                label = _noun(self._fields[self.auth.secret_field].label)
                raise AuthenticationError(f"no {label} is stored for this brand; enter it again")
            name, value = self.auth.header(secret)
            if not _sendable(value):
                label = _noun(self._fields[self.auth.secret_field].label)
                raise AuthenticationError(
                    f"the stored {label} holds characters that cannot be sent (a line break, "
                    "or a letter outside Latin-1: was it pasted?); enter it again"
                )
            sent[name] = value
        failure = self._send(method, base + path, path, body, sent)
        if isinstance(failure, ConnectorError):
            # Raised here, outside any ``except``: no library exception (which may hold the
            # URL and the request) is chained to what the customer reads.
            raise failure
        answer = self._answer(method, path, failure, secret)
        if self._check is not None:
            self._check(answer)
        error = self.error_for(answer)
        if error is not None:
            raise error
        return answer

    def _send(
        self, method: str, url: str, path: str, body: Any, headers: Mapping[str, str]
    ) -> requests.Response | ConnectorError:
        try:
            return self.context.session.request(
                method,
                url,
                headers=dict(headers),
                json=body,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            said = f"{method} {path}"
            deadline = getattr(self.context.session, "deadline", None)
            if isinstance(exc, _http.DeadlineExceeded) and isinstance(deadline, int | float):
                said = f"no complete answer to {method} {path} within {deadline:g} s"
            return ConnectorTimeout(f"{self.vendor} did not answer in time ({said})")
        except _http.ResponseTooLarge as exc:
            return InvalidResponse(
                f"{self.vendor}'s answer to {method} {path} is larger than "
                f"{exc.limit / (1024 * 1024):g} MiB"
            )
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidHeader):
            return RejectedError(
                f"{self.vendor} cannot be asked: {method} {path} is not a request that can be "
                f"sent (check the {self.base_url_field} setting)",
                field=self.base_url_field,
            )
        except requests.RequestException as exc:
            return TransientError(f"cannot reach {self.vendor}: {_failure_words(exc)}")

    def _answer(
        self, method: str, path: str, response: requests.Response, secret: str
    ) -> HttpResponse:
        status = response.status_code
        content = response.content or b""
        decoded: Any = None
        bad_json = ""
        if content.strip():
            try:
                decoded = json.loads(content)
            except (ValueError, RecursionError) as exc:
                where = getattr(exc, "pos", None)
                what = getattr(exc, "msg", "") or "not valid JSON"
                bad_json = f"{what} at byte {where}" if where is not None else what
        problem = VendorProblem()
        if not 200 <= status < 300:
            read = self._problem(decoded)
            problem = VendorProblem(
                _clean(read.message, secret), read.field, _clean(read.code, secret)
            )
        elif bad_json:
            raise InvalidResponse(
                f"{self.vendor}'s answer to {method} {path} is not JSON ({bad_json})"
            )
        return HttpResponse(method, path, status, response.headers, decoded, problem, self.vendor)

    # --- the status mapping -----------------------------------------------------------------

    def error_for(self, answer: HttpResponse) -> ConnectorError | None:
        """The typed error for ``answer`` (the table in the class docstring); None for 2xx."""
        status = answer.status
        if 200 <= status < 300:
            return None
        said = f": {answer.problem.message}" if answer.problem.message else ""
        http = f"HTTP {status}{said}"
        vendor = self.vendor
        if status in (401, 403):
            what = "the credentials"
            if self.auth is not None:
                what = f"the {_noun(self._fields[self.auth.secret_field].label)}"
            return AuthenticationError(f"{vendor} refused {what} ({http}); enter it again")
        if status == 404:
            subject = "this subscriber"
            if self.subject_field is not None:
                value = str(self.context.config.get(self.subject_field, ""))[:40]
                subject = f"{_noun(self._fields[self.subject_field].label)} {value!r}"
            return NotFound(f"{vendor} does not know {subject} ({http})")
        if status in (409, 412):
            return VersionConflict(f"the data at {vendor} changed meanwhile ({http}); read again")
        if status in (400, 422):
            return RejectedError(
                f"{vendor} refused the request ({http})", field=answer.problem.field
            )
        wait = _http.parse_retry_after(answer.headers.get("Retry-After"))
        if status == 429:
            return RateLimited(f"{vendor} asks us to slow down ({http})", retry_after=wait)
        if 500 <= status < 600:
            return TransientError(f"{vendor} had a problem ({http})", retry_after=wait)
        if 400 <= status < 500:
            return PermanentError(
                f"unexpected answer from {vendor} to {answer.method} {answer.path} ({http})"
            )
        return InvalidResponse(
            f"unexpected answer from {vendor} to {answer.method} {answer.path}: HTTP {status}"
        )


def _noun(label: str) -> str:
    """A setting's label inside a sentence: "Access token" -> "access token", "API key"
    stays."""
    if len(label) > 1 and label[0].isupper() and not label[1].isupper():
        return label[0].lower() + label[1:]
    return label


def _extra(
    headers: Mapping[str, str] | None, if_match: str | None, idempotency_key: str | None
) -> dict[str, str]:
    out = dict(headers or {})
    if if_match is not None:
        out["If-Match"] = if_match
    if idempotency_key is not None:
        out["Idempotency-Key"] = idempotency_key
    return out


def _clean(text: str, secret: str) -> str:
    """Vendor text fit for a message: one line, at most 300 characters, no credential."""
    out = _http.redact(_CONTROL.sub(" ", text).strip(), (secret,) if secret else ())
    return out[:300]
