"""Removing a brand and putting it back (the window's undo), and editing its connector
settings: Services against a real SQLite home, the test keyring and the vendor simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cmr_desktop.domain import Channel, FixedClock
from cmr_desktop.services import BrandNotFound, InputError, Services, SettingRefused
from cmr_desktop.storage import BrandSnapshot
from cmr_desktop.testing.keyring import InMemoryKeyring
from cmr_desktop.testing.simulator import VendorSimulator, default_vendors
from tests.conftest import open_services
from tests.reads import list_brands


@pytest.fixture
def sim() -> Iterator[VendorSimulator]:
    with VendorSimulator(default_vendors(2), seed=5) as s:
        yield s


@pytest.fixture
def svc(tmp_path: Path, clock: FixedClock) -> Iterator[Services]:
    s = open_services(tmp_path / "home", clock)
    yield s
    s.store.close()


def connect(svc: Services, sim: VendorSimulator, name: str, subject: str) -> str:
    vendor = sim.vendor_ids[0]
    sim.add_subject(vendor, subject)
    brand = svc.brands.add_brand(
        name,
        category="finance",
        tags=("bank", "main"),
        connector="openpref",
        connector_config={"base_url": sim.base_url(vendor), "subject": subject},
        secrets={"token": sim.token(vendor)},
    )
    svc.preferences.update_preferences(brand.slug, lambda p: p.with_channel(Channel.EMAIL, False))
    return brand.slug


def stored(svc: Services, slug: str) -> BrandSnapshot:
    with svc.store.read() as uow:
        return uow.brands.snapshot(slug)


def test_removal_deletes_decisions_and_secret_and_journals_it_keeping_the_old_entries(
    svc: Services, sim: VendorSimulator, memory_keyring: InMemoryKeyring
) -> None:
    slug = connect(svc, sim, "Contoso Bank", "s-1")
    assert svc.sync.run(jobs=1).ok
    before = [e.kind for e in svc.journal.entries(slug)]
    assert svc.secrets.get(slug, "token") is not None

    removed = svc.brands.remove_brands([slug])

    assert [r.name for r in removed] == ["Contoso Bank"]
    assert [b.brand.slug for b in list_brands(svc)] == []
    assert svc.secrets.get(slug, "token") is None
    kinds = [e.kind for e in svc.journal.entries(slug)]
    assert kinds == [*before, "removed"]  # the journal keeps every entry of the brand
    assert svc.journal.entries(slug)[-1].detail == {"name": "Contoso Bank"}
    assert svc.journal.verify() is None
    with pytest.raises(BrandNotFound):
        svc.brands.get_brand(slug)


def test_restore_puts_back_decisions_details_connector_settings_sync_state_and_secret(
    svc: Services, sim: VendorSimulator
) -> None:
    slug = connect(svc, sim, "Contoso Bank", "s-1")
    assert svc.sync.run(jobs=1).ok
    svc.preferences.update_preferences(
        slug, lambda p: p.with_channel(Channel.SMS, False)
    )  # pending again
    token = svc.secrets.get(slug, "token")
    snapshot = stored(svc, slug)
    record = svc.brands.brand_record(slug)

    removed = svc.brands.remove_brands([slug])
    assert svc.brands.restore_brands(removed) == []

    assert stored(svc, slug) == snapshot
    assert svc.brands.brand_record(slug) == record  # pending, vendor state, timestamps, tags
    assert svc.secrets.get(slug, "token") == token
    assert [e.kind for e in svc.journal.entries(slug)][-2:] == ["removed", "restored"]
    assert svc.journal.verify() is None
    # The restored brand syncs as before: its secret works and its pending edit goes out.
    report = svc.sync.run(jobs=1)
    assert report.ok
    assert not svc.brands.get_brand(slug).pending


def test_several_brands_are_removed_in_one_go_and_restored_in_one_go(
    svc: Services, sim: VendorSimulator
) -> None:
    slugs = [connect(svc, sim, f"Shop {i}", f"s-{i}") for i in range(3)]
    svc.brands.add_brand("Corner Shop")
    removed = svc.brands.remove_brands([*slugs, slugs[0]])  # a repeated brand counts once
    assert len(removed) == 3
    assert [b.brand.name for b in list_brands(svc)] == ["Corner Shop"]
    svc.brands.restore_brands(removed)
    assert sorted(b.brand.slug for b in list_brands(svc)) == sorted([*slugs, "corner-shop"])


def test_an_unknown_brand_removes_nothing(svc: Services) -> None:
    svc.brands.add_brand("Corner Shop")
    with pytest.raises(BrandNotFound):
        svc.brands.remove_brands(["corner-shop", "nope"])
    assert [b.brand.slug for b in list_brands(svc)] == ["corner-shop"]


def test_restore_refuses_when_the_id_was_taken_meanwhile(svc: Services) -> None:
    svc.brands.add_brand("Corner Shop", category="food")
    removed = svc.brands.remove_brands(["corner-shop"])
    svc.brands.add_brand("Corner Shop", category="other")
    with pytest.raises(InputError, match="Corner Shop cannot be put back"):
        svc.brands.restore_brands(removed)
    assert svc.brands.get_brand("corner-shop").brand.category == "other"


def test_the_removed_secret_is_never_in_the_repr(svc: Services, sim: VendorSimulator) -> None:
    slug = connect(svc, sim, "Contoso Bank", "s-1")
    token = svc.secrets.get(slug, "token")
    assert token
    removed = svc.brands.remove_brands([slug])
    assert token not in repr(removed)
    assert removed[0].secrets == {"token": token}


def test_the_cli_still_removes_a_brand(svc: Services, sim: VendorSimulator) -> None:
    slug = connect(svc, sim, "Contoso Bank", "s-1")
    assert svc.brands.remove_brand(slug).name == "Contoso Bank"
    assert svc.secrets.get(slug, "token") is None


def test_connector_settings_are_shown_without_secret_values(
    svc: Services, sim: VendorSimulator
) -> None:
    slug = connect(svc, sim, "Contoso Bank", "s-1")
    connector, config, held = svc.connections.connector_settings(slug)
    assert connector == "openpref"
    assert config == {"base_url": sim.base_url(sim.vendor_ids[0]), "subject": "s-1"}
    assert held == {"token": True}


def test_connector_settings_are_saved_and_a_new_secret_kept(
    svc: Services, sim: VendorSimulator
) -> None:
    slug = connect(svc, sim, "Contoso Bank", "s-1")
    other = sim.vendor_ids[1]
    sim.add_subject(other, "s-9")
    svc.connections.set_connector_settings(
        slug, {"base_url": sim.base_url(other), "subject": "s-9"}, {"token": sim.token(other)}
    )
    assert svc.brands.get_brand(slug).brand.connector_config == {
        "base_url": sim.base_url(other),
        "subject": "s-9",
    }
    assert svc.secrets.get(slug, "token") == sim.token(other)
    svc.connections.check_connection(slug)  # the new settings and secret reach the vendor


def test_a_secret_left_empty_stays_as_it_was(svc: Services, sim: VendorSimulator) -> None:
    slug = connect(svc, sim, "Contoso Bank", "s-1")
    token = svc.secrets.get(slug, "token")
    svc.connections.set_connector_settings(
        slug, {"base_url": sim.base_url(sim.vendor_ids[0]), "subject": "s-2"}, {"token": ""}
    )
    assert svc.secrets.get(slug, "token") == token
    assert svc.brands.get_brand(slug).brand.connector_config["subject"] == "s-2"


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        ({"base_url": "ftp://example.org/v1", "subject": "s-1"}, "base_url", "API address: 'ftp:"),
        ({"base_url": "https://example.org/v1"}, "subject", "Your subscriber id: is needed"),
        ({"base_url": "https://example.org/v1", "subject": "s", "x": "1"}, "x", "no such"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_field_and_nothing_changes(
    svc: Services, sim: VendorSimulator, config: dict[str, str], field: str, words: str
) -> None:
    slug = connect(svc, sim, "Contoso Bank", "s-1")
    before = svc.brands.get_brand(slug).brand.connector_config
    with pytest.raises(SettingRefused) as refused:
        svc.connections.set_connector_settings(slug, config)
    assert refused.value.field == field
    assert words in str(refused.value)
    assert svc.brands.get_brand(slug).brand.connector_config == before


def test_a_secret_given_as_a_setting_is_refused(svc: Services, sim: VendorSimulator) -> None:
    slug = connect(svc, sim, "Contoso Bank", "s-1")
    with pytest.raises(SettingRefused, match="Access token: is a secret"):
        svc.connections.set_connector_settings(
            slug, {"base_url": "https://example.org/v1", "subject": "s", "token": "t"}
        )
