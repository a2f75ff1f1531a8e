"""Render the main screens of the demo offscreen into docs/images/.

Run: QT_QPA_PLATFORM=offscreen python docs/screenshots.py
(``CMR_SCREENSHOTS_OUT=folder`` writes them there instead, e.g. to look at them first.)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from cmr_desktop.app import build_services
from cmr_desktop.testing.keyring import use_shared_keyring
from cmr_desktop.testing.simulator import VendorSimulator, default_vendors
from cmr_desktop.ui.app import DEMO_VENDORS, build_demo
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


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        welcome(app, Path(tmp))
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
        wait(app, lambda: journal.chain.text() != "Checking the journal…", 5000)
        journal.grab().save(str(OUT / "journal.png"))
        journal.close()
        data_map = window.show_map()
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
