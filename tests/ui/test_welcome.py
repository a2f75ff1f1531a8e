"""What a new user meets: the welcome on an empty home, and the editor's hint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QFileDialog, QPushButton, QWizard

from cmr_desktop.ui import welcome
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.watch import watch_window
from tests.conftest import open_services
from tests.ui.conftest import settle


@pytest.fixture
def empty(qtbot: Any, tmp_path: Path) -> Iterator[MainWindow]:
    """A window over an empty home, whose *Try the demo* only records that it was asked."""
    svc = open_services(tmp_path / "home")
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    win = MainWindow(svc, Runner(), settings)
    win.launched = []  # type: ignore[attr-defined]
    win.pages.welcome.launch = lambda: win.launched.append(True) or True  # type: ignore[attr-defined]
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.pages.currentWidget() is win.pages.welcome, timeout=5000)
    yield win
    settle(qtbot, win.runner)
    svc.store.close()


def _welcome_shown(window: MainWindow) -> bool:
    return window.pages.currentWidget() is window.pages.welcome


def test_an_empty_home_shows_the_welcome_with_four_actions(empty: MainWindow) -> None:
    page = empty.pages.welcome
    assert page.isVisible()
    assert not empty.table.isVisible()
    assert not empty.editor.isVisible()
    assert "CMR Desktop" in page.intro.text()
    assert "decided" in page.intro.text()
    assert list(page.buttons) == ["add", "import", "mailbox", "demo"]
    names = [b.accessibleName() for b in page.buttons.values()]
    assert names == ["Add a brand", "Import a file", "Find my brands in my mailbox", "Try the demo"]
    for button in page.buttons.values():
        assert button.focusPolicy() & Qt.FocusPolicy.TabFocus
        assert "&" in button.text()  # a mnemonic (Alt+A, Alt+I, Alt+D)
        assert button.accessibleDescription()
    assert "own window" in page.buttons["demo"].accessibleDescription()
    assert "keeps nothing" in page.buttons["demo"].accessibleDescription()


def test_tab_moves_through_the_welcomes_actions_in_order(qtbot: Any, empty: MainWindow) -> None:
    page = empty.pages.welcome
    empty.activateWindow()
    page.buttons["add"].setFocus()
    qtbot.waitUntil(page.buttons["add"].hasFocus, timeout=3000)
    order = [page.buttons["add"]]
    for _ in range(len(page.buttons) - 1):
        widget = order[-1].nextInFocusChain()
        while not (isinstance(widget, QPushButton) and widget.isVisible()):
            widget = widget.nextInFocusChain()
        order.append(widget)
    assert order == list(page.buttons.values())


def test_the_summary_line_says_no_brands_yet_on_an_empty_home(empty: MainWindow) -> None:
    assert empty.summary.text() == "No brands yet"
    assert "All in order" not in empty.summary.text()


def test_what_needs_brands_waits_for_one_on_an_empty_home(empty: MainWindow) -> None:
    for action in (empty.sync_all, empty.verify_all, empty.sync_selected, empty.map_action):
        assert not action.isEnabled(), action.text()
    assert not empty.search.isEnabled()


def test_add_a_brand_opens_the_wizard_and_the_new_brand_replaces_the_welcome(
    qtbot: Any, empty: MainWindow
) -> None:
    qtbot.mouseClick(empty.pages.welcome.buttons["add"], Qt.MouseButton.LeftButton)
    wizard = empty.wizard
    assert wizard is not None
    qtbot.waitUntil(wizard.isVisible, timeout=3000)
    qtbot.waitUntil(lambda: wizard.how.ready, timeout=10_000)
    qtbot.keyClicks(wizard.who.name, "Corner Bakery")
    wizard.next()
    wizard.next()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: empty.pages.currentWidget() is empty.pages.brands, timeout=10_000)
    qtbot.waitUntil(lambda: empty.editor.slug == "corner-bakery", timeout=5000)
    assert empty.summary.text() != "No brands yet"
    assert empty.sync_all.isEnabled()
    assert empty.search.isEnabled()


def test_import_a_file_asks_for_the_file_and_shows_its_preview(
    qtbot: Any, empty: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "mine.json"
    other = open_services(tmp_path / "other")
    other.brands.add_brand("Imported Shop", category="retail")
    with source.open("w", encoding="utf-8") as out:
        other.transfer.export_json(out)
    other.store.close()
    asked: list[str] = []

    def pick(*args: Any, **kwargs: Any) -> tuple[str, str]:
        asked.append(str(args[1]))  # the dialog's title
        return str(source), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", pick)
    qtbot.mouseClick(empty.pages.welcome.buttons["import"], Qt.MouseButton.LeftButton)
    assert asked == ["Import brands"]
    qtbot.waitUntil(lambda: empty.files.dialog is not None, timeout=5000)
    dialog = empty.files.dialog
    assert dialog is not None
    assert "Imported Shop" in dialog.text.toPlainText()
    assert _welcome_shown(empty)  # nothing is written before the user says so
    assert dialog.action_button is not None
    dialog.action_button.click()
    qtbot.waitUntil(lambda: not _welcome_shown(empty), timeout=10_000)
    assert empty.model.row_at(0).name == "Imported Shop"


def test_try_the_demo_starts_it_and_says_it_opens_in_its_own_window(
    qtbot: Any, empty: MainWindow
) -> None:
    qtbot.mouseClick(empty.pages.welcome.buttons["demo"], Qt.MouseButton.LeftButton)
    assert empty.launched == [True]  # type: ignore[attr-defined]
    status = empty.pages.welcome.status.text()
    assert "its own window" in status
    assert "keeps nothing" in status
    assert _welcome_shown(empty)  # this window and its home stay as they are


def test_a_demo_that_cannot_start_says_so(qtbot: Any, empty: MainWindow) -> None:
    empty.pages.welcome.launch = lambda: False
    empty.pages.welcome.buttons["demo"].click()
    assert "could not be started" in empty.pages.welcome.status.text()


def test_the_demo_is_started_as_the_desktop_app_with_this_interpreter() -> None:
    program, arguments = welcome.demo_command()
    import sys

    assert program == sys.executable
    assert arguments[-1] == "--demo"
    assert "gui_main" in arguments[2]  # cmr-desktop, not the cmr command line


def test_the_demo_command_does_not_import_code_from_the_current_folder(tmp_path: Path) -> None:
    import subprocess

    shadow = tmp_path / "cmr_desktop"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise SystemExit('shadowed')\n")
    program, arguments = welcome.demo_command()
    probe = [a if a != welcome._GUI else "import cmr_desktop; print(cmr_desktop.__file__)"
             for a in arguments[:-1]]  # fmt: skip
    out = subprocess.run(
        [program, *probe], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True
    )
    assert str(tmp_path) not in out.stdout


def test_the_welcome_goes_when_another_process_adds_a_brand_and_returns_when_it_is_removed(
    qtbot: Any, empty: MainWindow
) -> None:
    watcher = watch_window(empty)
    other = open_services(empty.services.store.home)  # its own connections: as `cmr` would
    try:
        other.brands.add_brand("Terminal Bakery", category="food")
        qtbot.waitUntil(lambda: not _welcome_shown(empty), timeout=15_000)
        assert empty.table.isVisible()
        assert empty.summary.text() != "No brands yet"
        other.brands.remove_brand("terminal-bakery")
        qtbot.waitUntil(lambda: _welcome_shown(empty), timeout=15_000)
        assert empty.summary.text() == "No brands yet"
    finally:
        watcher.stop()
        other.store.close()


def test_the_welcome_comes_back_when_the_window_reloads_a_home_without_brands(
    qtbot: Any, empty: MainWindow
) -> None:
    empty.services.brands.add_brand("Corner Shop")
    empty.reload()
    qtbot.waitUntil(lambda: not _welcome_shown(empty), timeout=5000)
    empty.services.brands.remove_brand("corner-shop")
    empty.reload()
    qtbot.waitUntil(lambda: _welcome_shown(empty), timeout=5000)
    assert empty.summary.text() == "No brands yet"


def test_the_editor_shows_a_hint_until_a_brand_is_selected(qtbot: Any, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.editor_pages.currentWidget() is window.editor_pages.editor)
    window.table.setCurrentIndex(window.model.index(-1, -1))  # nothing selected
    qtbot.waitUntil(lambda: window.editor_pages.currentWidget() is window.editor_pages.hint)
    assert window.editor_pages.hint.isVisible()
    assert not window.editor.isVisible()
    assert "Select a brand" in window.editor_pages.hint.label.text()
    window.select_brand("corner-shop")
    qtbot.waitUntil(lambda: window.editor_pages.currentWidget() is window.editor_pages.editor)
    assert window.editor.isVisible()
    qtbot.waitUntil(lambda: window.editor.slug == "corner-shop", timeout=5000)


def test_a_search_that_matches_nothing_shows_the_hint_not_an_empty_editor(
    qtbot: Any, window: MainWindow
) -> None:
    window.search.setText("no such brand anywhere")
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=5000)
    qtbot.waitUntil(lambda: window.editor_pages.hint.isVisible(), timeout=5000)
    assert not _welcome_shown(window)  # the home has brands: no welcome for an empty result


def test_a_search_that_still_lists_the_brand_in_the_editor_keeps_the_editor(
    qtbot: Any, window: MainWindow
) -> None:
    window.select_brand("corner-shop")
    qtbot.waitUntil(lambda: window.editor.slug == "corner-shop", timeout=5000)
    window.search.setText("corner")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=5000)
    assert window.editor_pages.currentWidget() is window.editor_pages.editor
    window.search.setText("shop 00")  # Corner Shop is no longer listed
    qtbot.waitUntil(lambda: window.model.rowCount() == 10, timeout=5000)
    # The first listed brand takes its place (never a brand the list does not show).
    first = window.model.row_at(0).slug
    qtbot.waitUntil(lambda: window.editor.slug == first, timeout=5000)
    assert window.editor_pages.currentWidget() is window.editor_pages.editor
