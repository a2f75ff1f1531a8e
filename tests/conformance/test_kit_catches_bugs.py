"""The conformance suite fails connectors that get things wrong (so passing it means something)."""

from __future__ import annotations

import pytest

BUGGY = '''
import pytest
import requests

from cmr_desktop.connectors.api import TransientError
from cmr_desktop.connectors.openpref import OpenPrefConnector
from cmr_desktop.testing.conformance import ConnectorConformance


class EverythingIsTransient(OpenPrefConnector):
    """Maps every HTTP failure to TransientError and leaks the token when refused."""

    @staticmethod
    def _raise_for(response):
        if response.status_code >= 300:
            raise TransientError(f"failed with {response.status_code}")

    def read(self):
        try:
            return super().read()
        except TransientError as exc:
            token = self.context.secrets.get("token")
            raise TransientError(f"{exc} (sent token {token})") from None


class TestBuggy(ConnectorConformance):
    connector_class = EverythingIsTransient

    @pytest.fixture
    def vendor(self, openpref_vendor):
        return openpref_vendor
'''


def test_the_suite_fails_a_connector_that_maps_errors_wrongly_and_leaks_secrets(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_buggy=BUGGY)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 8, result.stdout.str()[-3000:]
    text = result.stdout.str()
    assert "should raise AuthenticationError, got TransientError" in text
    assert "a secret value appears in a log line or an error" in text
    # What it does right still passes: metadata, catalog, reads, writes, replay.
    assert outcomes.get("passed", 0) >= 6
