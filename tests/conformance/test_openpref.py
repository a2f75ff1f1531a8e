"""The built-in openpref connector passes the conformance suite, against the simulator."""

from __future__ import annotations

import pytest

from cmr_desktop.connectors.openpref import OpenPrefConnector
from cmr_desktop.testing.conformance import ConnectorConformance, VendorSetup


class TestOpenPref(ConnectorConformance):
    connector_class = OpenPrefConnector

    @pytest.fixture
    def vendor(self, openpref_vendor: VendorSetup) -> VendorSetup:
        return openpref_vendor
