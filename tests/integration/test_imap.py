"""The IMAP source against real servers on loopback: pymap (always) and Dovecot (when
installed; CI installs it and then a missing Dovecot is a failure, not a skip)."""

from __future__ import annotations

import itertools
import os
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmr_desktop.mail.errors import (
    MailAuthError,
    MailConnectionError,
    MailError,
    MailTlsError,
    OAuth2Required,
)
from cmr_desktop.mail.headers import MailHeaders, Skipped
from cmr_desktop.mail.imap import FETCH_ITEM, ImapSource, PasswordLogin
from cmr_desktop.testing.mailserver import (
    PASSWORD,
    USER,
    DovecotServer,
    ImapServer,
    PymapServer,
    dovecot_binary,
    sample_message,
    sample_messages,
)

FOLDERS_USER = "folders@example.org"
USERS = {USER: PASSWORD, FOLDERS_USER: "another secret"}
_counter = itertools.count()


def _need_dovecot() -> None:
    if dovecot_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the IMAP tests against Dovecot: .ci/run installs it")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd); CI runs these")


@pytest.fixture(scope="session")
def pymap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    with PymapServer(tmp_path_factory.mktemp("pymap"), USERS) as server:
        yield server


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[ImapServer]:
    _need_dovecot()
    with DovecotServer(USERS) as server:
        yield server


@pytest.fixture(params=["pymap", "dovecot"])
def server(request: pytest.FixtureRequest) -> ImapServer:
    result: ImapServer = request.getfixturevalue(f"{request.param}_server")
    return result


def _folder(name: str) -> str:
    """A folder of its own for each test (the servers are shared by the session)."""
    return f"t{next(_counter)}-{name}"


def _source(server: ImapServer, folder: str, **kwargs: object) -> ImapSource:
    account = server.account(kwargs.pop("security", "tls"), folders=(folder,))  # type: ignore[arg-type]
    return ImapSource(account, server.password(), ssl_context=server.tls.client_context(), **kwargs)  # type: ignore[arg-type]


def _scan_all(source: ImapSource, resume: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    run = source.scan(resume)
    try:
        items = list(run)
        return items, run.resume_point(), run.total
    finally:
        run.close()


def _ids(items: list[MailHeaders | Skipped]) -> list[str]:
    return [i.message_id for i in items if isinstance(i, MailHeaders)]


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_signs_in_over_tls_and_starttls_and_reads_the_headers(
    server: ImapServer, security: str
) -> None:
    folder = _folder("hello")
    server.append(
        folder, [sample_message(i, message_id=f"hello{i}@shop.example") for i in range(3)]
    )
    items, resume, total = _scan_all(_source(server, folder, security=security))
    assert total == 3
    assert _ids(items) == ["hello0@shop.example", "hello1@shop.example", "hello2@shop.example"]
    assert all(isinstance(i, MailHeaders) and i.from_address for i in items)
    assert items[0].where.startswith(f"imap://{USER}@127.0.0.1/{folder} uid ")
    assert set(resume["folders"]) == {folder}  # type: ignore[arg-type]


def test_only_the_wanted_header_fields_are_fetched_and_with_peek() -> None:
    assert FETCH_ITEM.startswith(b"BODY.PEEK[HEADER.FIELDS (FROM SENDER REPLY-TO DATE MESSAGE-ID ")
    assert b"LIST-UNSUBSCRIBE-POST DKIM-SIGNATURE AUTHENTICATION-RESULTS)]" in FETCH_ITEM


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_a_server_that_offers_no_encryption_is_refused_before_signing_in(
    pymap_server: ImapServer, security: str
) -> None:
    assert pymap_server.plain_port is not None
    account = pymap_server.account(security, port=pymap_server.plain_port)  # type: ignore[arg-type]
    source = ImapSource(account, PASSWORD, ssl_context=pymap_server.tls.client_context())
    with pytest.raises(MailTlsError) as caught:
        source.scan()
    message = str(caught.value)
    assert "\n" not in message
    assert "127.0.0.1" in message
    if security == "starttls":
        assert "offers no STARTTLS" in message
        assert "never signs in unencrypted" in message


def test_a_certificate_from_an_unknown_authority_is_refused(server: ImapServer) -> None:
    source = ImapSource(server.account("tls"), server.password())  # the system's CAs only
    with pytest.raises(MailTlsError, match=r"certificate .* cannot be verified"):
        source.scan()


def test_a_wrong_password_is_one_clear_line(server: ImapServer) -> None:
    account = server.account("tls")
    source = ImapSource(account, "not the password", ssl_context=server.tls.client_context())
    with pytest.raises(MailAuthError) as caught:
        source.scan()
    message = str(caught.value)
    assert not isinstance(caught.value, OAuth2Required)
    assert "\n" not in message
    assert f"refused the sign-in of {USER}" in message
    assert "not the password" not in message


def test_a_server_that_disabled_basic_authentication_asks_for_oauth2(
    pymap_server: ImapServer,
) -> None:
    assert pymap_server.no_basic_port is not None
    account = pymap_server.account("tls", port=pymap_server.no_basic_port)
    source = ImapSource(account, PASSWORD, ssl_context=pymap_server.tls.client_context())
    with pytest.raises(OAuth2Required) as caught:
        source.scan()
    message = str(caught.value)
    assert "OAuth2 sign-in" in message
    assert "does not support yet" in message
    assert "\n" not in message


def test_a_login_object_replaces_the_password_so_oauth2_can_come_without_new_callers(
    server: ImapServer,
) -> None:
    folder = _folder("login")
    server.append(folder, sample_messages(2))
    calls: list[str] = []

    class Recording:
        def sign_in(self, client: object, where: str) -> None:
            calls.append(where)
            PasswordLogin(USER, server.password()).sign_in(client, where)  # type: ignore[arg-type]

    account = server.account("tls", folders=(folder,))
    source = ImapSource(account, ssl_context=server.tls.client_context(), login=Recording())
    items, _resume, _total = _scan_all(source)
    assert len(items) == 2
    assert calls == [f"the IMAP server 127.0.0.1:{server.tls_port}"]


def test_an_unreachable_server_is_one_clear_line(pymap_server: ImapServer) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
        account = pymap_server.account("tls", port=port)
        with pytest.raises(
            MailConnectionError, match=f"cannot reach the IMAP server 127.0.0.1:{port}"
        ):
            ImapSource(account, PASSWORD, ssl_context=ssl.create_default_context()).scan()


def test_a_folder_that_does_not_exist_is_named(server: ImapServer) -> None:
    source = _source(server, "No Such Folder")
    with pytest.raises(MailError, match="the folder 'No Such Folder' cannot be opened"):
        source.scan()


def test_a_second_scan_reads_only_new_mail(server: ImapServer) -> None:
    folder = _folder("incremental")
    server.append(folder, [sample_message(i, message_id=f"inc{i}@x.example") for i in range(4)])
    source = _source(server, folder)
    first, resume, _ = _scan_all(source)
    assert len(first) == 4
    again, resume_again, total = _scan_all(source, resume)
    assert again == []
    assert total == 0
    assert resume_again == resume
    server.append(folder, [sample_message(9, message_id="new@x.example")])
    third, _resume, total = _scan_all(source, resume)
    assert _ids(third) == ["new@x.example"]
    assert total == 1


def test_a_changed_uidvalidity_reads_that_folder_again(server: ImapServer) -> None:
    folder = _folder("renumbered")
    server.append(folder, [sample_message(i, message_id=f"old{i}@x.example") for i in range(3)])
    source = _source(server, folder)
    _first, resume, _ = _scan_all(source)
    before = server.uidvalidity(folder)
    server.recreate(folder, [sample_message(i, message_id=f"re{i}@x.example") for i in range(2)])
    assert server.uidvalidity(folder) != before
    items, resume_after, total = _scan_all(source, resume)
    assert _ids(items) == ["re0@x.example", "re1@x.example"]
    assert total == 2
    state = resume_after["folders"][folder]  # type: ignore[index]
    assert state["uidvalidity"] == server.uidvalidity(folder)


def test_a_scan_never_marks_mail_as_read(server: ImapServer) -> None:
    folder = _folder("unread")
    server.append(folder, sample_messages(12))
    with server.client() as client:  # one message already read, to see it stays so
        client.select_folder(folder)
        first_uid = min(client.search(["ALL"]))
        client.add_flags([first_uid], [b"\\Seen"])
    before = server.flags(folder)
    assert sum(b"\\Seen" in f for f in before.values()) == 1
    items, _resume, _ = _scan_all(_source(server, folder, chunk_size=5))
    assert len(items) == 12
    after = server.flags(folder)
    assert {u: b"\\Seen" in f for u, f in after.items()} == {
        u: b"\\Seen" in f for u, f in before.items()
    }


def test_a_cancelled_scan_resumes_where_it_stopped_without_loss_or_repeat(
    server: ImapServer,
) -> None:
    folder = _folder("cancel")
    wanted = [f"c{i}@x.example" for i in range(13)]
    server.append(folder, [sample_message(i, message_id=m) for i, m in enumerate(wanted)])
    source = _source(server, folder, chunk_size=5)
    run = source.scan()
    seen: list[str] = []
    for item in run:  # stop in the middle of the second chunk, as a cancel does
        assert isinstance(item, MailHeaders)
        seen.append(item.message_id)
        if len(seen) == 7:
            break
    resume = run.resume_point()
    run.close()
    rest, _resume, total = _scan_all(source, resume)
    assert total == 6
    assert seen + _ids(rest) == wanted


def test_without_chosen_folders_inbox_and_junk_are_read_once_per_message(
    server: ImapServer,
) -> None:
    user = FOLDERS_USER
    server.append(
        "INBOX",
        [
            sample_message(1, message_id="a@x.example"),
            sample_message(2, message_id="both@x.example"),
        ],
        user=user,
    )
    server.append(
        "Junk",
        [
            sample_message(3, message_id="spam@x.example"),
            sample_message(4, message_id="both@x.example"),
        ],
        user=user,
    )
    server.append("Archive", [sample_message(5, message_id="archived@x.example")], user=user)
    account = server.account("tls", user=user)
    source = ImapSource(account, server.password(user), ssl_context=server.tls.client_context())
    run = source.scan()
    try:
        assert run.folders == ["INBOX", "Junk"]
        assert run.total == 4
        assert sorted(_ids(list(run))) == ["a@x.example", "both@x.example", "spam@x.example"]
    finally:
        run.close()


@pytest.fixture(scope="module", params=["flagged", "named"])
def gmail_like(request: pytest.FixtureRequest) -> Iterator[ImapServer]:
    _need_dovecot()
    with DovecotServer(gmail=request.param) as server:
        yield server


def test_on_gmail_only_all_mail_is_read(gmail_like: ImapServer) -> None:
    gmail_like.append("INBOX", [sample_message(1, message_id="inbox@x.example")])
    gmail_like.append("[Gmail]/All Mail", [sample_message(2, message_id="all@x.example")])
    source = ImapSource(
        gmail_like.account("tls"), PASSWORD, ssl_context=gmail_like.tls.client_context()
    )
    run = source.scan()
    try:
        assert run.folders == ["[Gmail]/All Mail"]
        assert _ids(list(run)) == ["all@x.example"]
    finally:
        run.close()


def test_the_pymap_launcher_fails_with_what_the_server_said(tmp_path: Path) -> None:
    server = PymapServer(tmp_path, {})  # no user: the launcher cannot start
    with pytest.raises(RuntimeError, match="the test mail server did not start"):
        server.start()


def test_a_message_deleted_during_a_scan_is_passed_over(server: ImapServer) -> None:
    folder = _folder("expunged")
    server.append(folder, [sample_message(i, message_id=f"e{i}@x.example") for i in range(4)])
    source = _source(server, folder)
    run = source.scan()  # the UIDs are planned here
    try:
        with server.client() as client:
            client.select_folder(folder)
            uids = sorted(client.search(["ALL"]))
            client.delete_messages([uids[1]])
            client.expunge()
        items = list(run)
        assert _ids(items) == ["e0@x.example", "e2@x.example", "e3@x.example"]
        assert run.resume_point()["folders"][folder]["last_uid"] == uids[-1]  # type: ignore[index]
    finally:
        run.close()


def test_the_headers_read_over_imap_are_what_the_parser_reads_from_the_file(
    server: ImapServer,
) -> None:
    from cmr_desktop.testing import mailgen

    folder = _folder("mailgen")
    generated = list(mailgen.messages(seed=3, n=40))
    server.append(
        folder, [m.raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for m in generated]
    )
    items, _resume, total = _scan_all(_source(server, folder, chunk_size=16))
    assert total == 40
    got = [i for i in items if isinstance(i, MailHeaders)]
    expected = [m.expected for m in generated]
    assert [g.message_id for g in got] == [e.message_id for e in expected]
    for g, e in zip(got, expected, strict=True):
        assert g.from_address == e.from_address
        assert g.list_id == e.list_id
        assert g.list_unsubscribe == e.list_unsubscribe
        assert g.one_click == e.one_click
        assert g.dkim_domains == e.dkim_domains
        assert g.dkim_pass_domains == e.dkim_pass_domains
        assert g.date == e.date


def test_without_dovecot_the_tests_skip_but_on_ci_they_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "dovecot_binary", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="dovecot is not installed"):
        _need_dovecot()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the IMAP tests against Dovecot"):
        _need_dovecot()
