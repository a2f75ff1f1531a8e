"""Finding, validating and loading connector plugins (ARCHITECTURE 3.4).

Connectors are found through the entry-point group ``cmr_desktop.connectors`` (name -> class),
built-ins included. Each is loaded inside its own ``try``: a plugin that fails to import, is
built for another major API version, or misses a method is listed with the reason and skipped;
the app and the other connectors keep working.
"""

from __future__ import annotations

import importlib.metadata as md
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from cmr_desktop.connectors.api import API_VERSION, Connector, api_major

GROUP = "cmr_desktop.connectors"


class Status(StrEnum):
    OK = "ok"
    INCOMPATIBLE = "incompatible"  # built for another major API version
    BROKEN = "broken"  # failed to import
    INVALID = "invalid"  # imported, but not a usable connector


@dataclass(frozen=True, slots=True)
class ConnectorEntry:
    """One discovered connector, usable or not.

    Attributes:
        id: the entry-point name.
        name / version: from the connector's metadata (empty when it could not be loaded).
        package: the distribution that provides it, with its version.
        status: ok, incompatible, broken or invalid.
        reason: why it is not ok (one line).
        cls: the connector class when status is ok.
    """

    id: str
    name: str
    version: str
    package: str
    status: Status
    reason: str = ""
    api_version: str = ""
    cls: type[Connector] | None = None

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "api_version": self.api_version,
            "package": self.package,
            "status": self.status.value,
            "reason": self.reason,
        }


class UnknownConnector(LookupError):
    """No usable connector with that id; the message says why and lists what there is."""


def _package(ep: md.EntryPoint) -> str:
    dist = ep.dist
    if dist is None:
        return "?"
    return f"{dist.metadata['Name']} {dist.version}"


def load_entry(ep: md.EntryPoint) -> ConnectorEntry:
    """Load and validate one entry point. Never raises."""
    package = _package(ep)
    try:
        obj = ep.load()
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        reason = f"failed to import {ep.value}: {type(exc).__name__}: {exc}"
        return ConnectorEntry(ep.name, "", "", package, Status.BROKEN, reason[:300])
    if not (isinstance(obj, type) and issubclass(obj, Connector)):
        return ConnectorEntry(
            ep.name,
            "",
            "",
            package,
            Status.INVALID,
            f"{ep.value} is not a subclass of cmr_desktop.connectors.api.Connector",
        )
    info = getattr(obj, "info", None)
    name = getattr(info, "name", "")
    version = getattr(info, "version", "")
    api = getattr(info, "api_version", "")
    problems = obj.problems()
    if problems:
        return ConnectorEntry(
            ep.name, name, version, package, Status.INVALID, "; ".join(problems)[:300], api
        )
    assert info is not None
    if info.id != ep.name:
        return ConnectorEntry(
            ep.name,
            name,
            version,
            package,
            Status.INVALID,
            f"entry point is named {ep.name!r} but the connector's id is {info.id!r}",
            api,
        )
    if api_major(info.api_version) != api_major(API_VERSION):
        return ConnectorEntry(
            ep.name,
            name,
            version,
            package,
            Status.INCOMPATIBLE,
            f"built for plugin API {info.api_version}; this CMR Desktop provides {API_VERSION}",
            api,
        )
    return ConnectorEntry(ep.name, name, version, package, Status.OK, "", api, obj)


class Registry:
    """The connectors of this installation."""

    def __init__(self, entries: Iterable[ConnectorEntry]) -> None:
        self._entries: dict[str, ConnectorEntry] = {}
        for entry in entries:
            current = self._entries.get(entry.id)
            # Two packages claiming one id: keep the usable one, and say so.
            if current is None or (current.status is not Status.OK and entry.status is Status.OK):
                self._entries[entry.id] = entry

    @classmethod
    def discover(cls, entry_points: Iterable[md.EntryPoint] | None = None) -> Registry:
        """Find and load every connector registered in the ``cmr_desktop.connectors`` group."""
        eps = md.entry_points(group=GROUP) if entry_points is None else entry_points
        seen: set[tuple[str, str, str]] = set()
        loaded = []
        for ep in eps:
            # Editable installs can list the same entry point twice.
            key = (ep.name, ep.value, _package(ep))
            if key in seen:
                continue
            seen.add(key)
            loaded.append(load_entry(ep))
        return cls(loaded)

    def entries(self) -> list[ConnectorEntry]:
        """Every discovered connector, usable or not, by id."""
        return sorted(self._entries.values(), key=lambda e: e.id)

    def available(self) -> list[str]:
        return [e.id for e in self.entries() if e.status is Status.OK]

    def get(self, connector_id: str) -> type[Connector]:
        """The class of a usable connector.

        Raises:
            UnknownConnector: not installed, or installed but unusable (with the reason).
        """
        entry = self._entries.get(connector_id)
        if entry is None:
            raise UnknownConnector(
                f"unknown connector {connector_id!r} (available: {', '.join(self.available())})"
            )
        if entry.cls is None:
            raise UnknownConnector(
                f"connector {connector_id!r} is {entry.status.value}: {entry.reason}"
            )
        return entry.cls
