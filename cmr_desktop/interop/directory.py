"""Read a company directory in the datenanfragen/data format (``resources/directory``).

The file is a JSON array of records. Each record is checked against that project's JSON
Schema (bundled); a record that does not match is reported (its index, slug and the
reason) and skipped as a whole, never half imported. A file that is not such an array is
refused with nothing imported.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cmr_desktop.domain.directory import DirectoryEntry
from cmr_desktop.interop.document import ImportProblem, first_flaw, load_json_file, readable


def bundled_directory() -> Path:
    """The directory that ships with the app (3,069 organisations, CC0)."""
    return Path(__file__).resolve().parent.parent / "resources" / "directory" / "companies.json"


@functools.cache
def _schema() -> dict[str, Any]:
    path = bundled_directory().with_name("schema.json")
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


@functools.cache
def _validator() -> Callable[[Any], Any]:
    import fastjsonschema  # compiled once: 3,000 records in about 40 ms

    validate: Callable[[Any], Any] = fastjsonschema.compile(_schema())
    return validate


def _explain(record: Any, exc: Exception) -> str:
    """Why a record fails the schema: the field and the reason, in jsonschema's precise words
    (fastjsonschema's when jsonschema does not see it: it checks formats such as e-mail)."""
    import jsonschema
    from jsonschema.exceptions import best_match

    try:
        validator = jsonschema.Draft7Validator(
            _schema(), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
        )
        error = best_match(validator.iter_errors(record))
    except RecursionError:  # pragma: no cover - first_flaw refuses deep records before
        error = None
    if error is not None:
        where, message = [str(p) for p in error.absolute_path], str(error.message)
    else:  # the two validators disagree: the fast one still names the field
        where = [str(p) for p in (getattr(exc, "path", None) or [])[1:]]
        message = str(getattr(exc, "message", "")) or "does not match the directory schema"
        message = message.removeprefix("data." + ".".join(where)).strip() or message
    return _reason(where, message)


def _reason(where: list[str], message: str) -> str:
    if len(where) > 12:  # a value nested too deeply: its start says where
        where = [*where[:11], "..."]
    field = "/".join(where)
    return readable(f"{field}: {message}" if field else message, 200)


@dataclass(frozen=True, slots=True)
class DirectoryFile:
    """What a directory file holds: its valid records and the ones skipped (and why)."""

    entries: tuple[DirectoryEntry, ...]
    skipped: tuple[str, ...]
    total: int


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def _entry(record: dict[str, Any]) -> DirectoryEntry:
    runs = record.get("runs", [])
    return DirectoryEntry(
        slug=record["slug"],
        name=record["name"].strip(),
        categories=tuple(record.get("categories", [])),
        countries=tuple(record.get("relevant-countries", [])),
        email=_text(record, "email"),
        web=_text(record, "web"),
        webform=_text(record, "webform"),
        phone=_text(record, "phone"),
        address=_text(record, "address"),
        quality=_text(record, "quality"),
        runs=tuple(r for r in runs if isinstance(r, str)) if isinstance(runs, list) else (),
    )


def read_directory(path: Path) -> DirectoryFile:
    """Read and check a directory file.

    Raises:
        ImportProblem: the file cannot be read or is not a JSON array of records.
    """
    import fastjsonschema

    doc = load_json_file(path, strict=False)  # a flawed record is skipped, not the file
    source = str(path)
    if not isinstance(doc, list):
        raise ImportProblem(source, "", "not a company directory: expected a JSON array of records")
    validate = _validator()
    entries: list[DirectoryEntry] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for index, record in enumerate(doc):
        slug = record.get("slug") if isinstance(record, dict) else None
        label = f"record {index}" + (f" ({readable(repr(slug))})" if isinstance(slug, str) else "")
        flaw = first_flaw(record)  # a lone surrogate, a key given twice, absurd nesting
        if flaw is not None:
            skipped.append(f"{label}: {_reason([str(p) for p in flaw[0]], flaw[1])}")
            continue
        try:
            validate(record)
        except fastjsonschema.JsonSchemaException as exc:
            skipped.append(f"{label}: {_explain(record, exc)}")
            continue
        if not record["name"].strip():
            skipped.append(f"{label}: the name is empty")
            continue
        if record["slug"] in seen:
            skipped.append(f"{label}: the slug appears twice in the file; the first one is kept")
            continue
        seen.add(record["slug"])
        entries.append(_entry(record))
    if doc and not entries:
        raise ImportProblem(source, "", f"no record is valid ({skipped[0]})")
    return DirectoryFile(tuple(entries), tuple(skipped), len(doc))
