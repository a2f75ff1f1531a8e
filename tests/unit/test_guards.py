"""The test suite's own guards hold (so a test that reaches the network fails loudly)."""

from __future__ import annotations

import socket

import pytest


def test_network_beyond_loopback_is_refused() -> None:
    with (
        pytest.raises(OSError, match="may not reach the network"),
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
    ):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed


def test_loopback_is_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
