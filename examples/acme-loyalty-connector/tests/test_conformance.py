"""The Acme Loyalty connector passes CMR Desktop's connector conformance kit.

The kit does the work: one subclass, the gaps Acme has declared in its ``suite``, and a
``vendor`` fixture saying how to reach member M-1 of the fake. The last tests cover what only
this connector knows: Acme's words.
"""

from __future__ import annotations

import importlib.metadata
import uuid

import pytest
from cmr_desktop.connectors.api import Channel, Connector, Frequency, RejectedError
from cmr_desktop.testing.conformance import ConnectorConformance, SuiteConfig, VendorSetup
from fake_acme import AcmeFake

from acme_loyalty import AcmeLoyaltyConnector
from acme_loyalty.connector import CATALOG


class TestAcmeLoyalty(ConnectorConformance):
    connector_class = AcmeLoyaltyConnector
    suite = SuiteConfig(
        catalog=CATALOG,
        skip={
            "quiet_hours": "Acme has no quiet hours",
            "grant_end_dates": (
                "Acme keeps no end date for a data-sharing permission (CMR Desktop pushes the "
                "deny when the date passes)"
            ),
        },
    )

    @pytest.fixture
    def vendor(self, acme_fake: AcmeFake) -> VendorSetup:
        return VendorSetup(
            config={"api_url": acme_fake.url, "member_id": "M-1"},
            secrets={"api_key": acme_fake.key},
            url_field="api_url",
            writes_applied=lambda: acme_fake.writes_applied,
        )

    # --- Acme's own vocabulary (the kit speaks only CMR Desktop's) --------------------------

    def test_cadence_words_and_interests_map_both_ways(
        self, connector: Connector, acme_fake: AcmeFake
    ) -> None:
        before = connector.read()
        assert before.version == "12"
        assert dict(before.preferences.frequencies) == {
            Channel.EMAIL: Frequency.WEEKLY,
            Channel.POSTAL: Frequency.MONTHLY,
        }
        assert dict(before.preferences.topics) == {
            "offers": True,
            "events": False,
            "account-notices": True,
        }
        desired = (
            before.preferences.with_frequency(Channel.EMAIL, Frequency.DAILY)
            .with_frequency(Channel.SMS, Frequency.MONTHLY)
            .with_topic("events", True)
        )
        after = connector.write(desired, base_version="12", idempotency_key=uuid.uuid4().hex)
        assert after.preferences == desired
        assert after.version == "13"
        stored = acme_fake.settings()
        assert stored["mailings"]["newsletter_email"]["cadence"] == "every-day"
        assert stored["mailings"]["text_messages"] == {"on": False, "cadence": "once-a-month"}
        assert stored["interests"] == ["deals", "store-events"]

    def test_a_refused_value_names_our_field(self, connector: Connector) -> None:
        before = connector.read()
        daily_post = before.preferences.with_frequency(Channel.POSTAL, Frequency.DAILY)
        with pytest.raises(RejectedError) as caught:
            connector.write(daily_post, base_version=before.version, idempotency_key="k-1")
        assert caught.value.field == "channels.postal.frequency"
        assert "at most once a week" in str(caught.value)

    def test_the_api_key_travels_only_in_its_header(
        self, connector: Connector, acme_fake: AcmeFake
    ) -> None:
        state = connector.read()
        connector.write(state.preferences, base_version=state.version, idempotency_key="k-2")
        assert [r.method for r in acme_fake.double.requests] == ["GET", "POST"]
        assert all(r.headers["X-Api-Key"] == acme_fake.key for r in acme_fake.double.requests)
        acme_fake.double.assert_secret_only_in(acme_fake.key, ["X-Api-Key"])

    def test_the_declared_version_is_the_package_version(self) -> None:
        assert AcmeLoyaltyConnector.info.version == importlib.metadata.version("cmr-acme-loyalty")
