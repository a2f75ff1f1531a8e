"""Odd input at the edges: one clear line, the right exit code, nothing half-written."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BIN


def _lines(text: str) -> int:
    return len(text.strip().splitlines())


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("brand", "add", "N" * 201), "name is too long (201 characters; at most 200)"),
        (("brand", "add", "X", "--category", "c" * 101), "category is too long"),
        (("brand", "add", "X", "--slug", "abc\n"), "invalid brand id"),
        (("brand", "add", "X", "--slug", ""), "invalid brand id ''"),
        (("brand", "add", "X", "--tag", "nl\n"), "invalid tag"),
        (("brand", "add", "Two\nlines"), "control characters"),
        (("prefs", "set", "acme", "--share", "health:sale=allow@"), "a date must follow '@'"),
        (("policy", "set", "--never", "sale", "--clear"), "give it alone"),
        (("export", "-o", "/nonexistent-dir/x.json"), "cannot write /nonexistent-dir/x.json"),
    ],
)
def test_edge_input_is_refused_with_one_line(cmr: Any, args: tuple[str, ...], needle: str) -> None:
    cmr("brand", "add", "Acme")
    res = cmr(*args)
    assert res.code == 2, res
    assert needle in res.err
    assert _lines(res.err) == 1, res.err


def test_an_argument_that_is_not_utf8_is_refused(cmr: Any) -> None:
    env = {**os.environ, "CMR_HOME": str(cmr.home)}
    proc = subprocess.run(
        [os.fsencode(BIN / "cmr"), b"brand", b"add", b"\xff"],
        capture_output=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2
    assert b"not valid UTF-8" in proc.stderr


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d["brands"][0].update(created_at="9999-12-31T23:59:59-05:00"), "timestamp"),
        (
            lambda d: d["brands"][0]["preferences"]["grants"].append(
                dict(d["brands"][0]["preferences"]["grants"][0])
            ),
            "given twice",
        ),
        (lambda d: d["brands"][0].update(name="N" * 300), "is too long"),
    ],
)
def test_hostile_import_files_are_refused(
    cmr: Any, tmp_path: Path, mutate: Any, needle: str
) -> None:
    cmr("brand", "add", "Acme")
    cmr("prefs", "set", "acme", "--share", "contact:sale=deny")
    out = tmp_path / "e.json"
    cmr("export", "-o", str(out))
    doc = json.loads(out.read_text())
    mutate(doc)
    out.write_text(json.dumps(doc))
    res = cmr("import", str(out))
    assert res.code == 2, res
    assert needle in res.err
    assert _lines(res.err) == 1
    if needle == "is too long":  # the problem is said, not drowned by the value
        assert len(res.err) < 250


def test_a_huge_number_in_an_import_is_refused(cmr: Any, tmp_path: Path) -> None:
    bad = tmp_path / "e.json"
    bad.write_text('{"format": "cmr-desktop-export", "version": ' + "9" * 5000 + "}")
    res = cmr("import", str(bad))
    assert res.code == 2, res
    assert "not valid JSON" in res.err
    assert _lines(res.err) == 1


def test_a_lone_surrogate_in_an_import_is_refused(cmr: Any, tmp_path: Path) -> None:
    cmr("brand", "add", "Acme")
    out = tmp_path / "e.json"
    cmr("export", "-o", str(out))
    text = out.read_text().replace('"name": "Acme"', '"name": "Ac\\ud800me"')
    out.write_text(text)
    res = cmr("import", str(out))
    assert res.code == 2, res
    assert "/brands/0" in res.err
    assert "not valid UTF-8" in res.err


def test_export_writes_through_a_symlink(cmr: Any, tmp_path: Path) -> None:
    cmr("brand", "add", "Acme")
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert cmr("export", "-o", str(link)).code == 0
    assert link.is_symlink()
    assert json.loads(target.read_text())["brands"][0]["slug"] == "acme"


def test_a_filter_with_no_match_does_not_say_there_are_no_brands(cmr: Any) -> None:
    cmr("brand", "add", "Acme")
    assert cmr("brand", "list", "--category", "zzz").out.strip() == "No brands match."


def test_a_home_that_cannot_be_opened_is_one_line_exit_1(cmr: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "cmr.sqlite3").mkdir(parents=True)  # where the database file should be
    res = cmr("brand", "list", home_dir=home)
    assert res.code == 1, res
    assert "cannot open the data folder" in res.err
    assert _lines(res.err) == 1


def test_names_sort_the_way_people_expect(cmr: Any) -> None:
    for name in ("Zeta", "émile", "Eve", "fiona"):
        cmr("brand", "add", name, "--slug", f"b-{len(name)}-{ord(name[0])}")
    names = [b["name"] for b in cmr("brand", "list", "--json").json()]
    assert names == ["émile", "Eve", "fiona", "Zeta"]


def test_a_database_with_an_empty_version_table_is_one_line_exit_1(cmr: Any) -> None:
    import sqlite3

    cmr("brand", "add", "Acme")
    con = sqlite3.connect(cmr.home / "cmr.sqlite3")
    con.execute("DELETE FROM alembic_version")
    con.commit()
    con.close()
    res = cmr("brand", "list")
    assert res.code == 1, res
    assert "its alembic_version table is empty" in res.err
    assert "already exists" not in res.err
    assert _lines(res.err) == 1, res.err


def test_a_corrupt_database_is_one_line_exit_1(cmr: Any) -> None:
    cmr.home.mkdir(parents=True)
    (cmr.home / "cmr.sqlite3").write_bytes(bytes(range(256)) * 40)
    res = cmr("export")
    assert res.code == 1, res
    assert "is not an SQLite database, or it is damaged" in res.err
    assert _lines(res.err) == 1, res.err
