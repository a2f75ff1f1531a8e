"""The plugin guide's exercise is doable: a Kettle & Co connector written from the guide
(``exercise_solution.py``) passes the conformance kit against the running exercise vendor,
and syncs through the real engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cmr_desktop.connectors.api import Channel
from cmr_desktop.testing.conformance import ConnectorConformance, SuiteConfig, VendorSetup
from cmr_desktop.testing.exercise_vendor import ExerciseVendor
from cmr_desktop.testing.host import ConnectorHost, Result
from cmr_desktop.testing.plugin import MakeHost
from tests.conformance.exercise_solution import KettleConnector

#: What Kettle & Co does not offer (capabilities of the kit's SuiteConfig).
LACKS = ("frequencies", "grants", "grant_end_dates", "quiet_hours")


@pytest.fixture
def kettle() -> Iterator[ExerciseVendor]:
    with ExerciseVendor() as vendor:
        yield vendor


class TestTheExerciseSolution(ConnectorConformance):
    connector_class = KettleConnector
    suite = SuiteConfig(skip=dict.fromkeys(LACKS, "Kettle & Co does not offer it"))

    @pytest.fixture
    def vendor(self, kettle: ExerciseVendor) -> VendorSetup:
        return VendorSetup(
            config={"api_url": kettle.url, "customer": kettle.customer},
            secrets={"token": kettle.token},
            url_field="api_url",
            writes_applied=lambda: kettle.writes_applied,
        )


def test_the_solution_syncs_a_decision_through_the_engine(
    connector_host: MakeHost, kettle: ExerciseVendor
) -> None:
    host: ConnectorHost = connector_host(
        KettleConnector,
        config={"api_url": kettle.url, "customer": kettle.customer},
        secrets={"token": kettle.token},
    )
    assert host.sync().outcome.result is Result.UNCHANGED
    host.decide(lambda prefs: prefs.with_channel(Channel.SMS, True).with_topic("deals", True))
    run = host.sync()
    assert run.outcome.result is Result.SYNCED, run.outcome.detail
    assert kettle.preferences["contact"]["sms"] is True
    assert kettle.preferences["newsletters"]["deals"] is True
    assert kettle.preferences["contact"]["post"] is True, "an undecided channel was changed"
