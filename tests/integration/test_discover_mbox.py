"""Discovery over real mailbox files made by testing.mailgen: an mbox (Google Takeout style
too) and a Maildir, scanned by services.discovery and by ``cmr discover``."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

from cmr_desktop.discovery.grouping import observe
from cmr_desktop.mail.mbox import MboxSource
from cmr_desktop.services import Services
from cmr_desktop.testing.mailgen import GenMessage, messages, write_maildir, write_mbox
from tests.conftest import NOW

START = NOW - dt.timedelta(days=89)


def mail(n: int, seed: int = 3, start: dt.datetime = START, days: float = 88) -> list[GenMessage]:
    return list(messages(seed=seed, n=n, start=start, days=days, body_bytes=200))


def brand_keys(msgs: list[GenMessage]) -> dict[str, int]:
    keys: dict[str, int] = {}
    for m in msgs:
        o = observe(m.expected)
        if o is not None:
            keys[o.brand_key] = keys.get(o.brand_key, 0) + 1
    return keys


def stored(services: Services) -> int:
    con = sqlite3.connect(services.store.path)
    try:
        return int(con.execute("SELECT count(*) FROM mail_messages").fetchone()[0])
    finally:
        con.close()


def test_an_mbox_is_grouped_into_the_brands_that_wrote_and_personal_mail_is_left_out(
    services: Services, tmp_path: Path
) -> None:
    msgs = mail(400)
    write_mbox(tmp_path / "inbox.mbox", msgs)
    report = services.discovery.scan(MboxSource(tmp_path / "inbox.mbox"))
    expected = brand_keys(msgs)
    assert report.read + report.skipped == len(msgs)
    assert {f.key: f.messages for f in report.found} == expected
    assert stored(services) == sum(expected.values()) < len(msgs)  # personal mail not stored
    assert {"zalando.de", "spotify.com", "decathlon.com", "ikea.com"} <= set(expected)


def test_the_bundled_directory_names_the_brands_found_and_gives_their_privacy_contact(
    services: Services, tmp_path: Path
) -> None:
    services.directory.import_directory()
    write_mbox(tmp_path / "inbox.mbox", mail(300))
    found = {f.key: f for f in services.discovery.scan(MboxSource(tmp_path / "inbox.mbox")).found}
    zalando = found["zalando.de"]
    assert zalando.directory_slug == "zalando"
    assert zalando.privacy_contact


def test_a_takeout_mbox_and_a_maildir_of_the_same_mail_find_the_same_brands(
    services: Services, tmp_path: Path
) -> None:
    from cmr_desktop.mail.maildir import MaildirSource

    msgs = mail(200)
    write_mbox(tmp_path / "takeout.mbox", msgs, takeout=True)
    write_maildir(tmp_path / "Maildir", msgs)
    services.discovery.scan(MboxSource(tmp_path / "takeout.mbox"))
    first = [(f.key, f.messages) for f in services.discovery.found()]
    services.discovery.scan(MaildirSource(tmp_path / "Maildir"))
    # The same messages (same Message-IDs) through two sources are counted once.
    assert [(f.key, f.messages) for f in services.discovery.found()] == first


def test_new_mail_appended_to_the_mbox_is_all_a_second_scan_reads(
    services: Services, tmp_path: Path
) -> None:
    path = tmp_path / "inbox.mbox"
    write_mbox(path, mail(150))
    services.discovery.scan(MboxSource(path))
    more = mail(20, seed=9, start=NOW - dt.timedelta(hours=20), days=0.5)
    write_mbox(path, more, append=True)
    report = services.discovery.scan(MboxSource(path))
    assert report.read + report.skipped == 20


def test_cmr_discover_reads_an_mbox_with_progress_on_stderr_and_the_table_on_stdout(
    cmr: Any, tmp_path: Path
) -> None:
    msgs = mail(300)
    write_mbox(tmp_path / "inbox.mbox", msgs)
    res = cmr("discover", str(tmp_path / "inbox.mbox"))
    assert res.code == 0, res
    assert res.err.splitlines()[0] == "read 0, skipped 0"
    assert res.err.splitlines()[-1].startswith("Read 300 messages from ")
    keys = [line.split()[0] for line in res.out.splitlines()[1:]]
    assert sorted(keys) == sorted(brand_keys(msgs))
    again = cmr("discover", str(tmp_path / "inbox.mbox"), "--json").json()
    assert again["scan"]["read"] == again["scan"]["stored"] == 0
    assert len(again["found"]) == len(keys)
