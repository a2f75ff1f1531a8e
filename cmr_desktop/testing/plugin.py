"""pytest plugin (``pytest11`` entry point ``cmr_desktop``): fixtures for connector tests.

Fixtures:
    vendor_sim: a running :class:`~cmr_desktop.testing.simulator.VendorSimulator` with three
        default vendors (``vendor-001`` ... ``vendor-003``), stopped after the test.
    openpref_vendor: a :class:`~cmr_desktop.testing.conformance.VendorSetup` for subscriber
        ``subject-001`` of ``vendor-001`` on ``vendor_sim``, for the ``openpref`` connector.

Kept light: pytest imports this module in every run where CMR Desktop is installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from cmr_desktop.testing.conformance import VendorSetup
    from cmr_desktop.testing.simulator import VendorSimulator


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
