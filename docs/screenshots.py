"""Render the main screens of the demo offscreen into docs/images/.

Run: QT_QPA_PLATFORM=offscreen python docs/screenshots.py
(``CMR_SCREENSHOTS_OUT=folder`` writes them there instead, e.g. to look at them first.)
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from cmr_desktop.app import build_services
from cmr_desktop.domain.clock import FixedClock
from cmr_desktop.domain.vocabulary import Channel, Frequency
from cmr_desktop.testing.keyring import use_shared_keyring
from cmr_desktop.testing.mailgen import messages, write_mbox
from cmr_desktop.testing.simulator import VendorSimulator, default_vendors
from cmr_desktop.ui.app import DEMO_VENDORS, build_demo
from cmr_desktop.ui.discover import DiscoverDialog, FoundModel
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.palette import dark_palette
from cmr_desktop.ui.runner import Runner

OUT = Path(os.environ.get("CMR_SCREENSHOTS_OUT") or Path(__file__).resolve().parent / "images")


def wait(app: QApplication, condition: object, timeout_ms: int = 30_000) -> None:
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(50)
    waited = [0]

    def check() -> None:
        waited[0] += 50
        if condition() or waited[0] > timeout_ms:  # type: ignore[operator]
            loop.quit()

    timer.timeout.connect(check)
    timer.start()
    loop.exec()
    timer.stop()


def settle(app: QApplication, turns: int = 5) -> None:
    """Let shown and hidden widgets finish their layout before a grab: posted layout requests
    and deferred deletes run on later event-loop turns, not in the one that changed them."""
    for _ in range(turns):
        loop = QEventLoop()
        QTimer.singleShot(20, loop.quit)
        loop.exec()
        app.processEvents()


def select(window: MainWindow, name: str) -> None:
    window.sidebar.setCurrentRow(0)
    window.search.setText(name)
    window._apply_filter()
    row = next(i for i in range(window.model.rowCount()) if window.model.row_at(i).name == name)
    window.table.selectRow(row)


def welcome(app: QApplication, tmp: Path) -> None:
    """The window over an empty home: the welcome page (what a new user meets)."""
    services = build_services(tmp / "empty-home")
    window = MainWindow(
        services, Runner(), QSettings(str(tmp / "empty-ui.ini"), QSettings.Format.IniFormat)
    )
    window.resize(1280, 760)
    window.show()
    wait(app, lambda: window.pages.currentWidget() is window.pages.welcome, 10_000)
    settle(app)
    window.grab().save(str(OUT / "welcome.png"))
    window.close()
    window.runner.wait()
    window.deleteLater()
    app.processEvents()
    services.store.close()


#: The mailbox's "now": the screenshots show the same dates on every run.
MAIL_NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
#: The day the customer first scans their mailbox (and unsubscribes from one brand).
FIRST_SCAN = MAIL_NOW - dt.timedelta(days=40)


def found_row(dialog: DiscoverDialog, name: str) -> int:
    """The found table's row of a sender by the first word of its name ("Zalando SE")."""
    rows = dialog.found.rows
    return next(i for i, f in enumerate(rows) if f.name.split()[0] == name)


def mailbox(app: QApplication, tmp: Path) -> None:
    """Find my brands on a generated mbox, then the dashboard's Measured column.

    The story, with the services' own clock: 50 days of mail are in the mbox on the day of
    the first scan; the customer adds a few brands (Otto at most monthly, though it writes
    about seven times a week) and unsubscribes from Decathlon on its web page
    (``services.unsubscribe.confirm_web_done``, e-mail off). Forty days later the mbox holds
    the newer mail, a second scan reads only that, and Decathlon's mail after the 10
    business-day deadline is the evidence of the flag."""
    clock = FixedClock(FIRST_SCAN)
    services = build_services(tmp / "mail-home", clock=clock)
    mbox = tmp / "Takeout" / "Mail" / "All mail Including Spam and Trash.mbox"
    mbox.parent.mkdir(parents=True)
    mail = list(messages(seed=12, n=900, start=MAIL_NOW - dt.timedelta(days=89), days=88))
    first = [m for m in mail if m.expected.date is not None and m.expected.date <= FIRST_SCAN]
    write_mbox(mbox, first)
    window = MainWindow(
        services, Runner(), QSettings(str(tmp / "mail-ui.ini"), QSettings.Format.IniFormat)
    )
    window.resize(1280, 760)
    window.show()
    wait(app, lambda: window.pages.currentWidget() is window.pages.welcome, 10_000)
    dialog = window.find_brands()
    dialog.resize(1120, 640)  # its size on a real screen (the offscreen one is small)
    dialog.mbox_path.setText(str(mbox))
    settle(app)
    dialog.grab().save(str(OUT / "discover-source.png"))
    dialog.start_scan()
    wait(app, lambda: dialog.pages.currentWidget() is dialog.found_page)
    found = dialog.found
    # What the customer chooses: Otto, a frequent sender, at most monthly (it writes more
    # than that: flagged); the others at the frequency the dialog suggests.
    for name in ("Otto", "Zalando", "Spotify", "IKEA", "DECATHLON"):
        found.toggle(found_row(dialog, name))
    found.setData(found.index(found_row(dialog, "Otto"), FoundModel.ALLOW), Frequency.MONTHLY)
    dialog.table.setCurrentIndex(found.index(found_row(dialog, "Otto"), 0))
    settle(app)
    dialog.grab().save(str(OUT / "discover-found.png"))
    dialog.add_selected()
    wait(app, lambda: window.model.rowCount() == 5)
    dialog.close()
    # Decathlon's mail offers only a web page: the customer turns its e-mail off, opens the
    # page, and says they unsubscribed there (what the window's Open unsubscribe page records).
    decathlon = next(r.slug for r in window.model.all_rows() if r.name.startswith("DECATHLON"))
    services.preferences.update_preferences(
        decathlon, lambda p: p.with_channel(Channel.EMAIL, False)
    )
    services.unsubscribe.confirm_web_done(decathlon)
    # Forty days later: the newer mail is in the mbox; a second scan reads only that.
    clock.advance(MAIL_NOW - FIRST_SCAN)
    write_mbox(mbox, mail[len(first) :], append=True)
    dialog = window.find_brands()
    dialog.show_page(dialog.source_page)
    dialog.start_scan()
    wait(app, lambda: dialog.pages.currentWidget() is dialog.found_page)
    dialog.close()
    window.reload()
    wait(app, lambda: window.model.measured_flag_counts()["ignored_unsubscribe"] == 1)
    window.sidebar.setCurrentRow(0)
    rows = range(window.model.rowCount())
    window.table.selectRow(next(i for i in rows if window.model.row_at(i).name.startswith("Otto")))
    wait(app, lambda: bool(window.detail.text()), 5000)
    settle(app)
    window.grab().save(str(OUT / "measured-column.png"))
    window.close()
    window.runner.wait()
    window.deleteLater()
    app.processEvents()
    services.store.close()


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        welcome(app, Path(tmp))
    with tempfile.TemporaryDirectory() as tmp:
        mailbox(app, Path(tmp))
    with (
        tempfile.TemporaryDirectory() as tmp,
        VendorSimulator(default_vendors(DEMO_VENDORS), seed=7) as sim,
    ):
        use_shared_keyring(Path(tmp) / "keyring.json")
        services = build_services(Path(tmp) / "home")
        build_demo(services, sim)
        window = MainWindow(
            services, Runner(), QSettings(str(Path(tmp) / "ui.ini"), QSettings.Format.IniFormat)
        )
        window.resize(1280, 760)
        window.show()
        wait(app, lambda: window.model.rowCount() > 40)
        wait(app, lambda: "may" in window.detail.text(), 5000)
        window.grab().save(str(OUT / "dashboard-before-sync.png"))
        window.start_sync()
        wait(app, lambda: not window.is_syncing())
        window.start_sync(verify=True)  # the tampering vendor shows drift
        wait(app, lambda: not window.is_syncing())
        wait(app, lambda: "drift" in window.summary.text(), 5000)
        drifted = [o["brand"] for o in window.last_sync if o["result"] == "drift"]
        wait(app, lambda: all(window.results.undecided(slug) for slug in drifted), 5000)
        window.results.tree.setCurrentItem(window.results.tree.topLevelItem(0))
        window.grab().save(str(OUT / "sync-results.png"))
        window.results_dock.hide()
        app.processEvents()
        window.grab().save(str(OUT / "dashboard.png"))
        # Every demo brand needs attention (My Terms): show the entry that narrows it down.
        undecided = next(
            i
            for i in range(window.sidebar.count())
            if window.sidebar.item(i).text().strip().startswith("Vendor allows, undecided")
        )
        window.sidebar.setCurrentRow(undecided)
        wait(app, lambda: window.model.rowCount() < 40, 5000)
        window.table.selectRow(0)
        wait(app, lambda: bool(window.detail.text()), 5000)
        settle(app)
        window.grab().save(str(OUT / "needs-attention.png"))
        select(window, "Contoso Bank")  # a synced brand: the editor follows its catalog
        wait(app, lambda: "Only what this vendor offers" in window.editor.catalog_note.text())
        settle(app)  # the note rows beside undecided fields change the layout: let it settle
        window.grab().save(str(OUT / "brand-editor.png"))
        terms = window.show_terms()
        terms.resize(1180, 700)
        wait(app, lambda: "break your terms" in terms.status.text(), 5000)
        first = terms.tree.topLevelItem(0)
        if first is not None:
            first.setExpanded(True)
            first.setSelected(True)
        app.processEvents()
        terms.grab().save(str(OUT / "my-terms.png"))
        terms.ask_apply(())
        wait(app, lambda: terms.preview is not None and terms.preview.isVisible(), 5000)
        assert terms.preview is not None
        terms.preview.grab().save(str(OUT / "my-terms-preview.png"))
        terms.preview.reject()
        terms.close()
        wizard = window.add_brand()
        wizard.who.name.setText("deutsche bahn")
        wizard.who._search()
        wait(app, lambda: wizard.who.suggestions.rowCount() > 0, 5000)
        wizard.who.pick(wizard.who.suggestions.stringList()[0])
        app.processEvents()
        wizard.grab().save(str(OUT / "add-brand.png"))
        wizard.reject()
        journal = window.show_journal(None)
        journal.resize(1180, 640)  # its size on a real screen (the offscreen one is small)
        wait(app, lambda: journal.chain.text() != "Checking the journal…", 5000)
        journal.grab().save(str(OUT / "journal.png"))
        journal.close()
        data_map = window.show_map()
        data_map.resize(1180, 640)
        wait(app, lambda: data_map.model.rowCount() > 0, 5000)
        data_map.grab().save(str(OUT / "data-map.png"))
        data_map.close()
        app.setPalette(dark_palette())
        window.search.clear()
        window.sidebar.setCurrentRow(0)
        wait(app, lambda: window.model.rowCount() > 40, 5000)
        window.grab().save(str(OUT / "dashboard-dark.png"))
        app.setPalette(QPalette())
        # A search that matches no brand: the table says so, the editor's place shows its hint.
        window.search.setText("no such brand")
        wait(app, lambda: window.editor_pages.currentWidget() is window.editor_pages.hint, 5000)
        settle(app)
        window.grab().save(str(OUT / "editor-hint.png"))
        window.close()
        window.runner.wait()
        window.deleteLater()
        app.processEvents()
        services.store.close()
    for png in sorted(OUT.glob("*.png")):
        print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
