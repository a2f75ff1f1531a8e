"""`cmr-desktop`: start the desktop app (``--demo`` for a throw-away home with a simulator)."""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from cmr_desktop import __version__, storage
from cmr_desktop.paths import resolve_home
from cmr_desktop.services import Services, StoreError
from cmr_desktop.storage import DB_FILENAME
from cmr_desktop.ui.errors import home_problem, show_error
from cmr_desktop.ui.instance import SingleInstance
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.watch import watch_window

if TYPE_CHECKING:
    from cmr_desktop.testing.tethered import TetheredSimulator

APP_ID = "io.github.cmr_desktop.CMRDesktop"
#: With this environment variable set, the app prints VISIBLE_MARKER, time.monotonic() and
#: "cpu" with the process's CPU seconds so far (one line on stdout) once its window is first
#: painted (bench/bench_ui.py reads it; CPU time barely moves when the machine is busy).
VISIBLE_ENV = "CMR_DESKTOP_REPORT_VISIBLE"
VISIBLE_MARKER = "cmr-desktop: window visible at"
LOADED_MARKER = "cmr-desktop: brands shown"  # and how many, once the first load is shown
# What else opening a home may raise (storage.HomeUnusable is handled first).
HOME_ERRORS: tuple[type[Exception], ...] = (StoreError, OSError)
DEMO_VENDORS = 6
#: The demo's simulated vendors (``TetheredSimulator(DEMO_VENDORS, seed=7)``), by index:
#: 0 Acme Outdoor (email, SMS, phone, in-app), 1 Globex Bank (email, phone; asks for
#: demographics for sale), 2 Initech Travel (email, SMS, post, push, messaging), 3 Umbrella
#: Mobile (email, in-app, messaging; no SMS, nothing for sale), 4 Hooli News (email, SMS),
#: 5 Vandelay Pharmacy (email, SMS, phone, post, messaging; asks for contact and inferred
#: profile data for sale).
DEMO_DOWN_VENDOR = 2  # answers every request 503 "come back in two minutes"
DEMO_LAX_VENDOR = 3  # answers a write 200 but keeps a looser value: drift
#: The brands that tell the demo's story (all others: My Terms applied when they were added,
#: as the add-brand wizard does, and in sync after the first sync): name -> (vendor, story).
DEMO_STORY = {
    "Litware News": (4, "allows SMS"),  # the customer allowed SMS; My Terms say no SMS
    "Proseware Foods": (5, "allows sale"),  # the customer allowed contact data for sale
    "Wide World Travel": (1, "undecided"),  # added without My Terms; its vendor sells data
    "Tailspin Mobile": (3, "untouched"),  # added without My Terms; its vendor can do neither
    "Lucerne Insurance": (DEMO_LAX_VENDOR, "drift"),
    "Fabrikam Air": (DEMO_DOWN_VENDOR, "down"),
}
#: Vendors of the other connected brands (the down and the lax vendor get only their story).
DEMO_QUIET_VENDORS = (0, 1, 4, 5)
#: The brand handled by hand whose choices the customer has still to carry out.
DEMO_BY_HAND = "monarch-news"


def build_demo(services: Services, simulator: Any) -> None:
    """Fill a throw-away home that tells a story: the demo brands handled by hand and 36
    brands connected to simulated vendors, most keeping My Terms ("no SMS", "never sale"),
    a few to fix (see ``DEMO_STORY``): after the first sync, one brand that allows SMS, one
    that allows sale of data and one the customer never decided on whose vendor asks for
    it break My Terms; one vendor loosens a choice (drift), one is down (failed, to retry);
    a permission ends soon. A plain function of the services and the simulator (no Qt)."""
    from cmr_desktop.domain import Channel, DataCategory, Decision, Grant, Purpose
    from cmr_desktop.domain.policy import MyTerms, NeverPurpose, NoChannel
    from cmr_desktop.paths import resources_dir

    services.transfer.import_file(resources_dir() / "demo" / "brands.json")
    # Standing terms (for the My Terms window): the customer applied them as they went.
    services.preferences.set_policy(
        MyTerms.of([NoChannel(Channel.SMS), NeverPurpose(Purpose.SALE)])
    )
    manual = [r.slug for r in services.brands.brand_records()]
    categories = ("retail", "finance", "travel", "telecom", "media", "food")
    names = (
        "Northwind Outfitters",
        "Contoso Bank",
        "Fabrikam Air",
        "Tailspin Mobile",
        "Litware News",
        "Proseware Foods",
        "Adatum Books",
        "Wide World Travel",
        "Coho Winery",
        "Lucerne Insurance",
        "Trey Research",
        "Alpine Ski House",
    )
    with_terms, story = list(manual), {}
    for i in range(36):
        name = f"{names[i % len(names)]}" + ("" if i < len(names) else f" {i // len(names) + 1}")
        index, what = DEMO_STORY.get(name, (DEMO_QUIET_VENDORS[i % 4], ""))
        vendor = simulator.vendor_ids[index]
        subject = f"demo-{i:02d}"
        simulator.add_subject(vendor, subject)
        slug = services.brands.add_brand(
            name,
            category=categories[i % len(categories)],
            connector="openpref",
            connector_config={"base_url": simulator.base_url(vendor), "subject": subject},
            secrets={"token": simulator.token(vendor)},
        ).slug
        story[what] = slug
        if what == "untouched":
            continue  # nothing decided: the vendor's settings hold
        until = dt.date.today() + dt.timedelta(days=60 + 20 * i)

        def edit(p: Any, i: int = i, until: dt.date = until) -> Any:
            p = p.with_channel(Channel.EMAIL, i % 3 != 0)
            return p.with_grant(
                DataCategory.CONTACT,
                Purpose.MARKETING,
                Grant(Decision.ALLOW, until) if i % 2 else Grant(Decision.DENY),
            )

        services.preferences.update_preferences(slug, edit)
        if what != "undecided":
            with_terms.append(slug)
    services.preferences.apply_policy(
        with_terms
    )  # journaled as the customer's (as the wizard does)
    # The customer's own choices against their terms, made after applying them.
    services.preferences.update_preferences(
        story["allows SMS"], lambda p: p.with_channel(Channel.SMS, True)
    )
    services.preferences.update_preferences(
        story["allows sale"],
        lambda p: p.with_grant(DataCategory.CONTACT, Purpose.SALE, Grant(Decision.ALLOW)),
    )
    # A permission that ends soon (for the notices).
    soon = dt.date.today() + dt.timedelta(days=5)
    services.preferences.update_preferences(
        "contoso-bank",
        lambda p: p.with_grant(
            DataCategory.LOCATION, Purpose.ANALYTICS, Grant(Decision.ALLOW, soon)
        ),
    )
    # Brands handled by hand: carried out already, but for one.
    for slug in manual:
        if slug != DEMO_BY_HAND:
            services.sync.confirm_done_by_hand(slug)
    simulator.set_knobs(
        simulator.vendor_ids[DEMO_DOWN_VENDOR],
        error_rate=1.0,
        error_status=503,
        retry_after_seconds=120,
    )
    simulator.set_knobs(simulator.vendor_ids[DEMO_LAX_VENDOR], lax_write=True)
    # The company directory for the add-brand wizard.
    services.directory.import_directory()


def _open_home(
    build_services: Callable[[str | Path | None], Services], home: Path
) -> Services | None:
    """The services over ``home``, or None after telling the user why it cannot be opened."""
    try:
        return build_services(home)
    except storage.HomeUnusable as exc:  # storage says what is wrong and what to do
        text = (
            f"CMR Desktop cannot open the data folder {exc.home or home}:\n"
            f"{exc.reason.rstrip('.')}.\n\n{exc.advice.rstrip('.')}. Or choose another folder "
            "with --home (or the CMR_HOME environment variable). Nothing was changed."
        )
        show_error("CMR Desktop cannot start", text)
        return None
    except HOME_ERRORS as exc:
        reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
        if home.exists() and not home.is_dir():
            reason = "it is a file, not a folder"
        elif str(home / DB_FILENAME) not in reason:
            reason = f"{home / DB_FILENAME}: {reason}"
        show_error("CMR Desktop cannot start", home_problem(home, reason))
        return None


def main(
    argv: Sequence[str] | None, build_services: Callable[[str | Path | None], Services]
) -> int:
    """Run the app.

    Args:
        argv: the arguments (None: ``sys.argv[1:]``).
        build_services: opens the services for a home (the composition root passes it in).

    Returns:
        the event loop's exit status; 0 when another process already has the home open
        (its window was brought forward); 2 when the home cannot be opened (after saying why).
    """
    parser = argparse.ArgumentParser(prog="cmr-desktop", description="CMR Desktop")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open a throw-away home with demo brands and simulated vendors",
    )
    parser.add_argument("--home", help="data folder (default: CMR_HOME or the user data folder)")
    parser.add_argument("--version", action="version", version=f"cmr-desktop {__version__}")
    args = parser.parse_args(list(argv) if argv is not None else None)

    own_app = QApplication.instance() is None
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("CMR Desktop")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    if own_app:  # not in a test's process
        _quit_on_signals(app)

    simulators: list[TetheredSimulator] = []  # the demo's vendors, once started
    temp: tempfile.TemporaryDirectory[str] | None = None
    instance: SingleInstance | None = None
    if args.demo:
        from cmr_desktop.testing.keyring import use_shared_keyring

        temp = tempfile.TemporaryDirectory(prefix="cmr-desktop-demo-", dir=_demo_parent())
        # A throw-away home: throw-away secrets, in a file the sync process can read.
        use_shared_keyring(Path(temp.name) / "demo-keyring.json")
        home = Path(temp.name) / "home"
        settings = QSettings(str(Path(temp.name) / "ui.ini"), QSettings.Format.IniFormat)
    else:
        home = resolve_home(args.home)
        instance = SingleInstance(home)
        if not instance.acquire():
            print(f"CMR Desktop already has {home} open: its window was brought forward.")
            return 0
        settings = QSettings("cmr-desktop", "cmr-desktop")
    services = None
    window: MainWindow | None = None
    runner = Runner()
    try:
        services = _open_home(build_services, home)
        if services is None:
            return 2
        window = MainWindow(services, runner, settings)
        watcher = watch_window(window)
        if args.demo:
            window.setWindowTitle("CMR Desktop — demo (nothing is kept)")
            window.pages.prepare()
            # The window shows at once; the demo's vendors start and its brands are written
            # off the GUI thread once it is on screen (ui/app.py, start_demo).
            shown = window
            on_first_expose(window, lambda: start_demo(shown, simulators))
        if instance is not None:
            instance.activated.connect(lambda: _bring_forward(window))
        if os.environ.get(VISIBLE_ENV):
            on_first_expose(window, _report_visible)
            _report_loaded(window)
        on_first_expose(window, after_first_paint)
        window.show()
        status = int(app.exec())
        watcher.stop()
        return status
    finally:
        # Callbacks of finished jobs may start more (a load starts its checks): let them
        # run on the live window and wait again, so no job outlives the runner or the store.
        for _ in range(5):
            runner.wait()
            app.processEvents()
            if not runner.pending():
                break
        runner.wait()
        if instance is not None:
            instance.release()
        if window is not None:
            window.deleteLater()
            app.processEvents()
        if services is not None:
            services.store.close()
        for simulator in simulators:
            simulator.stop()
        if temp is not None:
            temp.cleanup()


def _demo_parent() -> str | None:
    """Where the demo's throw-away home goes: memory (/dev/shm) where there is one, since
    nothing is kept and a new database's first sync to disk costs ~0.4 s; else the default
    temporary folder."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


def start_demo(
    window: MainWindow,
    simulators: list[TetheredSimulator],
    build: Callable[[Services, Any], None] | None = None,
) -> None:
    """Start the demo's vendors and fill its home off the GUI thread, then show the brands.

    The window shows "Preparing the demo…" meanwhile. Services open a session per unit of
    work, so they may be used from the runner's write thread while the window reads. The
    started simulator is appended to ``simulators`` (main() stops it at the end).
    """
    services = window.services
    fill = build or build_demo

    def work() -> None:
        # The simulated vendors run in their own process, as real vendors do (they do not
        # share the window's GIL), and stop when the app ends, however it ends.
        from cmr_desktop.testing.tethered import TetheredSimulator

        simulator = TetheredSimulator(DEMO_VENDORS, seed=7)
        simulators.append(simulator)
        print(f"Demo vendors at {simulator.root} (process {simulator.pid})", flush=True)
        fill(services, simulator)

    def done(_result: object) -> None:
        window.pages.prepared()
        window.reload()  # its result replaces "Preparing…" with the brands
        window.notifier.check_expiring()  # the demo has a permission that ends soon

    def failed(error: Exception) -> None:
        window.pages.preparing.failed(
            f"{error}. Close this window and run cmr-desktop --demo in a terminal to see more."
        )

    window.runner.run(work, done, failed, write=True)


class _FirstExpose(QObject):
    """Calls ``then()`` once, when ``window`` is first exposed (drawn on the screen)."""

    def __init__(self, window: QWidget, then: Callable[[], None]) -> None:
        super().__init__(window)
        self._window, self._then = window, then
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.Paint:
            self._window.removeEventFilter(self)
            QTimer.singleShot(0, self._then)  # after this paint has reached the screen
        return False


def on_first_expose(window: QWidget, then: Callable[[], None]) -> None:
    """Run ``then()`` once, just after ``window`` is first painted on the screen."""
    _FirstExpose(window, then)


def after_first_paint() -> None:
    """Turn the cyclic garbage collector back on (``cmr_desktop.app.gui_main`` keeps it off
    while the app starts): one collection now, then everything made so far (modules,
    classes, the window) is frozen out of later collections, which stay short."""
    if not gc.isenabled():
        gc.collect()
        gc.freeze()
        gc.enable()


def _report_visible() -> None:
    """For bench/bench_ui.py: say that the window is on the screen."""
    print(f"{VISIBLE_MARKER} {time.monotonic():.6f} cpu {time.process_time():.3f}", flush=True)


def _report_loaded(window: MainWindow) -> None:
    """For bench/bench_ui.py: say when the home's brands (or the welcome) are first shown."""
    told: list[bool] = []

    def tell() -> None:
        if not told:
            told.append(True)
            print(f"{LOADED_MARKER} {window.model.rowCount()}", flush=True)

    def loaded() -> None:
        if not window.pages.is_preparing():
            QTimer.singleShot(0, tell)  # after the window has taken the rows

    window.model.modelReset.connect(loaded)


def _quit_on_signals(app: QApplication) -> None:
    """Ctrl-C or SIGTERM quits as the window's Quit does (so the demo's vendors stop too).
    Python runs signal handlers only between its own bytecodes: a timer lets it, now and
    then, while Qt's event loop waits."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Posted: a signal during start-up quits once the event loop runs.
        signal.signal(sig, lambda *_: QTimer.singleShot(0, lambda: _quit(app)))
    tick = QTimer(app, interval=250)
    tick.timeout.connect(lambda: None)
    tick.start()


def _quit(app: QApplication) -> None:
    app.closeAllWindows()  # as the window's own Quit: it saves its layout, stops a sync
    app.quit()


def _bring_forward(window: QWidget | None) -> None:
    if window is None:
        return
    window.showNormal()
    window.raise_()
    window.activateWindow()
