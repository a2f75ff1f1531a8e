"""The ``email`` connector in a real sync: turning e-mail off and syncing sends the one-click
unsubscribe to a real HTTPS server (trustme, loopback); a brand without one-click is left to
the customer; the service's buttons journal every action."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from cmr_desktop.domain.summary import Status, status_of
from cmr_desktop.domain.vocabulary import Channel
from cmr_desktop.mail import netguard
from cmr_desktop.services import ConnectionFailed, InputError, Result, Services
from tests.integration.unsub_servers import (
    OneClickServer,
    loopback_resolver,
    make_ca,
    one_click_server,
)

SEEN = "2026-02-20T09:00:00+00:00"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[OneClickServer]:
    ca: tuple[trustme.CA, str] = make_ca(tmp_path)
    for running in one_click_server(*ca):
        with netguard.overrides_for_tests(resolver=loopback_resolver, ca_file=running.ca_file):
            yield running


def add(services: Services, name: str, *, email_on: bool | None = False, **config: str) -> str:
    settings = {"sender_domain": "shop.example", "seen_at": SEEN, **config}
    brand = services.brands.add_brand(name, connector="email", connector_config=settings)
    if email_on is not None:
        services.preferences.update_preferences(
            brand.slug, lambda p: p.with_channel(Channel.EMAIL, email_on)
        )
    return brand.slug


def unsubscribes(services: Services, slug: str) -> list[dict[str, Any]]:
    return [e.detail for e in services.journal.entries(slug) if e.kind == "unsubscribe"]


def test_turning_email_off_and_syncing_sends_the_one_click_unsubscribe(
    services: Services, server: OneClickServer
) -> None:
    slug = add(services, "Shop", one_click_url=server.url(), dkim_verified="yes")

    report = services.sync.run()

    [outcome] = report.outcomes
    assert outcome.result is Result.SYNCED, outcome.detail
    [seen] = server.seen
    assert (seen.method, seen.body) == ("POST", b"List-Unsubscribe=One-Click")
    view = services.brands.get_brand(slug)
    assert not view.pending
    assert view.vendor is not None
    assert view.vendor.channels == {Channel.EMAIL: False}
    kinds = [e.kind for e in services.journal.entries(slug)]
    assert kinds[-3:] == ["push", "unsubscribe", "answer"]
    answer = services.journal.entries(slug)[-1].detail
    assert answer["version"].startswith("one-click:")


def test_the_one_click_sent_by_a_sync_is_journaled_as_an_unsubscribe(
    services: Services, server: OneClickServer
) -> None:
    slug = add(services, "Shop", one_click_url=server.url(), dkim_verified="yes")

    services.sync.run()

    [entry] = unsubscribes(services, slug)
    assert entry["method"] == "one-click"
    assert entry["target"] == server.url()
    assert entry["result"].startswith("HTTP 200")


def test_a_brand_with_only_a_mailto_needs_the_customers_action_and_nothing_is_sent(
    services: Services, server: OneClickServer
) -> None:
    slug = add(services, "Letters", mailto="mailto:leave@letters.example", dkim_verified="yes")

    report = services.sync.run()

    [outcome] = report.outcomes
    assert outcome.result is Result.MANUAL
    assert "do by hand" in outcome.detail
    assert "send the unsubscribe e-mail to leave@letters.example" in outcome.detail
    assert "cmr brand done" not in outcome.detail  # the e-mail brand's own way, not by hand
    record = services.brands.brand_record(slug)
    assert record is not None
    assert status_of(record.connector, record.pending, record.sync_status, None) is Status.MANUAL
    assert server.seen == []
    assert services.brands.get_brand(slug).pending
    assert unsubscribes(services, slug) == []


def test_one_click_from_mail_that_did_not_pass_dkim_is_never_sent(
    services: Services, server: OneClickServer
) -> None:
    slug = add(services, "Spoofed", one_click_url=server.url(), dkim_verified="no")

    report = services.sync.run()

    assert report.outcomes[0].result is Result.MANUAL
    assert server.seen == []
    assert services.brands.get_brand(slug).pending
    assert "did not pass DKIM" in services.unsubscribe.options(slug).one_click_problem


def test_a_redirect_from_the_one_click_address_fails_the_sync_and_leaves_it_pending(
    services: Services, server: OneClickServer
) -> None:
    server.status, server.location = 303, "https://127.0.0.1/elsewhere"
    slug = add(services, "Shop", one_click_url=server.url(), dkim_verified="yes")

    report = services.sync.run()

    [outcome] = report.outcomes
    assert outcome.result is Result.FAILED
    assert "redirect to https://127.0.0.1/elsewhere, not followed; not confirmed" in outcome.detail
    assert len(server.seen) == 1
    assert services.brands.get_brand(slug).pending


def test_a_brand_whose_email_stays_on_is_never_unsubscribed(
    services: Services, server: OneClickServer
) -> None:
    add(services, "Liked", email_on=True, one_click_url=server.url(), dkim_verified="yes")

    report = services.sync.run()

    assert report.outcomes[0].result is Result.UNCHANGED
    assert server.seen == []


def test_the_unsubscribe_button_sends_one_click_and_journals_it(
    services: Services, server: OneClickServer
) -> None:
    slug = add(services, "Shop", one_click_url=server.url(), dkim_verified="yes")

    result = services.unsubscribe.one_click(slug)

    assert result == "HTTP 200 OK: the sender accepted the unsubscribe"
    assert len(server.seen) == 1
    [entry] = unsubscribes(services, slug)
    assert entry == {
        "method": "one-click",
        "target": server.url(),
        "result": result,
        "at": services.now().isoformat(),
        "done": True,
    }
    view = services.brands.get_brand(slug)
    assert not view.pending
    assert view.vendor is not None
    assert view.vendor.channels == {Channel.EMAIL: False}


def test_a_one_click_the_sender_does_not_accept_is_journaled_and_reported_never_claimed(
    services: Services, server: OneClickServer
) -> None:
    server.status = 500
    slug = add(services, "Shop", one_click_url=server.url(), dkim_verified="yes")

    with pytest.raises(ConnectionFailed, match="HTTP 500"):
        services.unsubscribe.one_click(slug)

    [entry] = unsubscribes(services, slug)
    assert entry["result"] == "HTTP 500 Internal Server Error: not confirmed"
    assert entry["done"] is False
    assert services.brands.get_brand(slug).pending


def test_the_web_link_is_offered_and_recorded_as_done_by_hand_when_confirmed(
    services: Services,
) -> None:
    slug = add(services, "Paper", web_url="https://paper.example/prefs")

    options = services.unsubscribe.options(slug)
    assert (options.one_click, options.mailto, options.web) == (
        "",
        "",
        "https://paper.example/prefs",
    )
    assert options.preferred == "web"

    services.unsubscribe.confirm_web_done(slug)

    [entry] = unsubscribes(services, slug)
    assert entry["method"] == "web"
    assert entry["target"] == "https://paper.example/prefs"
    assert entry["result"] == "done by hand: the customer said they unsubscribed"
    assert entry["done"] is True
    assert not services.brands.get_brand(slug).pending


def test_asking_for_a_method_the_mail_did_not_offer_says_what_to_do_instead(
    services: Services,
) -> None:
    slug = add(services, "Letters", mailto="mailto:leave@letters.example")

    with pytest.raises(InputError) as caught:
        services.unsubscribe.one_click(slug)
    assert str(caught.value) == (
        "Letters: the brand's mail offers no one-click unsubscribe; send the unsubscribe "
        "e-mail to leave@letters.example"
    )
    with pytest.raises(InputError, match="no unsubscribe page"):
        services.unsubscribe.confirm_web_done(slug)
    assert unsubscribes(services, slug) == []


def test_checking_the_vendor_after_a_one_click_reports_no_drift_and_sends_nothing_again(
    services: Services, server: OneClickServer
) -> None:
    # The sender accepted the unsubscribe: the mail seen before it is no evidence that the
    # sender turned e-mail back on (whether it keeps writing is the mailbox's to show).
    slug = add(services, "Shop", one_click_url=server.url(), dkim_verified="yes")
    services.sync.run()
    assert len(server.seen) == 1

    report = services.sync.run(verify=True)

    [outcome] = report.outcomes
    assert outcome.result is Result.UNCHANGED, outcome.detail
    assert len(server.seen) == 1
    assert "drift" not in [e.kind for e in services.journal.entries(slug)]
    assert services.brands.get_brand(slug).vendor.channels == {Channel.EMAIL: False}
