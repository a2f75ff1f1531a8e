"""The journal a real sync writes names fields by the declared journal names
(``domain.fields``): they read back as the same fields, the services find the drift by them,
and the window words them as before."""

from __future__ import annotations

from cmr_desktop.domain import Channel, Frequency
from cmr_desktop.domain.fields import Field, format_value
from cmr_desktop.services import Services
from cmr_desktop.testing.simulator import VendorSimulator
from tests.integration.test_sync import connect, sim, svc, vendor_of

__all__ = ["sim", "svc"]  # the sync tests' fixtures: a simulator and a home


def test_a_drift_is_journaled_by_the_declared_names_and_read_back_by_them(
    svc: Services, sim: VendorSimulator
) -> None:
    from cmr_desktop.ui.journal import summarize

    (slug,) = connect(svc, sim, 1)  # email refused, sent to the vendor
    assert svc.sync_engine(jobs=1).run().ok
    sim.tamper(vendor_of(0), "sub-0", {"channels": {"email": {"enabled": True}}})  # loosened
    svc.sync_engine(jobs=1).run(verify=True)

    drift = next(e for e in reversed(svc.journal.entries(slug)) if e.kind == "drift")
    field = Field(("channel", Channel.EMAIL))
    assert drift.detail["fields"] == [
        {"field": field.journal_name, "vendor": format_value(True), "yours": format_value(False)}
    ]
    assert Field.from_journal_name(drift.detail["fields"][0]["field"]) == field
    assert [(item.key, item.field) for item in svc.preferences.drift(slug)] == [
        (field.key, field.journal_name)
    ]
    assert summarize(drift) == "Email: vendor had allowed, you chose refused"


def test_journal_rows_written_before_the_declared_mapping_still_read_back() -> None:
    # Field names exactly as the engine has always written them (journals of schema 0006).
    stored = ["channel.email", "frequency.sms", "topic.product.updates", "grant.contact.marketing"]
    fields = [Field.from_journal_name(name) for name in [*stored, "quiet_hours"]]
    assert [f.journal_name for f in fields] == [*stored, "quiet_hours"]
    assert fields[1].parse("weekly") == Frequency.WEEKLY
