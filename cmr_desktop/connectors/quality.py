"""A connector's quality list: which promises it says it keeps (the model: Home Assistant's
integration quality scale, where each integration ships a ``quality_scale.yaml``).

Each connector package carries a small TOML file next to the connector's module, named
``<module>.quality.toml`` or ``quality.toml`` (``openpref.quality.toml`` for
``cmr_desktop.connectors.openpref``; ``quality.toml`` in a plugin package)::

    # What this connector meets; see "The quality list" in docs/plugins.md.
    level = "silver"

    [rules]
    metadata-valid = "done"
    conformance-kit-passes = "done"
    catalog-from-vendor = { status = "exempt", comment = "Acme publishes no catalog." }
    docs-mapping = "todo"

A rule is ``done``, ``todo`` or ``exempt`` (with a ``comment`` saying why it does not apply);
a rule left out counts as ``todo``. The levels are cumulative: a connector is at ``silver``
when every bronze and silver rule is done or exempt. The file is checked when it is read:
an unknown rule or level, a level the rules do not reach, or a rule the class visibly breaks
is listed in :attr:`Quality.problems` (and never stops the connector from loading).

Use :func:`quality_of` (cached per class); :data:`RULES` lists the rules by level.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cmr_desktop.connectors.api import Connector

#: The levels, lowest first; "none" is below them all.
LEVELS: tuple[str, ...] = ("bronze", "silver", "gold")

#: Every rule: name -> (level, the promise in one line). docs/plugins.md explains each.
RULES: Mapping[str, tuple[str, str]] = {
    # bronze: it can be set up, it is tested, it fails safely
    "metadata-valid": ("bronze", "ConnectorInfo and the settings are valid; id = entry point"),
    "config-validated": ("bronze", "config_problems() refuses bad settings before they are kept"),
    "conformance-kit-passes": ("bronze", "its tests run the conformance kit, and pass"),
    "typed-errors": ("bronze", "every failure is a typed ConnectorError with a readable message"),
    "no-secrets-in-logs": ("bronze", "secrets travel in headers only: never in URLs, logs, errors"),
    "docs-settings": ("bronze", "the README says what each setting is and where to find it"),
    # silver: it is reliable
    "version-conflicts-detected": ("silver", "a write on a stale version is a VersionConflict"),
    "idempotent-writes": ("silver", "a replayed idempotency key is applied once"),
    "partial-writes": ("silver", "fields the customer left undecided are left as they are"),
    "retry-after-honoured": ("silver", "Retry-After of 429/503 reaches the host as retry_after"),
    "host-session-only": ("silver", "every request goes through the host's session or helper"),
    "rejections-name-the-field": ("silver", "a refused value names our field (RejectedError)"),
    # gold: the best experience
    "catalog-from-vendor": ("gold", "what the vendor offers is read from the vendor"),
    "required-topic-reasons": ("gold", "required topics say why they cannot be turned off"),
    "mapping-tests": ("gold", "tests cover the vendor's own words both ways, beyond the kit"),
    "strict-typing": ("gold", "ships py.typed and passes mypy --strict"),
    "docs-mapping": ("gold", "the docs list the vendor's words and what they become"),
    "docs-troubleshooting": ("gold", "the docs say what each error means and what to do"),
}

STATUSES: tuple[str, ...] = ("done", "todo", "exempt")
_MET = ("done", "exempt")


@dataclass(frozen=True, slots=True)
class Quality:
    """What a connector's quality list says, checked.

    Attributes:
        level: the level its rules reach ("none", "bronze", "silver" or "gold").
        claimed: the level the file claims (None when there is no valid claim).
        rules: rule name -> "done", "todo" or "exempt" (every known rule; absent ones "todo").
        comments: rule name -> the file's comment (required for exempt rules).
        problems: what is wrong with the file, one line each (empty when it is sound).
        source: the file's name, or None when the connector has none.
    """

    level: str
    claimed: str | None
    rules: Mapping[str, str] = field(default_factory=dict)
    comments: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape shown by ``cmr connectors --json``."""
        return {
            "level": self.level,
            "claimed": self.claimed,
            "file": self.source,
            "done": [r for r, s in self.rules.items() if s == "done"],
            "exempt": {r: self.comments.get(r, "") for r, s in self.rules.items() if s == "exempt"},
            "todo": [r for r, s in self.rules.items() if s == "todo"],
            "problems": list(self.problems),
        }

    def summary(self) -> str:
        """One line for ``cmr connectors``: ``silver (2 todo)``, ``silver (claims bronze; 6
        todo)`` when it reaches more than the file claims, ``none: no quality list``."""
        todo = sum(1 for s in self.rules.values() if s == "todo")
        notes = [f"claims {self.claimed}"] if self.claimed and self.claimed != self.level else []
        notes += [f"{todo} todo"] if todo and self.source else []
        text = self.level + (f" ({'; '.join(notes)})" if notes else "")
        return text + (
            f"; {len(self.problems)} problem(s): {self.problems[0]}" if self.problems else ""
        )


def level_reached(rules: Mapping[str, str]) -> str:
    """The highest level whose rules, and those of the levels below, are all done or exempt."""
    reached = "none"
    for level in LEVELS:
        if any(rules.get(r, "todo") not in _MET for r, (lv, _) in RULES.items() if lv == level):
            break
        reached = level
    return reached


def parse(text: str, *, source: str, cls: type[Connector] | None = None) -> Quality:
    """Read and check a quality list. Never raises: what is wrong goes to ``problems``."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return Quality("none", None, _all_todo(), problems=(f"{source}: {exc}",), source=source)
    problems: list[str] = []
    for key in doc:
        if key not in ("level", "rules"):
            problems.append(f"{source}: unknown key {key!r} (only 'level' and [rules])")
    claimed = doc.get("level")
    if claimed is None:
        problems.append(f"{source}: no level (one of {', '.join(LEVELS)})")
    elif claimed not in LEVELS:
        problems.append(f"{source}: level {claimed!r} is not one of {', '.join(LEVELS)}")
        claimed = None
    rules, comments = _all_todo(), {}
    table = doc.get("rules", {})
    if not isinstance(table, dict):
        problems.append(f"{source}: 'rules' must be a table ([rules])")
        table = {}
    for name, value in table.items():
        status, comment, problem = _entry(name, value)
        if problem:
            problems.append(f"{source}: {problem}")
            continue
        rules[name] = status
        if comment:
            comments[name] = comment
    if cls is not None:
        problems += [f"{source}: {p}" for p in _contradictions(cls, rules)]
    reached = level_reached(rules)
    if claimed is not None and LEVELS.index(claimed) > _rank(reached):
        missing = [
            r
            for r, (lv, _) in RULES.items()
            if LEVELS.index(lv) <= LEVELS.index(claimed) and rules[r] not in _MET
        ]
        problems.append(
            f"{source}: claims {claimed}, but these rules are not done: {', '.join(missing)}"
        )
    return Quality(reached, claimed, rules, comments, tuple(problems), source)


def _rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


def _all_todo() -> dict[str, str]:
    return dict.fromkeys(RULES, "todo")


def _entry(name: str, value: Any) -> tuple[str, str, str]:
    """(status, comment, problem) of one ``[rules]`` entry."""
    if name not in RULES:
        close = difflib.get_close_matches(name, RULES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return "", "", f"unknown rule {name!r}{hint}"
    comment = ""
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"status", "comment"})
        if unknown:
            return "", "", f"rule {name!r}: unknown key {unknown[0]!r} (status, comment)"
        comment = value.get("comment", "")
        value = value.get("status")
        if not isinstance(comment, str):
            return "", "", f"rule {name!r}: the comment must be text"
    if value not in STATUSES:
        return "", "", f"rule {name!r}: status {value!r} is not one of {', '.join(STATUSES)}"
    if value == "exempt" and not comment.strip():
        return "", "", f"rule {name!r}: an exempt rule needs a comment saying why"
    return str(value), comment.strip(), ""


def _contradictions(cls: type[Connector], rules: Mapping[str, str]) -> list[str]:
    """Rules marked done that the class itself shows are not kept."""
    out = []
    if rules["metadata-valid"] == "done" and cls.problems():
        out.append(f"metadata-valid is done, but: {'; '.join(cls.problems())}")
    own = any("config_problems" in vars(k) for k in cls.__mro__ if k is not Connector)
    if rules["config-validated"] == "done" and not own:
        out.append("config-validated is done, but the class does not override config_problems()")
    return out


def _folder(cls: type[Connector]) -> tuple[Any, str]:
    """(the folder holding the connector's module, the module's short name)."""
    module = sys.modules.get(cls.__module__)
    spec = getattr(module, "__spec__", None)
    if spec is None:
        return None, ""
    if spec.submodule_search_locations is not None:  # the class lives in an __init__.py
        return importlib.resources.files(spec.name), "__init__"
    short = spec.name.rpartition(".")[2]
    if spec.parent:
        return importlib.resources.files(spec.parent), short
    return (Path(spec.origin).parent if spec.origin else None), short


@functools.cache
def quality_of(cls: type[Connector]) -> Quality:
    """The checked quality list of a connector class (cached). Never raises."""
    try:
        folder, short = _folder(cls)
        for name in (f"{short}.quality.toml", "quality.toml"):
            if folder is not None and (folder / name).is_file():
                text = (folder / name).read_text(encoding="utf-8")
                return parse(text, source=name, cls=cls)
    except Exception as exc:  # a plugin's own loader may raise anything: never break a listing
        return Quality(
            "none", None, _all_todo(), problems=(f"cannot read the quality list: {exc}",)
        )
    return Quality(
        "none",
        None,
        _all_todo(),
        problems=(f"no quality list: add quality.toml next to {cls.__module__}",),
    )


__all__ = ["LEVELS", "RULES", "STATUSES", "Quality", "level_reached", "parse", "quality_of"]
