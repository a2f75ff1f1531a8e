"""The editor's Relationship form lists exactly the declared form fields
(``domain.brand.FORM_FIELDS``), in their order, each saved under its declared name."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel

from cmr_desktop.domain.brand import FORM_FIELDS
from cmr_desktop.ui.main_window import MainWindow


def test_the_relationship_form_shows_the_declared_fields_in_their_order(
    qtbot: Any, window: MainWindow
) -> None:
    editor = window.editor
    box = next(b for b in editor.findChildren(QGroupBox) if b.title() == "Relationship")
    form = box.layout()
    assert isinstance(form, QFormLayout)
    labels = []
    for row in range(form.rowCount()):
        item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
        widget = item.widget() if item is not None else None
        if isinstance(widget, QLabel):
            labels.append(widget.text())
    assert labels == ["&Status", *(f.label for f in FORM_FIELDS)]
    assert list(editor.detail_edits) == [f.name for f in FORM_FIELDS]
    for f in FORM_FIELDS:
        assert editor.detail_edits[f.name].accessibleName() == f.label


def test_a_detail_typed_in_the_form_is_stored_under_its_declared_name(
    qtbot: Any, window: MainWindow
) -> None:
    row = next(
        i for i in range(window.model.rowCount()) if window.model.row_at(i).slug == "shop-000"
    )
    window.table.selectRow(row)
    editor = window.editor
    qtbot.waitUntil(lambda: editor.slug == "shop-000" and editor.isEnabled(), timeout=5000)
    qtbot.waitUntil(lambda: editor.catalog_known, timeout=5000)
    for f in FORM_FIELDS:
        edit = editor.detail_edits[f.name]
        edit.setText(f"my {f.name}")
        with qtbot.waitSignal(window.writer.stored, timeout=5000):
            edit.editingFinished.emit()
    brand = window.services.brands.get_brand("shop-000").brand
    assert {f.name: getattr(brand, f.name) for f in FORM_FIELDS} == {
        f.name: f"my {f.name}" for f in FORM_FIELDS
    }
