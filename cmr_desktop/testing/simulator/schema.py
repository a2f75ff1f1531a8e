"""Request bodies checked against the Open Preference API document itself.

The OpenAPI document (``resources/openapi/open-preference-api-v1.yaml``) is the one source of
truth for the shape of a body: the simulator compiles the request schemas of its
``components`` once per process and refuses a body they reject with ``400 invalid-body``
(what the document answers for "not of the documented shape"), naming the JSON path of the
offending value and the rule of the document it breaks, for example::

    $.preferences.channels.email.enabled: 'yes' is not of type 'boolean'
    (breaks #/components/schemas/ChannelPreferenceInput/properties/enabled/type)

Two validators are compiled from the same schemas: fastjsonschema decides (about 30x faster
than jsonschema on a write: the simulator serves thousands of writes in the sync benchmark),
and jsonschema, the reference implementation, explains a body once one is refused, and has the
last word: a body it accepts is accepted. Patterns are read as JSON Schema means them
(ECMA-262: ``$`` is the end of the string, not "before a final newline" as in Python's
``re``), by both, and the ``date`` format is jsonschema's check in both, so they agree (a test
holds them to it).

Nothing is imported or read until the first check (``cmr-vendor-sim`` calls :func:`warm` once
it has printed its start-up lines, so its first write need not wait):
the document and fastjsonschema then, jsonschema (about 0.3 s to import) only when a body is
first refused. The desktop app's start-up pays for none of it.
"""

from __future__ import annotations

import datetime as dt
import re
import reprlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmr_desktop.testing.simulator.problems import bad_body

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

SPEC_PATH = (
    Path(__file__).resolve().parent.parent.parent
    / "resources"
    / "openapi"
    / "open-preference-api-v1.yaml"
)
"""The Open Preference API v1 document."""

SPEC_URI = "urn:openpref:open-preference-api-v1"
"""The name the document is registered under (it has no ``$id``: nothing is fetched)."""

WRITE_BODY = "PreferencesUpdate"
"""The schema of ``PUT /subjects/{subject}/preferences`` (the document's ``requestBody``)."""

PREFERENCES = "PreferencesInput"
"""The schema of the preferences inside a write (also what the admin API stores)."""

_DOLLAR = re.compile(r"(?<!\\)\$")  # an unescaped $, read as ECMA-262 reads it: end of input


def ecma_pattern(pattern: str) -> str:
    """A JSON Schema ``pattern`` for Python's ``re``: ``$`` becomes ``\\Z`` (as fastjsonschema
    does), so ``"21:00\\n"`` does not pass for ``^...$``."""
    return _DOLLAR.sub(r"\\Z", pattern)


@dataclass(frozen=True)
class SchemaViolation:
    """Why a body breaks the document: where, what, and which rule."""

    path: str  # JSON path of the offending value, e.g. "$.preferences.grants[0]"
    message: str  # jsonschema's words, with the value shortened
    rule: str  # JSON pointer of the broken keyword in the document
    more: int = 0  # further violations of the same body

    def __str__(self) -> str:
        more = f"; and {self.more} more" if self.more else ""
        return f"{self.path}: {self.message} (breaks {self.rule}){more}"


class _Compiled:
    """One schema of the document's components: the fast check, and (made when a body is
    first refused, so that accepting one never imports jsonschema) the explaining one."""

    def __init__(self, name: str, fast: Callable[[Any], Any]) -> None:
        self.name = name
        self.fast = fast
        self._explain: tuple[Validator, dict[int, str]] | None = None

    def explainer(self) -> tuple[Validator, dict[int, str]]:
        """jsonschema's validator, and id(sub-schema) -> its JSON pointer in the document."""
        with _lock:
            if self._explain is None:
                self._explain = _explainer(self.name)
            return self._explain


_lock = threading.Lock()
_compiled: dict[str, _Compiled] = {}
_warming: threading.Thread | None = None
_DOC: dict[str, Any] | None = None


def check(name: str, body: Any, where: str = "$") -> None:
    """Refuse ``body`` unless schema ``name`` of the document's components accepts it.

    Args:
        name: e.g. :data:`WRITE_BODY` or :data:`PREFERENCES`.
        body: the decoded JSON.
        where: what the JSON path of an offending value starts with (``$`` for a body as
            sent, ``$.preferences`` for preferences inside one).

    Raises:
        ProblemError: 400 ``invalid-body`` naming the path and the broken rule.
    """
    violation = find_violation(name, body)
    if violation is not None:
        if where != "$":
            violation = SchemaViolation(
                where + violation.path[1:], violation.message, violation.rule, violation.more
            )
        raise bad_body(str(violation))


def find_violation(name: str, body: Any) -> SchemaViolation | None:
    """Why schema ``name`` refuses ``body`` (``None``: it accepts it)."""
    compiled = _schema(name)
    from fastjsonschema import JsonSchemaException

    try:
        compiled.fast(body)
        return None
    except JsonSchemaException:
        pass
    except RecursionError:  # nested past the interpreter's limit: refused, and said so
        return SchemaViolation("$", "nested too deeply", "#/components/schemas/" + name)
    validator, rules = compiled.explainer()
    try:
        errors = list(validator.iter_errors(body))
    except RecursionError:
        return SchemaViolation("$", "nested too deeply", "#/components/schemas/" + name)
    if not errors:
        return None  # jsonschema, the reference, accepts it
    path, message, rule = _explain(rules, errors)
    return SchemaViolation(path, message, rule, len(errors) - 1)


def verdicts(name: str, body: Any) -> tuple[bool, bool]:
    """Whether the fast and the reference validator accept ``body`` (they must agree)."""
    compiled = _schema(name)
    from fastjsonschema import JsonSchemaException

    try:
        compiled.fast(body)
        fast = True
    except JsonSchemaException:
        fast = False
    return fast, compiled.explainer()[0].is_valid(body)


def warm() -> None:
    """Compile the request schemas on a background thread, once per process (the first
    write need not wait for it; if it comes first, it waits for the same compile)."""
    global _warming
    with _lock:
        if _warming is not None or _compiled:
            return
        _warming = threading.Thread(target=_warm, name="openpref-schema", daemon=True)
        _warming.start()


def _warm() -> None:
    for name in (WRITE_BODY, PREFERENCES):
        _schema(name)


def _schema(name: str) -> _Compiled:
    compiled = _compiled.get(name)
    if compiled is None:
        with _lock:
            compiled = _compiled.get(name)
            if compiled is None:
                compiled = _compiled[name] = _Compiled(name, _fast(name))
    return compiled


def _document() -> dict[str, Any]:
    """The OpenAPI document, read once (call with ``_lock`` held)."""
    global _DOC
    if _DOC is None:
        import yaml  # type: ignore[import-untyped]  # (no stubs installed)

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: 5x faster
        _DOC = yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=loader)
    return _DOC


def _fast(name: str) -> Callable[[Any], Any]:
    import fastjsonschema

    validate: Callable[[Any], Any] = fastjsonschema.compile(
        # Draft-07 reading: the $ref alone counts, resolved in the document. The keywords
        # the request schemas use mean the same in draft-07 and 2020-12.
        {**_document(), "$ref": "#/components/schemas/" + name},
        formats={"date": is_date},
    )
    return validate


def _explainer(name: str) -> tuple[Validator, dict[int, str]]:
    from jsonschema import Draft202012Validator
    from jsonschema.validators import extend
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    doc = _document()
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(doc))
    ecma = extend(Draft202012Validator, {"pattern": _ecma_pattern_keyword})  # type: ignore[no-untyped-call]
    validator = ecma(
        {"$ref": f"{SPEC_URI}#/components/schemas/{name}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    return validator, _pointers(doc)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def is_date(value: str) -> bool:
    """The ``date`` format as jsonschema checks it (RFC 3339 full-date), for the fast check."""
    try:
        return bool(_DATE.fullmatch(value) and dt.date.fromisoformat(value))
    except ValueError:
        return False


def _ecma_pattern_keyword(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """jsonschema's ``pattern``, with ``$`` read as the end of the string (ECMA-262)."""
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not _regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_regexes: dict[str, re.Pattern[str]] = {}


def _regex(pattern: str) -> re.Pattern[str]:
    compiled = _regexes.get(pattern)
    if compiled is None:
        compiled = _regexes[pattern] = re.compile(ecma_pattern(pattern))
    return compiled


def _pointers(doc: dict[str, Any]) -> dict[int, str]:
    """id() of every object in the document -> its JSON pointer (``#/components/...``)."""
    out: dict[int, str] = {}

    def walk(node: Any, pointer: str) -> None:
        if isinstance(node, dict):
            out[id(node)] = pointer
            for key, value in node.items():
                walk(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{pointer}/{i}")

    walk(doc.get("components", {}), "#/components")
    return out


def _explain(rules: dict[int, str], errors: list[ValidationError]) -> tuple[str, str, str]:
    """(JSON path, message, rule) for the most relevant of ``errors`` (one level of them).

    jsonschema's ``best_match`` descends into a ``oneOf`` by its own relevance, which blames
    a deny grant's ``expires`` on "'allow' was expected". Here a ``oneOf`` whose branches
    are told apart by a constant (a grant's ``decision``) or by type (``quiet_hours``: null
    or an object) is explained by the one branch the value was meant for; when no branch is
    meant (a decision of neither kind), the constants are listed.
    """
    from jsonschema.exceptions import relevance

    error = max(errors, key=relevance)
    if error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        meant = [errs for errs in branches.values() if not any(map(_tells_apart, errs))]
        if len(meant) == 1:
            return _explain(rules, meant[0])
        consts = [sub for sub in error.context if sub.validator == "const" and sub.relative_path]
        if len(consts) == len(branches) and len({sub.json_path for sub in consts}) == 1:
            allowed = ", ".join(repr(sub.validator_value) for sub in consts)
            return (
                consts[0].json_path,
                f"{_short(consts[0].instance)} is not one of {allowed}",
                _rule(rules, error),
            )
        forms = "; ".join(sorted({_message(sub) for sub in error.context}))
        return (
            error.json_path,
            f"{_short(error.instance)} fits none of the allowed forms ({forms})",
            _rule(rules, error),
        )
    return error.json_path, _message(error), _rule(rules, error)


def _tells_apart(error: ValidationError) -> bool:
    """Does this error say the value is of another branch, not a broken one of this one?"""
    if error.validator in ("const", "enum"):
        return True
    return error.validator == "type" and not error.relative_path


def _rule(rules: dict[int, str], error: ValidationError) -> str:
    return f"{rules.get(id(error.schema), '#')}/{error.validator}"


def _message(error: ValidationError) -> str:
    """jsonschema's message, with the offending value shortened rather than the problem."""
    message = str(error.message)
    value = repr(error.instance)
    if message.startswith(value) and len(value) > 60:
        message = _short(error.instance) + message[len(value) :]
    return message if len(message) <= 300 else message[:297] + "..."


_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 50
_repr.maxlist = _repr.maxdict = 3
_repr.maxlevel = 2


def _short(value: Any) -> str:
    return _repr.repr(value)
