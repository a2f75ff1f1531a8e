"""Discovery over a real IMAP server (pymap on loopback): the account's mail is grouped into
brands, and a second scan reads only new mail; ``cmr discover imap:ID`` names a bad id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cmr_desktop.discovery.grouping import observe
from cmr_desktop.services import Services
from cmr_desktop.services.mail_accounts import MailAccountService
from cmr_desktop.testing.mailgen import messages
from cmr_desktop.testing.mailserver import PASSWORD, ImapServer, PymapServer
from tests.conftest import NOW

MAIL = list(messages(seed=5, n=120, start=NOW - dt.timedelta(days=60), days=59, body_bytes=100))


@pytest.fixture(scope="module")
def imap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    with PymapServer(tmp_path_factory.mktemp("pymap")) as server:
        server.append("INBOX", [m.raw for m in MAIL[:100]])
        yield server


def test_an_imap_account_s_mail_is_grouped_into_brands_and_rescanned_incrementally(
    services: Services, imap: ImapServer
) -> None:
    accounts = MailAccountService(services, ssl_context=imap.tls.client_context())
    account = imap.account("tls")
    accounts.add(account, PASSWORD)
    report = services.discovery.scan(accounts.source(account.id))
    expected: dict[str, int] = {}
    for m in MAIL[:100]:
        o = observe(m.expected)
        if o is not None:
            expected[o.brand_key] = expected.get(o.brand_key, 0) + 1
    assert report.read + report.skipped == 100
    assert {f.key: f.messages for f in report.found} == expected
    imap.append("INBOX", [m.raw for m in MAIL[100:]])
    again = services.discovery.scan(accounts.source(account.id))
    assert again.read + again.skipped == 20


def test_cmr_discover_names_an_unknown_imap_account_in_one_line(cmr: Any, tmp_path: Path) -> None:
    res = cmr("discover", "imap:nobody")
    assert (res.code, res.err.count("\n")) == (2, 1)
    assert "unknown mail account 'nobody'" in res.err
