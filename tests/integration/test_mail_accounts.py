"""Mail accounts as a use case: the account in the settings table, its password only in the
keyring, and a sign-in check against a real IMAP server (pymap on loopback)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmr_desktop.mail.accounts import MailAccount
from cmr_desktop.mail.errors import MailAuthError, MailTlsError
from cmr_desktop.mail.headers import MailHeaders
from cmr_desktop.secrets import SecretsUnavailable
from cmr_desktop.services import InputError, Services
from cmr_desktop.services.mail_accounts import MailAccountService
from cmr_desktop.testing.keyring import InMemoryKeyring
from cmr_desktop.testing.mailserver import PASSWORD, USER, ImapServer, PymapServer, sample_messages


@pytest.fixture(scope="module")
def imap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    with PymapServer(tmp_path_factory.mktemp("pymap")) as server:
        server.append("INBOX", sample_messages(3))
        server.append("Junk", sample_messages(1, start=10))
        yield server


@pytest.fixture
def accounts(services: Services, imap: ImapServer) -> MailAccountService:
    return MailAccountService(services, ssl_context=imap.tls.client_context())


def test_an_added_account_is_listed_and_its_password_is_only_in_the_keyring(
    services: Services, accounts: MailAccountService, imap: ImapServer,
    memory_keyring: InMemoryKeyring, tmp_path: Path,
) -> None:  # fmt: skip
    account = imap.account("tls", folders=("INBOX",))
    accounts.add(account, PASSWORD)
    assert accounts.list() == [account]
    assert accounts.get(account.id) == account
    assert accounts.password(account.id) == PASSWORD
    assert memory_keyring.get_password("cmr-desktop", f"mail:{account.id}/password") == PASSWORD
    out = io.StringIO()
    services.transfer.export_json(out)
    assert PASSWORD not in out.getvalue()
    services.store.close()
    for db_file in (tmp_path / "home").iterdir():
        assert PASSWORD.encode() not in db_file.read_bytes(), db_file


def test_the_accounts_outlive_the_process_that_added_them(
    services: Services, accounts: MailAccountService, imap: ImapServer, tmp_path: Path
) -> None:
    account = imap.account("starttls")
    accounts.add(account, PASSWORD)
    services.store.close()
    again = Services.open(tmp_path / "home")
    try:
        assert again.mail_accounts.list() == [account]
        assert again.mail_accounts.password(account.id) == PASSWORD
    finally:
        again.close()


def test_check_signs_in_and_counts_the_folders(
    accounts: MailAccountService, imap: ImapServer
) -> None:
    assert accounts.check(imap.account("tls"), PASSWORD) == "Signed in; 2 folders"
    assert accounts.check(imap.account("starttls"), PASSWORD) == "Signed in; 2 folders"


def test_check_says_in_one_line_why_a_sign_in_failed(
    accounts: MailAccountService, imap: ImapServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MailAuthError) as caught:
        accounts.check(imap.account("tls"), "wrong one")
    assert "\n" not in str(caught.value)
    assert imap.plain_port is not None
    with pytest.raises(MailTlsError):
        accounts.check(imap.account("starttls", port=imap.plain_port), PASSWORD)
    accounts.check(imap.account("tls"), PASSWORD)
    assert PASSWORD not in caplog.text
    assert "wrong one" not in caplog.text


def test_the_source_of_an_account_scans_its_mail(
    accounts: MailAccountService, imap: ImapServer
) -> None:
    account = imap.account("tls")
    accounts.add(account, PASSWORD)
    source = accounts.source(account.id)
    assert source.key == f"imap:{USER}@127.0.0.1"
    run = source.scan()
    try:
        items = list(run)
    finally:
        run.close()
    assert run.folders == ["INBOX", "Junk"]
    assert len(items) == 4
    assert all(isinstance(i, MailHeaders) for i in items)


def test_a_removed_account_and_its_password_are_gone(
    accounts: MailAccountService, imap: ImapServer, memory_keyring: InMemoryKeyring
) -> None:
    first = imap.account("tls")
    second = MailAccount("other", "o@example.org", "o@example.org", "127.0.0.1")
    accounts.add(first, PASSWORD)
    accounts.add(second, "other password")
    accounts.remove(first.id)
    assert accounts.list() == [second]
    assert memory_keyring.get_password("cmr-desktop", f"mail:{first.id}/password") is None
    with pytest.raises(InputError, match=r"unknown mail account 'me-example-org' \(known: other\)"):
        accounts.get(first.id)
    with pytest.raises(InputError, match="unknown mail account"):
        accounts.remove(first.id)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"id": "Has Spaces"}, "must be lower-case letters"),
        ({"imap_host": ""}, "needs an IMAP server"),
        ({"imap_port": 0}, "is not a port number"),
        ({"imap_security": "none"}, "never unencrypted"),
        ({"address": "nobody"}, "is not an e-mail address"),
        ({"username": " "}, "needs a user name"),
    ],
)
def test_an_incomplete_account_is_refused_with_what_is_wrong(
    accounts: MailAccountService, change: dict[str, object], problem: str
) -> None:
    base = {"id": "me", "address": "me@example.org", "username": "me", "imap_host": "localhost"}
    account = MailAccount(**{**base, **change})  # type: ignore[arg-type]
    with pytest.raises(InputError, match=problem):
        accounts.add(account, PASSWORD)
    assert accounts.list() == []


def test_an_account_id_is_added_once_and_a_password_is_needed(
    accounts: MailAccountService, imap: ImapServer
) -> None:
    account = imap.account("tls")
    with pytest.raises(InputError, match="needs a password"):
        accounts.add(account, "")
    accounts.add(account, PASSWORD)
    with pytest.raises(InputError, match="exists already"):
        accounts.add(account, "another")
    assert accounts.password(account.id) == PASSWORD


def test_without_a_keyring_nothing_is_stored(
    accounts: MailAccountService, imap: ImapServer
) -> None:
    import keyring
    from keyring.backends.fail import Keyring as FailKeyring

    keyring.set_keyring(FailKeyring())  # the memory_keyring fixture puts its own back
    with pytest.raises(SecretsUnavailable, match="no system keyring"):
        accounts.add(imap.account("tls"), PASSWORD)
    assert accounts.list() == []
