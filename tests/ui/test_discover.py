"""Find my brands in the window: a real generated mbox, the real discovery service and a
real SQLite home; the scan runs on its own thread, the adds on the runner's write thread."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from cmr_desktop.domain.vocabulary import Channel, Frequency
from cmr_desktop.mail.headers import MailHeaders, MailSource, ScanRun, Skipped
from cmr_desktop.mail.mbox import MboxSource
from cmr_desktop.testing.mailgen import messages, write_mbox
from cmr_desktop.ui import discover
from cmr_desktop.ui.discover import DiscoverDialog, FoundModel, read_text
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.runner import Runner
from tests.conftest import NOW, open_services
from tests.ui.conftest import settle

START = NOW - dt.timedelta(days=89)


def make_mbox(path: Path, n: int = 400, seed: int = 1) -> Path:
    write_mbox(path, messages(seed=seed, n=n, start=START, days=88))
    return path


@pytest.fixture
def window(qtbot: Any, tmp_path: Path) -> Iterator[MainWindow]:
    svc = open_services(tmp_path / "home")
    svc.brands.add_brand("Corner Shop", category="food")
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    win = MainWindow(svc, Runner(), settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.model.rowCount() == 1, timeout=5000)
    yield win
    if win.discover_dialog is not None:
        win.discover_dialog.close()
    settle(qtbot, win.runner)
    svc.store.close()


def scan_file(qtbot: Any, dialog: DiscoverDialog, mbox: Path) -> None:
    dialog.mbox_path.setText(str(mbox))
    qtbot.mouseClick(dialog.scan_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is dialog.found_page, timeout=30_000)


def row_of(model: FoundModel, name: str) -> int:
    """The row of a sender by the name its mail gives or the directory's ("Zalando SE")."""
    return next(i for i, f in enumerate(model.rows) if f.name.split()[0] == name)


def test_find_my_brands_scans_an_mbox_and_adds_the_checked_brand_at_the_chosen_frequency(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    mbox = make_mbox(tmp_path / "All mail.mbox")
    window.discover_action.trigger()
    dialog = window.discover_dialog
    assert dialog is not None
    assert dialog.isVisible()
    scan_file(qtbot, dialog, mbox)
    assert dialog.report.read == 400 - dialog.report.skipped
    assert dialog.found_summary.text().startswith(read_text(dialog.report.read, 0)[:3])
    found = dialog.found
    names = [f.name.split()[0] for f in found.rows]
    assert "Zalando" in names
    assert "Spotify" in names
    assert not found.choices()  # nothing is added until the customer checks it
    zalando = row_of(found, "Zalando")
    row = found.rows[zalando]
    # Pre-filled with the frequency nearest to what it sends now; the customer changes it.
    assert found.index(zalando, FoundModel.ALLOW).data(Qt.ItemDataRole.EditRole) == row.suggested
    found.toggle(zalando)
    assert found.setData(found.index(zalando, FoundModel.ALLOW), Frequency.MONTHLY)
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=10_000)
    added = [r for r in window.model.all_rows() if r.name != "Corner Shop"]
    assert len(added) == 1
    slug = added[0].slug
    assert f"Added 1 brand from your mailbox: {row.name}" in window.statusBar().currentMessage()
    view = window.services.brands.get_brand(slug)
    assert view.brand.preferences.get(("frequency", Channel.EMAIL)) == Frequency.MONTHLY
    # The dashboard measures it at once (the Measured column is read again after an add).
    qtbot.waitUntil(lambda: window.model.measured(slug) is not None, timeout=5000)
    # Afterwards the dialog shows it as tracked: it cannot be added a second time.
    qtbot.waitUntil(lambda: found.rows[row_of(found, "Zalando")].tracked_slug == slug)
    again = row_of(found, "Zalando")
    assert found.text(found.rows[again], FoundModel.ALLOW) == "already tracked"
    assert not found.flags(found.index(again, 0)) & Qt.ItemFlag.ItemIsUserCheckable
    assert found.data(found.index(again, 0), Qt.ItemDataRole.CheckStateRole) is None


def test_a_brand_added_with_no_decision_has_no_email_choice_recorded(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    dialog = window.find_brands()
    scan_file(qtbot, dialog, make_mbox(tmp_path / "inbox.mbox"))
    found = dialog.found
    spotify = row_of(found, "Spotify")
    found.toggle(spotify)
    found.setData(found.index(spotify, FoundModel.ALLOW), None)
    assert found.text(found.rows[spotify], FoundModel.ALLOW) == "no decision"
    dialog.add_selected()
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=10_000)
    slug = next(r.slug for r in window.model.all_rows() if r.name != "Corner Shop")
    prefs = window.services.brands.get_brand(slug).brand.preferences
    assert prefs.get(("frequency", Channel.EMAIL)) is None


def test_scanning_the_same_mbox_again_shows_the_added_brands_as_tracked_not_new(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    mbox = make_mbox(tmp_path / "inbox.mbox")
    dialog = window.find_brands()
    scan_file(qtbot, dialog, mbox)
    dialog.found.check_all(True)
    checked = len(dialog.found.choices())
    dialog.add_selected()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1 + checked, timeout=10_000)
    qtbot.mouseClick(dialog.again_button, Qt.MouseButton.LeftButton)
    assert dialog.pages.currentWidget() is dialog.source_page
    scan_file(qtbot, dialog, mbox)
    assert dialog.report.read == 0  # only new mail is read
    assert dialog.found.rows
    assert all(f.tracked_slug for f in dialog.found.rows)
    dialog.found.check_all(True)
    assert not dialog.found.choices()
    assert not dialog.add_button.isEnabled()
    assert window.model.rowCount() == 1 + checked  # no brand twice


def test_a_missing_file_is_one_line_on_the_source_page_and_nothing_is_scanned(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    dialog = window.find_brands()
    dialog.mbox_path.setText(str(tmp_path / "nowhere.mbox"))
    dialog.start_scan()
    assert dialog.pages.currentWidget() is dialog.source_page
    assert dialog.source_error.text() == f"Mbox file: {tmp_path / 'nowhere.mbox'} is not a file."
    assert not dialog.is_scanning()
    dialog.maildir.setChecked(True)
    dialog.maildir_path.setText(str(make_mbox(tmp_path / "a.mbox", n=5)))
    dialog.start_scan()
    assert "is not a folder" in dialog.source_error.text()
    dialog.imap.setChecked(True)
    qtbot.waitUntil(lambda: dialog.accounts.count() == 1)
    dialog.start_scan()
    assert dialog.source_error.text().startswith("IMAP account: add an account first")


class GatedSource:
    """The real mbox source, stopping after ``after`` messages until ``gate`` is set: the
    test cancels while the scan is surely still reading."""

    def __init__(self, source: MailSource, after: int, gate: threading.Event) -> None:
        self.source, self.after, self.gate = source, after, gate
        self.reached = threading.Event()

    @property
    def key(self) -> str:
        return self.source.key

    def describe(self) -> str:
        return self.source.describe()

    def scan(self, resume: Mapping[str, object] | None = None) -> ScanRun:
        run, outer = self.source.scan(resume), self

        class Gated:
            total = run.total

            def __iter__(self) -> Iterator[MailHeaders | Skipped]:
                for i, item in enumerate(run):
                    if i == outer.after:
                        outer.reached.set()
                        outer.gate.wait(30)
                    yield item

            def resume_point(self) -> dict[str, object]:
                return run.resume_point()

            def close(self) -> None:
                run.close()

        return Gated()


def test_cancel_stops_the_scan_and_keeps_what_was_read(
    qtbot: Any, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mbox = make_mbox(tmp_path / "big.mbox", n=3000)
    gate = threading.Event()
    sources: list[GatedSource] = []

    def gated(services: Any, kind: str, value: str) -> GatedSource:
        sources.append(GatedSource(MboxSource(Path(value).resolve()), 2500, gate))
        return sources[-1]

    monkeypatch.setattr(discover, "open_source", gated)
    dialog = window.find_brands()
    dialog.mbox_path.setText(str(mbox))
    dialog.start_scan()
    assert dialog.pages.currentWidget() is dialog.progress_page
    assert dialog.cancel_button.isDefault()
    qtbot.waitUntil(lambda: bool(sources) and sources[0].reached.is_set(), timeout=30_000)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not dialog.cancel_button.isEnabled()
    gate.set()
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is dialog.found_page, timeout=30_000)
    assert dialog.report.cancelled
    assert dialog.report.read + dialog.report.skipped < 3000
    assert dialog.found_summary.text().startswith("Cancelled: ")
    assert "the next scan of this source goes on from there" in dialog.found_summary.text()
    assert dialog.found.rows  # what was read is shown


def test_after_a_cancel_the_next_scan_reads_only_the_rest(
    qtbot: Any, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mbox = make_mbox(tmp_path / "big.mbox", n=3000)
    gate = threading.Event()
    sources: list[GatedSource] = []

    def gated(services: Any, kind: str, value: str) -> GatedSource:
        sources.append(GatedSource(MboxSource(Path(value).resolve()), 2500, gate))
        return sources[-1]

    monkeypatch.setattr(discover, "open_source", gated)
    dialog = window.find_brands()
    dialog.mbox_path.setText(str(mbox))
    dialog.start_scan()
    qtbot.waitUntil(lambda: bool(sources) and sources[0].reached.is_set(), timeout=30_000)
    dialog.cancel_scan()
    gate.set()
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is dialog.found_page, timeout=30_000)
    first = dialog.report.read + dialog.report.skipped
    monkeypatch.undo()
    qtbot.mouseClick(dialog.again_button, Qt.MouseButton.LeftButton)
    scan_file(qtbot, dialog, mbox)
    assert dialog.report.read + dialog.report.skipped == 3000 - first


def test_the_progress_page_counts_the_messages_read_while_the_scan_runs(
    qtbot: Any, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mbox = make_mbox(tmp_path / "big.mbox", n=3000)
    gate = threading.Event()
    sources: list[GatedSource] = []

    def gated(services: Any, kind: str, value: str) -> GatedSource:
        sources.append(GatedSource(MboxSource(Path(value).resolve()), 2999, gate))
        return sources[-1]

    monkeypatch.setattr(discover, "open_source", gated)
    dialog = window.find_brands()
    dialog.mbox_path.setText(str(mbox))
    dialog.start_scan()
    assert dialog.count.text() == "0 messages read (0 skipped)"
    qtbot.waitUntil(lambda: bool(sources) and sources[0].reached.is_set(), timeout=30_000)
    qtbot.waitUntil(lambda: dialog.count.text() != "0 messages read (0 skipped)", timeout=10_000)
    assert dialog.count.text().endswith(" skipped)")
    assert " messages read (" in dialog.count.text()
    gate.set()
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is dialog.found_page, timeout=30_000)


def test_the_count_reads_like_a_sentence() -> None:
    assert read_text(12345, 3) == "12,345 messages read (3 skipped)"
    assert read_text(1, 0) == "1 message read (0 skipped)"


def test_closing_the_dialog_while_scanning_cancels_the_scan(
    qtbot: Any, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mbox = make_mbox(tmp_path / "big.mbox", n=1000)
    gate = threading.Event()
    sources: list[GatedSource] = []

    def gated(services: Any, kind: str, value: str) -> GatedSource:
        sources.append(GatedSource(MboxSource(Path(value).resolve()), 500, gate))
        return sources[-1]

    monkeypatch.setattr(discover, "open_source", gated)
    dialog = window.find_brands()
    dialog.mbox_path.setText(str(mbox))
    dialog.start_scan()
    qtbot.waitUntil(lambda: bool(sources) and sources[0].reached.is_set(), timeout=30_000)
    cancel = dialog._cancel
    assert cancel is not None
    dialog.close()
    assert cancel.is_set()
    gate.set()
    qtbot.waitUntil(lambda: not dialog.is_scanning(), timeout=30_000)
    assert dialog.report.cancelled


def test_every_step_of_find_my_brands_works_from_the_keyboard(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    mbox = make_mbox(tmp_path / "inbox.mbox")
    window.activateWindow()
    qtbot.keyClick(
        window,
        Qt.Key.Key_F,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    dialog = window.discover_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.scan_button.isDefault()
    dialog.mbox_path.setFocus()
    qtbot.keyClicks(dialog.mbox_path, str(mbox))
    qtbot.keyClick(dialog.mbox_path, Qt.Key.Key_Return)  # Enter: the default button, Scan
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is dialog.found_page, timeout=30_000)
    assert dialog.add_button.isDefault()
    table = dialog.table
    assert table.hasFocus() or QApplication.focusWidget() is table
    first = dialog.found.rows[table.currentIndex().row()]
    qtbot.keyClick(table, Qt.Key.Key_Space)  # checks the current row
    assert first.key in dialog.found.checked
    qtbot.keyClick(table, Qt.Key.Key_Return)  # Add selected
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=10_000)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())


def test_the_welcome_offers_find_my_brands_and_it_opens_the_dialog(
    qtbot: Any, tmp_path: Path
) -> None:
    svc = open_services(tmp_path / "home")
    win = MainWindow(svc, Runner(), QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.pages.currentWidget() is win.pages.welcome, timeout=5000)
    button = win.pages.welcome.buttons["mailbox"]
    assert button.accessibleName() == "Find my brands in my mailbox"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert win.discover_dialog is not None
    assert win.discover_dialog.isVisible()
    win.discover_dialog.close()
    settle(qtbot, win.runner)
    svc.store.close()


def test_vendor_text_in_the_dialog_is_plain_text(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    dialog = window.find_brands()
    scan_file(qtbot, dialog, make_mbox(tmp_path / "inbox.mbox"))
    for label in (dialog.found_summary, dialog.found_status, dialog.source_error, dialog.count):
        assert label.textFormat() == Qt.TextFormat.PlainText
    tip = dialog.found.data(dialog.found.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    assert "<p style='white-space:pre-wrap'>" in tip  # escaped, shown as plain text


def test_a_file_that_is_not_an_mbox_is_one_line_and_the_source_page_stays(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    photo = tmp_path / "holiday.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not mail at all")
    dialog = window.find_brands()
    dialog.mbox_path.setText(str(photo))
    dialog.start_scan()
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is dialog.source_page, timeout=10_000)
    qtbot.waitUntil(lambda: dialog.source_error.text() != "", timeout=10_000)
    text = dialog.source_error.text()
    assert text.startswith("The scan stopped: ")
    assert str(photo) in text
    assert "\n" not in text
    assert "Traceback" not in text


def test_the_hidden_welcome_takes_no_height_from_the_brand_panes(window: MainWindow) -> None:
    # Four big welcome buttons are taller than the brand panes need: hidden, they must not
    # make the window's centre (and so the results dock's room) any taller.
    pages = window.pages
    assert pages.currentWidget() is pages.brands
    assert pages.welcome.minimumSizeHint().height() > pages.brands.minimumSizeHint().height()
    assert pages.minimumSizeHint() == pages.brands.minimumSizeHint()


def test_a_home_without_the_company_directory_gets_the_bundled_one_so_brands_match(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    assert window.services.directory.directory_size() == 0
    dialog = window.find_brands()
    scan_file(qtbot, dialog, make_mbox(tmp_path / "inbox.mbox"))
    assert window.services.directory.directory_size() > 1000
    matched = {f.name: f.directory_name for f in dialog.found.rows if f.directory_slug}
    assert matched  # e.g. Zalando, IKEA: "In the directory" says so
    row = next(i for i, f in enumerate(dialog.found.rows) if f.directory_slug)
    shown = dialog.found.index(row, 1).data()
    assert shown == dialog.found.rows[row].directory_name
