"""``cmr mail`` and ``cmr unsubscribe`` as separate processes against real servers: pymap
(IMAP, trustme certificate), aiosmtpd (SMTP, implicit TLS) and an HTTPS one-click endpoint.

Each ``cmr`` process costs about a second, so each test runs one story with few of them."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from cmr_desktop.cli.unsubscribe import shown as terminal_safe
from cmr_desktop.domain.vocabulary import Channel
from cmr_desktop.testing.mailgen import messages
from cmr_desktop.testing.mailserver import HOST, PASSWORD, USER, ImapServer, PymapServer
from tests.conftest import NOW, CliResult, open_services
from tests.integration import unsub_servers
from tests.integration.unsub_servers import OneClickServer, SmtpServer, make_ca

MAIL = list(messages(seed=7, n=60, start=NOW - dt.timedelta(days=30), days=29, body_bytes=80))
MAILTO = "mailto:unsub-9@news.shop.example?subject=unsubscribe"


@pytest.fixture(scope="module")
def imap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    with PymapServer(tmp_path_factory.mktemp("pymap")) as server:
        server.append("INBOX", [m.raw for m in MAIL])
        yield server


def _files_under(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())


def test_a_mail_account_is_added_from_stdin_checked_used_by_discover_and_its_password_kept_only_in_the_keyring(  # noqa: E501
    cmr: Any, imap: ImapServer, tmp_path: Path
) -> None:
    env = {"SSL_CERT_FILE": str(imap.tls.ca)}  # the CLI trusts the test CA like a system one
    add = ("mail", "add", "me", "--address", USER, "--imap-host", HOST,
           "--imap-port", str(imap.tls_port), "--smtp-host", "smtp.example.org",
           "--smtp-security", "starttls", "--password-stdin")  # fmt: skip

    unasked = cmr(*add[:-1], stdin=PASSWORD + "\n", env=env)  # no terminal, no --password-stdin
    assert (unasked.code, unasked.err.count("\n")) == (2, 1), unasked
    assert "--password-stdin" in unasked.err

    wrong = cmr(*add, stdin="not-the-password\n", env=env)
    assert (wrong.code, wrong.err.count("\n")) == (1, 1), wrong
    assert "mail account 'me' not added" in wrong.err
    assert "not-the-password" not in wrong.err + wrong.out

    added = cmr(*add, stdin=PASSWORD + "\n", env=env)  # the same id: nothing was kept before
    assert added.code == 0, added
    assert "Signed in" in added.err
    assert "Added mail account me" in added.out

    checked = cmr("mail", "check", "me", env=env)  # the password comes from the keyring
    assert checked.code == 0, checked
    assert checked.out.startswith("me: Signed in; ")

    found = cmr("discover", "imap:me", "--json", env=env)
    assert found.code == 0, found
    assert found.json()["scan"]["read"] + found.json()["scan"]["skipped"] == len(MAIL)
    assert found.json()["found"], "the account's mail names brands"

    listed = cmr("mail", "list", "--json")
    assert listed.code == 0, listed
    [account] = listed.json()
    assert account["id"] == "me"
    assert (account["imap_port"], account["smtp_port"]) == (imap.tls_port, 587)  # starttls
    exported = cmr("export")
    assert exported.code == 0, exported
    for text in (listed.out, exported.out):
        assert PASSWORD not in text
    assert PASSWORD.encode() not in _files_under(cmr.home)
    keyring_file = tmp_path / "test-keyring.json"
    assert PASSWORD in keyring_file.read_text()

    removed = cmr("mail", "remove", "me")
    assert removed.code == 0, removed
    assert PASSWORD not in keyring_file.read_text()


@pytest.fixture
def ca(tmp_path: Path) -> tuple[trustme.CA, str]:
    return make_ca(tmp_path)


@pytest.fixture
def smtp(ca: tuple[trustme.CA, str]) -> Iterator[SmtpServer]:
    yield from unsub_servers.smtp_server(ca[0], "tls")


@pytest.fixture
def endpoint(ca: tuple[trustme.CA, str]) -> Iterator[OneClickServer]:
    yield from unsub_servers.one_click_server(*ca)


def _cmr_trusting(cmr: Any, ca_file: str, *args: str) -> CliResult:
    """``cmr`` in its own process, its one-click requests trusting the test CA (netguard's
    test hook: it trusts certifi's bundle, not SSL_CERT_FILE)."""
    code = (
        "import sys\n"
        "from cmr_desktop.app import cli_main\n"
        "from cmr_desktop.mail import netguard\n"
        "with netguard.overrides_for_tests(ca_file=sys.argv[1]):\n"
        "    sys.exit(cli_main(sys.argv[2:]))\n"
    )
    env = {
        **os.environ,
        "CMR_HOME": str(cmr.home),
        "PYTHON_KEYRING_BACKEND": "cmr_desktop.testing.keyring.InMemoryKeyring",
        "CMR_TEST_KEYRING_FILE": str(Path(cmr.home).parent / "test-keyring.json"),
    }
    proc = subprocess.run([sys.executable, "-c", code, ca_file, *args], capture_output=True,
                          text=True, env=env, timeout=60, check=False)  # fmt: skip
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def test_cmr_unsubscribe_shows_the_methods_sends_the_confirmed_email_and_the_one_click_and_records_the_web_page(  # noqa: E501
    cmr: Any, ca: tuple[trustme.CA, str], smtp: SmtpServer, endpoint: OneClickServer
) -> None:
    env = {"SSL_CERT_FILE": ca[1]}
    one_click_url = f"https://127.0.0.1:{endpoint.port}/u/abc?list=news"
    web_url = f"https://127.0.0.1:{endpoint.port}/page"
    services = open_services(cmr.home)
    try:
        brand = services.brands.add_brand("Shop", connector="email", connector_config={
            "sender_domain": "shop.example", "mailto": MAILTO, "one_click_url": one_click_url,
            "web_url": web_url, "dkim_verified": "yes"})  # fmt: skip
        services.preferences.update_preferences(
            brand.slug, lambda p: p.with_channel(Channel.EMAIL, False)
        )
    finally:
        services.store.close()
    added = cmr("mail", "add", "me", "--address", unsub_servers.USER, "--imap-host",
                "imap.example.org", "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp.port),
                "--password-stdin", "--no-check", stdin=unsub_servers.PASSWORD + "\n")  # fmt: skip
    assert added.code == 0, added

    shown = cmr("unsubscribe", "shop")
    assert shown.code == 0, shown
    assert f"one-click (the best one): {one_click_url}" in shown.out
    assert "e-mail: mailto:unsub-9@news.shop.example" in shown.out
    assert "--web-done" in shown.out

    unasked = cmr("unsubscribe", "shop", "--mailto", "me", env=env)  # no terminal, no --yes
    assert (unasked.code, unasked.err.count("\n")) == (2, 1), unasked
    assert "--yes" in unasked.err
    assert "To: unsub-9@news.shop.example" in unasked.out  # the message it would send
    assert smtp.recorder.envelopes == []

    sent = cmr("unsubscribe", "shop", "--mailto", "me", "--yes", env=env)
    assert sent.code == 0, sent
    [envelope] = smtp.recorder.envelopes
    assert envelope.rcpt_tos == ["unsub-9@news.shop.example"]
    assert isinstance(envelope.content, bytes)
    message = email.message_from_bytes(envelope.content, policy=email.policy.SMTP)
    assert str(message["Message-ID"]) in sent.out  # the message shown is the one sent
    assert "accepted by 127.0.0.1" in sent.out

    clicked = _cmr_trusting(cmr, ca[1], "unsubscribe", "shop", "--one-click")
    assert clicked.code == 0, clicked
    [request] = endpoint.seen
    assert (request.method, request.body) == ("POST", b"List-Unsubscribe=One-Click")
    assert clicked.out.strip(), "the sender's answer is printed"

    page = cmr("unsubscribe", "shop", "--web")
    assert page.code == 0, page
    assert page.out == web_url + "\n"
    assert len(endpoint.seen) == 1  # printed, never fetched
    done = cmr("unsubscribe", "shop", "--web-done")
    assert done.code == 0, done

    services = open_services(cmr.home)
    try:
        entries = [e for e in services.journal.entries() if e.kind == "unsubscribe"]
    finally:
        services.store.close()
    assert [e.detail["method"] for e in entries] == ["mailto", "one-click", "web"]


def test_text_from_a_brand_s_mail_cannot_act_on_the_terminal() -> None:
    assert terminal_safe("a\x1b[2J\r\nb\tc\x07") == "a\\x1b[2J\nb\tc\\x07"
