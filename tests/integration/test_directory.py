"""The company directory: the real CC0 file of 3,069 organisations, bad records, the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from cmr_desktop.interop import ImportProblem
from cmr_desktop.interop.directory import bundled_directory
from cmr_desktop.services import Services
from tests.reads import directory_entry

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "company-directory"


def real_directory() -> Path:
    """The shared open-data file when this checkout sits beside it, else the bundled copy
    (the same bytes: checked below whenever both are there)."""
    shared = SHARED / "companies.json"
    return shared if shared.exists() else bundled_directory()


def test_the_bundled_copy_is_the_shared_file() -> None:
    if not (SHARED / "companies.json").exists():
        pytest.skip("../shared is not beside this checkout")
    digest = [
        hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (SHARED / "companies.json", bundled_directory())
    ]
    assert digest[0] == digest[1]


def test_importing_the_real_directory_and_searching_it(services: Services) -> None:
    result = services.directory.import_directory(real_directory())
    assert (result.added, result.updated, result.total) == (3069, 0, 3069)
    assert result.skipped == ()
    assert services.directory.directory_size() == 3069
    found = services.directory.search_directory("deutsche bahn")
    assert found[0].slug == "deutsche-bahn-ag"
    assert found[0].email == "konzerndatenschutz@deutschebahn.com"
    assert found[0].category == "travel"
    assert services.directory.search_directory("DEUTSCHE   bahn")[0].slug == "deutsche-bahn-ag"
    assert services.directory.search_directory("100%") == []  # LIKE wildcards are literal
    again = services.directory.import_directory(real_directory())
    assert (again.added, again.updated) == (0, 3069)
    assert services.directory.directory_size() == 3069


def test_bad_records_are_reported_and_skipped_whole(services: Services, tmp_path: Path) -> None:
    records: list[Any] = json.loads(real_directory().read_text(encoding="utf-8"))[:5]
    broken = [
        {**records[0], "slug": "Not A Slug"},
        {k: v for k, v in records[1].items() if k != "name"},
        {**records[2], "relevant-countries": "de"},
        "not even an object",
        records[3],
        {**records[3], "name": "Twice"},
        {**records[4], "name": "   "},
    ]
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    result = services.directory.import_directory(path)
    assert (result.added, result.total) == (1, 7)
    assert len(result.skipped) == 6
    assert result.skipped[0].startswith("record 0 ('Not A Slug'): slug:")
    assert result.skipped[1].startswith(f"record 1 ('{records[1]['slug']}'): ")
    assert "'name' is a required property" in result.skipped[1]
    assert result.skipped[2].startswith(f"record 2 ('{records[2]['slug']}'): relevant-countries:")
    assert result.skipped[3].startswith("record 3: ")
    assert "appears twice" in result.skipped[4]
    assert result.skipped[5].startswith(f"record 6 ('{records[4]['slug']}'): name:")
    entry = directory_entry(services, records[3]["slug"])
    assert entry is not None
    assert entry.name == records[3]["name"]  # the first of the two is kept, whole


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"slug": "x"}', "expected a JSON array"),
        (b"[{", "not valid JSON"),
        (b'["\xff"]', "not UTF-8"),
        (b'[{"slug": "x"}]', "no record is valid"),
    ],
)
def test_a_file_that_is_not_a_directory_changes_nothing(
    services: Services, tmp_path: Path, content: bytes, message: str
) -> None:
    services.directory.import_directory(real_directory())
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(ImportProblem, match=message) as info:
        services.directory.import_directory(path)
    assert str(path) in str(info.value)
    assert services.directory.directory_size() == 3069


def test_a_dry_run_writes_nothing(services: Services) -> None:
    result = services.directory.import_directory(real_directory(), dry_run=True)
    assert result.added == 3069
    assert services.directory.directory_size() == 0


def test_cli_directory_import_and_search(cmr: Any, tmp_path: Path) -> None:
    res = cmr("directory", "import", str(real_directory()))
    assert res.code == 0, res
    assert "Added 3069" in res.out
    found = cmr("directory", "search", "deutsche", "bahn", "--json", "--limit", "2")
    assert found.code == 0, found
    assert found.json()[0]["slug"] == "deutsche-bahn-ag"
    bad = tmp_path / "bad.json"
    records = json.loads(real_directory().read_text(encoding="utf-8"))[:2]
    bad.write_text(json.dumps([records[0], {**records[1], "quality": "great"}]), encoding="utf-8")
    res = cmr("directory", "import", str(bad))
    assert res.code == 1
    assert f"skipped record 1 ('{records[1]['slug']}'): quality:" in res.err
    broken = cmr("directory", "import", str(tmp_path / "missing.json"))
    assert broken.code == 2
    assert "cannot read the file" in broken.err


def _records(n: int) -> list[Any]:
    records: list[Any] = json.loads(bundled_directory().read_text(encoding="utf-8"))[:n]
    return records


def test_a_record_holding_a_lone_surrogate_is_skipped_naming_the_field(
    services: Services, tmp_path: Path
) -> None:
    records = _records(3)
    records[0] = {**records[0], "name": "Acme\ud800"}
    records[1] = {**records[1], "address": {"\udc00": 1}}
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(records), encoding="ascii")  # written as \ud800 escapes
    result = services.directory.import_directory(path)
    assert (result.added, result.total) == (1, 3)
    assert result.skipped[0] == (
        f"record 0 ('{records[0]['slug']}'): name: not valid UTF-8 text (a lone surrogate \\ud800)"
    )
    assert result.skipped[1].startswith(f"record 1 ('{records[1]['slug']}'): address/\\udc00: ")
    for line in result.skipped:
        line.encode("utf-8")  # printable as it is


def test_skipped_records_name_the_field_and_the_reason(services: Services, tmp_path: Path) -> None:
    records = _records(5)
    records[0] = {**records[0], "email": "not an e-mail address"}
    records[1] = {**records[1], "web": "no uri " * 50}
    records[2] = {**records[2], "categories": "x" * 3000}
    records[3] = {
        **records[3],
        "comments": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
    }
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    result = services.directory.import_directory(path)
    assert (result.added, result.total) == (1, 5)
    assert len(result.skipped) == 4
    for line in result.skipped:
        assert "does not match the directory schema" not in line
        assert len(line) < 260, line
    assert f"('{records[0]['slug']}'): email: " in result.skipped[0]
    assert f"('{records[1]['slug']}'): web: " in result.skipped[1]
    assert f"('{records[2]['slug']}'): categories: 'xxxx" in result.skipped[2]
    assert "..." in result.skipped[2]
    assert f"('{records[3]['slug']}'): comments" in result.skipped[3]


def test_a_record_nested_too_deeply_is_skipped(services: Services, tmp_path: Path) -> None:
    records = _records(2)
    text = json.dumps(records).replace(
        '"name": ', '"x": ' + "[" * 950 + "]" * 950 + ', "name": ', 1
    )
    path = tmp_path / "directory.json"
    path.write_text(text, encoding="utf-8")
    result = services.directory.import_directory(path)
    assert result.added == 1
    assert "too deeply nested" in result.skipped[0]
    assert len(result.skipped[0]) < 200


def test_a_record_with_a_key_given_twice_is_skipped(services: Services, tmp_path: Path) -> None:
    records = _records(2)
    slug = records[0]["slug"]
    text = json.dumps(records).replace(f'"slug": "{slug}"', f'"slug": "{slug}", "slug": "x"', 1)
    path = tmp_path / "directory.json"
    path.write_text(text, encoding="utf-8")
    result = services.directory.import_directory(path)
    assert result.added == 1
    assert result.skipped[0].endswith("the key 'slug' appears twice in one object")


def test_cli_directory_import_of_a_lone_surrogate_skips_the_record(
    cmr: Any, tmp_path: Path
) -> None:
    records = _records(2)
    records[0] = {**records[0], "name": "Acme\ud800"}
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(records), encoding="ascii")
    res = cmr("directory", "import", str(path))
    assert res.code == 1, res
    assert "Traceback" not in res.err
    assert "name: not valid UTF-8 text (a lone surrogate \\ud800)" in res.err
    assert "Added 1 " in res.out
