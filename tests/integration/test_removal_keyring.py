"""What removing a brand does when the system keyring misbehaves, and connector settings
that would put a secret in the database: the customer is told what really happened.

A keyring that fails cannot run here: these tests make the test keyring's calls raise."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cmr_desktop.domain import Channel, FixedClock
from cmr_desktop.domain.policy import MyTerms, NoChannel
from cmr_desktop.services import Services, SettingRefused
from cmr_desktop.testing.keyring import InMemoryKeyring
from cmr_desktop.testing.simulator import VendorSimulator, default_vendors
from tests.conftest import open_services
from tests.integration.test_brand_removal import connect


@pytest.fixture
def sim() -> Iterator[VendorSimulator]:
    with VendorSimulator(default_vendors(3), seed=5) as s:
        yield s


@pytest.fixture
def svc(tmp_path: Path, clock: FixedClock) -> Iterator[Services]:
    s = open_services(tmp_path / "home", clock)
    yield s
    s.store.close()


def _failing(*_: Any) -> Any:
    raise RuntimeError("the keyring is locked")


def test_a_secret_the_keyring_would_not_delete_is_reported_as_still_there(
    svc: Services, sim: VendorSimulator, memory_keyring: InMemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    slug = connect(svc, sim, "Contoso Bank", "s-1")
    monkeypatch.setattr(svc.secrets, "delete", _failing)
    [removed] = svc.brands.remove_brands([slug])
    assert removed.kept == ("token",)
    assert svc.secrets.get(slug, "token") is not None  # indeed still there


def test_a_secret_the_keyring_could_not_read_is_left_and_the_undo_asks_to_sign_in_again(
    svc: Services, sim: VendorSimulator, memory_keyring: InMemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    slug = connect(svc, sim, "Contoso Bank", "s-1")
    token = svc.secrets.get(slug, "token")
    with monkeypatch.context() as m:
        m.setattr(svc.secrets, "get", _failing)
        [removed] = svc.brands.remove_brands([slug])
    assert removed.unread == ("token",)
    assert removed.secrets == {}
    assert svc.secrets.get(slug, "token") == token  # not deleted: it could not be put back
    assert svc.brands.restore_brands([removed]) == ["Contoso Bank"]  # sign in again for it


def test_connector_settings_refuse_a_secret_among_the_settings(
    svc: Services, sim: VendorSimulator, memory_keyring: InMemoryKeyring
) -> None:
    slug = connect(svc, sim, "Contoso Bank", "s-1")
    _, config, _ = svc.connections.connector_settings(slug)
    with pytest.raises(SettingRefused) as refused:
        svc.connections.set_connector_settings(
            slug, {**config, "token": "TOPSECRET"}, {"token": "TOPSECRET"}
        )
    assert refused.value.field == "token"
    (record,) = svc.brands.brand_records()
    assert "token" not in record.connector_config
    assert "TOPSECRET" not in str(record.connector_config)


def test_a_refused_connector_settings_change_leaves_the_keyring_as_it_was(
    svc: Services, sim: VendorSimulator, memory_keyring: InMemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    slug = connect(svc, sim, "Contoso Bank", "s-1")
    token = svc.secrets.get(slug, "token")
    _, config, _ = svc.connections.connector_settings(slug)

    write = type(svc.store).write

    @contextlib.contextmanager
    def refused_at_commit(store: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        with write(store, *args, **kwargs) as uow:
            yield uow
            raise RuntimeError("database is locked")  # after the secret was set

    with monkeypatch.context() as m:
        m.setattr(type(svc.store), "write", refused_at_commit)
        with pytest.raises(RuntimeError):
            svc.connections.set_connector_settings(slug, config, {"token": "a-new-token"})
    assert svc.secrets.get(slug, "token") == token


def test_applying_my_terms_to_all_changes_only_the_brands_that_break_them(
    svc: Services, sim: VendorSimulator, memory_keyring: InMemoryKeyring
) -> None:
    """`cmr policy apply` (no brands named) and the window's "Apply to all" agree with
    `cmr policy check`: a brand whose vendor offers no SMS keeps "no SMS" already."""
    slug = connect(svc, sim, "No Texts Ltd", "s-1")  # vendor-001 offers no SMS
    assert "sms" not in default_vendors(3)[0].channels
    svc.preferences.set_policy(MyTerms.of([NoChannel(Channel.SMS)]))
    assert svc.sync.run(jobs=1).ok
    assert svc.preferences.check_policy() == {}
    assert [c.slug for c in svc.preferences.preview_policy()] == []
    assert svc.preferences.apply_policy() == []
    assert svc.preferences.apply_policy([slug]) == [slug]  # named: applied as the customer asks
