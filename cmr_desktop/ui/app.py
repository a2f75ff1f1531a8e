"""`cmr-desktop`: start the desktop app (``--demo`` for a throw-away home with a simulator)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from cmr_desktop import __version__
from cmr_desktop.services import Services
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.runner import Runner

APP_ID = "io.github.cmr_desktop.CMRDesktop"
DEMO_VENDORS = 6


def build_demo(services: Services, simulator: Any) -> None:
    """Fill a throw-away home: the demo brands handled by hand, and 36 brands connected to
    simulated vendors (one flaky, one that tampers) so drift shows up at once."""
    from cmr_desktop.domain import Channel, DataCategory, Decision, Grant, Purpose
    from cmr_desktop.paths import resources_dir

    services.import_file(resources_dir() / "demo" / "brands.json")
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
    for i in range(36):
        vendor = simulator.vendor_ids[i % DEMO_VENDORS]
        subject = f"demo-{i:02d}"
        simulator.add_subject(vendor, subject)
        name = f"{names[i % len(names)]}" + ("" if i < len(names) else f" {i // len(names) + 1}")
        services.add_brand(
            name,
            category=categories[i % len(categories)],
            connector="openpref",
            connector_config={"base_url": simulator.base_url(vendor), "subject": subject},
            secrets={"token": simulator.token(vendor)},
        )
        slug = services.get_brand(name).brand.slug
        until = dt.date.today() + dt.timedelta(days=30 + 20 * i)

        def edit(p: Any, i: int = i, until: dt.date = until) -> Any:
            p = p.with_channel(Channel.EMAIL, i % 3 != 0)
            return p.with_grant(
                DataCategory.CONTACT,
                Purpose.MARKETING,
                Grant(Decision.ALLOW, until) if i % 2 else Grant(Decision.DENY),
            )

        services.update_preferences(slug, edit)
    simulator.set_knobs(simulator.vendor_ids[2], error_rate=0.25)  # a flaky vendor
    simulator.set_knobs(simulator.vendor_ids[3], tamper_rate=0.5)  # one that tampers
    # The company directory for the add-brand wizard, standing terms that some brands break
    # (for the My Terms window), and a permission that ends soon (for the notices).
    services.import_directory()
    from cmr_desktop.domain.policy import MyTerms, NeverPurpose, NoChannel

    services.set_policy(MyTerms.of([NoChannel(Channel.SMS), NeverPurpose(Purpose.SALE)]))
    soon = dt.date.today() + dt.timedelta(days=5)
    services.update_preferences(
        "contoso-bank",
        lambda p: p.with_grant(
            DataCategory.LOCATION, Purpose.ANALYTICS, Grant(Decision.ALLOW, soon)
        ),
    )


def main(
    argv: Sequence[str] | None, build_services: Callable[[str | Path | None], Services]
) -> int:
    """Run the app.

    Args:
        argv: the arguments (None: ``sys.argv[1:]``).
        build_services: opens the services for a home (the composition root passes it in).
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

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("CMR Desktop")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)

    simulator = None
    temp: tempfile.TemporaryDirectory[str] | None = None
    if args.demo:
        from cmr_desktop.testing.keyring import use_shared_keyring
        from cmr_desktop.testing.simulator import VendorSimulator, default_vendors

        temp = tempfile.TemporaryDirectory(prefix="cmr-desktop-demo-")
        # A throw-away home: throw-away secrets, in a file the sync process can read.
        use_shared_keyring(Path(temp.name) / "demo-keyring.json")
        simulator = VendorSimulator(default_vendors(DEMO_VENDORS), seed=7)
        simulator.start()
        services = build_services(Path(temp.name) / "home")
        build_demo(services, simulator)
        settings = QSettings(str(Path(temp.name) / "ui.ini"), QSettings.Format.IniFormat)
    else:
        services = build_services(args.home)
        settings = QSettings("cmr-desktop", "cmr-desktop")
    runner = Runner()
    window = MainWindow(services, runner, settings)
    if args.demo:
        window.setWindowTitle("CMR Desktop — demo (nothing is kept)")
    window.show()
    try:
        return int(app.exec())
    finally:
        runner.wait()
        window.deleteLater()
        app.processEvents()
        services.store.close()
        if simulator is not None:
            simulator.stop()
        if temp is not None:
            temp.cleanup()
