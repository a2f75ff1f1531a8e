"""The ``email`` connector on its own: what it reads, what it refuses, what it keeps."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import requests

from cmr_desktop.connectors.api import (
    Channel,
    ConnectorContext,
    PermanentError,
    PreferenceSet,
    TransientError,
)
from cmr_desktop.connectors.email import EmailConnector
from cmr_desktop.connectors.registry import Registry
from cmr_desktop.domain.clock import FixedClock
from cmr_desktop.mail import netguard
from tests.integration.unsub_servers import (
    OneClickServer,
    loopback_resolver,
    make_ca,
    one_click_server,
)


class _NoSecrets:
    def get(self, field: str) -> str | None:
        return None


def connector(**config: str) -> EmailConnector:
    full: Mapping[str, str] = {**EmailConnector.config_defaults(), **config}
    return EmailConnector(
        ConnectorContext(
            config=full,
            secrets=_NoSecrets(),
            session=requests.Session(),
            clock=FixedClock(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)),
            log=logging.getLogger("test.email"),
        )
    )


OFF = PreferenceSet(channels={Channel.EMAIL: False})


@pytest.fixture
def server(tmp_path: Path) -> Iterator[OneClickServer]:
    for running in one_click_server(*make_ca(tmp_path)):
        with netguard.overrides_for_tests(resolver=loopback_resolver, ca_file=running.ca_file):
            yield running


def test_the_email_connector_is_installed_and_has_no_problems() -> None:
    registry = Registry.discover()
    assert registry.get("email") is EmailConnector
    assert EmailConnector.problems() == []


def test_it_reads_only_the_mailboxs_evidence_never_an_invented_state() -> None:
    assert connector(sender_domain="shop.example").read().preferences == PreferenceSet()
    seen = connector(sender_domain="shop.example", seen_at="2026-02-20T09:00:00+00:00").read()
    assert seen.preferences == PreferenceSet(channels={Channel.EMAIL: True})
    assert seen.version == "mailbox:2026-02-20T09:00:00+00:00"


def test_it_is_remote_only_when_one_click_is_allowed() -> None:
    url = "https://shop.example/u"
    assert connector(one_click_url=url, dkim_verified="yes").remote
    assert not connector(one_click_url=url, dkim_verified="no").remote
    assert not connector(mailto="mailto:u@shop.example", dkim_verified="yes").remote


def test_it_acts_on_the_email_channel_only_and_says_so() -> None:
    c = connector(mailto="mailto:u@shop.example")
    assert c.catalog().channels == frozenset({Channel.EMAIL})
    assert not c.catalog().data_uses
    assert not c.catalog().frequencies
    assert c.check() == (
        "no one-click unsubscribe: send the unsubscribe e-mail to u@shop.example; "
        "other channels and data uses are yours to handle by hand"
    )


def test_email_on_cannot_be_sent_and_says_why() -> None:
    c = connector(one_click_url="https://shop.example/u", dkim_verified="yes")
    with pytest.raises(PermanentError, match="cannot be turned on from here"):
        c.write(
            PreferenceSet(channels={Channel.EMAIL: True}), base_version="x", idempotency_key="k"
        )
    assert c.performed == []


def test_a_write_of_email_off_posts_once_and_keeps_a_journal_ready_entry(
    server: OneClickServer,
) -> None:
    c = connector(one_click_url=server.url(), dkim_verified="yes")

    state = c.write(OFF, base_version="mailbox:x", idempotency_key="k")

    assert state.preferences == OFF
    assert state.version == "one-click:2026-03-01T12:00:00Z"
    assert len(server.seen) == 1
    assert c.take_performed() == [
        {
            "method": "one-click",
            "target": server.url(),
            "result": "HTTP 200 OK: the sender accepted the unsubscribe",
            "at": "2026-03-01T12:00:00+00:00",
        }
    ]
    assert c.take_performed() == []


def test_a_5xx_is_transient_and_a_4xx_permanent_and_neither_is_a_success(
    server: OneClickServer,
) -> None:
    c = connector(one_click_url=server.url(), dkim_verified="yes")
    server.status = 503
    with pytest.raises(TransientError, match="HTTP 503"):
        c.write(OFF, base_version="x", idempotency_key="k")
    server.status = 410
    with pytest.raises(PermanentError, match="HTTP 410"):
        c.write(OFF, base_version="x", idempotency_key="k")
    assert [e["result"].split(":")[0] for e in c.take_performed()] == [
        "HTTP 503 Service Unavailable",
        "HTTP 410 Gone",
    ]


def test_settings_that_cannot_be_used_are_refused_in_one_sentence_each() -> None:
    assert EmailConnector.config_problems(
        {
            "sender_domain": "shop.example",
            "one_click_url": "http://shop.example/u",
            "mailto": "leave@shop.example",
            "dkim_verified": "maybe",
        }
    ) == [
        "one_click_url must be an https address",
        "mailto must be a mailto: address",
        'dkim_verified must be "yes" or "no"',
    ]
