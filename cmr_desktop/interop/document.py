"""The JSON export document, version 1 (schema: resources/schemas/export-v1.schema.json)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import reprlib
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cmr_desktop.domain.brand import BRAND_FIELDS, Brand, BrandFieldKind
from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.policy import MyTerms
from cmr_desktop.domain.preferences import PreferenceSet
from cmr_desktop.domain.vocabulary import RelationshipStatus, parse
from cmr_desktop.storage import BrandRecord

EXPORT_FORMAT = "cmr-desktop-export"
EXPORT_VERSION = 1
SCHEMA_FILE = (
    Path(__file__).resolve().parent.parent / "resources" / "schemas" / "export-v1.schema.json"
)
#: The largest file an import reads (an export of 10,000 brands is about 17 MB).
MAX_IMPORT_BYTES = 256 * 1024 * 1024
#: How deep a document may nest (an export nests 6 levels; the schema allows no more).
MAX_DEPTH = 64
#: How much of a value an error message shows.
SHOWN_CHARS = 80


class ImportProblem(ValueError):
    """An import document is broken. ``str()`` names the file, the place in it and the value.

    Attributes:
        source: the file (or "<input>").
        pointer: JSON Pointer to the bad place ("" for the whole document).
        detail: what is wrong there.
    """

    def __init__(self, source: str, pointer: str, detail: str) -> None:
        self.source, self.pointer, self.detail = source, pointer, readable(detail, 300)
        where = f" at {_shown_pointer(pointer)}" if pointer else ""
        super().__init__(f"{source}{where}: {self.detail}")


_LONG_QUOTED = re.compile(
    r"'(?:[^'\\\n]|\\.){N,}'|\"(?:[^\"\\\n]|\\.){N,}\"".replace("N", str(SHOWN_CHARS))
)


def _printable(text: str) -> str:
    """``text`` with control characters and lone surrogates escaped (one line, encodable)."""
    return text if text.isprintable() else repr(text)[1:-1]


def readable(text: str, limit: int = 300) -> str:
    """A message fit for one line: quoted values cut to about :data:`SHOWN_CHARS` characters
    with an ellipsis, anything unprintable escaped, the whole at most ``limit`` characters."""
    text = _printable(text)
    if len(text) <= SHOWN_CHARS:
        return text
    half = SHOWN_CHARS // 2 - 2
    text = _LONG_QUOTED.sub(lambda m: f"{m[0][:half]}...{m[0][-half:]}", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shown_pointer(pointer: str) -> str:
    """The pointer as shown: every part kept, a long part cut in its middle."""
    parts = [_printable(p) for p in pointer.split("/")]
    if len(parts) > 13:  # "/brands/0/notes/0/0/0/0/0/..." (a value nested too deeply)
        parts = [*parts[:11], "..."]
    cut = SHOWN_CHARS // 2
    return "/".join(
        p if len(p) <= cut else f"{p[: cut // 2 - 2]}...{p[-cut // 2 + 2 :]}" for p in parts
    )


@dataclass(frozen=True, slots=True)
class ImportData:
    """What a valid document holds, as domain objects."""

    brands: tuple[Brand, ...]
    policy: MyTerms


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _sorted_settings(value: Mapping[str, str]) -> dict[str, str]:
    return dict(sorted(value.items()))


def _same(value: Any) -> Any:
    return value


#: How a brand field of each kind is written into the document, from a Brand and from a
#: stored record (which holds the status as text and the tags as a list already).
_WRITE: Mapping[BrandFieldKind, Callable[[Any], Any]] = {
    BrandFieldKind.STATUS: lambda status: status.value,
    BrandFieldKind.TAGS: list,
    BrandFieldKind.SETTINGS: _sorted_settings,
    BrandFieldKind.STAMP: _iso,
}
_WRITE_BRAND = tuple((f.name, _WRITE.get(f.kind, _same), f.kind) for f in BRAND_FIELDS)
_WRITE_RECORD = tuple(
    (f.name, _sorted_settings if f.kind is BrandFieldKind.SETTINGS else _same) for f in BRAND_FIELDS
)


def brand_to_dict(brand: Brand) -> dict[str, Any]:
    """A brand as the export document holds it: every field of ``BRAND_FIELDS`` (the
    timestamps only when known), then its preferences."""
    out: dict[str, Any] = {}
    for name, write, kind in _WRITE_BRAND:
        value = getattr(brand, name)
        if kind is not BrandFieldKind.STAMP or value:
            out[name] = write(value)
    out["preferences"] = brand.preferences.to_dict()
    return out


def record_to_dict(record: BrandRecord) -> dict[str, Any]:
    """The same shape as :func:`brand_to_dict`, straight from a stored record (fast path)."""
    return {**_record_head(record), "preferences": record.preferences}


def record_json(record: BrandRecord, **extra: Any) -> str:
    """:func:`record_to_dict` as JSON text, with ``extra`` keys after the preferences.

    The stored preferences text is spliced in as it is: parsing and re-encoding it would
    double the time of a 10,000-brand listing.
    """
    head = _dumps(_record_head(record))
    tail = f", {_dumps(extra)[1:-1]}" if extra else ""
    return encodable(f'{head[:-1]}, "preferences": {record.preferences_json}{tail}}}')


_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def encodable(json_text: str) -> str:
    """``json_text`` with any lone surrogate written as its JSON escape (``\\ud800``).

    Such text cannot be written as UTF-8; it may be in a database from before imports refused
    it. Escaped, the export still says exactly what is stored, and writing it cannot fail.
    """
    try:
        json_text.encode("utf-8")
    except UnicodeEncodeError:
        return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m[0]):04x}", json_text)
    return json_text


def _record_head(record: BrandRecord) -> dict[str, Any]:
    return {name: write(getattr(record, name)) for name, write in _WRITE_RECORD}


def build_document(
    brands: Iterable[Brand | BrandRecord],
    policy: MyTerms,
    *,
    now: dt.datetime,
    app_version: str,
) -> dict[str, Any]:
    """The export document for ``brands`` and ``policy`` (brands in slug order)."""
    items = [
        record_to_dict(b) if isinstance(b, BrandRecord) else brand_to_dict(b)
        for b in sorted(brands, key=lambda b: b.slug)
    ]
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": _iso(now),
        "app_version": app_version,
        "policy": policy.to_dict(),
        "brands": items,
    }


@functools.cache
def export_schema() -> dict[str, Any]:
    """The JSON Schema of export v1."""
    schema: dict[str, Any] = _ecma_patterns(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    return schema


def _ecma_patterns(node: Any) -> Any:
    """``node`` with every ``pattern`` read as JSON Schema means it (ECMA-262), not as Python's
    ``re`` would: there ``\\d`` is any Unicode digit ("１３:00" would pass) and ``$`` also
    matches before a final newline ("acme\\n" would pass)."""
    if isinstance(node, dict):
        return {
            k: _ecma_pattern(v) if k == "pattern" and isinstance(v, str) else _ecma_patterns(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_ecma_patterns(v) for v in node]
    return node


def _ecma_pattern(pattern: str) -> str:
    pattern = re.sub(r"(?<!\\)\\d", "[0-9]", pattern)
    return (
        pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern
    )


@functools.cache
def _fast_validator() -> Callable[[Any], Any]:
    # fastjsonschema compiles the schema to Python code: about 10x faster than jsonschema on
    # a 10,000-brand file, which the import time budget needs. Its messages are terse, so
    # jsonschema explains an error once one is found (see _explain).
    import fastjsonschema  # imported here: `cmr brand list` should not pay for it

    validate: Callable[[Any], Any] = fastjsonschema.compile(_inline_refs(export_schema()))
    return validate


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every local ``$ref`` replaced by its target (the schema has no cycles).

    fastjsonschema builds a readable name for every ``$ref`` call eagerly (a ``str.format``
    per grant field); inlined, a 10,000-brand file validates in two thirds of the time.
    """
    definitions = schema.get("definitions", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/definitions/"):
                return resolve(definitions[ref.removeprefix("#/definitions/")])
            return {k: resolve(v) for k, v in node.items() if k != "definitions"}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    inlined: dict[str, Any] = resolve(schema)
    return inlined


def _explain(doc: dict[str, Any], path: Sequence[str]) -> tuple[str, str]:
    """Re-check the failing part with jsonschema for a precise, readable message."""
    import jsonschema
    from jsonschema.exceptions import best_match

    schema = export_schema()
    prefix: list[Any] = []
    target: Any = doc
    sub_schema: dict[str, Any] = schema
    if len(path) >= 2 and path[0] == "brands" and str(path[1]).isdigit():
        prefix = ["brands", int(path[1])]
        target = doc["brands"][int(path[1])]
        sub_schema = {"definitions": schema["definitions"], **schema["definitions"]["brand"]}
    elif isinstance(doc.get("brands"), list):
        target = {**doc, "brands": []}
    error = best_match(jsonschema.Draft7Validator(sub_schema).iter_errors(target))
    if error is None:  # the two validators disagree (rare): still name the value
        value: Any = doc
        try:
            for part in path:
                value = value[int(part)] if isinstance(value, list) else value[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return _pointer(path), "does not match the export schema"
        return _pointer(path), f"{reprlib.repr(value)} does not match the export schema"
    return _pointer([*prefix, *error.absolute_path]), _describe(error)


def _pointer(path: Iterable[Any]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else ""


def validate_document(doc: Any, source: str = "<input>") -> None:
    """Check ``doc`` against the export schema; raise :class:`ImportProblem` on the first error.

    The format and version are checked first so an old or foreign file gets a plain answer.
    """
    if not isinstance(doc, dict):
        raise ImportProblem(source, "", f"expected a JSON object, found {type(doc).__name__}")
    if doc.get("format") != EXPORT_FORMAT:
        raise ImportProblem(
            source,
            "/format",
            f"not a CMR Desktop export (format is {reprlib.repr(doc.get('format'))}, "
            f"expected {EXPORT_FORMAT!r})",
        )
    version = doc.get("version")
    if version != EXPORT_VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version > EXPORT_VERSION:
            detail = (
                f"export version {version} is newer than this CMR Desktop reads "
                f"(up to {EXPORT_VERSION}); update CMR Desktop"
            )
        else:
            detail = f"unsupported export version {version!r} (expected {EXPORT_VERSION})"
        raise ImportProblem(source, "/version", detail)
    from fastjsonschema import JsonSchemaValueException

    try:
        _fast_validator()(doc)
    except JsonSchemaValueException as exc:
        path = [str(p) for p in (exc.path or [])[1:]]
        flaw = first_flaw(doc)  # explaining a value nested 900 deep would exhaust the stack
        if flaw is not None:
            raise ImportProblem(source, _pointer(flaw[0]), flaw[1]) from None
        try:
            pointer, detail = _explain(doc, path)
        except Exception:  # incl. RecursionError: the fast validator's words still name it
            pointer, detail = _pointer(path), _short(exc.message)
        raise ImportProblem(source, pointer, detail) from None
    except RecursionError:
        raise ImportProblem(
            source, "", f"too deeply nested (more than {MAX_DEPTH} levels)"
        ) from None


def _short(message: str) -> str:
    return message if len(message) <= 300 else message[:297] + "..."


def _describe(error: Any) -> str:
    """jsonschema's message, with the offending value shortened rather than the problem."""
    message = str(error.message)
    value = repr(error.instance)
    if message.startswith(value) and len(value) > 60:
        short = reprlib.Repr()
        short.maxstring = short.maxother = 50
        short.maxlist = short.maxdict = 3
        message = short.repr(error.instance) + message[len(value) :]
    return _short(message)


def _datetime(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise DomainError(f"invalid timestamp {value!r}") from None


#: How a brand field of each kind is read from the document, and its value when absent.
_READ: Mapping[BrandFieldKind, tuple[Callable[[Any], Any], Any]] = {
    BrandFieldKind.STATUS: (lambda text: parse(RelationshipStatus, text), None),
    BrandFieldKind.TAGS: (tuple, ()),
    BrandFieldKind.SETTINGS: (dict, {}),
    BrandFieldKind.STAMP: (_datetime, None),
}
_READ_FIELDS = tuple((f.name, *_READ.get(f.kind, (_same, ""))) for f in BRAND_FIELDS)


def brand_from_dict(data: Mapping[str, Any]) -> Brand:
    """Inverse of :func:`brand_to_dict` (for a document the schema accepted)."""
    values = {name: read(data.get(name, absent)) for name, read, absent in _READ_FIELDS}
    return Brand(**values, preferences=PreferenceSet.from_dict(data["preferences"]))


def parse_document(doc: Any, source: str = "<input>") -> ImportData:
    """Validate ``doc`` and turn it into domain objects, or raise :class:`ImportProblem`."""
    validate_document(doc, source)
    brands: list[Brand] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(doc["brands"]):
        where = f"/brands/{i}"
        if item["slug"] in seen:
            raise ImportProblem(
                source,
                f"{where}/slug",
                f"brand id {item['slug']!r} appears twice (also at /brands/{seen[item['slug']]})",
            )
        seen[item["slug"]] = i
        pairs = [(g["category"], g["purpose"]) for g in item["preferences"]["grants"]]
        if len(pairs) != len(set(pairs)):
            dup = next(p for p in pairs if pairs.count(p) > 1)
            raise ImportProblem(
                source, f"{where}/preferences/grants", f"{dup[0]}:{dup[1]} is given twice"
            )
        try:
            brands.append(brand_from_dict(item))
        except (DomainError, ValueError, OverflowError) as exc:
            raise ImportProblem(source, where, str(exc)) from None
    try:
        policy = MyTerms.from_dict(doc["policy"])
    except DomainError as exc:
        raise ImportProblem(source, "/policy", str(exc)) from None
    return ImportData(tuple(brands), policy)


def read_capped(path: Path, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` (default
    :data:`MAX_IMPORT_BYTES`), or :class:`ImportProblem` saying why not.

    A named pipe, a device (``/dev/zero``) or a folder is refused before anything is read:
    reading one could wait for ever or never end.
    """
    source = str(path)
    limit = MAX_IMPORT_BYTES if limit is None else limit
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)  # non-blocking: opening a named pipe would wait for a writer
    except OSError as exc:
        raise ImportProblem(source, "", f"cannot read the file ({exc.strerror or exc})") from None
    try:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise ImportProblem(source, "", f"{_kind(info.st_mode)}, not a file; give a file")
            if info.st_size > limit:
                raise ImportProblem(source, "", _too_big(info.st_size, limit))
            fh = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
        with fh:
            raw = fh.read(limit + 1)  # the file may grow while it is read
    except OSError as exc:
        raise ImportProblem(source, "", f"cannot read the file ({exc.strerror or exc})") from None
    if len(raw) > limit:
        raise ImportProblem(source, "", _too_big(len(raw), limit))
    return raw


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _too_big(size: int, limit: int) -> str:
    return (
        f"the file is too big ({size / 2**20:,.1f} MiB; an import reads at most "
        f"{limit / 2**20:,.0f} MiB)"
    )


class _Duplicated(dict[str, Any]):
    """A JSON object in which a key appears more than once (the last value is kept)."""

    duplicate: str = ""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    marked = _Duplicated(obj)
    marked.duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
    return marked


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


#: A JSON escape of a UTF-16 surrogate: the only way a lone surrogate gets into parsed text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def decode_json(raw: bytes, source: str) -> tuple[Any, bool]:
    """Parse ``raw`` strictly: text that is not valid UTF-8 (or UTF-16/32 with its mark) is
    refused naming the byte offset, and so are NaN and Infinity.

    Returns:
        The value, and whether it may hold a flaw that :func:`first_flaw` finds (a key given
        twice in one object, a lone surrogate, nesting deeper than :data:`MAX_DEPTH`).
    """
    skipped = 0
    if raw.startswith(b"\xef\xbb\xbf"):
        raw, skipped = raw[3:], 3  # a UTF-8 byte order mark, as some editors write
    encoding = json.detect_encoding(raw)
    try:
        # Strict: json.loads(bytes) would decode with "surrogatepass" and let CESU-8 through.
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        name = "UTF-8" if encoding == "utf-8" else encoding.upper()
        bad = raw[exc.start : min(exc.end, exc.start + 4)].hex(" ")
        raise ImportProblem(
            source, "", f"not {name} text: invalid bytes {bad} at byte offset {exc.start + skipped}"
        ) from None
    duplicates: list[bool] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = _object(pairs)
        if type(obj) is _Duplicated and not duplicates:
            duplicates.append(True)
        return obj

    try:
        value = json.loads(text, object_pairs_hook=hook, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise ImportProblem(
            source, "", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise ImportProblem(
            source, "", f"not valid JSON: too deeply nested (more than {MAX_DEPTH} levels)"
        ) from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits, NaN
        raise ImportProblem(source, "", f"not valid JSON: {exc}") from None
    return value, bool(duplicates) or _SURROGATE_ESCAPE.search(text) is not None


def first_flaw(value: Any, prefix: Sequence[Any] = ()) -> tuple[list[Any], str] | None:
    """The first place in ``value`` that no valid document has, and what is wrong there: a
    key given twice in one object, text that is not valid Unicode (a lone surrogate), or
    nesting deeper than :data:`MAX_DEPTH`. None when there is none.

    Iterative, so no nesting can exhaust Python's stack.
    """
    stack: list[tuple[Any, list[Any]]] = [(value, list(prefix))]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if not _is_unicode(node):
                return path, f"not valid UTF-8 text ({_surrogate(node)})"
            continue
        if len(path) - len(prefix) > MAX_DEPTH:
            return path[
                : len(prefix) + MAX_DEPTH
            ], f"too deeply nested (more than {MAX_DEPTH} levels)"
        if isinstance(node, dict):
            if isinstance(node, _Duplicated):
                return path, f"the key {node.duplicate!r} appears twice in one object"
            items = list(node.items())
            for key, _ in items:
                if not _is_unicode(key):
                    return [*path, key], f"a key that is not valid UTF-8 text ({_surrogate(key)})"
            stack.extend((v, [*path, k]) for k, v in reversed(items))
        elif isinstance(node, list):
            stack.extend((v, [*path, i]) for i, v in reversed(list(enumerate(node))))
    return None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _surrogate(text: str) -> str:
    bad = next(c for c in text if 0xD800 <= ord(c) <= 0xDFFF)
    return f"a lone surrogate \\u{ord(bad):04x}"


def load_json_file(path: Path, *, strict: bool = True) -> Any:
    """Read a JSON file, or raise :class:`ImportProblem` saying why it cannot be read.

    Args:
        strict: also refuse a key given twice, text that is not valid Unicode and nesting
            deeper than :data:`MAX_DEPTH`, naming the place (see :func:`first_flaw`).
            Without it the caller checks the parts it reads.
    """
    source = str(path)
    value, suspect = decode_json(read_capped(path), source)
    if strict and suspect:
        flaw = first_flaw(value)
        if flaw is not None:
            raise ImportProblem(source, _pointer(flaw[0]), flaw[1])
    return value


def read_document(path: Path) -> ImportData:
    """Read, validate and parse an export file."""
    return parse_document(load_json_file(path), str(path))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def dump_array(items: Iterable[Any], indent: str = "") -> str:
    """A JSON array with one item per line: readable, diff-friendly, and written by the C
    encoder (``json.dumps(indent=...)`` falls back to pure Python, 10x slower on big files)."""
    return join_array((_dumps(item) for item in items), indent)


def join_array(lines: Iterable[str], indent: str = "") -> str:
    """A JSON array of already-encoded items, one per line."""
    body = f",\n{indent}  ".join(lines)
    return f"[\n{indent}  {body}\n{indent}]" if body else "[]"


def dump_document(doc: Mapping[str, Any], brand_lines: Iterable[str] | None = None) -> str:
    """The export as text: top-level keys on their own lines, then one brand per line.

    Args:
        doc: the document; its ``brands`` are encoded unless ``brand_lines`` is given.
        brand_lines: the brands already encoded (see :func:`record_json`).
    """
    lines = [f"  {_dumps(k)}: {_dumps(v)}" for k, v in doc.items() if k != "brands"]
    if brand_lines is None:
        brand_lines = (_dumps(b) for b in doc.get("brands", ()))
    lines.append(f'  "brands": {join_array(brand_lines, indent="  ")}')
    return encodable("{\n" + ",\n".join(lines) + "\n}\n")


def sorted_brands(brands: Sequence[Brand]) -> list[Brand]:
    return sorted(brands, key=lambda b: b.slug)
