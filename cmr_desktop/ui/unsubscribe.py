"""Unsubscribe from a brand's mail, in the ways its own mail offers (services.unsubscribe).

Three actions on the brand table's context menu and the Brands menu, enabled for the
current brand by what ``services.unsubscribe.options(slug)`` found:

- *Unsubscribe (one click)*: the RFC 8058 one-click request, sent on a thread of its own.
- *Send unsubscribe e-mail…*: a dialog shows the exact message (``preview_mailto``) from
  the chosen mail account; only *Send* sends it (``send_mailto``).
- *Open unsubscribe page*: the page opens in the browser (``open_url``, the one seam tests
  replace), then "Did you unsubscribe on the page?" records it (``confirm_web_done``) only
  when the customer says so.

Nothing here runs on the GUI thread; the network calls get their own thread
(ui/plugin_calls.py) and the records go through the runner's write thread. What is shown
is what really happened: the service's own answer, or the error as an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cmr_desktop.services import Services
from cmr_desktop.ui.errors import error_box, question_box
from cmr_desktop.ui.geometry import secondary_window
from cmr_desktop.ui.mail_accounts import MailAccountDialog, one_line, plain_label
from cmr_desktop.ui.plugin_calls import PluginCalls
from cmr_desktop.ui.runner import Runner

#: The keys of one click, the e-mail and the page (every menu action has one).
SHORTCUTS = ("Ctrl+U", "Ctrl+Shift+U", "Ctrl+Alt+U")
ONE_CLICK_TIP = "Ask the brand to stop e-mailing you, the one-click way its own mail offers"
#: How long an unsubscribe request or e-mail may take before the app says so.
NETWORK_TIMEOUT_MS = 60_000


def web_url(url: str) -> QUrl | None:
    """The unsubscribe page to open, if it is a web address (a vendor's link to a file or
    a script is never opened)."""
    parsed = QUrl(url.strip(), QUrl.ParsingMode.StrictMode)
    if parsed.isValid() and parsed.scheme() in ("https", "http") and parsed.host():
        return parsed
    return None


class MailtoDialog(QDialog):
    """The exact unsubscribe e-mail, from the chosen account; *Send* sends it.

    Signals:
        sent(str): the service's answer after the message was sent.
    """

    sent = Signal(str)

    def __init__(
        self,
        services: Services,
        runner: Runner,
        slug: str,
        name: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.services, self.runner, self.slug = services, runner, slug
        self.calls = PluginCalls(self)
        self.setWindowTitle(f"Unsubscribe e-mail to {name}")
        self.resize(720, 520)
        intro = plain_label(
            f"This e-mail asks {name} to stop writing to you. It is sent from your own mail "
            "account exactly as shown, and recorded in the journal.",
            self,
        )
        self.accounts = QComboBox(self)
        self.accounts.setAccessibleName("Send from")
        self.accounts.currentIndexChanged.connect(lambda _: self.load_preview())
        self.add_account = QPushButton("&Add an account…", self)
        self.add_account.clicked.connect(self.show_add_account)
        self.account_dialog: MailAccountDialog | None = None
        row = QHBoxLayout()
        label = QLabel("Send &from:", self)
        label.setBuddy(self.accounts)
        row.addWidget(label)
        row.addWidget(self.accounts, 1)
        row.addWidget(self.add_account)
        self.preview = QPlainTextEdit(self)  # plain text: the message as it will be sent
        self.preview.setReadOnly(True)
        self.preview.setAccessibleName("The message")
        self.status = plain_label("", self)
        self.status.setAccessibleName("Sending status")
        buttons = QDialogButtonBox(self)
        self.send = QPushButton("&Send", self)
        self.send.setDefault(True)
        self.send.setEnabled(False)
        buttons.addButton(self.send, QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.clicked.connect(self.close)
        self.send.clicked.connect(self.send_now)
        box = QVBoxLayout(self)
        box.addWidget(intro)
        box.addLayout(row)
        box.addWidget(self.preview, 1)
        box.addWidget(self.status)
        box.addWidget(buttons)
        secondary_window(self, "unsubscribe-mail")
        self.answer = ""
        self.error = ""
        self.previewed = ""
        self.load_accounts()

    def accept(self) -> None:  # Enter sends (when there is a message to send)
        if self.send.isEnabled():
            self.send_now()

    def load_accounts(self, select: str | None = None) -> None:
        services = self.services

        def show(found: Any) -> None:
            self.accounts.blockSignals(True)
            self.accounts.clear()
            for account in found:
                self.accounts.addItem(account.address, account.id)
            if select is not None:
                self.accounts.setCurrentIndex(max(0, self.accounts.findData(select)))
            self.accounts.blockSignals(False)
            if not found:
                self.preview.setPlainText("")
                self._say("Add the mail account to send it from first.", error=True)
                self.add_account.setFocus()
            self.load_preview()

        self.runner.run(
            lambda: services.mail_accounts.list(), show, self._failed, latest="mailto-accounts"
        )

    def show_add_account(self) -> MailAccountDialog:
        if self.account_dialog is None:
            dialog = MailAccountDialog(self.services, self.runner, self)
            dialog.saved.connect(lambda account_id: self.load_accounts(select=account_id))
            self.account_dialog = dialog
        self.account_dialog.show()
        self.account_dialog.raise_()
        return self.account_dialog

    def account_id(self) -> str:
        return str(self.accounts.currentData() or "")

    def load_preview(self) -> None:
        """The exact message, from the chosen account (off the GUI thread)."""
        account_id, slug = self.account_id(), self.slug
        self.send.setEnabled(False)
        if not account_id:
            return
        unsubscribe = self.services.unsubscribe

        def show(text: Any) -> None:
            self.previewed = str(text)  # sent as confirmed: exactly this message, or none
            self.preview.setPlainText(self.previewed)
            self.send.setEnabled(True)
            self._say("Nothing is sent until you press Send.")

        self.runner.run(
            lambda: unsubscribe.preview_mailto(slug, account_id),
            show,
            self._failed,
            latest=f"mailto-preview-{id(self)}",
        )

    def _say(self, text: str, *, error: bool = False) -> None:
        self.error = text if error else ""
        self.status.setText(text)

    def _failed(self, error: Exception) -> None:
        self.send.setEnabled(bool(self.preview.toPlainText()) and bool(self.account_id()))
        self._say(f"Not sent: {one_line(error)}", error=True)

    def send_now(self) -> None:
        """Send the message shown, through the account's SMTP server."""
        account_id, slug, unsubscribe = self.account_id(), self.slug, self.services.unsubscribe
        confirmed = self.previewed
        if not account_id or not confirmed:
            return
        self.send.setEnabled(False)
        self._say("Sending…")

        def done(answer: Any) -> None:
            self.answer = str(answer)
            self._say(self.answer)
            self.sent.emit(self.answer)
            self.close()

        self.calls.run(
            lambda: unsubscribe.send_mailto(slug, account_id, confirmed=confirmed),
            done,
            self._failed,
            timeout_ms=NETWORK_TIMEOUT_MS,
        )


class UnsubscribeActions(QObject):
    """The three unsubscribe actions for the current brand (see the module docstring).

    Args:
        current: the current brand's (slug, name), or None.

    Signals:
        message(str): what happened, for the status bar.
        changed(str): a brand's record changed (an unsubscribe was journaled).
    """

    message = Signal(str)
    changed = Signal(str)

    def __init__(
        self,
        services: Services,
        runner: Runner,
        window: QWidget,
        current: Callable[[], tuple[str, str] | None],
    ) -> None:
        super().__init__(window)
        self.services, self.runner, self.window, self.current = services, runner, window, current
        self.calls = PluginCalls(self)
        self.one_click_action = QAction("Unsubscribe (&one click)", window)
        self.one_click_action.setToolTip(ONE_CLICK_TIP)
        self.mailto_action = QAction("Send unsubscribe &e-mail…", window)
        self.mailto_action.setToolTip("Shows the exact message before it is sent")
        self.web_action = QAction("Open unsubscribe &page", window)
        self.web_action.setToolTip("Opens the brand's unsubscribe page in your browser")
        self.one_click_action.triggered.connect(self.one_click)
        self.mailto_action.triggered.connect(self.ask_mailto)
        self.web_action.triggered.connect(self.open_page)
        self.actions = (self.one_click_action, self.mailto_action, self.web_action)
        for action, keys in zip(self.actions, SHORTCUTS, strict=True):
            action.setShortcut(QKeySequence(keys))
        self._options: tuple[str, Any] | None = None  # (slug, UnsubscribeOptions)
        self.mailto_dialog: MailtoDialog | None = None
        self.question: QMessageBox | None = None
        self.error: QMessageBox | None = None
        #: Opens a page in the browser (the one seam tests replace).
        self.open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl
        self._enable(None)

    def _enable(self, options: Any) -> None:
        for action, attribute in zip(self.actions, ("one_click", "mailto", "web"), strict=True):
            action.setEnabled(bool(options is not None and getattr(options, attribute)))
        problem = str(getattr(options, "one_click_problem", "") or "")
        self.one_click_action.setToolTip(f"Not possible: {problem}" if problem else ONE_CLICK_TIP)

    def brand_shown(self, slug: str | None) -> None:
        """The current brand changed: enable what its mail offers (read off the thread)."""
        self._options = None
        self._enable(None)
        if slug is None:
            return
        unsubscribe = self.services.unsubscribe

        def show(options: Any) -> None:
            self._options = (slug, options)
            self._enable(options)

        self.runner.run(
            lambda: unsubscribe.options(slug),
            show,
            lambda _error: self._enable(None),  # no mail seen from it: nothing to offer
            latest="unsubscribe-options",
        )

    def _target(self) -> tuple[str, str, Any] | None:
        current = self.current()
        if current is None or self._options is None or self._options[0] != current[0]:
            return None
        return current[0], current[1], self._options[1]

    def _failed(self, name: str, what: str) -> Callable[[Exception], None]:
        def show(error: Exception) -> None:
            text = f"{what} {name} failed: {one_line(error)}"
            self.message.emit(text)
            box = error_box("Unsubscribe failed", text, self.window)
            self.error = box
            box.open()  # not modal for the window's work

        return show

    def one_click(self) -> None:
        """Send the one-click unsubscribe of the current brand."""
        target = self._target()
        if target is None:
            return
        slug, name, _options = target
        unsubscribe = self.services.unsubscribe
        self.one_click_action.setEnabled(False)
        self.message.emit(f"Unsubscribing from {name} (one click)…")

        def done(answer: Any) -> None:
            self.one_click_action.setEnabled(True)
            self.message.emit(f"{name}: {answer}")
            self.changed.emit(slug)

        def failed(error: Exception) -> None:
            self.one_click_action.setEnabled(True)
            self._failed(name, "Unsubscribing from")(error)

        self.calls.run(
            lambda: unsubscribe.one_click(slug), done, failed, timeout_ms=NETWORK_TIMEOUT_MS
        )

    def ask_mailto(self) -> MailtoDialog | None:
        """Show the unsubscribe e-mail of the current brand; *Send* sends it."""
        target = self._target()
        if target is None:
            return None
        slug, name, _options = target
        dialog = MailtoDialog(self.services, self.runner, slug, name, self.window)

        def sent(answer: str) -> None:
            self.message.emit(f"{name}: {answer}")
            self.changed.emit(slug)

        dialog.sent.connect(sent)
        self.mailto_dialog = dialog
        dialog.show()
        return dialog

    def open_page(self) -> QMessageBox | None:
        """Open the current brand's unsubscribe page, then ask whether it worked."""
        target = self._target()
        if target is None:
            return None
        slug, name, options = target
        url = web_url(str(options.web))
        if url is None:
            self.message.emit(f"{name}'s unsubscribe link is not a web page: it was not opened.")
            return None
        if not self.open_url(url):
            self.message.emit(f"The browser could not be opened. The page is {url.toString()}")
            return None
        box = question_box(
            "Did you unsubscribe?",
            f"Did you unsubscribe from {name} on the page?\n\n{url.toString()}\n\n"
            "It is recorded as done by you only if you say so.",
            self.window,
            "&Yes, I unsubscribed",
        )
        yes = box.defaultButton()
        box.addButton("&Not yet", QMessageBox.ButtonRole.RejectRole)
        self.question = box
        box.buttonClicked.connect(
            lambda button: self.confirm_web(slug, name) if button is yes else None
        )
        box.open()
        return box

    def confirm_web(self, slug: str, name: str) -> None:
        """Record that the customer unsubscribed on the page (the runner's write thread)."""
        unsubscribe = self.services.unsubscribe

        def done(_: Any) -> None:
            self.message.emit(f"Recorded: you unsubscribed from {name} on its web page.")
            self.changed.emit(slug)

        self.runner.run(
            lambda: unsubscribe.confirm_web_done(slug),
            done,
            self._failed(name, "Recording the unsubscribe from"),
            write=True,
        )
