"""Find my brands from an IMAP account: the add-account form signs in to a real IMAP
server (pymap on loopback, its own CA), saves the account through services.mail_accounts
(the password in the keyring), and the scan reads the account's headers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt

from cmr_desktop.services.mail_accounts import MailAccountService
from cmr_desktop.testing.mailgen import messages
from cmr_desktop.testing.mailserver import HOST, PASSWORD, USER, ImapServer, PymapServer
from cmr_desktop.ui.discover import DiscoverDialog
from cmr_desktop.ui.mail_accounts import MailAccountDialog, account_id
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.runner import Runner
from tests.conftest import NOW, open_services
from tests.ui.conftest import settle


@pytest.fixture(scope="module")
def imap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    with PymapServer(tmp_path_factory.mktemp("pymap")) as server:
        mail = messages(seed=5, n=150, start=NOW - dt.timedelta(days=80), days=79)
        server.append("INBOX", [m.raw for m in mail])
        yield server


@pytest.fixture
def window(qtbot: Any, tmp_path: Path, imap: ImapServer) -> Iterator[MainWindow]:
    svc = open_services(tmp_path / "home")
    # The real account service, trusting the test server's CA (as a real one trusts the
    # system's certificates).
    svc.mail_accounts = MailAccountService(svc, ssl_context=imap.tls.client_context())
    win = MainWindow(svc, Runner(), QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.pages.currentWidget() is win.pages.welcome, timeout=5000)
    yield win
    if win.discover_dialog is not None:
        win.discover_dialog.close()
    settle(qtbot, win.runner)
    svc.store.close()


def fill(form: MailAccountDialog, port: int, password: str = PASSWORD) -> None:
    form.address.setText(USER)
    form.server.setText(HOST)
    form.security.setCurrentIndex(0)  # TLS
    form.port.setValue(port)
    form.password.setText(password)


def open_form(qtbot: Any, window: MainWindow) -> tuple[DiscoverDialog, MailAccountDialog]:
    dialog = window.find_brands()
    dialog.imap.setChecked(True)
    qtbot.mouseClick(dialog.add_account, Qt.MouseButton.LeftButton)
    form = dialog.account_dialog
    assert form is not None
    assert form.isVisible()
    return dialog, form


def test_an_added_account_signs_in_is_saved_and_its_mail_is_scanned(
    qtbot: Any, window: MainWindow, imap: ImapServer
) -> None:
    dialog, form = open_form(qtbot, window)
    fill(form, imap.tls_port)
    with qtbot.waitSignal(form.saved, timeout=30_000) as saved:
        qtbot.mouseClick(form.sign_in, Qt.MouseButton.LeftButton)
    assert saved.args == [account_id(USER)]
    assert form.status.text().startswith("Signed in; ")
    assert form.status.text().endswith(f"Saved as {USER}.")
    assert form.password.text() == ""  # not kept in the form
    [account] = window.services.mail_accounts.list()
    assert account.address == USER
    assert account.imap_port == imap.tls_port
    assert window.services.mail_accounts.password(account.id) == PASSWORD
    qtbot.waitUntil(lambda: dialog.accounts.currentData() == account.id, timeout=5000)
    assert dialog.imap.isChecked()
    form.close()
    qtbot.mouseClick(dialog.scan_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is dialog.found_page, timeout=60_000)
    assert dialog.report.read == 150
    assert "zalando.de" in [f.domain for f in dialog.found.rows]


def test_a_wrong_password_is_one_line_shown_as_an_error_and_nothing_is_saved(
    qtbot: Any, window: MainWindow, imap: ImapServer
) -> None:
    _dialog, form = open_form(qtbot, window)
    fill(form, imap.tls_port, password="not the one")
    qtbot.mouseClick(form.sign_in, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(form.error), timeout=30_000)
    assert form.status.text().startswith("Could not sign in: ")
    assert "\n" not in form.status.text()
    assert form.sign_in.isEnabled()  # try again
    assert window.services.mail_accounts.list() == []


def test_a_server_that_refuses_passwords_says_oauth2_sign_in_is_needed(
    qtbot: Any, window: MainWindow, imap: ImapServer
) -> None:
    assert imap.no_basic_port is not None
    _dialog, form = open_form(qtbot, window)
    fill(form, imap.no_basic_port)
    qtbot.mouseClick(form.sign_in, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(form.error), timeout=30_000)
    assert "OAuth2 sign-in" in form.status.text()
    assert window.services.mail_accounts.list() == []


def test_the_account_form_says_in_one_line_what_is_missing_before_signing_in(
    qtbot: Any, window: MainWindow
) -> None:
    _dialog, form = open_form(qtbot, window)
    form.address.setText("me at example")
    form.try_sign_in()
    assert form.error == "Address: type your whole e-mail address, like me@example.org."
    form.address.setText(USER)
    form.try_sign_in()
    assert form.error.startswith("IMAP server: ")
    form.server.setText(HOST)
    form.try_sign_in()
    assert form.error.startswith("Password: ")
    assert form.calls.pending() == 0  # nothing was sent to a server


def test_choosing_starttls_moves_the_port_to_143_unless_another_was_typed(
    qtbot: Any, window: MainWindow
) -> None:
    _dialog, form = open_form(qtbot, window)
    assert form.port.value() == 993
    form.security.setCurrentIndex(1)
    assert form.port.value() == 143
    form.port.setValue(10143)
    form.security.setCurrentIndex(0)
    assert form.port.value() == 10143
    assert form.password.echoMode() == form.password.EchoMode.Password
