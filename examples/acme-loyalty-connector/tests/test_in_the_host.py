"""The Acme connector inside CMR Desktop: the real sync engine on a real (temporary) home,
against the fake, with the connector registered for the test only (no install needed)."""

from __future__ import annotations

import dataclasses

import pytest
from cmr_desktop.connectors.api import Channel, DataCategory, Decision, Grant, Purpose
from cmr_desktop.testing.host import ConnectorHost, ConnectorRefused, Result, register
from cmr_desktop.testing.plugin import MakeHost
from fake_acme import AcmeFake

from acme_loyalty import AcmeLoyaltyConnector


@pytest.fixture
def host(connector_host: MakeHost, acme_fake: AcmeFake) -> ConnectorHost:
    return connector_host(
        AcmeLoyaltyConnector,
        config={"api_url": acme_fake.url, "member_id": "M-1"},
        secrets={"api_key": acme_fake.key},
    )


def test_a_first_sync_stores_acmes_state_and_writes_no_decision(
    host: ConnectorHost, acme_fake: AcmeFake
) -> None:
    run = host.sync()
    assert run.outcome.result is Result.UNCHANGED, run.outcome.detail
    assert run.vendor_state is not None
    assert run.vendor_state.channels[Channel.EMAIL] is True
    assert run.decisions["test-brand"].fields() == {}, "a vendor value became a decision"
    assert acme_fake.writes_applied == 0
    assert run.pending == frozenset()


def test_a_decision_is_pushed_confirmed_and_journaled(
    host: ConnectorHost, acme_fake: AcmeFake
) -> None:
    host.sync()
    partners = (DataCategory.CONTACT, Purpose.THIRD_PARTY_SHARING)
    host.decide(
        lambda prefs: prefs.with_channel(Channel.POSTAL, False).with_grant(
            *partners, Grant(Decision.DENY)
        )
    )
    run = host.sync()
    assert run.outcome.result is Result.SYNCED, run.outcome.detail
    assert acme_fake.settings()["mailings"]["paper_mail"]["on"] is False
    assert acme_fake.settings()["data_sharing"]["partners"] is False
    assert run.vendor_state is not None
    assert run.vendor_state.channels[Channel.POSTAL] is False
    assert "push" in run.kinds()
    assert run.pending == frozenset()
    # Acme's other settings are untouched: the push carried only what was decided.
    assert acme_fake.settings()["mailings"]["newsletter_email"]["on"] is True


def test_a_revoked_key_fails_the_brand_and_keeps_it_pending(
    host: ConnectorHost, acme_fake: AcmeFake
) -> None:
    host.decide(lambda prefs: prefs.with_channel(Channel.SMS, False))
    acme_fake.double.unauthorized(times=5)
    run = host.sync()
    assert run.outcome.result is Result.FAILED
    assert "API key" in run.outcome.detail
    assert run.pending == {"test-brand"}
    assert acme_fake.key not in run.outcome.detail


def test_a_connector_the_app_would_refuse_is_refused_by_the_host() -> None:
    class FromTheFuture(AcmeLoyaltyConnector):
        info = dataclasses.replace(AcmeLoyaltyConnector.info, api_version="9.0.0")

    with pytest.raises(ConnectorRefused, match=r"incompatible: built for plugin API 9\.0\.0"):
        register(FromTheFuture)
