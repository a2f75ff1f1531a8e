"""pytest plugin (``pytest11`` entry point ``cmr_desktop``): fixtures for connector tests.

Fixtures:
    vendor_sim: a running :class:`~cmr_desktop.testing.simulator.VendorSimulator` with three
        default vendors (``vendor-001`` ... ``vendor-003``), stopped after the test.
    openpref_vendor: a :class:`~cmr_desktop.testing.conformance.VendorSetup` for subscriber
        ``subject-001`` of ``vendor-001`` on ``vendor_sim``, for the ``openpref`` connector.
    vendor_double: a running :class:`~cmr_desktop.testing.vendor_double.VendorDouble` (a
        pytest-httpserver server with helpers to stub a vendor), stopped after the test.
    connector_host: a factory ``connector_host(connector_class, config, secrets, *,
        preferences=None, clock=None)`` giving a
        :class:`~cmr_desktop.testing.host.ConnectorHost`: the real sync engine on a fresh
        SQLite home in ``tmp_path``, with the class registered for this test only (no
        install, no entry point) and one brand connected; closed after the test.

Kept light: pytest imports this module in every run where CMR Desktop is installed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from cmr_desktop.connectors.api import Connector, PreferenceSet
    from cmr_desktop.domain.clock import Clock
    from cmr_desktop.testing.conformance import VendorSetup
    from cmr_desktop.testing.host import ConnectorHost
    from cmr_desktop.testing.simulator import VendorSimulator
    from cmr_desktop.testing.vendor_double import VendorDouble


@pytest.fixture
def vendor_sim() -> Iterator[VendorSimulator]:
    """A vendor simulator on 127.0.0.1 with three default vendors."""
    from cmr_desktop.testing.simulator import VendorSimulator, default_vendors

    with VendorSimulator(default_vendors(3), seed=1) as sim:
        yield sim


@pytest.fixture
def openpref_vendor(vendor_sim: VendorSimulator) -> VendorSetup:
    """Subscriber ``subject-001`` of ``vendor-001``, as the openpref connector reaches it."""
    from cmr_desktop.testing.conformance import VendorSetup

    vendor = "vendor-001"
    token = vendor_sim.token(vendor)
    return VendorSetup(
        config={"base_url": vendor_sim.base_url(vendor), "subject": "subject-001"},
        secrets={"token": token},
        url_field="base_url",
        writes_applied=lambda: vendor_sim.stats(vendor).writes_applied,
    )


@pytest.fixture
def vendor_double() -> Iterator[VendorDouble]:
    """A running :class:`~cmr_desktop.testing.vendor_double.VendorDouble` on 127.0.0.1."""
    from cmr_desktop.testing.vendor_double import VendorDouble

    with VendorDouble() as double:
        yield double


class MakeHost(Protocol):
    def __call__(
        self,
        connector_class: type[Connector],
        config: Mapping[str, str],
        secrets: Mapping[str, str],
        *,
        preferences: PreferenceSet | None = None,
        clock: Clock | None = None,
    ) -> ConnectorHost: ...


@pytest.fixture
def connector_host(tmp_path: Path) -> Iterator[MakeHost]:
    """Make a :class:`~cmr_desktop.testing.host.ConnectorHost` for a connector class (see
    :func:`cmr_desktop.testing.host.connector_host`); every host is closed after the test."""
    from cmr_desktop.testing.host import connector_host as open_host

    with contextlib.ExitStack() as stack:
        made = 0

        def make(
            connector_class: type[Connector],
            config: Mapping[str, str],
            secrets: Mapping[str, str],
            **options: Any,
        ) -> ConnectorHost:
            nonlocal made
            made += 1
            home = tmp_path / f"cmr-home-{made}"
            return stack.enter_context(
                open_host(connector_class, config, secrets, home=home, **options)
            )

        yield make
