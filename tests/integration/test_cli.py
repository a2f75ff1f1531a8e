"""The ``cmr`` command through its real entry point (a separate process)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from cmr_desktop.domain.vocabulary import DataCategory
from cmr_desktop.interop import CSV_COLUMNS, validate_document

CATEGORIES = [c.value for c in DataCategory]


def _export(cmr: Any) -> dict[str, Any]:
    res = cmr("export")
    assert res.code == 0, res
    doc = res.json()
    doc.pop("exported_at")
    return doc


def test_brand_lifecycle(cmr: Any) -> None:
    res = cmr(
        "brand",
        "add",
        "Acme Outdoor",
        "--category",
        "retail",
        "--tag",
        "outdoor",
        "--website",
        "https://acme.example",
        "--contact",
        "privacy@acme.example",
    )
    assert res.code == 0, res
    assert "acme-outdoor" in res.out
    assert cmr("brand", "add", "Globex Bank", "--category", "finance").code == 0

    listing = cmr("brand", "list", "--json")
    assert listing.code == 0, listing
    items = listing.json()
    assert [b["slug"] for b in items] == ["acme-outdoor", "globex-bank"]
    assert items[0]["connector"] == "manual"  # the default: handled by hand
    assert items[0]["tags"] == ["outdoor"]
    assert items[0]["pending"] is True

    shown = cmr("brand", "show", "Acme Outdoor")  # by exact name, not only by id
    assert shown.code == 0, shown
    assert "Acme Outdoor (acme-outdoor)" in shown.out

    assert cmr("brand", "edit", "acme-outdoor", "--category", "sports", "--add-tag", "x").code == 0
    shown = cmr("brand", "show", "acme-outdoor", "--json").json()
    assert shown["category"] == "sports"
    assert shown["tags"] == ["outdoor", "x"]

    refused = cmr("brand", "remove", "globex-bank")  # no tty, no --yes
    assert refused.code == 2
    assert "--yes" in refused.err
    assert cmr("brand", "remove", "globex-bank", "--yes").code == 0
    assert [b["slug"] for b in cmr("brand", "list", "--json").json()] == ["acme-outdoor"]


def test_prefs_set_every_kind_of_option(cmr: Any) -> None:
    cmr("brand", "add", "Acme")
    res = cmr(
        "prefs",
        "set",
        "acme",
        "--channel",
        "email=on",
        "--channel",
        "sms=off",
        "--frequency",
        "email=weekly",
        "--topic",
        "offers=off",
        "--share",
        "purchase_history:marketing=allow@2027-06-30",
        "--share",
        "location:sale=deny",
        "--quiet-hours",
        "21:00-08:00",
        "--json",
    )
    assert res.code == 0, res
    prefs = res.json()["preferences"]
    assert prefs["channels"] == {
        "email": {"enabled": True, "frequency": "weekly"},
        "sms": {"enabled": False},
    }
    assert prefs["topics"] == {"offers": False}
    assert prefs["grants"] == [
        {"category": "location", "purpose": "sale", "decision": "deny"},
        {
            "category": "purchase_history",
            "purpose": "marketing",
            "decision": "allow",
            "expires": "2027-06-30",
        },
    ]
    assert prefs["quiet_hours"] == {"start": "21:00", "end": "08:00"}

    # "default" removes a decision again.
    res = cmr("prefs", "set", "acme", "--frequency", "email=default", "--json")
    assert "frequency" not in res.json()["preferences"]["channels"]["email"]

    text = cmr("brand", "show", "acme").out
    assert "Acme may not text you." in text
    assert "Acme may use purchase history data for marketing until 2027-06-30." in text


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("prefs", "set", "acme", "--channel", "emial=off"), "unknown channel 'emial'"),
        (("prefs", "set", "acme", "--channel", "email=maybe"), "expected on, off or default"),
        (
            ("prefs", "set", "acme", "--share", "contact:sale=allow@2027-02-30"),
            "invalid date '2027-02-30'",
        ),
        (("prefs", "set", "acme", "--share", "contact:sale=deny@2027-01-01"), "no expiry"),
        (("prefs", "set", "acme", "--frequency", "email=hourly"), "unknown frequency 'hourly'"),
        (("prefs", "set", "acme", "--quiet-hours", "25:00-08:00"), "invalid quiet hours"),
        (("prefs", "set", "acmee", "--channel", "email=off"), "unknown brand 'acmee'"),
        (("brand", "show", "nobody"), "unknown brand 'nobody'"),
        (("brand", "add", "Acme"), "exists already"),
        (("brand", "add", "Other", "--connector", "nope"), "unknown connector 'nope'"),
        (("policy", "set", "--never", "selling"), "unknown purpose 'selling'"),
        (("policy", "set", "--grant-max-months", "0"), "1-120 months"),
        (("prefs", "set", "acme"), "nothing to change"),
    ],
)
def test_bad_input_is_one_clear_line_exit_2_and_writes_nothing(
    cmr: Any, args: tuple[str, ...], needle: str
) -> None:
    cmr("brand", "add", "Acme")
    cmr("prefs", "set", "acme", "--channel", "email=on")
    before = _export(cmr)
    res = cmr(*args)
    assert res.code == 2, res
    assert needle in res.err
    assert res.err.startswith("cmr: error: ")
    assert res.err.count("\n") == 1, res.err
    assert _export(cmr) == before
    if "acmee" in args:
        assert "did you mean 'acme'" in res.err


def test_policy_set_show_check_apply(cmr: Any) -> None:
    cmr("brand", "add", "Acme")
    cmr(
        "prefs",
        "set",
        "acme",
        "--channel",
        "sms=on",
        "--channel",
        "email=on",
        "--frequency",
        "email=daily",
        "--share",
        "contact:sale=allow",
    )
    assert cmr("policy", "check").code == 0  # no rules: nothing to break
    res = cmr(
        "policy",
        "set",
        "--no-channel",
        "sms",
        "--max-frequency",
        "email=weekly",
        "--never",
        "sale",
        "--grant-max-months",
        "12",
    )
    assert res.code == 0, res
    shown = cmr("policy", "show", "--json").json()
    assert [r["rule"] for r in shown["rules"]] == [
        "no_channel",
        "max_frequency",
        "never_purpose",
        "grant_max_months",
    ]
    check = cmr("policy", "check", "--json")
    assert check.code == 1  # the work ran, and found brands breaking the rules
    assert set(check.json()) == {"acme"}
    # sms, email daily, sale, sale undecided for the other categories, no end date
    assert len(check.json()["acme"]) == 5

    assert cmr("policy", "apply").code == 0
    assert cmr("policy", "check").code == 0
    prefs = cmr("brand", "show", "acme", "--json").json()["preferences"]
    assert prefs["channels"]["sms"] == {"enabled": False}
    assert prefs["channels"]["email"]["frequency"] == "weekly"
    assert prefs["grants"] == [
        {"category": c, "purpose": "sale", "decision": "deny"} for c in sorted(CATEGORIES)
    ]
    text = cmr("brand", "show", "acme").out
    assert "Acme may not use any of your data for sale." in text


def test_export_json_validates_and_csv_has_a_row_per_brand_and_channel(
    cmr: Any, tmp_path: Path
) -> None:
    cmr("brand", "add", "Acme", "--tag", "a")
    cmr("brand", "add", "Globex")
    cmr("prefs", "set", "acme", "--channel", "email=off", "--quiet-hours", "22:00-07:00")
    out = tmp_path / "export.json"
    res = cmr("export", "-o", str(out))
    assert res.code == 0, res
    doc = json.loads(out.read_text())
    validate_document(doc)
    assert doc["format"] == "cmr-desktop-export"
    assert doc["version"] == 1

    csv_out = cmr("export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(csv_out.out)))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert len(rows) == 2 * 7
    email = next(r for r in rows if r["brand"] == "acme" and r["channel"] == "email")
    assert email["enabled"] == "off"
    assert email["quiet_hours"] == "22:00-07:00"
    sms = next(r for r in rows if r["brand"] == "acme" and r["channel"] == "sms")
    assert sms["enabled"] == ""  # not decided: vendor default


def test_import_dry_run_shows_the_diff_and_changes_nothing(cmr: Any, tmp_path: Path) -> None:
    cmr("brand", "add", "Acme")
    cmr("prefs", "set", "acme", "--channel", "email=on")
    out = tmp_path / "export.json"
    cmr("export", "-o", str(out))
    doc = json.loads(out.read_text())
    doc["brands"][0]["preferences"]["channels"]["email"]["enabled"] = False
    doc["brands"].append({**doc["brands"][0], "slug": "newco", "name": "NewCo"})
    doc["policy"]["rules"] = [{"rule": "never_purpose", "purpose": "sale"}]
    out.write_text(json.dumps(doc))
    before = _export(cmr)

    res = cmr("import", str(out), "--dry-run")
    assert res.code == 0, res
    assert "+ newco: new brand 'NewCo'" in res.out
    assert "~ acme: channel email: on -> off" in res.out
    assert "My Terms: no rules -> never sale" in res.out
    assert "1 to add, 1 to change, 0 unchanged" in res.out
    assert _export(cmr) == before

    res = cmr("import", str(out))
    assert res.code == 0, res
    after = _export(cmr)
    assert [b["slug"] for b in after["brands"]] == ["acme", "newco"]
    assert after["brands"][0]["preferences"]["channels"]["email"] == {"enabled": False}
    assert after["policy"]["rules"] == [{"rule": "never_purpose", "purpose": "sale"}]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "not valid JSON"),
        ('{"format": "something-else", "version": 1}', "not a CMR Desktop export"),
        ('{"format": "cmr-desktop-export", "version": 2}', "version 2 is newer"),
        ('{"format": "cmr-desktop-export", "version": "1"}', "unsupported export version '1'"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_broken_import_files_name_file_and_problem(
    cmr: Any, tmp_path: Path, content: str, needle: str
) -> None:
    cmr("brand", "add", "Acme")
    before = _export(cmr)
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    res = cmr("import", str(bad))
    assert res.code == 2, res
    assert str(bad) in res.err
    assert needle in res.err
    assert _export(cmr) == before


def test_import_error_names_the_path_inside_the_document(cmr: Any, tmp_path: Path) -> None:
    cmr("brand", "add", "Acme")
    cmr("brand", "add", "Globex")
    out = tmp_path / "e.json"
    cmr("export", "-o", str(out))
    doc = json.loads(out.read_text())
    # The first brand would import fine: all or nothing means it must not.
    doc["brands"][0]["name"] = "Acme Renamed"
    doc["brands"][1]["preferences"]["channels"] = {"fax": {"enabled": True}}
    out.write_text(json.dumps(doc))
    before = _export(cmr)
    res = cmr("import", str(out))
    assert res.code == 2, res
    assert "/brands/1/preferences/channels" in res.err
    assert "'fax'" in res.err
    assert _export(cmr) == before


def test_desktop_entry_point_answers_version_and_help() -> None:
    import subprocess

    from tests.conftest import BIN

    proc = subprocess.run(
        [str(BIN / "cmr-desktop"), "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0
    assert "cmr-desktop" in proc.stdout
    proc = subprocess.run(
        [str(BIN / "cmr-desktop"), "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0
    assert "--demo" in proc.stdout


def test_help_and_version_do_not_create_a_home(cmr: Any) -> None:
    assert cmr("--help").code == 0
    assert cmr("--version").code == 0
    assert not Path(cmr.home).exists()
