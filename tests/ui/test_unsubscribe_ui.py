"""Unsubscribing from the window: the real unsubscribe service, a real HTTPS one-click
endpoint on loopback (trustme), the journal in a real SQLite home. Only the browser is
replaced (``UnsubscribeActions.open_url``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from PySide6.QtCore import QSettings, Qt, QUrl

from cmr_desktop.mail import netguard
from cmr_desktop.mail.accounts import MailAccount
from cmr_desktop.services.mail_accounts import MailAccountService
from cmr_desktop.services.unsubscribe import UnsubscribeService
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.unsubscribe import MailtoDialog, web_url
from tests.conftest import open_services
from tests.integration.unsub_servers import PASSWORD as SMTP_PASSWORD
from tests.integration.unsub_servers import USER as SMTP_USER
from tests.integration.unsub_servers import (
    OneClickServer,
    SmtpServer,
    client_context,
    loopback_resolver,
    make_ca,
    one_click_server,
    smtp_server,
)
from tests.ui.conftest import settle

PAGE = "https://acme.example/unsubscribe?u=1"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[OneClickServer]:
    ca: tuple[trustme.CA, str] = make_ca(tmp_path)
    for running in one_click_server(*ca):
        with netguard.overrides_for_tests(resolver=loopback_resolver, ca_file=running.ca_file):
            yield running


def email_brand(svc: Any, name: str, **config: str) -> str:
    svc.brands.add_brand(
        name,
        connector="email",
        connector_config={
            "sender_domain": "acme.example",
            "dkim_verified": "yes",
            "seen_at": "2026-11-20T09:00:00+00:00",
            **config,
        },
    )
    return str(svc.brands.get_brand(name).brand.slug)


@pytest.fixture
def window(qtbot: Any, tmp_path: Path, server: OneClickServer) -> Iterator[MainWindow]:
    svc = open_services(tmp_path / "home")
    email_brand(svc, "Acme Outdoor", one_click_url=server.url(), web_url=PAGE)
    email_brand(svc, "Blue Shop", mailto="mailto:leave@blue.example?subject=unsubscribe")
    svc.brands.add_brand("Corner Shop")
    win = MainWindow(svc, Runner(), QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.model.rowCount() == 3, timeout=5000)
    yield win
    settle(qtbot, win.runner)
    svc.store.close()


def show(qtbot: Any, window: MainWindow, name: str) -> str:
    slug = next(r.slug for r in window.model.all_rows() if r.name == name)
    window.select_brand(slug)
    qtbot.waitUntil(lambda: window.unsubscribe._options is not None, timeout=5000)
    return slug


def unsubscribes(window: MainWindow, slug: str) -> list[dict[str, Any]]:
    return [e.detail for e in window.services.journal.entries(slug) if e.kind == "unsubscribe"]


def test_only_the_ways_a_brands_mail_offers_are_enabled(qtbot: Any, window: MainWindow) -> None:
    actions = window.unsubscribe
    show(qtbot, window, "Acme Outdoor")
    assert actions.one_click_action.isEnabled()
    assert not actions.mailto_action.isEnabled()
    assert actions.web_action.isEnabled()
    show(qtbot, window, "Blue Shop")
    assert not actions.one_click_action.isEnabled()
    assert actions.mailto_action.isEnabled()
    assert not actions.web_action.isEnabled()
    corner = next(r.slug for r in window.model.all_rows() if r.name == "Corner Shop")
    window.select_brand(corner)
    qtbot.waitUntil(lambda: not any(a.isEnabled() for a in actions.actions), timeout=5000)
    # In the table's context menu and the Brands menu.
    assert all(a in window.table.actions() for a in actions.actions)


def test_one_click_posts_to_the_sender_and_says_what_it_answered(
    qtbot: Any, window: MainWindow, server: OneClickServer
) -> None:
    slug = show(qtbot, window, "Acme Outdoor")
    window.unsubscribe.one_click_action.trigger()
    qtbot.waitUntil(lambda: bool(unsubscribes(window, slug)), timeout=15_000)
    [seen] = server.seen
    assert seen.method == "POST"
    assert seen.body == b"List-Unsubscribe=One-Click"
    qtbot.waitUntil(lambda: "HTTP 200" in window.statusBar().currentMessage(), timeout=5000)
    assert window.statusBar().currentMessage().startswith("Acme Outdoor: ")
    assert window.unsubscribe.error is None
    [entry] = unsubscribes(window, slug)
    assert entry["method"] == "one-click"
    assert entry["target"] == server.url()


def test_a_refused_one_click_is_shown_as_an_error_not_as_done(
    qtbot: Any, window: MainWindow, server: OneClickServer
) -> None:
    server.status = 500
    slug = show(qtbot, window, "Acme Outdoor")
    window.unsubscribe.one_click_action.trigger()
    qtbot.waitUntil(lambda: window.unsubscribe.error is not None, timeout=15_000)
    box = window.unsubscribe.error
    assert box is not None
    assert box.isVisible()
    assert box.windowTitle() == "Unsubscribe failed"
    assert "Unsubscribing from Acme Outdoor failed: " in box.text()
    assert "500" in box.text()
    assert "failed" in window.statusBar().currentMessage()
    [entry] = unsubscribes(window, slug)  # journaled as what happened
    assert "500" in entry["result"]
    box.close()


def test_the_unsubscribe_page_opens_in_the_browser_and_is_recorded_only_when_confirmed(
    qtbot: Any, window: MainWindow
) -> None:
    opened: list[str] = []
    window.unsubscribe.open_url = lambda url: opened.append(url.toString()) or True
    slug = show(qtbot, window, "Acme Outdoor")
    window.unsubscribe.web_action.trigger()
    assert opened == [PAGE]
    box = window.unsubscribe.question
    assert box is not None
    assert box.isVisible()
    assert "Did you unsubscribe from Acme Outdoor on the page?" in box.text()
    not_yet = next(b for b in box.buttons() if b.text() == "&Not yet")
    qtbot.mouseClick(not_yet, Qt.MouseButton.LeftButton)
    window.runner.wait()
    assert unsubscribes(window, slug) == []  # nothing recorded without the customer's word
    window.unsubscribe.web_action.trigger()
    box = window.unsubscribe.question
    assert box is not None
    yes = box.defaultButton()
    assert yes.text() == "&Yes, I unsubscribed"
    qtbot.mouseClick(yes, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(unsubscribes(window, slug)), timeout=5000)
    [entry] = unsubscribes(window, slug)
    assert entry["method"] == "web"
    assert entry["target"] == PAGE
    qtbot.waitUntil(
        lambda: (
            window.statusBar().currentMessage()
            == "Recorded: you unsubscribed from Acme Outdoor on its web page."
        ),
        timeout=5000,
    )


def test_a_browser_that_does_not_open_leaves_nothing_to_confirm(
    qtbot: Any, window: MainWindow
) -> None:
    window.unsubscribe.open_url = lambda url: False
    show(qtbot, window, "Acme Outdoor")
    window.unsubscribe.web_action.trigger()
    assert window.unsubscribe.question is None
    assert window.statusBar().currentMessage() == (
        f"The browser could not be opened. The page is {PAGE}"
    )


@pytest.mark.parametrize(
    ("link", "opened"),
    [
        ("https://acme.example/u", True),
        ("http://acme.example/u", True),
        ("javascript:alert(1)", False),
        ("file:///etc/passwd", False),
        ("https://", False),
        ("", False),
    ],
)
def test_only_a_web_address_is_ever_opened_as_the_unsubscribe_page(link: str, opened: bool) -> None:
    url = web_url(link)
    assert (url is not None) == opened
    if url is not None:
        assert isinstance(url, QUrl)
        assert url.toString() == link


# --- the unsubscribe e-mail, through a real SMTP server (aiosmtpd, TLS) ----------------------


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[SmtpServer, str]]:
    ca, ca_file = make_ca(_mkdir(tmp_path / "smtp"))
    for running in smtp_server(ca, "tls"):
        yield running, ca_file


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def with_account(window: MainWindow, smtp: tuple[SmtpServer, str], password: str) -> str:
    server, ca_file = smtp
    svc = window.services
    svc.mail_accounts = MailAccountService(svc)
    svc.unsubscribe = UnsubscribeService(
        svc, svc.mail_accounts, smtp_ssl_context=client_context(ca_file)
    )
    account = MailAccount(
        id="me-example-org",
        address=SMTP_USER,
        username=SMTP_USER,
        imap_host="imap.example.org",
        smtp_host="127.0.0.1",
        smtp_port=server.port,
        smtp_security="tls",
    )
    svc.mail_accounts.add(account, password)
    return account.id


def open_mailto(qtbot: Any, window: MainWindow) -> tuple[str, MailtoDialog]:
    slug = show(qtbot, window, "Blue Shop")
    dialog = window.unsubscribe.ask_mailto()
    assert dialog is not None
    qtbot.waitUntil(dialog.send.isEnabled, timeout=10_000)
    return slug, dialog


def test_the_unsubscribe_email_shows_the_exact_message_and_sends_only_that(
    qtbot: Any, window: MainWindow, smtp: tuple[SmtpServer, str]
) -> None:
    with_account(window, smtp, SMTP_PASSWORD)
    slug, dialog = open_mailto(qtbot, window)
    shown = dialog.preview.toPlainText()
    assert "To: leave@blue.example" in shown
    assert f"From: {SMTP_USER}" in shown
    assert shown.strip() == dialog.previewed.replace("\r\n", "\n").strip()
    assert smtp[0].recorder.envelopes == []  # nothing sent before Send
    qtbot.mouseClick(dialog.send, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(unsubscribes(window, slug)), timeout=30_000)
    [envelope] = smtp[0].recorder.envelopes
    assert envelope.original_content is not None
    sent = envelope.original_content.decode("utf-8")
    assert sent.replace("\r\n", "\n").strip() == dialog.previewed.replace("\r\n", "\n").strip()
    [entry] = unsubscribes(window, slug)
    assert entry["method"] == "mailto"
    assert entry["text"] == dialog.previewed
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    assert window.statusBar().currentMessage().startswith("Blue Shop: accepted by 127.0.0.1")


def test_an_unsubscribe_email_the_server_refuses_is_shown_as_not_sent(
    qtbot: Any, window: MainWindow, smtp: tuple[SmtpServer, str]
) -> None:
    with_account(window, smtp, "a wrong password")
    slug, dialog = open_mailto(qtbot, window)
    qtbot.mouseClick(dialog.send, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(dialog.error), timeout=30_000)
    assert dialog.status.text().startswith("Not sent: ")
    assert dialog.isVisible()  # the customer can see it and try again
    assert dialog.send.isEnabled()
    assert smtp[0].recorder.envelopes == []
    [entry] = unsubscribes(window, slug)
    assert entry["result"].startswith("not sent")


def test_without_a_mail_account_the_email_dialog_asks_for_one_first(
    qtbot: Any, window: MainWindow
) -> None:
    window.services.mail_accounts = MailAccountService(window.services)
    show(qtbot, window, "Blue Shop")
    dialog = window.unsubscribe.ask_mailto()
    assert dialog is not None
    qtbot.waitUntil(lambda: bool(dialog.error), timeout=5000)
    assert dialog.error == "Add the mail account to send it from first."
    assert not dialog.send.isEnabled()
    dialog.close()
