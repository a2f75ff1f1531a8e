"""The SSRF guard: what may be contacted, with test mode explicitly off unless said."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from cmr_desktop.connectors import http as connectors_http
from cmr_desktop.mail import netguard


@pytest.fixture
def real_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a customer's machine: test mode off (pytest would turn it on)."""
    monkeypatch.setattr(connectors_http, "in_test_mode", lambda: False)
    assert not connectors_http.in_test_mode()


class Listener:
    """A plain TCP listener on loopback that records whether anyone connected."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(None)
        self.port = self.sock.getsockname()[1]
        self.connected = threading.Event()
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self._stop:
                conn.close()
                return
            self.connected.set()
            conn.close()

    def close(self) -> None:
        self._stop = True
        # Wake the accept() so the thread ends.
        with socket.create_connection(("127.0.0.1", self.port)):
            pass
        self.thread.join()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fc00::1", "private"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("100.64.0.1", "not a public address"),  # CGNAT shared space
    ("100.127.255.254", "not a public address"),
    ("192.0.2.1", "private"),  # documentation
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "link-local"),
    ("2002:7f00:1::", "loopback"),  # 6to4 wrapping 127.0.0.1
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 wrapping 169.254.169.254
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"),  # Teredo client 10.0.0.1
]


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_addresses_that_are_not_global_are_refused(real_mode: None, address: str, why: str) -> None:
    problem = netguard.address_problem(address)
    assert problem
    assert why in problem


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "8.8.8.8"]
)
def test_global_addresses_are_accepted(real_mode: None, address: str) -> None:
    assert netguard.address_problem(address) == ""


def test_test_mode_allows_loopback_and_nothing_else() -> None:
    assert connectors_http.in_test_mode()
    assert netguard.address_problem("127.0.0.1", allow_loopback=True) == ""
    assert netguard.address_problem("::ffff:127.0.0.1", allow_loopback=True) == ""
    for address in ("10.0.0.1", "192.168.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0"):
        assert netguard.address_problem(address, allow_loopback=True), address


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://shop.example.com/u", "plain http is never used"),
        ("HTTP://shop.example.com/u", "plain http is never used"),
        ("ftp://shop.example.com/u", "not an https address"),
        ("https://user:pw@shop.example.com/u", "user name or password"),
        ("https:///u", "no host name"),
        ("https://shop.example.com/u\r\nX-Injected: 1", "control character"),
        ("https://shop.example.com:99999/u", "not a valid address"),
    ],
)
def test_urls_of_the_wrong_form_are_refused_before_any_look_up(url: str, why: str) -> None:
    def never(host: str, port: int) -> list[str]:
        raise AssertionError("no look-up may happen")

    with pytest.raises(netguard.Refused) as caught:
        netguard.guarded_post(url, b"x", resolver=never)
    message = str(caught.value)
    assert why in message
    assert "\n" not in message
    assert "\r" not in message


@pytest.mark.parametrize(
    "addresses",
    [
        ["127.0.0.1"],
        ["10.0.0.5"],
        ["169.254.169.254"],
        ["93.184.215.14", "127.0.0.1"],  # one bad address is enough
        ["::ffff:127.0.0.1"],
    ],
)
def test_a_public_looking_name_that_resolves_to_an_inside_address_is_refused_and_not_contacted(
    real_mode: None, listener: Listener, addresses: list[str]
) -> None:
    def lying(host: str, port: int) -> list[str]:
        return addresses

    url = f"https://news.shop.example.com:{listener.port}/unsubscribe"
    with pytest.raises(netguard.Refused) as caught:
        netguard.guarded_post(url, b"List-Unsubscribe=One-Click", resolver=lying)

    message = str(caught.value)
    assert message.startswith(url + ": refused: news.shop.example.com resolves to ")
    assert not listener.connected.is_set()


def test_a_loopback_literal_is_refused_outside_test_mode_and_not_contacted(
    real_mode: None, listener: Listener
) -> None:
    url = f"https://127.0.0.1:{listener.port}/u"
    with pytest.raises(netguard.Refused, match="loopback"):
        netguard.guarded_post(url, b"x")
    assert not listener.connected.is_set()


def test_a_private_address_is_refused_even_in_test_mode(listener: Listener) -> None:
    assert connectors_http.in_test_mode()

    def private(host: str, port: int) -> list[str]:
        return ["192.168.1.20"]

    with pytest.raises(netguard.Refused, match="private"):
        netguard.guarded_post("https://router.example/u", b"x", resolver=private)


def test_only_port_443_is_used_for_a_public_address(real_mode: None) -> None:
    def public(host: str, port: int) -> list[str]:
        return ["93.184.215.14"]

    with pytest.raises(netguard.Refused, match="port 8443"):
        netguard.guarded_post("https://shop.example.com:8443/u", b"x", resolver=public)


def test_a_name_that_does_not_resolve_is_one_line_naming_the_url() -> None:
    def failing(host: str, port: int) -> list[str]:
        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(netguard.GuardError) as caught:
        netguard.guarded_post("https://nowhere.example/u", b"x", resolver=failing)
    assert str(caught.value) == (
        "https://nowhere.example/u: cannot look up nowhere.example: "
        "[Errno -2] Name or service not known"
    )


def test_the_test_overrides_cannot_be_used_outside_test_mode(real_mode: None) -> None:
    with pytest.raises(RuntimeError, match="tests only"), netguard.overrides_for_tests(ca_file="x"):
        pass
