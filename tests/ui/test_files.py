"""File menu flows: export, import with a preview first, the company directory."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from cmr_desktop.ui.main_window import MainWindow
from tests.integration.test_directory import real_directory


def test_export_json_and_csv(qtbot: Any, window: MainWindow, tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    window.files.export_to(target, "json")
    qtbot.waitUntil(lambda: "Exported 13" in window.statusBar().currentMessage(), timeout=5000)
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert doc["format"] == "cmr-desktop-export"
    assert len(doc["brands"]) == 13
    assert "token" not in target.read_text(encoding="utf-8")  # secrets never exported
    table = tmp_path / "out.csv"
    window.files.export_to(table, "csv")
    qtbot.waitUntil(lambda: table.exists(), timeout=5000)
    rows = list(csv.reader(table.open(encoding="utf-8")))
    assert len({r[0] for r in rows[1:]}) == 13  # every brand (a row per setting)
    assert not list(tmp_path.glob("*.part"))  # written whole, then renamed


def _export_renaming_the_first(
    qtbot: Any, window: MainWindow, tmp_path: Path, name: str
) -> tuple[Path, dict[str, Any]]:
    """An export of the window's home whose first brand is renamed to ``name``."""
    source = tmp_path / "edited.json"
    window.files.export_to(source, "json")
    qtbot.waitUntil(source.exists, timeout=5000)
    doc: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    doc["brands"][0]["name"] = name
    source.write_text(json.dumps(doc), encoding="utf-8")
    return source, doc


def test_import_shows_the_changes_before_writing(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    source, doc = _export_renaming_the_first(qtbot, window, tmp_path, "Renamed Shop")
    slug = doc["brands"][0]["slug"]
    window.files.preview_import(source)
    qtbot.waitUntil(lambda: window.files.dialog is not None, timeout=5000)
    dialog = window.files.dialog
    assert dialog is not None
    assert "nothing is written yet" in dialog.heading.text()
    assert "Renamed Shop" in dialog.text.toPlainText()
    assert window.services.get_brand(slug).brand.name != "Renamed Shop"
    assert dialog.action_button is not None
    dialog.action_button.click()
    qtbot.waitUntil(
        lambda: window.services.get_brand(slug).brand.name == "Renamed Shop", timeout=5000
    )
    qtbot.waitUntil(
        lambda: any(window.model.row_at(i).name == "Renamed Shop" for i in range(13)), timeout=5000
    )


def test_a_broken_import_file_is_named_and_nothing_changes(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "cmr-desktop-export", "version": 1, "brands": [{}]}')
    before = [b.brand for b in window.services.list_brands()]
    window.files.preview_import(broken)
    qtbot.waitUntil(lambda: window.files.dialog is not None, timeout=5000)
    dialog = window.files.dialog
    assert dialog is not None
    assert "Import failed" in dialog.heading.text()
    assert "broken.json" in dialog.heading.text()
    assert dialog.action_button is None
    assert [b.brand for b in window.services.list_brands()] == before


def test_company_directory_import_reports_skipped_records(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    records = json.loads(real_directory().read_text(encoding="utf-8"))[:3]
    path = tmp_path / "dir.json"
    path.write_text(json.dumps([*records, {"slug": "x"}]), encoding="utf-8")
    window.files.import_directory(path)
    qtbot.waitUntil(lambda: window.files.dialog is not None, timeout=5000)
    dialog = window.files.dialog
    assert dialog is not None
    assert "Added 3" in dialog.heading.text()
    assert "skipped 1" in dialog.heading.text()
    assert "record 3 ('x')" in dialog.text.toPlainText()
    assert window.services.directory_size() == 3


def test_an_import_stops_if_the_file_changed_since_the_preview(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    source, doc = _export_renaming_the_first(qtbot, window, tmp_path, "First Name")
    window.files.preview_import(source)
    qtbot.waitUntil(lambda: window.files.dialog is not None, timeout=5000)
    preview = window.files.dialog
    assert preview is not None
    doc["brands"][0]["name"] = "Sneaky Other Name"
    source.write_text(json.dumps(doc), encoding="utf-8")
    assert preview.action_button is not None
    preview.action_button.click()
    qtbot.waitUntil(lambda: window.files.dialog is not preview, timeout=5000)
    assert window.files.dialog is not None
    assert "changed since the preview" in window.files.dialog.heading.text()
    names = {b.brand.name for b in window.services.list_brands()}
    assert "Sneaky Other Name" not in names
    assert "First Name" not in names
