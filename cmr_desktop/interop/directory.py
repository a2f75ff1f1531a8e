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
from cmr_desktop.interop.document import ImportProblem, load_json_file


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


def _explain(record: Any) -> str:
    """Why a record fails the schema, in jsonschema's precise words."""
    import jsonschema
    from jsonschema.exceptions import best_match

    error = best_match(jsonschema.Draft7Validator(_schema()).iter_errors(record))
    if error is None:  # pragma: no cover - fastjsonschema and jsonschema disagree
        return "does not match the directory schema"
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


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

    doc = load_json_file(path)
    source = str(path)
    if not isinstance(doc, list):
        raise ImportProblem(source, "", "not a company directory: expected a JSON array of records")
    validate = _validator()
    entries: list[DirectoryEntry] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for index, record in enumerate(doc):
        slug = record.get("slug") if isinstance(record, dict) else None
        label = f"record {index}" + (f" ({slug!r})" if isinstance(slug, str) else "")
        try:
            validate(record)
        except fastjsonschema.JsonSchemaException:
            skipped.append(f"{label}: {_explain(record)}")
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
