"""The journal a real sync writes names fields by the declared journal names
(``domain.fields``): they read back as the same fields, the services find the drift by them,
and the window words them as before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cmr_desktop.domain import Channel, FixedClock, Frequency
from cmr_desktop.domain.fields import Field, format_value
from cmr_desktop.services import Services
from cmr_desktop.testing.simulator import VendorSimulator, default_vendors
from tests.conftest import open_services


@pytest.fixture
def sim() -> Iterator[VendorSimulator]:
    with VendorSimulator(default_vendors(1), seed=3) as s:
        yield s


@pytest.fixture
def svc(tmp_path: Path, clock: FixedClock) -> Iterator[Services]:
    s = open_services(tmp_path / "home", clock)
    yield s
    s.store.close()


def test_a_drift_is_journaled_by_the_declared_names_and_read_back_by_them(
    svc: Services, sim: VendorSimulator
) -> None:
    from cmr_desktop.ui.journal import summarize

    vendor = "vendor-001"
    sim.add_subject(vendor, "sub-0")
    svc.add_brand(
        "Shop",
        connector="openpref",
        connector_config={"base_url": sim.base_url(vendor), "subject": "sub-0"},
        secrets={"token": sim.token(vendor)},
    )
    offered = svc.catalog("shop")
    assert offered is not None
    channel = next(c for c in Channel if c in offered.channels)
    svc.update_preferences("shop", lambda p: p.with_channel(channel, False))
    assert svc.sync_engine(jobs=1).run().ok
    sim.tamper(vendor, "sub-0", {"channels": {channel.value: {"enabled": True}}})  # loosened
    svc.sync_engine(jobs=1).run(verify=True)

    drift = next(e for e in reversed(svc.journal("shop")) if e.kind == "drift")
    field = Field(("channel", channel))
    assert drift.detail["fields"] == [
        {"field": field.journal_name, "vendor": format_value(True), "yours": format_value(False)}
    ]
    assert Field.from_journal_name(drift.detail["fields"][0]["field"]) == field
    assert [(item.key, item.field) for item in svc.drift("shop")] == [
        (field.key, field.journal_name)
    ]
    assert summarize(drift) == f"{channel.label}: vendor had allowed, you chose refused"


def test_journal_rows_written_before_the_declared_mapping_still_read_back() -> None:
    # Field names exactly as the engine has always written them (journals of schema 0006).
    stored = ["channel.email", "frequency.sms", "topic.product.updates", "grant.contact.marketing"]
    fields = [Field.from_journal_name(name) for name in [*stored, "quiet_hours"]]
    assert [f.journal_name for f in fields] == [*stored, "quiet_hours"]
    assert fields[1].parse("weekly") == Frequency.WEEKLY
