"""RFC 8058 one-click unsubscribe against a real HTTPS server on loopback (trustme)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from cmr_desktop.mail import netguard
from cmr_desktop.mail.unsubscribe import one_click
from tests.integration.unsub_servers import (
    HOST,
    OneClickServer,
    loopback_resolver,
    make_ca,
    one_click_server,
)


@pytest.fixture
def ca(tmp_path: Path) -> tuple[trustme.CA, str]:
    return make_ca(tmp_path)


@pytest.fixture
def server(ca: tuple[trustme.CA, str]) -> Iterator[OneClickServer]:
    yield from one_click_server(*ca)


def test_the_one_click_request_is_a_form_post_of_exactly_the_rfc_8058_body(
    server: OneClickServer,
) -> None:
    outcome = one_click(server.url(), resolver=loopback_resolver, ca_file=server.ca_file)

    assert outcome.done, outcome.result
    assert outcome.status == 200
    assert "HTTP 200" in outcome.result
    [seen] = server.seen
    assert seen.method == "POST"
    assert seen.path == "/u/abc?list=news"
    assert seen.body == b"List-Unsubscribe=One-Click"
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert headers["content-length"] == str(len(b"List-Unsubscribe=One-Click"))
    assert headers["host"] == f"{HOST}:{server.port}"
    # No cookies, no credentials, nothing about the customer.
    assert "cookie" not in headers
    assert "authorization" not in headers


def test_the_certificate_is_checked_against_the_real_host_name_not_the_address(
    server: OneClickServer,
) -> None:
    # The certificate is for unsubscribe.example; a URL naming another host that resolves to
    # the same address is refused by TLS verification, and nothing is posted.
    url = f"https://other.example:{server.port}/u"
    outcome = one_click(url, resolver=loopback_resolver, ca_file=server.ca_file)

    assert not outcome.done
    assert "TLS" in outcome.result
    assert server.seen == []


def test_a_server_whose_certificate_is_not_trusted_is_not_posted_to(
    server: OneClickServer, tmp_path: Path
) -> None:
    other = trustme.CA()
    path = tmp_path / "other-ca.pem"
    other.cert_pem.write_to_path(str(path))

    outcome = one_click(server.url(), resolver=loopback_resolver, ca_file=str(path))

    assert not outcome.done
    assert outcome.result.startswith(server.url())
    assert "TLS" in outcome.result
    assert server.seen == []


@pytest.mark.parametrize(
    "location",
    ["https://169.254.169.254/latest/meta-data/", "https://127.0.0.1/", "https://10.0.0.1/"],
)
def test_a_redirect_is_reported_and_never_followed(server: OneClickServer, location: str) -> None:
    server.status, server.location = 302, location

    outcome = one_click(server.url(), resolver=loopback_resolver, ca_file=server.ca_file)

    assert not outcome.done
    assert outcome.status == 302
    assert f"redirect to {location}, not followed" in outcome.result
    assert "not confirmed" in outcome.result
    assert len(server.seen) == 1  # the one POST; nothing went to the Location


@pytest.mark.parametrize("status", [400, 404, 500])
def test_an_answer_that_is_not_2xx_is_reported_as_it_is(
    server: OneClickServer, status: int
) -> None:
    server.status = status

    outcome = one_click(server.url(), resolver=loopback_resolver, ca_file=server.ca_file)

    assert not outcome.done
    assert outcome.status == status
    assert outcome.result.startswith(f"HTTP {status}")
    assert outcome.result.endswith("not confirmed")


def test_at_most_64_kib_of_an_answer_is_read(server: OneClickServer) -> None:
    server.body = b"x" * (1024 * 1024)

    answer = netguard.guarded_post(
        server.url(),
        b"List-Unsubscribe=One-Click",
        resolver=loopback_resolver,
        ca_file=server.ca_file,
    )

    assert answer.status == 200
    assert len(answer.body) == netguard.MAX_BODY
    assert answer.truncated


def test_the_connection_goes_to_the_address_that_was_checked_with_one_look_up(
    server: OneClickServer,
) -> None:
    # DNS rebinding: the second answer would be a private address. There is no second
    # look-up: the request goes to the address that was checked.
    answers = [["127.0.0.1"], ["10.0.0.1"]]
    asked: list[tuple[str, int]] = []

    def rebinding(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return answers.pop(0)

    answer = netguard.guarded_post(
        server.url(), b"List-Unsubscribe=One-Click", resolver=rebinding, ca_file=server.ca_file
    )

    assert answer.status == 200
    assert answer.address == "127.0.0.1"
    assert asked == [(HOST, server.port)]
    assert len(server.seen) == 1


def test_a_redirect_back_to_the_same_server_is_not_followed_either(
    server: OneClickServer,
) -> None:
    server.status, server.location = 307, server.url("/landed")

    outcome = one_click(server.url(), resolver=loopback_resolver, ca_file=server.ca_file)

    assert not outcome.done
    assert [s.path for s in server.seen] == ["/u/abc?list=news"]
