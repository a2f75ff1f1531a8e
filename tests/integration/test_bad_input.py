"""Bad input found by fuzzing broken import files (issue 9, point 7): each is refused with one
clear line naming the place, and nothing stored changes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.preferences import QuietHours, parse_date
from cmr_desktop.interop import ImportProblem
from cmr_desktop.interop.document import MAX_IMPORT_BYTES, read_document
from cmr_desktop.services import Services
from tests.conftest import BIN
from tests.reads import export_document

FULLWIDTH_13 = "1\uff13:00"  # "1３:00"
ARABIC_INDIC_08 = "0\u0668:00"  # "0٨:00"


def _export(services: Services, tmp_path: Path) -> dict[str, Any]:
    services.brands.add_brand("Acme")
    services.brands.add_brand("Beta")
    doc = export_document(services)
    return json.loads(json.dumps(doc))


def _write(tmp_path: Path, doc: Any, name: str = "import.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _refused(services: Services, path: Path) -> ImportProblem:
    before = export_document(services)
    with pytest.raises(ImportProblem) as info:
        services.transfer.import_file(path)
    after = export_document(services)
    assert after["brands"] == before["brands"]
    assert after["policy"] == before["policy"]
    message = str(info.value)
    assert "\n" not in message
    assert len(message) < 400, message
    return info.value


# --- 1. digits that are not ASCII -----------------------------------------------------------


@pytest.mark.parametrize("text", [f"{FULLWIDTH_13}-08:00", f"21:00-{ARABIC_INDIC_08}"])
def test_quiet_hours_with_digits_that_are_not_ascii_are_refused(text: str) -> None:
    with pytest.raises(DomainError, match="digits 0-9"):
        QuietHours.parse(text)


def test_a_date_with_digits_that_are_not_ascii_is_refused() -> None:
    with pytest.raises(DomainError, match="invalid date"):
        parse_date("2027-0\u0666-30")


@pytest.mark.parametrize(("start", "end"), [(FULLWIDTH_13, "08:00"), ("21:00", ARABIC_INDIC_08)])
def test_an_import_whose_my_terms_have_digits_that_are_not_ascii_is_refused(
    services: Services, tmp_path: Path, start: str, end: str
) -> None:
    doc = _export(services, tmp_path)
    doc["policy"]["rules"] = [{"rule": "quiet_hours", "start": start, "end": end}]
    problem = _refused(services, _write(tmp_path, doc))
    assert problem.pointer.startswith("/policy/rules/0")


def test_an_import_whose_timestamps_have_digits_that_are_not_ascii_is_refused(
    services: Services, tmp_path: Path
) -> None:
    doc = _export(services, tmp_path)
    doc["exported_at"] = doc["exported_at"].replace("2", "\uff12")
    assert _refused(services, _write(tmp_path, doc)).pointer == "/exported_at"


def test_a_slug_with_a_final_newline_is_refused_by_the_schema(
    services: Services, tmp_path: Path
) -> None:
    doc = _export(services, tmp_path)
    doc["brands"][0]["connector"] = "manual\n"
    assert _refused(services, _write(tmp_path, doc)).pointer == "/brands/0/connector"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("prefs", "set", "acme", "--quiet-hours", f"{FULLWIDTH_13}-08:00"), "digits 0-9"),
        (("prefs", "set", "acme", "--share", "contact:sale=allow@2027-0\u0666-30"), "date"),
        (("policy", "set", "--quiet-hours", f"21:00-{ARABIC_INDIC_08}"), "digits 0-9"),
        (("policy", "set", "--grant-max-months", "\uff11\uff12"), "digits 0-9"),
        (("sync", "--jobs", "\uff13"), "digits 0-9"),
        (("directory", "search", "acme", "--limit", "\u0665"), "digits 0-9"),
    ],
)
def test_cli_numbers_with_digits_that_are_not_ascii_are_refused(
    cmr: Any, args: tuple[str, ...], needle: str
) -> None:
    cmr("brand", "add", "Acme")
    res = cmr(*args)
    assert res.code == 2, res
    assert needle in res.err
    assert len(res.err.strip().splitlines()) == 1, res.err
    assert "Traceback" not in res.err
    assert cmr("policy", "show", "--json").json() == {"rules": []}


# --- 2. text that is not valid Unicode ------------------------------------------------------


def test_a_lone_surrogate_in_a_connector_setting_key_is_refused_naming_the_place(
    services: Services, tmp_path: Path
) -> None:
    doc = _export(services, tmp_path)
    doc["brands"][1]["connector_config"] = {"\ud800": "v"}
    path = tmp_path / "import.json"
    path.write_text(json.dumps(doc), encoding="ascii")  # json.dumps writes it as \ud800
    problem = _refused(services, path)
    assert problem.pointer == "/brands/1/connector_config/\ud800"
    assert "not valid UTF-8" in problem.detail
    assert "\\ud800" in str(problem)  # shown escaped: the message itself can be printed
    str(problem).encode("utf-8")


def test_a_lone_surrogate_in_a_value_is_refused(services: Services, tmp_path: Path) -> None:
    doc = _export(services, tmp_path)
    doc["brands"][0]["connector_config"] = {"key": "x\udfffy"}
    problem = _refused(services, _write(tmp_path, doc))
    assert problem.pointer == "/brands/0/connector_config/key"


def test_a_surrogate_pair_written_as_escapes_is_a_valid_character(
    services: Services, tmp_path: Path
) -> None:
    doc = _export(services, tmp_path)
    doc["brands"][0]["notes"] = "\U0001f600"
    path = tmp_path / "import.json"
    path.write_text(json.dumps(doc), encoding="ascii")  # "\ud83d\ude00"
    services.transfer.import_file(path)
    assert services.brands.get_brand("acme").brand.notes == "\U0001f600"


def _poison(cmr: Any) -> None:
    """A home holding a lone surrogate, as an import before this fix could leave it."""
    cmr("brand", "add", "Acme")
    con = sqlite3.connect(cmr.home / "cmr.sqlite3")
    con.execute("UPDATE brands SET connector_config = ?", (json.dumps({"\ud800": "v"}),))
    con.commit()
    con.close()


def test_export_and_listing_survive_a_lone_surrogate_already_stored(
    cmr: Any, tmp_path: Path
) -> None:
    _poison(cmr)
    listed = cmr("brand", "list", "--json")
    assert listed.code == 0, listed
    assert listed.json()[0]["connector_config"] == {"\ud800": "v"}
    assert cmr("brand", "list").code == 0
    exported = cmr("export")
    assert exported.code == 0, exported
    assert json.loads(exported.out)["brands"][0]["connector_config"] == {"\ud800": "v"}
    out = tmp_path / "out.json"
    res = cmr("export", "-o", str(out))
    assert res.code == 0, res
    text = out.read_text(encoding="utf-8")  # valid UTF-8: the surrogate is a JSON escape
    assert json.loads(text)["brands"][0]["connector_config"] == {"\ud800": "v"}
    assert cmr("export", "--format", "csv", "-o", str(tmp_path / "out.csv")).code == 0
    # And importing that file again is refused with one line, not a crash.
    again = cmr("import", str(out))
    assert again.code == 2, again
    assert "/brands/0/connector_config/" in again.err


# --- 3. nesting and long values -------------------------------------------------------------


@pytest.mark.parametrize("depth", [70, 900, 985, 5000, 100_000])
def test_deep_nesting_is_refused_with_a_clear_message(
    services: Services, tmp_path: Path, depth: int
) -> None:
    doc = _export(services, tmp_path)
    text = json.dumps(doc).replace('"notes": ""', '"notes": ' + "[" * depth + "]" * depth, 1)
    path = tmp_path / "deep.json"
    path.write_text(text)
    problem = _refused(services, path)
    assert "too deeply nested" in problem.detail
    if depth < 980:  # Python's parser itself stops near 1,000 levels, before any path is known
        assert problem.pointer.startswith("/brands/0/notes/0/0/")


def test_long_values_and_keys_are_cut_in_messages_but_the_path_is_kept(
    services: Services, tmp_path: Path
) -> None:
    doc = _export(services, tmp_path)
    doc["brands"][0]["connector_config"] = {"k" * 2000: 5}
    problem = _refused(services, _write(tmp_path, doc))
    message = str(problem)
    assert "/brands/0/connector_config/kkkk" in message
    assert "..." in message
    assert len(message) < 250 + len(str(tmp_path)), message

    doc["brands"][0]["connector_config"] = {}
    doc["brands"][0]["status"] = "x" * 3000
    problem = _refused(services, _write(tmp_path, doc))
    assert " at /brands/0/status: " in str(problem)
    assert len(problem.detail) < 200, problem.detail


# --- 4. what is not a regular file, and size ------------------------------------------------


def test_a_named_pipe_is_refused_at_once_instead_of_waiting(
    services: Services, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    done = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            services.transfer.import_file(fifo)
        except BaseException as exc:
            errors.append(exc)
        done.set()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    if not done.wait(30):  # on the old code it waits for a writer for ever: unblock it
        with open(fifo, "wb"):
            pass
        worker.join()
        pytest.fail("importing a named pipe waited for a writer")
    assert isinstance(errors[0], ImportProblem), errors
    assert "a named pipe, not a file" in str(errors[0])


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_a_device_is_refused_before_anything_is_read(services: Services, device: str) -> None:
    with pytest.raises(ImportProblem, match="a device, not a file"):
        services.transfer.import_file(Path(device))


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportProblem, match="a folder, not a file"):
        read_document(tmp_path)


def test_a_file_over_the_size_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as fh:  # sparse: takes no disk space
        fh.truncate(MAX_IMPORT_BYTES + 1)
    with pytest.raises(ImportProblem, match=r"too big \(256\.0 MiB; an import reads at most 256"):
        read_document(big)


@pytest.mark.parametrize("args", [("import", "/dev/zero"), ("directory", "import", "/dev/zero")])
def test_cli_imports_of_a_device_give_one_line(cmr: Any, args: tuple[str, ...]) -> None:
    res = cmr(*args)
    assert res.code == 2, res
    assert res.err.strip() == "cmr: error: /dev/zero: a device, not a file; give a file"


def test_cli_import_of_a_named_pipe_gives_one_line(cmr: Any, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    env = {
        **os.environ,
        "CMR_HOME": str(cmr.home),
        "PYTHON_KEYRING_BACKEND": "cmr_desktop.testing.keyring.InMemoryKeyring",
    }
    proc = subprocess.Popen(
        [str(BIN / "cmr"), "import", str(fifo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # the old code waits for a writer for ever
        proc.kill()
        proc.communicate()
        pytest.fail("cmr import of a named pipe hung")
    assert proc.returncode == 2
    assert "a named pipe, not a file" in err


# --- 5. bytes that are not UTF-8 ------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xff", b"\xc0\xaf", b"\xf4\x90\x80\x80"]
)
def test_bytes_that_are_not_utf8_are_refused_with_their_offset(
    services: Services, tmp_path: Path, bad: bytes
) -> None:
    _export(services, tmp_path)
    raw = export_document(services)
    raw["app_version"] = "MARK"
    data = json.dumps(raw).encode()
    offset = data.index(b"MARK")
    path = tmp_path / "import.json"
    path.write_bytes(data.replace(b"MARK", bad))
    problem = _refused(services, path)
    assert f"not UTF-8 text: invalid bytes {bad[0]:02x}" in problem.detail
    assert problem.detail.endswith(f"at byte offset {offset}")


def test_a_byte_order_mark_is_still_accepted_and_counted_in_offsets(
    services: Services, tmp_path: Path
) -> None:
    doc = _export(services, tmp_path)
    data = json.dumps(doc).encode()
    path = tmp_path / "import.json"
    path.write_bytes(b"\xef\xbb\xbf" + data)
    services.transfer.import_file(path)
    path.write_bytes(b"\xef\xbb\xbf" + data.replace(b'"Acme"', b'"\xff"'))
    offset = 3 + data.index(b'"Acme"') + 1
    assert _refused(services, path).detail.endswith(f"at byte offset {offset}")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(services: Services, tmp_path: Path, constant: str) -> None:
    doc = _export(services, tmp_path)
    text = json.dumps(doc).replace('"version": 1', f'"version": {constant}')
    path = tmp_path / "import.json"
    path.write_text(text)
    assert f"{constant} is not a JSON number" in _refused(services, path).detail


# --- 7. duplicates --------------------------------------------------------------------------


def test_a_key_given_twice_in_one_object_is_refused(services: Services, tmp_path: Path) -> None:
    doc = _export(services, tmp_path)
    text = json.dumps(doc).replace('"slug": "beta"', '"slug": "beta", "slug": "gamma"')
    path = tmp_path / "import.json"
    path.write_text(text)
    problem = _refused(services, path)
    assert problem.pointer == "/brands/1"
    assert problem.detail == "the key 'slug' appears twice in one object"


def test_brands_given_twice_at_the_top_level_are_refused(
    services: Services, tmp_path: Path
) -> None:
    doc = _export(services, tmp_path)
    text = json.dumps(doc).replace('"brands": [', '"brands": [], "brands": [', 1)
    path = tmp_path / "import.json"
    path.write_text(text)
    assert "the key 'brands' appears twice" in _refused(services, path).detail


def test_a_slug_given_twice_names_both_places(services: Services, tmp_path: Path) -> None:
    doc = _export(services, tmp_path)
    brands = [dict(doc["brands"][0], slug=f"b{i:02}") for i in range(20)]
    brands[17]["slug"] = "b03"
    doc["brands"] = brands
    problem = _refused(services, _write(tmp_path, doc))
    assert problem.pointer == "/brands/17/slug"
    assert "'b03' appears twice (also at /brands/3)" in problem.detail
