"""Every brand action in the window (issue 10): remove with a confirmation and undo,
connector settings, added and imported brands shown, the editor never on a hidden brand,
and the note an empty table shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QMessageBox, QWizard

from cmr_desktop.domain import Channel
from cmr_desktop.services import SettingRefused
from cmr_desktop.testing.simulator import VendorSimulator
from cmr_desktop.ui.brand_actions import (
    ConnectorSettingsDialog,
    RemovalCandidate,
    removal_text,
)
from cmr_desktop.ui.connector_fields import KEPT
from cmr_desktop.ui.editor import SetField
from cmr_desktop.ui.main_window import MainWindow
from tests.conftest import open_services
from tests.reads import list_brands
from tests.ui.conftest import settle


def _confirm(qtbot: Any, window: MainWindow) -> QMessageBox:
    qtbot.waitUntil(
        lambda: (
            window.brand_actions.confirm is not None and window.brand_actions.confirm.isVisible()
        ),
        timeout=5000,
    )
    box = window.brand_actions.confirm
    assert box is not None
    return box


def _select(qtbot: Any, window: MainWindow, slug: str) -> None:
    name = window.services.brands.get_brand(slug).brand.name
    window.select_brand(slug)
    qtbot.waitUntil(lambda: window.editor.slug == slug, timeout=5000)
    # Loaded: the editor shows this brand's name and choices (not the previous brand's).
    qtbot.waitUntil(lambda: window.editor.title.text() == name, timeout=5000)
    qtbot.waitUntil(window.editor.isEnabled, timeout=5000)


def _slugs(window: MainWindow) -> set[str]:
    return {b.brand.slug for b in list_brands(window.services)}


def _shown(window: MainWindow) -> list[str]:
    return [window.model.row_at(i).slug for i in range(window.model.rowCount())]


# --- removing ------------------------------------------------------------------------------


def test_remove_from_the_brands_menu_says_what_happens_then_removes_brand_and_secret(
    qtbot: Any, window: MainWindow
) -> None:
    assert window.services.secrets.get("shop-003", "token")
    _select(qtbot, window, "shop-003")
    window.statusBar().showMessage("An older message", 60_000)
    brands_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Brands")
    assert window.remove_action in brands_menu.actions()  # type: ignore[union-attr]
    window.remove_action.trigger()
    box = _confirm(qtbot, window)
    assert box.text() == "Remove Shop 003?"
    words = box.informativeText()
    assert "decisions for it" in words
    assert "Nothing is sent to the vendor" in words
    assert "“Access token” is deleted from the system keyring" in words
    assert "activity journal keeps its entries" in words
    assert "undo" in words
    assert box.icon() is QMessageBox.Icon.Warning
    remove = window.brand_actions.remove_button
    assert remove is not None
    remove.click()
    qtbot.waitUntil(lambda: window.model.rowCount() == 12, timeout=5000)
    assert "shop-003" not in _slugs(window)
    assert window.services.secrets.get("shop-003", "token") is None
    assert [e.kind for e in window.services.journal.entries("shop-003")][-1] == "removed"
    # The brand after it is shown, and the status bar offers the undo.
    qtbot.waitUntil(lambda: window.editor.slug == "shop-004", timeout=5000)
    assert window._current_slug() == "shop-004"
    notice = window.brand_actions.notice
    assert notice.isVisible()
    assert notice.plain_text() == "Removed Shop 003 — Undo"
    assert window.statusBar().currentMessage() == ""  # not drawn under the notice


def test_delete_key_on_the_list_asks_and_cancel_removes_nothing(
    qtbot: Any, window: MainWindow
) -> None:
    _select(qtbot, window, "shop-005")
    window.table.setFocus()
    qtbot.waitUntil(window.table.hasFocus, timeout=3000)
    qtbot.keyClick(window.table, Qt.Key.Key_Delete)
    box = _confirm(qtbot, window)
    assert box.text() == "Remove Shop 005?"
    cancel = box.button(QMessageBox.StandardButton.Cancel)
    assert box.defaultButton() is cancel  # Enter does not remove
    cancel.click()
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=3000)
    settle(qtbot, window.runner)
    assert "shop-005" in _slugs(window)
    assert window.model.rowCount() == 13
    assert window.services.secrets.get("shop-005", "token")
    assert window.undo_stack.count() == 0


def test_delete_in_the_editor_leaves_a_choice_undecided_and_removes_no_brand(
    qtbot: Any, window: MainWindow
) -> None:
    _select(qtbot, window, "shop-007")
    switch = window.editor.switches[Channel.EMAIL]
    switch.setFocus()
    qtbot.waitUntil(switch.hasFocus, timeout=3000)
    qtbot.keyClick(switch, Qt.Key.Key_Delete)
    qtbot.waitUntil(
        lambda: (
            window.services.brands.get_brand("shop-007").brand.preferences.channels.get(
                Channel.EMAIL
            )
            is None
        ),
        timeout=5000,
    )
    settle(qtbot, window.runner)
    assert window.brand_actions.confirm is None
    assert "shop-007" in _slugs(window)


def test_the_context_menu_offers_remove_and_connector_settings(window: MainWindow) -> None:
    assert window.table.contextMenuPolicy() is Qt.ContextMenuPolicy.ActionsContextMenu
    actions = window.table.actions()
    assert window.remove_action in actions
    assert window.settings_action in actions
    assert window.sign_in_action in actions


def test_undo_puts_the_brand_back_with_its_decisions_and_secret_and_selects_it(
    qtbot: Any, window: MainWindow
) -> None:
    svc = window.services
    token = svc.secrets.get("shop-006", "token")
    before = svc.brands.get_brand("shop-006").brand
    assert before.preferences.channels.get(Channel.EMAIL) is False
    _select(qtbot, window, "shop-006")
    window.remove_action.trigger()
    remove = _confirm(qtbot, window)
    assert window.brand_actions.remove_button is not None
    window.brand_actions.remove_button.click()
    qtbot.waitUntil(lambda: "shop-006" not in _slugs(window), timeout=5000)
    qtbot.waitUntil(lambda: window.undo_stack.canUndo(), timeout=5000)
    assert window.undo_stack.undoText() == "Remove Shop 006"  # Edit ▸ Undo Remove Shop 006
    window.search.setText("Shop 01")  # the brand put back is shown even so
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=5000)
    window.brand_actions.notice.activate()  # the status bar's "Undo"
    qtbot.waitUntil(lambda: window.editor.slug == "shop-006", timeout=5000)
    after = svc.brands.get_brand("shop-006").brand
    assert after.preferences == before.preferences
    assert after.connector_config == before.connector_config
    assert after.created_at == before.created_at
    assert svc.secrets.get("shop-006", "token") == token
    assert window._current_slug() == "shop-006"
    assert window.model.rowCount() == 13
    assert "Put back Shop 006" in window.statusBar().currentMessage()
    # Redo removes it again.
    window.undo_stack.redo()
    # The removal is stored first and its secrets deleted after: wait for the whole job.
    qtbot.waitUntil(
        lambda: "Removed Shop 006 again" in window.statusBar().currentMessage(), timeout=10_000
    )
    assert "shop-006" not in _slugs(window)
    assert svc.secrets.get("shop-006", "token") is None
    assert remove is not None


def test_several_brands_are_removed_with_one_confirmation_and_one_undo(
    qtbot: Any, window: MainWindow
) -> None:
    _select(qtbot, window, "shop-001")
    model, selection = window.model, window.table.selectionModel()
    rows = QItemSelection(model.index(2, 0), model.index(4, 0))  # Shop 001 to Shop 003
    selection.select(
        rows,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    assert window.selected_slugs() == ["shop-001", "shop-002", "shop-003"]
    window.remove_action.trigger()
    box = _confirm(qtbot, window)
    assert box.text() == "Remove 3 brands?"
    assert "Shop 001, Shop 002, Shop 003." in box.informativeText()
    assert window.brand_actions.remove_button is not None
    assert window.brand_actions.remove_button.text() == "&Remove 3 brands"
    window.brand_actions.remove_button.click()
    qtbot.waitUntil(lambda: window.model.rowCount() == 10, timeout=5000)
    assert window.brand_actions.notice.plain_text() == "Removed 3 brands — Undo"
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: window.model.rowCount() == 13, timeout=5000)
    assert {"shop-001", "shop-002", "shop-003"} <= _slugs(window)


def test_the_confirmation_of_a_brand_without_a_connector_mentions_no_secret() -> None:
    question, words = removal_text([RemovalCandidate("corner-shop", "Corner Shop", (), True)])
    assert question == "Remove Corner Shop?"
    assert "keyring" not in words
    assert "choices not sent yet will not be sent" in words
    question, words = removal_text(
        [
            RemovalCandidate("a", "A", ("Access token",), False),
            RemovalCandidate("b", "B", (), False),
        ]
    )
    assert question == "Remove 2 brands?"
    assert "• The secret of A (“Access token”) is deleted from the system keyring." in words
    assert "they come back as they were, “Access token” included" in words


# --- connector settings --------------------------------------------------------------------


def _settings(qtbot: Any, window: MainWindow, slug: str) -> ConnectorSettingsDialog:
    _select(qtbot, window, slug)
    window.settings_action.trigger()
    dialog = window.brand_actions.settings_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.loaded is not None, timeout=10_000)
    return dialog


def _labels(dialog: ConnectorSettingsDialog) -> list[str]:
    form = dialog.form.form
    out = []
    for row in range(form.rowCount()):
        item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
        widget = item.widget() if item is not None else None
        if isinstance(widget, QLabel):
            out.append(widget.text())
    return out


def test_connector_settings_show_the_connectors_labels_and_save_a_change(
    qtbot: Any, window: MainWindow, sim: VendorSimulator
) -> None:
    dialog = _settings(qtbot, window, "shop-001")
    assert _labels(dialog) == ["API address", "Your subscriber id", "Access token"]
    token = dialog.form.edit("token")
    assert token is not None
    assert token.text() == ""  # never shown
    assert token.echoMode() is QLineEdit.EchoMode.Password
    assert token.placeholderText() == KEPT
    subject = dialog.form.edit("subject")
    assert subject is not None
    assert subject.text() == "s-1"
    vendor = sim.vendor_ids[1]  # shop-001 is at the second vendor
    sim.add_subject(vendor, "s-new")
    subject.setText("s-new")
    token.setText("typed-new-token")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    svc = window.services
    assert svc.brands.get_brand("shop-001").brand.connector_config["subject"] == "s-new"
    assert svc.secrets.get("shop-001", "token") == "typed-new-token"
    home = Path(svc.store.home)
    stored = b"".join(p.read_bytes() for p in home.glob("cmr.sqlite3*"))
    assert b"typed-new-token" not in stored  # the keyring only
    assert "Saved the connector settings of Shop 001" in window.statusBar().currentMessage()
    # Shown again: the new value.
    dialog = _settings(qtbot, window, "shop-001")
    again = dialog.form.edit("subject")
    assert again is not None
    assert again.text() == "s-new"
    dialog.reject()


def test_a_bad_connector_setting_is_refused_with_a_message_naming_the_field(
    qtbot: Any, window: MainWindow
) -> None:
    before = window.services.brands.get_brand("shop-002").brand.connector_config
    dialog = _settings(qtbot, window, "shop-002")
    url = dialog.form.edit("base_url")
    assert url is not None
    url.setText("ftp://vendor.example/v1")
    # Flagged under the field as it is typed (the wizard's form), and Save waits for a fix.
    problem = dialog.form.problems["base_url"]
    assert problem.isVisibleTo(dialog)
    assert "should look like https://" in problem.text()
    assert not dialog.save_button.isEnabled()
    # What only the services can refuse is named too, and nothing is saved.
    with pytest.raises(SettingRefused) as refused:
        window.services.connections.set_connector_settings(
            "shop-002", {**before, "base_url": "ftp://x/v1"}
        )
    assert "API address" in str(refused.value)
    assert window.services.brands.get_brand("shop-002").brand.connector_config == before
    url.clear()
    assert not dialog.save_button.isEnabled()  # a required field is empty
    dialog.reject()


def test_sign_in_again_from_the_connector_settings(qtbot: Any, window: MainWindow) -> None:
    dialog = _settings(qtbot, window, "shop-004")
    assert dialog.sign_in_button.isEnabled()
    dialog.sign_in_button.click()
    qtbot.waitUntil(lambda: window.sign_in is not None and window.sign_in.isVisible(), timeout=5000)
    assert window.sign_in is not None
    assert window.sign_in.slug == "shop-004"
    assert not dialog.isVisible()
    window.sign_in.reject()


def test_a_brand_handled_by_hand_has_nothing_to_set_up(qtbot: Any, window: MainWindow) -> None:
    dialog = _settings(qtbot, window, "corner-shop")
    assert "handled by hand" in dialog.heading.text()
    assert not dialog.save_button.isEnabled()
    assert not dialog.sign_in_button.isEnabled()
    dialog.reject()


# --- added or imported while a filter or search is active ----------------------------------


def _pick_sidebar(window: MainWindow, key: tuple[str, Any]) -> None:
    for i in range(window.sidebar.count()):
        if window.sidebar.item(i).data(Qt.ItemDataRole.UserRole) == key:
            window.sidebar.setCurrentRow(i)
            return
    raise AssertionError(f"no sidebar entry {key}")


def test_a_brand_added_while_a_filter_hides_it_is_shown_and_selected(
    qtbot: Any, window: MainWindow
) -> None:
    _pick_sidebar(window, ("category", "finance"))
    qtbot.waitUntil(lambda: window.model.rowCount() == 6, timeout=3000)
    window.add_action.trigger()
    wizard = window.wizard
    assert wizard is not None
    qtbot.waitUntil(lambda: wizard.how.ready, timeout=10_000)
    wizard.who.name.setText("Zeta Bakery")
    wizard.who.category.setText("food")
    wizard.next()
    wizard.next()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: window.editor.slug == "zeta-bakery", timeout=5000)
    assert window._current_slug() == "zeta-bakery"
    assert window.model.rowCount() == 14  # "All" again
    assert window.sidebar.currentRow() == 0
    message = window.statusBar().currentMessage()
    assert "Added" in message
    assert "The filter hid it: cleared to show all brands." in message


def test_brands_imported_while_a_search_hides_them_are_shown_and_the_first_selected(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    other = open_services(tmp_path / "other")
    other.brands.add_brand("Beta Imported")
    other.brands.add_brand("Alpha Imported")
    path = tmp_path / "new.json"
    with path.open("w", encoding="utf-8") as out:
        other.transfer.export_json(out)
    other.store.close()
    window.search.setText("Shop 00")
    qtbot.waitUntil(lambda: window.model.rowCount() == 10, timeout=3000)
    window.files.preview_import(path)
    qtbot.waitUntil(lambda: window.files.dialog is not None, timeout=5000)
    dialog = window.files.dialog
    assert dialog is not None
    assert dialog.action_button is not None
    dialog.action_button.click()
    qtbot.waitUntil(lambda: window.editor.slug == "alpha-imported", timeout=5000)
    assert window.search.text() == ""
    assert window._current_slug() == "alpha-imported"
    assert window.model.rowCount() == 15
    assert "The search hid them: cleared to show all brands." in (
        window.statusBar().currentMessage()
    )


# --- the filter never leaves the editor on a hidden brand ----------------------------------


def test_changing_the_filter_moves_the_selection_off_a_hidden_brand(
    qtbot: Any, window: MainWindow
) -> None:
    _select(qtbot, window, "corner-shop")  # category food
    _pick_sidebar(window, ("category", "finance"))
    qtbot.waitUntil(lambda: window.editor.slug != "corner-shop", timeout=3000)
    first = _shown(window)[0]
    assert window._current_slug() == first
    qtbot.waitUntil(lambda: window.editor.slug == first, timeout=3000)
    # A brand still listed stays current.
    _select(qtbot, window, "shop-005")
    window.search.setText("Shop 00")
    qtbot.waitUntil(lambda: window.model.rowCount() == 5, timeout=3000)  # odd, below 010
    assert window._current_slug() == "shop-005"
    assert window.editor.slug == "shop-005"


def test_a_search_that_hides_every_brand_leaves_no_brand_in_the_editor(
    qtbot: Any, window: MainWindow
) -> None:
    _select(qtbot, window, "shop-002")
    window.search.setText("xyz")
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=3000)
    assert not window.table.currentIndex().isValid()
    assert window.editor.slug is None
    assert not window.editor.isEnabled()
    assert not window.editor.isVisible()
    assert window.detail.text() == "Select a brand to see what it may do."
    # Once the search no longer hides it, the brand shown before is current again.
    window.search.clear()
    qtbot.waitUntil(lambda: window.editor.slug == "shop-002", timeout=3000)
    assert window._current_slug() == "shop-002"
    assert window.editor.isVisible()


# --- the empty table says why --------------------------------------------------------------


def test_a_search_with_no_match_says_so_in_the_table_and_its_button_clears_it(
    qtbot: Any, window: MainWindow
) -> None:
    window.search.setText("xyz")
    note = window.empty_note
    qtbot.waitUntil(note.isVisible, timeout=3000)
    assert note.text() == "No brand matches 'xyz' — clear the search"
    assert note.parent() is window.table.viewport()  # drawn in the table
    assert window.table.viewport().rect().contains(note.geometry())
    note.button.click()
    qtbot.waitUntil(lambda: window.model.rowCount() == 13, timeout=3000)
    assert window.search.text() == ""
    assert not note.isVisible()
    assert window.editor.slug is not None


def test_escape_in_the_search_box_clears_the_search(qtbot: Any, window: MainWindow) -> None:
    window.search.setFocus()
    qtbot.keyClicks(window.search, "xyz")
    qtbot.waitUntil(window.empty_note.isVisible, timeout=3000)
    qtbot.keyClick(window.search, Qt.Key.Key_Escape)
    assert window.search.text() == ""
    qtbot.waitUntil(lambda: window.model.rowCount() == 13, timeout=3000)
    assert not window.empty_note.isVisible()


def test_an_empty_filter_says_no_brand_needs_attention(qtbot: Any, window: MainWindow) -> None:
    window.services.brands.remove_brand("corner-shop")  # the one brand handled by hand
    window.reload()
    qtbot.waitUntil(lambda: window.model.rowCount() == 12, timeout=3000)
    _pick_sidebar(window, ("attention", None))
    note = window.empty_note
    qtbot.waitUntil(note.isVisible, timeout=3000)
    assert note.text() == "No brand needs attention — show all brands"
    note.button.click()
    qtbot.waitUntil(lambda: window.model.rowCount() == 12, timeout=3000)
    assert not note.isVisible()


def _remove_now(qtbot: Any, window: MainWindow, slug: str) -> None:
    steps = window.undo_stack.count()
    _select(qtbot, window, slug)
    window.remove_action.trigger()
    _confirm(qtbot, window)
    assert window.brand_actions.remove_button is not None
    window.brand_actions.remove_button.click()
    # The removal's undo step is pushed once the whole job is done (its secrets deleted
    # after the stored removal): wait for that step, not for canUndo(), which an older
    # step already makes true — an undo() before the push would undo that older step.
    qtbot.waitUntil(lambda: window.undo_stack.count() == steps + 1, timeout=10_000)
    assert slug not in _slugs(window)


def test_a_refused_put_back_drops_the_steps_below_it_so_no_undo_edits_another_brand(
    qtbot: Any, window: MainWindow
) -> None:
    """An older step names the brand by id; once another brand has that id, undoing the
    step would decide something for the new brand that its customer never decided."""
    svc = window.services
    _select(qtbot, window, "shop-006")
    qtbot.waitUntil(lambda: window.editor.slug == "shop-006", timeout=5000)
    # An undoable edit (its undo would write "SMS off" by id) …
    window.undo_stack.push(
        SetField(window.writer, "shop-006", ("channel", Channel.SMS), False, True)
    )
    settle(qtbot, window.runner)
    _remove_now(qtbot, window, "shop-006")
    svc.brands.add_brand("Shop 006", category="food")  # … and another brand with that id
    said: list[str] = []  # every message, not only the last (a reload may follow it at once)
    window.statusBar().messageChanged.connect(said.append)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: any("Not put back" in m for m in said), timeout=20_000)
    assert not window.undo_stack.canUndo()
    window.undo_stack.undo()  # nothing left to undo
    settle(qtbot, window.runner)
    assert svc.brands.get_brand("shop-006").brand.preferences.channels.get(Channel.SMS) is None


def test_undoing_a_removal_during_a_sync_waits_for_the_sync_to_end(
    qtbot: Any, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = window.services
    _remove_now(qtbot, window, "shop-006")
    syncing = [True]
    monkeypatch.setattr(window.brand_actions, "busy", lambda: syncing[0])
    window.undo_stack.undo()
    assert "once the sync is done" in window.statusBar().currentMessage()
    settle(qtbot, window.runner)
    assert "shop-006" not in {r.slug for r in svc.brands.brand_records()}  # not while it syncs
    syncing[0] = False
    window.brand_actions.sync_done()  # as the window does when the sync ends
    qtbot.waitUntil(lambda: "shop-006" in _slugs(window), timeout=5000)
