"""A mailto unsubscribe sent through the customer's own account to a real SMTP server
(aiosmtpd on loopback, implicit TLS and STARTTLS, trustme certificates)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest
import trustme

from cmr_desktop.domain.vocabulary import Channel
from cmr_desktop.mail import smtp
from cmr_desktop.mail.accounts import MailAccount
from cmr_desktop.mail.unsubscribe import MailtoProblem, build_mailto, parse_mailto
from cmr_desktop.services import ConnectionFailed, InputError, Services
from cmr_desktop.services.unsubscribe import UnsubscribeService
from tests.integration.unsub_servers import (
    PASSWORD,
    USER,
    SmtpServer,
    client_context,
    make_ca,
    smtp_server,
)

MAILTO = (
    "mailto:unsub-123@news.shop.example?subject=unsubscribe%20me&body=Please%20stop."
    "&bcc=spy@evil.example"
)


@pytest.fixture
def ca(tmp_path: Path) -> tuple[trustme.CA, str]:
    return make_ca(tmp_path)


@pytest.fixture(params=["tls", "starttls"])
def server(request: pytest.FixtureRequest, ca: tuple[trustme.CA, str]) -> Iterator[SmtpServer]:
    yield from smtp_server(ca[0], request.param)


@pytest.fixture
def account(server: SmtpServer, request: pytest.FixtureRequest) -> MailAccount:
    mode = request.node.callspec.params["server"]
    return MailAccount(
        id="me",
        address=USER,
        username=USER,
        imap_host="imap.test",
        smtp_host="127.0.0.1",
        smtp_port=server.port,
        smtp_security=mode,
    )


@pytest.fixture
def unsub(services: Services, ca: tuple[trustme.CA, str]) -> UnsubscribeService:
    return UnsubscribeService(services, smtp_ssl_context=client_context(ca[1]))


def add_brand(services: Services, **config: str) -> str:
    settings: dict[str, str] = {
        "sender_domain": "shop.example",
        "mailto": MAILTO,
        "dkim_verified": "yes",
    }
    settings.update(config)
    brand = services.brands.add_brand("Shop", connector="email", connector_config=settings)
    services.preferences.update_preferences(
        brand.slug, lambda p: p.with_channel(Channel.EMAIL, False)
    )
    return brand.slug


def test_the_server_receives_byte_for_byte_the_message_the_customer_was_shown(
    services: Services, unsub: UnsubscribeService, server: SmtpServer, account: MailAccount
) -> None:
    slug = add_brand(services)

    shown = unsub.preview_mailto(slug, account)
    said = unsub.send_mailto(slug, account, confirmed=shown, password=PASSWORD)

    [envelope] = server.recorder.envelopes
    assert envelope.mail_from == USER
    assert envelope.rcpt_tos == ["unsub-123@news.shop.example"]  # not the bcc
    assert envelope.original_content == shown.encode()
    assert said == "accepted by 127.0.0.1: 250 2.0.0 Ok: queued as TEST1"
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.SMTP)
    assert message["From"] == USER
    assert message["To"] == "unsub-123@news.shop.example"
    assert message["Subject"] == "unsubscribe me"
    assert "Bcc" not in message
    assert "Cc" not in message
    body = message.get_body()
    assert body is not None
    assert body.get_content().strip() == "Please stop."


def test_before_sending_the_email_off_decision_is_pending(
    services: Services, unsub: UnsubscribeService, account: MailAccount
) -> None:
    slug = add_brand(services)
    unsub.preview_mailto(slug, account)
    assert services.brands.get_brand(slug).pending


def test_a_sent_mailto_is_journaled_with_its_headers_and_text_and_carries_out_email_off(
    services: Services, unsub: UnsubscribeService, server: SmtpServer, account: MailAccount
) -> None:
    slug = add_brand(services)
    shown = unsub.preview_mailto(slug, account)

    unsub.send_mailto(slug, account, confirmed=shown, password=PASSWORD)

    [entry] = [e for e in services.journal.entries(slug) if e.kind == "unsubscribe"]
    assert entry.detail["method"] == "mailto"
    assert entry.detail["target"] == MAILTO
    assert entry.detail["result"].startswith("accepted by 127.0.0.1: 250")
    assert entry.detail["at"] == services.now().isoformat()
    assert entry.detail["text"] == shown
    assert entry.detail["headers"]["To"] == "unsub-123@news.shop.example"
    assert entry.detail["headers"]["From"] == USER
    assert not services.brands.get_brand(slug).pending  # e-mail off is carried out


def test_a_message_that_changed_since_it_was_shown_is_not_sent(
    services: Services, unsub: UnsubscribeService, server: SmtpServer, account: MailAccount
) -> None:
    slug = add_brand(services)
    shown = unsub.preview_mailto(slug, account)
    edited = shown.replace("Please stop.", "Please stop. Also send me offers.")

    with pytest.raises(InputError, match="changed since it was shown"):
        unsub.send_mailto(slug, account, confirmed=edited, password=PASSWORD)

    assert server.recorder.envelopes == []
    assert [e for e in services.journal.entries(slug) if e.kind == "unsubscribe"] == []


def test_a_refused_password_is_journaled_as_not_sent_and_reported_in_one_line(
    services: Services, unsub: UnsubscribeService, server: SmtpServer, account: MailAccount
) -> None:
    slug = add_brand(services)
    shown = unsub.preview_mailto(slug, account)

    with pytest.raises(ConnectionFailed) as caught:
        unsub.send_mailto(slug, account, confirmed=shown, password="wrong")

    message = str(caught.value)
    assert "\n" not in message
    assert f"127.0.0.1:{server.port}: the user name or password was refused" in message
    assert "wrong" not in message
    assert server.recorder.envelopes == []
    [entry] = [e for e in services.journal.entries(slug) if e.kind == "unsubscribe"]
    assert entry.detail["result"].startswith("not sent: ")


@pytest.fixture
def plain_server(ca: tuple[trustme.CA, str]) -> Iterator[SmtpServer]:
    yield from smtp_server(ca[0], "plain")


def test_a_server_without_starttls_is_never_used_in_the_clear(
    plain_server: SmtpServer, ca: tuple[trustme.CA, str]
) -> None:
    account = MailAccount(
        id="me",
        address=USER,
        username=USER,
        imap_host="imap.test",
        smtp_host="127.0.0.1",
        smtp_port=plain_server.port,
        smtp_security="starttls",
    )
    message = build_mailto(MAILTO, USER, date=_date())

    with pytest.raises(smtp.SmtpError, match="does not offer STARTTLS"):
        smtp.send(
            account,
            PASSWORD,
            USER,
            ["unsub-123@news.shop.example"],
            message.as_bytes(),
            ssl_context=client_context(ca[1]),
        )
    assert plain_server.recorder.envelopes == []


def test_an_account_asking_for_plain_text_is_refused_before_connecting() -> None:
    account = MailAccount(
        id="me",
        address=USER,
        username=USER,
        imap_host="imap.test",
        smtp_host="127.0.0.1",
        smtp_port=1,
        smtp_security=cast(Any, "none"),
    )
    with pytest.raises(smtp.SmtpError, match="only TLS or STARTTLS"):
        smtp.send(account, PASSWORD, USER, ["a@b.example"], b"x")


def _date() -> dt.datetime:
    return dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "uri",
    [
        "mailto:unsub@shop.example?subject=hi%0D%0ABcc:%20victim@example.org",
        "mailto:unsub@shop.example%0D%0ABcc:%20victim@example.org",
        "mailto:unsub@shop.example?subject=hi%0ABcc:x@y.example",
    ],
)
def test_a_line_break_in_a_mailto_address_or_subject_is_refused(uri: str) -> None:
    with pytest.raises(MailtoProblem, match="line break"):
        build_mailto(uri, USER, date=_date())


def test_a_mailto_without_subject_or_body_asks_to_unsubscribe() -> None:
    parsed = parse_mailto("mailto:leave@list.example")
    assert parsed == replace(
        parsed, to=("leave@list.example",), subject="unsubscribe", body="unsubscribe"
    )


def test_a_mailto_with_several_recipients_and_a_to_field_reaches_them_all() -> None:
    parsed = parse_mailto("mailto:a@x.example,b@x.example?to=c%40x.example&subject=stop")
    assert parsed.to == ("a@x.example", "b@x.example", "c@x.example")
    assert parsed.subject == "stop"
