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
"""

from __future__ import annotations

import abc
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol

from cmr_desktop.domain.clock import Clock
from cmr_desktop.domain.fields import wire_path
from cmr_desktop.domain.preferences import Grant, PreferenceSet, QuietHours
from cmr_desktop.domain.vocabulary import Channel, DataCategory, Decision, Frequency, Purpose

if TYPE_CHECKING:
    import requests

__all__ = [
    "API_VERSION",
    "AuthenticationError",
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
    "VersionConflict",
    "api_major",
]

#: The version of this API. Semantic versioning; see the module docstring for the promise.
API_VERSION = "1.1.0"

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
