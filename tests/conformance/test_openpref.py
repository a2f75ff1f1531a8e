"""The built-in openpref connector passes the conformance kit, against the simulator."""

from __future__ import annotations

import pytest

from cmr_desktop.connectors.api import Catalog, Channel, DataCategory, Frequency, Purpose, Topic
from cmr_desktop.connectors.openpref import OpenPrefConnector
from cmr_desktop.testing.conformance import ConnectorConformance, SuiteConfig, VendorSetup
from cmr_desktop.testing.simulator import default_vendors


def simulated_catalog() -> Catalog:
    """What ``vendor-001`` of the ``vendor_sim`` fixture offers (its spec is data, so the
    kit can make one test case per channel, frequency, topic and data use)."""
    spec = default_vendors(3)[0]
    return Catalog(
        channels=frozenset(Channel(c) for c in spec.channels),
        frequencies=frozenset(Frequency(f) for f in spec.frequencies),
        topics=tuple(Topic(t.id, t.label, t.required) for t in spec.topics),
        data_uses=frozenset((DataCategory(u.category), Purpose(u.purpose)) for u in spec.data_uses),
        supports_quiet_hours=True,
    )


class TestOpenPref(ConnectorConformance):
    connector_class = OpenPrefConnector
    suite = SuiteConfig(
        catalog=simulated_catalog(),
        skip={
            "partial_writes": (
                "the Open Preference API's PUT replaces the whole state and openpref sends only "
                "the fields it is given, so absent ones fall back to the vendor's defaults (the "
                "sync engine always sends a full merged state, so nothing is lost in use)"
            ),
        },
    )

    @pytest.fixture
    def vendor(self, openpref_vendor: VendorSetup) -> VendorSetup:
        return openpref_vendor
