"""Fuzzing ``cmr import`` with broken export files (issue 9, point 7).

Valid export documents are mutated the ways the 11,100 broken files of the issue were: text
that is not UTF-8 or not valid Unicode, digits that are not ASCII, deep nesting, keys and
brands given twice, wrong types, truncation. Each file must give either a clean import or
exactly one clear error line (no traceback, bounded length), and on an error the database
must be unchanged.

The default run is a few dozen examples; ``test_..._many_files`` (marked slow) runs more.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmr_desktop.cli.main import main
from cmr_desktop.domain.policy import GrantMaxMonths, MyTerms, NoChannel, QuietHoursRule
from cmr_desktop.domain.preferences import QuietHours
from cmr_desktop.domain.vocabulary import Channel
from cmr_desktop.services import Services
from cmr_desktop.testing.sample import sample_brands
from tests.conftest import NOW, open_services
from tests.reads import export_document

#: Digits that Python's ``\d`` and ``int()`` accept but a time or date must not contain.
FOREIGN_DIGITS = "\uff10\uff11\uff13\u0660\u0668\u06f5\u0966\u09e7\U0001d7ce"

BAD_BYTES = [
    b"\xed\xa0\x80",  # CESU-8: an encoded surrogate
    b"\xed\xbf\xbf",
    b"\xff",
    b"\xc0\xaf",  # overlong
    b"\xf4\x90\x80\x80",  # beyond U+10FFFF
    b"\x80",
    b"\xe2\x82",  # cut short
]
LONE_SURROGATES = ["\\ud800", "\\udbff", "\\udc00", "\\udfff", "\\ud83d"]

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _base_document(tmp_path: Path) -> dict[str, Any]:
    source = open_services(tmp_path / "fuzz-source")
    with source.store.write() as uow:
        uow.brands.add_many(sample_brands(3, seed=11), now=NOW)
    source.preferences.set_policy(
        MyTerms.of(
            [
                NoChannel(Channel.SMS),
                GrantMaxMonths(12),
                QuietHoursRule(QuietHours.parse("21:00-08:00")),
            ]
        )
    )
    doc = export_document(source)
    source.store.close()
    return json.loads(json.dumps(doc))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def structural(draw: st.DrawFn, base: dict[str, Any]) -> str:
    """Wrong types, missing and extra keys, a brand given twice: as JSON text."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add", "twice"]))
        key = path[-1]
        if action == "replace":
            parent[key] = draw(JSON_VALUES)
        elif action == "delete":
            del parent[key]
        elif action == "twice" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(JSON_VALUES)
        else:
            parent.append(draw(JSON_VALUES))
    return json.dumps(doc, ensure_ascii=draw(st.booleans()))


def _string_spans(text: str) -> list[tuple[int, int]]:
    """Where the JSON strings' contents are (between the quotes)."""
    spans, i = [], 0
    while (start := text.find('"', i)) != -1:
        end = start + 1
        while text[end] != '"':
            end += 2 if text[end] == "\\" else 1
        spans.append((start + 1, end))
        i = end + 1
    return spans


@st.composite
def textual(draw: st.DrawFn, base: dict[str, Any]) -> bytes:
    """Mutations of the file's text and bytes."""
    text = json.dumps(base)
    spans = _string_spans(text)
    kind = draw(
        st.sampled_from(
            ["bad bytes", "surrogate", "digit", "nesting", "duplicate key", "truncate", "bom"]
        )
    )
    if kind == "digit":
        digits = [i for a, b in spans for i in range(a, b) if text[i].isdigit()]
        at = draw(st.sampled_from(digits))
        text = text[:at] + draw(st.sampled_from(FOREIGN_DIGITS)) + text[at + 1 :]
    elif kind == "surrogate":
        a, b = draw(st.sampled_from(spans))
        at = draw(st.integers(a, b))
        if text[at - 1 : at] == "\\":
            at -= 1
        text = text[:at] + draw(st.sampled_from(LONE_SURROGATES)) + text[at:]
    elif kind == "nesting":
        depth = draw(st.integers(2, 3000))
        opener = draw(st.sampled_from(["[", '{"a": ']))
        closer = "]" if opener == "[" else "}"
        inner = opener * depth + ("0" if opener != "[" else "") + closer * depth
        _, b = draw(st.sampled_from(spans))
        end = text.index(",", b) if "," in text[b:] else len(text) - 1
        if text[b + 1 : b + 3] == ": ":  # a key: replace its value
            text = text[: b + 3] + inner + text[end:]
        else:
            text = text[: b + 1] + ", " + inner + text[b + 1 :]
    elif kind == "duplicate key":
        a, b = draw(st.sampled_from(spans))
        key = text[a - 1 : b + 1]
        if text[b + 1 : b + 3] == ": ":
            text = text[: b + 3] + '"x", ' + key + ": " + text[b + 3 :]
    raw = text.encode("utf-8")
    if kind == "bad bytes":
        a, b = draw(st.sampled_from(spans))
        at = len(text[:a].encode()) + draw(st.integers(0, len(text[a:b].encode())))
        raw = raw[:at] + draw(st.sampled_from(BAD_BYTES)) + raw[at:]
    elif kind == "truncate":
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    elif kind == "bom":
        raw = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xef\xbb", b"\xfe\xff", b"\x00"])) + raw
    return raw


def _strict(raw: bytes) -> Any:
    """The document as a strict reader sees it, or None when no import may accept it: not
    UTF-8 (or UTF-16/32), a key given twice, NaN, or text that is not valid Unicode."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({k for k, _ in items}) != len(items):
            raise ValueError("duplicate key")
        return dict(items)

    def constant(name: str) -> Any:
        raise ValueError(name)

    try:
        doc = json.loads(
            raw.decode(json.detect_encoding(raw)), object_pairs_hook=pairs, parse_constant=constant
        )
        json.dumps(doc, ensure_ascii=False).encode("utf-8")  # no lone surrogate anywhere
    except (ValueError, RecursionError):
        return None
    return doc


def _check_accepted(services: Services, raw: bytes) -> None:
    """An accepted file was valid, and what is stored says what the file says."""
    doc = _strict(raw)
    assert doc is not None, raw[:300]
    stored = export_document(services)
    brands = {b["slug"]: b for b in stored["brands"]}
    for brand in doc["brands"]:
        quiet = brand["preferences"].get("quiet_hours")
        assert brands[brand["slug"]]["preferences"].get("quiet_hours") == quiet
    for rule in doc["policy"]["rules"]:
        assert rule in stored["policy"]["rules"]
    out = io.StringIO()
    services.transfer.export_json(out)
    out.getvalue().encode("utf-8")  # the export can be written


def _state(services: Services) -> Any:
    doc = export_document(services)
    return doc["brands"], doc["policy"]


def _run_cli(services: Services, path: Path) -> tuple[int, str]:
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["import", str(path)], lambda _home: services)
    finally:
        gc.enable()  # main() pauses the collector for its short-lived process
    return code, err.getvalue()


def _fuzz(tmp_path: Path, max_examples: int) -> dict[str, int]:
    base = _base_document(tmp_path)
    target = open_services(tmp_path / "fuzz-target")
    with target.store.write() as uow:
        uow.brands.add_many(sample_brands(2, seed=7), now=NOW)
    state = {"before": _state(target)}
    outcomes = {"accepted": 0, "refused": 0}
    files = st.one_of(structural(base).map(str.encode), textual(base))

    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(raw=files)
    def check(raw: bytes) -> None:
        path = tmp_path / "broken.json"
        path.write_bytes(raw)
        code, err = _run_cli(target, path)
        if code == 0:
            _check_accepted(target, raw)
            outcomes["accepted"] += 1
            state["before"] = _state(target)
            return
        outcomes["refused"] += 1
        assert code == 2, err
        assert "Traceback" not in err
        lines = err.splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith(f"cmr: error: {path}"), err
        assert len(lines[0]) <= 360 + len(str(path)), err
        lines[0].encode("utf-8")  # printable on any UTF-8 terminal
        assert _state(target) == state["before"]  # nothing stored changed

    try:
        check()
    finally:
        target.store.close()
    return outcomes


def test_broken_import_files_give_a_clean_import_or_one_clear_line(tmp_path: Path) -> None:
    outcomes = _fuzz(tmp_path, max_examples=40)
    assert outcomes["refused"] > 10, outcomes


@pytest.mark.slow
def test_broken_import_files_give_a_clean_import_or_one_clear_line_many_files(
    tmp_path: Path,
) -> None:
    outcomes = _fuzz(tmp_path, max_examples=600)
    assert outcomes["refused"] > 300, outcomes
