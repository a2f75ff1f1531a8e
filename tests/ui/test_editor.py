"""The brand editor: what the vendor's catalog allows, every kind of edit, undo and redo."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTime
from PySide6.QtWidgets import QComboBox, QLabel

from cmr_desktop.domain import Channel, DataCategory, Decision, Grant, Purpose
from cmr_desktop.domain.preferences import QuietHours
from cmr_desktop.ui.main_window import MainWindow


def _select(qtbot: Any, window: MainWindow, slug: str, *, catalog: bool = True) -> None:
    row = next(i for i in range(window.model.rowCount()) if window.model.row_at(i).slug == slug)
    window.table.selectRow(row)
    editor = window.editor
    qtbot.waitUntil(lambda: editor.slug == slug and editor.isEnabled(), timeout=5000)
    if catalog:
        qtbot.waitUntil(lambda: editor.catalog_known, timeout=5000)


def _choose(combo: QComboBox, data: Any) -> None:
    """What a user's pick does: set the entry, then the (user-only) activated signal."""
    index = combo.findData(data)
    assert index >= 0, f"{data!r} is not offered"
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def _prefs(window: MainWindow, slug: str) -> Any:
    return window.services.brands.get_brand(slug).brand.preferences


def test_only_what_the_vendor_offers_can_be_chosen(qtbot: Any, window: MainWindow) -> None:
    _select(qtbot, window, "shop-000")
    editor = window.editor
    catalog = window.services.connections.catalog("shop-000")
    assert catalog is not None
    assert editor.catalog == catalog
    assert "Only what this vendor offers" in editor.catalog_note.text()
    prefs = _prefs(window, "shop-000")
    for channel in Channel:
        offered = channel in catalog.channels
        assert editor.switches[channel].isEnabled() == (offered or channel in prefs.channels)
    email = editor.frequencies[Channel.EMAIL]
    offered_freqs = {email.itemData(i) for i in range(1, email.count())}
    assert offered_freqs == {f.value for f in catalog.frequencies}
    # Required topics: checked, disabled, with the vendor's reason as plain text.
    required = [t for t in catalog.topics if t.required]
    assert required
    for topic in required:
        box = editor.topic_boxes[topic.id]
        assert box.checkState() == Qt.CheckState.Checked
        assert not box.isEnabled()
        assert topic.reason in box.toolTip()
        notes = [
            label
            for label in editor.topics_box.findChildren(QLabel)
            if label.text() == topic.reason
        ]
        assert notes, "the reason is shown under the topic"
        assert notes[0].textFormat() is Qt.TextFormat.PlainText
    optional = {t.id for t in catalog.topics if not t.required}
    assert {t for t, b in editor.topic_boxes.items() if b.isEnabled()} == optional
    assert set(editor.use_rows) == set(catalog.data_uses) | set(prefs.grants)
    assert editor.quiet_box.isEnabled() == catalog.supports_quiet_hours


def test_topics_are_allowed_refused_or_left_undecided_with_undo(
    qtbot: Any, window: MainWindow
) -> None:
    _select(qtbot, window, "shop-001")
    editor = window.editor
    assert editor.catalog is not None
    topic = next(t.id for t in editor.catalog.topics if not t.required)
    box = editor.topic_boxes[topic]
    assert box.checkState() == Qt.CheckState.PartiallyChecked  # undecided at first

    def stored() -> bool | None:
        value: bool | None = _prefs(window, "shop-001").topics.get(topic)
        return value

    box.click()  # undecided -> wanted
    qtbot.waitUntil(lambda: stored() is True, timeout=10_000)
    box.click()  # wanted -> refused (a click never lands on "undecided")
    qtbot.waitUntil(lambda: stored() is False, timeout=10_000)
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_Delete)  # leave it to the brand
    qtbot.waitUntil(lambda: stored() is None, timeout=10_000)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: stored() is False, timeout=10_000)
    assert editor.topic_boxes[topic].checkState() == Qt.CheckState.Unchecked
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: stored() is True, timeout=10_000)
    assert window.services.brands.get_brand("shop-001").pending


def test_data_use_decisions_and_end_dates_are_saved_and_undone(
    qtbot: Any, window: MainWindow
) -> None:
    _select(qtbot, window, "shop-002")
    editor = window.editor
    assert editor.catalog is not None
    pair = sorted(editor.catalog.data_uses)[0]
    decision, until = editor.use_rows[pair]

    def stored() -> Grant | None:
        grant: Grant | None = _prefs(window, "shop-002").grants.get(pair)
        return grant

    assert not until.isEnabled()  # only an allow can end
    _choose(decision, Decision.DENY.value)
    qtbot.waitUntil(lambda: stored() == Grant(Decision.DENY), timeout=10_000)
    _choose(decision, Decision.ALLOW.value)
    qtbot.waitUntil(lambda: stored() == Grant(Decision.ALLOW), timeout=10_000)
    decision, until = editor.use_rows[pair]
    assert until.isEnabled()
    assert until.mode.currentText() == "No end"
    end = window.services.today() + dt.timedelta(days=200)
    _choose(until.mode, "until")
    until.edit.setText(end.isoformat())
    until.edit.editingFinished.emit()
    qtbot.waitUntil(lambda: stored() == Grant(Decision.ALLOW, end), timeout=10_000)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: stored() == Grant(Decision.ALLOW), timeout=10_000)
    window.undo_stack.redo()
    qtbot.waitUntil(lambda: stored() == Grant(Decision.ALLOW, end), timeout=10_000)
    assert editor.use_rows[pair][1].edit.text() == end.isoformat()


def test_adding_a_data_use_the_vendor_does_not_list(qtbot: Any, window: MainWindow) -> None:
    _select(qtbot, window, "corner-shop", catalog=False)
    editor = window.editor
    qtbot.waitUntil(lambda: "Handled by hand" in editor.catalog_note.text(), timeout=5000)
    assert all(box.isEnabled() for box in editor.switches.values())  # everything offered
    editor.add_category.setCurrentIndex(editor.add_category.findData("health"))
    editor.add_purpose.setCurrentIndex(editor.add_purpose.findData("research"))
    editor.add_use.click()
    pair = (DataCategory.HEALTH, Purpose.RESEARCH)
    qtbot.waitUntil(
        lambda: _prefs(window, "corner-shop").grants.get(pair) == Grant(Decision.DENY),
        timeout=10_000,
    )
    assert pair in editor.use_rows


def test_quiet_hours_and_relationship_details(qtbot: Any, window: MainWindow) -> None:
    _select(qtbot, window, "corner-shop", catalog=False)
    editor = window.editor
    editor.quiet_start.setTime(QTime(22, 30))
    editor.quiet_end.setTime(QTime(7, 0))
    editor.quiet.click()
    quiet = QuietHours(dt.time(22, 30), dt.time(7, 0))
    qtbot.waitUntil(lambda: _prefs(window, "corner-shop").quiet_hours == quiet, timeout=10_000)
    editor.quiet.click()
    qtbot.waitUntil(lambda: _prefs(window, "corner-shop").quiet_hours is None, timeout=10_000)

    def brand() -> Any:
        return window.services.brands.get_brand("corner-shop").brand

    website = editor.detail_edits["website"]
    website.setText("https://corner.example")
    website.editingFinished.emit()
    qtbot.waitUntil(lambda: brand().website == "https://corner.example", timeout=10_000)
    _choose(editor.status, "paused")
    qtbot.waitUntil(lambda: brand().status == "paused", timeout=10_000)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: brand().status == "active", timeout=10_000)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: brand().website == "", timeout=10_000)
    assert editor.detail_edits["website"].text() == ""


def test_a_rejected_detail_is_reported_and_the_stored_value_shown(
    qtbot: Any, window: MainWindow
) -> None:
    _select(qtbot, window, "corner-shop", catalog=False)
    editor = window.editor
    notes = editor.detail_edits["notes"]
    notes.setText("bad\x00note")  # control characters are refused by the domain
    notes.editingFinished.emit()
    qtbot.waitUntil(lambda: "Not saved" in window.statusBar().currentMessage(), timeout=10_000)
    qtbot.waitUntil(lambda: editor.detail_edits["notes"].text() == "", timeout=10_000)
    assert window.services.brands.get_brand("corner-shop").brand.notes == ""


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nothing else can take it) but
    never listening. Closed after the test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_vendor_that_cannot_be_asked_is_named_and_everything_is_shown(
    qtbot: Any, window: MainWindow, refused_port: int
) -> None:
    window.services.brands.add_brand(
        "Gone Vendor",
        connector="openpref",
        connector_config={"base_url": f"http://127.0.0.1:{refused_port}/v1", "subject": "x"},
        secrets={"token": "t"},
    )
    window.reload()
    qtbot.waitUntil(lambda: window.model.rowCount() == 14, timeout=5000)
    _select(qtbot, window, "gone-vendor")
    assert "Could not ask the vendor" in window.editor.catalog_note.text()
    assert all(box.isEnabled() for box in window.editor.switches.values())
    assert window.editor.switches[Channel.SMS].checkState() == Qt.CheckState.PartiallyChecked
