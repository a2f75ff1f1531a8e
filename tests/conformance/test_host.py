"""The in-process host runs the real sync engine on a real home for a connector class that
is not installed (registered for one test), against the simulator."""

from __future__ import annotations

import pytest

from cmr_desktop.connectors.api import Channel, ConnectorInfo, PreferenceSet, RemoteState
from cmr_desktop.connectors.openpref import OpenPrefConnector
from cmr_desktop.testing.conformance import VendorSetup
from cmr_desktop.testing.host import ConnectorRefused, Result, register
from cmr_desktop.testing.plugin import MakeHost
from cmr_desktop.testing.simulator import VendorSimulator


class LocalOpenPref(OpenPrefConnector):
    """A connector that no package provides (defined in this test module only)."""

    info = ConnectorInfo(id="local-openpref", name="Local", version="0.1", api_version="1.0")


def test_a_class_no_package_provides_syncs_through_the_real_engine(
    connector_host: MakeHost, openpref_vendor: VendorSetup, vendor_sim: VendorSimulator
) -> None:
    host = connector_host(
        LocalOpenPref,
        config=openpref_vendor.config,
        secrets=openpref_vendor.secrets,
        preferences=PreferenceSet(channels={Channel.EMAIL: False}),
    )
    run = host.sync()
    assert run.outcome.result is Result.SYNCED, run.outcome.detail
    assert run.kinds()[0] == "push"
    assert run.vendor_state is not None
    assert run.vendor_state.channels[Channel.EMAIL] is False
    held = vendor_sim.state("vendor-001")["subject-001"]["preferences"]
    assert held["channels"]["email"]["enabled"] is False
    again = host.sync(verify=True)
    assert again.outcome.result is Result.UNCHANGED
    assert openpref_vendor.secrets["token"] not in str([e.detail for e in run.journal])


def test_a_vendor_that_loosens_a_choice_is_reported_as_drift(
    connector_host: MakeHost, openpref_vendor: VendorSetup
) -> None:
    class Loosens(LocalOpenPref):
        def read(self) -> RemoteState:
            state = super().read()
            return RemoteState(state.preferences.with_channel(Channel.EMAIL, True), state.version)

    host = connector_host(
        Loosens,
        config=openpref_vendor.config,
        secrets=openpref_vendor.secrets,
        preferences=PreferenceSet(channels={Channel.EMAIL: False}),
    )
    host.sync()
    run = host.sync(verify=True)
    assert "drift" in run.kinds(), run.kinds()


def test_settings_the_app_would_refuse_are_refused(
    connector_host: MakeHost, openpref_vendor: VendorSetup
) -> None:
    config = {**openpref_vendor.config, "base_url": "http://vendor.example/v1"}
    with pytest.raises(ValueError, match="must use https"):
        connector_host(LocalOpenPref, config=config, secrets=openpref_vendor.secrets)
    with pytest.raises(ValueError, match="'token' is a secret"):
        connector_host(LocalOpenPref, config={**openpref_vendor.config, "token": "x"}, secrets={})


def test_a_class_discovery_would_list_as_invalid_is_refused() -> None:
    class Nameless(LocalOpenPref):
        info = ConnectorInfo(id="Not An Id", name="", version="1", api_version="1.0")

    with pytest.raises(ConnectorRefused, match="invalid id"):
        register(Nameless)
