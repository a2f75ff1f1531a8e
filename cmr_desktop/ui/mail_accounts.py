"""Add a mail account and sign in to it: the form behind "An IMAP account" of Find my brands
and the mail account an unsubscribe e-mail is sent from.

Signing in talks to the mail server, so it runs on a thread of its own (ui/plugin_calls.py:
a server that never answers holds that thread, not the window's pool) and times out; the
account is stored (its password in the keyring) on the runner's write thread, only once the
server accepted the sign-in. What went wrong is one line from the mail layer's
``MailError`` (an OAuth2-only server says that OAuth2 sign-in is needed), shown as an error.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cmr_desktop.mail.accounts import MailAccount, Security
from cmr_desktop.services import Services
from cmr_desktop.ui.geometry import secondary_window
from cmr_desktop.ui.plugin_calls import PluginCalls, PluginTimeout
from cmr_desktop.ui.runner import Runner

#: How long a sign-in may take before the form says the server did not answer.
SIGN_IN_TIMEOUT_MS = 45_000
#: (label, security, default port) of the IMAP and SMTP choices.
IMAP_SECURITY: tuple[tuple[str, Security, int], ...] = (
    ("TLS (port 993)", "tls", 993),
    ("STARTTLS (port 143)", "starttls", 143),
)
SMTP_SECURITY: tuple[tuple[str, Security, int], ...] = (
    ("TLS (port 465)", "tls", 465),
    ("STARTTLS (port 587)", "starttls", 587),
)
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def one_line(error: BaseException) -> str:
    """An error as the one line the customer reads (never a traceback)."""
    if isinstance(error, PluginTimeout):
        return "the server did not answer in time"
    text = " ".join(str(error).split())
    return text or type(error).__name__


def account_id(address: str) -> str:
    """A stable id for an address ("me@example.org" -> "me-example-org")."""
    return re.sub(r"[^a-z0-9]+", "-", address.strip().lower()).strip("-") or "account"


def plain_label(text: str, parent: QWidget) -> QLabel:
    """A label that never reads its text as markup (server and vendor text)."""
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


class _SecurityBox(QComboBox):
    """TLS or STARTTLS; choosing one moves the port to its default unless the user typed
    another one."""

    def __init__(
        self, choices: tuple[tuple[str, Security, int], ...], port: QSpinBox, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.choices, self.port = choices, port
        for label, _security, _port in choices:
            self.addItem(label)
        port.setRange(1, 65535)
        port.setValue(choices[0][2])
        self.currentIndexChanged.connect(self._moved)

    def _moved(self, index: int) -> None:
        if self.port.value() in {p for _, _, p in self.choices}:
            self.port.setValue(self.choices[index][2])

    def security(self) -> Security:
        return self.choices[self.currentIndex()][1]


class MailAccountDialog(QDialog):
    """Address, IMAP server, port, TLS/STARTTLS, user name and password; *Sign in* checks
    them with the server (``services.mail_accounts.check``) and then saves the account
    (``services.mail_accounts.add``). Not modal; Esc closes, Enter signs in.

    Signals:
        saved(str): the id of the account that signed in and was saved.
    """

    saved = Signal(str)

    def __init__(self, services: Services, runner: Runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.runner = services, runner
        self.calls = PluginCalls(self)
        self.setWindowTitle("Add a mail account")
        self.address = QLineEdit(self)
        self.address.setPlaceholderText("me@example.org")
        self.server = QLineEdit(self)
        self.server.setPlaceholderText("imap.example.org")
        self.port = QSpinBox(self)
        self.security = _SecurityBox(IMAP_SECURITY, self.port, self)
        self.username = QLineEdit(self)
        self.username.setPlaceholderText("the address, if the same")
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("password or app password (kept in your keyring)")
        self.smtp_server = QLineEdit(self)
        self.smtp_server.setPlaceholderText("smtp.example.org (to send unsubscribe e-mails)")
        self.smtp_port = QSpinBox(self)
        self.smtp_security = _SecurityBox(SMTP_SECURITY, self.smtp_port, self)
        self.address.textChanged.connect(self._guess_servers)
        form = QFormLayout()
        for text, field in (
            ("&Address:", self.address),
            ("&IMAP server:", self.server),
            ("&Encryption:", self.security),
            ("&Port:", self.port),
            ("&User name:", self.username),
            ("Pass&word:", self.password),
            ("&SMTP server:", self.smtp_server),
            ("SMTP encr&yption:", self.smtp_security),
            ("SMTP p&ort:", self.smtp_port),
        ):
            label = QLabel(text, self)
            label.setBuddy(field)
            field.setAccessibleName(text.replace("&", "").rstrip(":"))
            form.addRow(label, field)
        self.status = plain_label("Only the headers of your mail are read, never a body.", self)
        self.status.setAccessibleName("Sign-in status")
        buttons = QDialogButtonBox(self)
        self.sign_in = QPushButton("&Sign in", self)
        self.sign_in.setDefault(True)
        buttons.addButton(self.sign_in, QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.clicked.connect(self.close)
        self.sign_in.clicked.connect(self.try_sign_in)
        box = QVBoxLayout(self)
        box.addLayout(form)
        box.addWidget(self.status)
        box.addWidget(buttons)
        self.resize(600, self.sizeHint().height())  # the placeholders show whole
        secondary_window(self, "mail-account")  # Esc closes; on the main window's screen
        self.account_saved: str | None = None
        self.error = ""

    def accept(self) -> None:  # Enter presses Sign in, never closes the form
        self.try_sign_in()

    def _guess_servers(self, address: str) -> None:
        domain = address.rpartition("@")[2].strip()
        self.server.setPlaceholderText(f"imap.{domain}" if domain else "imap.example.org")
        self.smtp_server.setPlaceholderText(
            f"smtp.{domain or 'example.org'} (to send unsubscribe e-mails)"
        )

    def account(self) -> MailAccount | str:
        """The account the form describes, or what is wrong with it (one line)."""
        address = self.address.text().strip()
        if not _ADDRESS.match(address):
            return "Address: type your whole e-mail address, like me@example.org."
        server = self.server.text().strip()
        if not server or any(c.isspace() for c in server):
            return "IMAP server: type the server's name, like imap.example.org."
        if not self.password.text():
            return "Password: type the password (or app password) of this account."
        return MailAccount(
            id=account_id(address),
            address=address,
            username=self.username.text().strip() or address,
            imap_host=server,
            imap_port=self.port.value(),
            imap_security=self.security.security(),
            smtp_host=self.smtp_server.text().strip(),
            smtp_port=self.smtp_port.value(),
            smtp_security=self.smtp_security.security(),
        )

    def _say(self, text: str, *, error: bool = False) -> None:
        self.error = text if error else ""
        self.status.setText(text)
        self.status.setProperty("error", error)
        self.status.setAccessibleDescription("error" if error else "")

    def try_sign_in(self) -> None:
        """Check the account with its server off the GUI thread, then save it."""
        account = self.account()
        if isinstance(account, str):
            self._say(account, error=True)
            return
        password = self.password.text()
        accounts = self.services.mail_accounts
        self._busy(True)
        self._say(f"Signing in to {account.imap_host}…")

        def saved(_: Any, answer: str) -> None:
            self._busy(False)
            self.account_saved = account.id
            self.password.clear()
            self._say(f"{answer}. Saved as {account.address}.")
            self.saved.emit(account.id)

        def checked(answer: Any) -> None:
            self._say(f"{answer}. Saving the account…")
            self.runner.run(
                lambda: accounts.add(account, password),
                lambda result: saved(result, str(answer)),
                failed,
                write=True,
            )

        def failed(error: Exception) -> None:
            self._busy(False)
            self._say(f"Could not sign in: {one_line(error)}", error=True)

        self.calls.run(
            lambda: accounts.check(account, password),
            checked,
            failed,
            timeout_ms=SIGN_IN_TIMEOUT_MS,
        )

    def _busy(self, busy: bool) -> None:
        self.sign_in.setEnabled(not busy)
