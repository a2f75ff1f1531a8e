"""File menu flows: export, import with a preview first, the company directory."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox

from cmr_desktop.ui.main_window import MainWindow
from tests.integration.test_directory import real_directory
from tests.reads import list_brands


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
    assert window.services.brands.get_brand(slug).brand.name != "Renamed Shop"
    assert dialog.action_button is not None
    dialog.action_button.click()
    qtbot.waitUntil(
        lambda: window.services.brands.get_brand(slug).brand.name == "Renamed Shop", timeout=5000
    )
    qtbot.waitUntil(
        lambda: any(window.model.row_at(i).name == "Renamed Shop" for i in range(13)), timeout=5000
    )


def test_a_broken_import_file_is_named_and_nothing_changes(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "cmr-desktop-export", "version": 1, "brands": [{}]}')
    before = [b.brand for b in list_brands(window.services)]
    window.files.preview_import(broken)
    qtbot.waitUntil(lambda: window.files.error is not None, timeout=5000)
    box = window.files.error
    assert box is not None
    assert "Import failed" in box.text()
    assert "broken.json" in box.text()
    assert box.icon() is QMessageBox.Icon.Critical  # the standard icon (ui.errors' box)
    assert window.files.dialog is None  # no preview, nothing to press
    assert [b.brand for b in list_brands(window.services)] == before


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
    assert window.services.directory.directory_size() == 3


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
    qtbot.waitUntil(lambda: window.files.error is not None, timeout=5000)
    assert "changed since the preview" in window.files.error.text()
    names = {b.brand.name for b in list_brands(window.services)}
    assert "Sneaky Other Name" not in names
    assert "First Name" not in names


def test_the_preview_names_brands_and_their_changes_in_words(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    source, doc = _export_renaming_the_first(qtbot, window, tmp_path, "Renamed Shop")
    old_name = window.services.brands.get_brand(doc["brands"][0]["slug"]).brand.name
    extra = {**doc["brands"][1], "slug": "deutsche-bahn-ag", "name": "Deutsche Bahn AG"}
    doc["brands"].append(extra)
    source.write_text(json.dumps(doc), encoding="utf-8")
    window.files.preview_import(source)
    qtbot.waitUntil(
        lambda: window.files.dialog is not None or window.files.error is not None, timeout=5000
    )
    assert window.files.error is None, window.files.error.text()
    dialog = window.files.dialog
    assert dialog is not None
    text = dialog.text.toPlainText()
    assert "New: Deutsche Bahn AG" in text.splitlines()
    assert f"Changed: {old_name}: Name: {old_name} → Renamed Shop" in text
    assert "deutsche-bahn-ag" not in text  # names, not ids
    assert "1 brand to add, 1 to change" in dialog.heading.text()


def test_a_stale_import_failed_is_gone_during_the_next_preview(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    window.files.preview_import(broken)
    qtbot.waitUntil(lambda: window.files.error is not None, timeout=5000)
    failed = window.files.error
    assert failed is not None
    assert failed.isVisible()
    assert window.statusBar().currentMessage() == "Import failed."
    source, _doc = _export_renaming_the_first(qtbot, window, tmp_path, "Renamed Shop")
    window.files.preview_import(source)
    assert not failed.isVisible()  # at once, while the file is read
    assert window.files.error is None
    assert "Import failed" not in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.files.dialog is not None, timeout=5000)
    assert "Import failed" not in window.statusBar().currentMessage()
    assert "1 to change" in window.statusBar().currentMessage()


def test_changes_in_a_preview_are_told_in_words() -> None:
    from cmr_desktop.domain import Brand, Channel, DataCategory, Decision, Grant, Purpose
    from cmr_desktop.ui.files import change_words

    old = Brand(slug="contoso-bank", name="Contoso Bank")
    prefs = old.preferences.with_channel(Channel.EMAIL, False).with_grant(
        DataCategory.DEMOGRAPHICS, Purpose.ANALYTICS, Grant(Decision.DENY)
    )
    new = Brand(
        slug="contoso-bank",
        name="Contoso Bank",
        website="https://c.example",
        preferences=prefs.with_topic("t-1", True),
    )
    assert change_words(old, new) == [
        "Website: none → https://c.example",
        "Email: their default → refused",
        "Demographics for analytics: their default → refused",
        "Topic 'T 1': their default → allowed",
    ]
