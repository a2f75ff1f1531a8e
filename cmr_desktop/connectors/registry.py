"""Finding, validating and loading connector plugins (ARCHITECTURE 3.4).

Connectors are found through the entry-point group ``cmr_desktop.connectors`` (name -> class),
built-ins included. Each is loaded inside its own ``try``: a plugin that fails to import, is
built for another major API version, or misses a method is listed with the reason and skipped;
the app and the other connectors keep working.

Hooks are verified at discovery (pluggy's hook verification is the model), so a mistake shows
in ``cmr connectors`` instead of at the first sync: see :func:`hook_problems`.
"""

from __future__ import annotations

import importlib.metadata as md
import inspect
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cmr_desktop.connectors.api import API_VERSION, Connector, api_major

GROUP = "cmr_desktop.connectors"


class Status(StrEnum):
    OK = "ok"
    INCOMPATIBLE = "incompatible"  # built for another major API version
    BROKEN = "broken"  # failed to import, or its hooks do not match the API
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


# --- verifying a connector's hooks ---------------------------------------------------------

#: Names a connector class may define that are not hooks (set by the host or the base class).
_NOT_HOOKS = frozenset({"info", "context"})


def _api_names() -> dict[str, object]:
    """Connector's public names, each with its raw attribute (None for ``info``, ``context``)."""
    names: dict[str, object] = {name: None for name in _NOT_HOOKS}
    for name in dir(Connector):
        if not name.startswith("_"):
            names[name] = inspect.getattr_static(Connector, name)
    return names


_API = _api_names()
#: The hooks: Connector's public methods (``catalog``, ``read``, ``write``, ``check``, and the
#: class methods ``problems``, ``config_problems``, ``config_defaults``).
HOOKS = frozenset(
    name
    for name, raw in _API.items()
    if isinstance(raw, classmethod | staticmethod) or inspect.isfunction(raw)
)


def _typo_distance(a: str, b: str) -> int:
    """Edits (insert, delete, change, swap two neighbours) from ``a`` to ``b``."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, rows[-2][j - 2] + 1)
            row.append(cost)
        rows.append(row)
    return rows[-1][-1]


def _looks_like(name: str) -> str | None:
    """The API name ``name`` is a likely typo of (``raed`` -> ``read``), if any."""
    key = name.lower().replace("_", "")
    for known in sorted(_API):
        target = known.replace("_", "")
        if _typo_distance(key, target) <= (1 if len(target) <= 5 else 2):
            return known
    return None


def _plain(sig: inspect.Signature) -> str:
    """A signature without annotations (they are strings under postponed evaluation)."""
    return str(
        sig.replace(
            parameters=[p.replace(annotation=p.empty) for p in sig.parameters.values()],
            return_annotation=sig.empty,
        )
    )


def _func(raw: object) -> Any:
    """The function behind a method, class method or static method, and behind a decorator
    that says what it wraps (``functools.cache``, ``functools.wraps``)."""
    func = raw.__func__ if isinstance(raw, classmethod | staticmethod) else raw
    return inspect.unwrap(func) if callable(func) and hasattr(func, "__wrapped__") else func


def _could_be(klass: type, name: str, like: str) -> bool:
    """Whether ``klass``'s ``name`` could be a misspelt ``like``: not when the same class
    defines ``like`` too (then ``name`` is a helper of its own), and for a hook only a
    function the host's call could reach (a helper needing more arguments than the hook is
    given, such as ``problem(self, body)``, is not ``problems()``)."""
    if like in vars(klass):
        return False
    if like not in HOOKS:
        return True
    raw = vars(klass)[name]
    called = _as_called(raw)
    if called is None:
        return False  # a constant or an attribute, not a misspelt method
    expected, _ = _as_called(inspect.getattr_static(Connector, like)) or (
        inspect.Signature(),
        False,
    )
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    given = sum(1 for p in expected.parameters.values() if p.kind in positional)
    required = [
        p for p in called[0].parameters.values() if p.default is p.empty and p.kind in positional
    ]
    return len(required) <= given


def _as_called(raw: object) -> tuple[inspect.Signature, bool] | None:
    """The signature the host's call meets (self or cls taken off), and whether a receiver
    was dropped; None when ``raw`` is not a function."""
    func = _func(raw)
    if not inspect.isfunction(func):
        return None
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    if isinstance(raw, staticmethod):
        return sig, False
    if params and params[0].kind is params[0].VAR_POSITIONAL:
        return sig, True  # *args takes the receiver too
    if not params or params[0].kind not in (
        params[0].POSITIONAL_ONLY,
        params[0].POSITIONAL_OR_KEYWORD,
    ):
        return sig, False
    return sig.replace(parameters=params[1:]), True


def _hook_problem(cls: type[Connector], name: str) -> str | None:
    """What is wrong with ``cls``'s override of hook ``name`` (None when it fits)."""
    base = inspect.getattr_static(Connector, name)
    raw = inspect.getattr_static(cls, name)
    if raw is base:
        return None
    if isinstance(base, classmethod) and not isinstance(raw, classmethod | staticmethod):
        return f"{name} must be a @classmethod, as in the API (the host calls it on the class)"
    called = _as_called(raw)
    if called is None:
        return f"{name} is a {type(raw).__name__}, not a method"
    func = _func(raw)
    if inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func):
        return f"{name} must not be async (the host calls it in a worker thread)"
    sig, has_receiver = called
    if not has_receiver and not isinstance(raw, staticmethod):
        return f"{name}{_plain(sig)} has no self parameter"
    expected, _ = _as_called(base) or (inspect.Signature(), False)
    args = [
        p.name
        for p in expected.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    kwargs = {p.name: p.name for p in expected.parameters.values() if p.kind is p.KEYWORD_ONLY}
    try:
        sig.bind(*args, **kwargs)
    except TypeError as exc:
        own, wanted = _plain(inspect.signature(func)), _plain(inspect.signature(_func(base)))
        return f"{name}{own} does not match the API's {name}{wanted}: {exc}"
    return None


def hook_problems(cls: type[Connector]) -> list[str]:
    """What is wrong with the hooks ``cls`` defines, one line each naming the method.

    The rule (pluggy's hook verification is the model):

    - every hook a class below :class:`Connector` defines (``catalog``, ``read``, ``write``,
      ``check``, ``problems``, ``config_problems``, ``config_defaults``) must take the call
      the host makes: the API's parameters (checked with ``inspect.signature``), extra ones
      only with a default; a class method stays a class method; none may be async;
    - a public name that is not the API's but is a likely typo of one (``raed``, ``wirte``,
      ``config_problem``, ``config_field``: one edit away for names of up to five letters,
      two for longer ones, ignoring case and ``_``) is an unknown hook, unless the same
      class defines the real one too, or it is no method the host's call could reach (a
      constant, an attribute, or a method needing more arguments than the hook is given).
      Helpers that are not hooks are fine under any other name, or with a leading ``_``.
    """
    out: list[str] = []
    seen: set[str] = set()
    for klass in cls.__mro__:
        if klass is Connector or not issubclass(klass, Connector):
            break
        for name in vars(klass):
            if name in seen or name.startswith("_"):
                continue
            seen.add(name)
            if name in HOOKS:
                problem = _hook_problem(cls, name)
                if problem:
                    out.append(problem)
            elif name not in _API and not name.isupper():  # CONSTANTS are no hooks
                like = _looks_like(name)
                if like is not None and _could_be(klass, name, like):
                    kind = "hook" if like in HOOKS else "attribute"
                    out.append(
                        f"unknown {kind} {name!r} in {klass.__name__}: did you mean {like!r}? "
                        "(rename it, or start a helper's name with '_')"
                    )
    return out


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
    broken = hook_problems(obj)
    if broken:
        more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
        return ConnectorEntry(
            ep.name, name, version, package, Status.BROKEN, (broken[0] + more)[:300], api
        )
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
