"""Connectors whose hooks do not match the plugin API are listed as broken at discovery."""

from __future__ import annotations

import functools
import importlib.metadata as md
import textwrap
from pathlib import Path
from typing import Any

import pytest

from cmr_desktop.connectors.api import API_VERSION, Catalog, ConnectorInfo, RemoteState
from cmr_desktop.connectors.manual import ManualConnector
from cmr_desktop.connectors.registry import (
    GROUP,
    HOOKS,
    Registry,
    Status,
    UnknownConnector,
    hook_problems,
    load_entry,
)

# --- small connectors, one mistake each -----------------------------------------------------


class Fine(ManualConnector):
    """Overrides that take the host's call, and helpers that are not named like hooks."""

    info = ConnectorInfo(id="fine", name="Fine", version="1", api_version=API_VERSION)

    def read(self, *, verbose: bool = False) -> RemoteState:  # an extra, optional parameter
        return super().read()

    def write(self, *args: Any, **kwargs: Any) -> RemoteState:  # takes anything
        return super().write(*args, **kwargs)

    def check(self) -> str:
        return "fine"

    def member_url(self) -> str:  # a public helper, not named like a hook
        return ""

    def _raed(self) -> None:  # private: never a hook
        pass


class WrongWrite(ManualConnector):
    info = ConnectorInfo(id="wrong-write", name="Wrong write", version="1", api_version=API_VERSION)

    def write(self, desired, v, k):  # type: ignore[no-untyped-def,override]
        return super().write(desired, base_version=v, idempotency_key=k)


class ExtraRead(ManualConnector):
    info = ConnectorInfo(id="extra-read", name="Extra read", version="1", api_version=API_VERSION)

    def read(self, extra):  # type: ignore[no-untyped-def,override]
        return super().read()


class Typo(ManualConnector):
    info = ConnectorInfo(id="typo", name="Typo", version="1", api_version=API_VERSION)

    def raed(self) -> RemoteState:
        return self.read()


class InstanceConfigProblems(ManualConnector):
    info = ConnectorInfo(id="inst", name="Inst", version="1", api_version=API_VERSION)

    def config_problems(self, config):  # type: ignore[no-untyped-def,override]
        return []


class AsyncCatalog(ManualConnector):
    info = ConnectorInfo(id="async", name="Async", version="1", api_version=API_VERSION)

    async def catalog(self) -> Catalog:  # type: ignore[override]
        return Catalog(channels=frozenset())


class TypoAttribute(ManualConnector):
    info = ConnectorInfo(id="typo-attr", name="Typo attr", version="1", api_version=API_VERSION)
    config_field = ()  # meant: config_fields


def test_the_hooks_are_the_connector_base_classes_public_methods() -> None:
    assert sorted(HOOKS) == [
        "catalog",
        "check",
        "config_defaults",
        "config_problems",
        "problems",
        "read",
        "write",
    ]


def test_overrides_that_take_the_hosts_call_and_helpers_named_otherwise_are_fine() -> None:
    assert hook_problems(Fine) == []


@pytest.mark.parametrize(
    ("cls", "reason"),
    [
        (
            WrongWrite,
            "write(self, desired, v, k) does not match the API's "
            "write(self, desired, *, base_version, idempotency_key): "
            "missing a required argument: 'v'",
        ),
        (
            ExtraRead,
            "read(self, extra) does not match the API's read(self): "
            "missing a required argument: 'extra'",
        ),
        (
            Typo,
            "unknown hook 'raed' in Typo: did you mean 'read'? "
            "(rename it, or start a helper's name with '_')",
        ),
        (
            InstanceConfigProblems,
            "config_problems must be a @classmethod, as in the API "
            "(the host calls it on the class)",
        ),
        (AsyncCatalog, "catalog must not be async (the host calls it in a worker thread)"),
        (TypoAttribute, "unknown attribute 'config_field' in TypoAttribute: did you mean"),
    ],
)
def test_a_hook_that_does_not_match_the_api_is_named_with_what_is_wrong(
    cls: type[ManualConnector], reason: str
) -> None:
    problems = hook_problems(cls)
    assert len(problems) == 1
    assert problems[0].startswith(reason)


@pytest.mark.parametrize("typo", ["wirte", "Read", "catalogue", "checks", "config_problem"])
def test_likely_typos_of_hook_names_are_caught(typo: str) -> None:
    cls = type(typo.title(), (ManualConnector,), {typo: lambda self: None})
    assert hook_problems(cls)[0].startswith(f"unknown hook {typo!r}")


def _entry(cls: type) -> md.EntryPoint:
    return md.EntryPoint(cls.info.id, f"{__name__}:{cls.__name__}", GROUP)


def test_discovery_lists_them_as_broken_with_a_one_line_reason_and_keeps_the_rest() -> None:
    classes = [Fine, WrongWrite, ExtraRead, Typo, InstanceConfigProblems, AsyncCatalog]
    registry = Registry.discover([_entry(c) for c in classes])
    by_id = {e.id: e for e in registry.entries()}
    assert by_id["fine"].status is Status.OK
    for broken in classes[1:]:
        entry = by_id[broken.info.id]
        assert entry.status is Status.BROKEN, entry
        assert entry.reason == hook_problems(broken)[0]
        assert "\n" not in entry.reason
        assert entry.name == broken.info.name  # still says which connector it is
    assert registry.available() == ["fine"]
    with pytest.raises(UnknownConnector, match=r"'wrong-write' is broken: write\(self, desired"):
        registry.get("wrong-write")


class _InTest:
    """An entry point whose object is a class defined in a test (no module to import)."""

    value, dist = "in-test", None

    def __init__(self, cls: type) -> None:
        self.name = cls.info.id
        self.cls = cls

    def load(self) -> type:
        return self.cls


def test_several_mistakes_give_the_first_and_a_count() -> None:
    class Twice(WrongWrite):
        info = ConnectorInfo(id="twice", name="Twice", version="1", api_version=API_VERSION)

        def raed(self) -> None:
            pass

    reasons = hook_problems(Twice)
    assert len(reasons) == 2
    loaded = load_entry(_InTest(Twice))  # type: ignore[arg-type]
    assert loaded.status is Status.BROKEN
    assert loaded.reason == f"{reasons[0]} (and 1 more)"


def test_the_built_in_and_example_connectors_pass_verification() -> None:
    from acme_loyalty import AcmeLoyaltyConnector

    from cmr_desktop.connectors.openpref import OpenPrefConnector

    for cls in (ManualConnector, OpenPrefConnector, AcmeLoyaltyConnector):
        assert hook_problems(cls) == [], cls


# --- what `cmr connectors` shows ------------------------------------------------------------

PLUGIN = """
from cmr_desktop.connectors.api import API_VERSION, ConnectorInfo
from cmr_desktop.connectors.manual import ManualConnector

class WrongWrite(ManualConnector):
    info = ConnectorInfo(id="wrong-write", name="Wrong write", version="1",
                         api_version=API_VERSION)

    def write(self, desired, v, k):
        return super().write(desired, base_version=v, idempotency_key=k)
"""


def test_cmr_connectors_shows_the_reason(cmr: Any, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "wrong_write_plugin.py").write_text(textwrap.dedent(PLUGIN))
    dist = site / "wrong_write-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: wrong-write\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{GROUP}]\nwrong-write = wrong_write_plugin:WrongWrite\n"
    )
    env = {"PYTHONPATH": str(site)}
    listed = {e["id"]: e for e in cmr("connectors", "--json", env=env).json()}
    assert listed["wrong-write"]["status"] == "broken"
    assert listed["wrong-write"]["reason"].startswith(
        "write(self, desired, v, k) does not match the API's write(self, desired, *, "
    )
    text = cmr("connectors", env=env)
    assert text.code == 0, text
    assert "write(self, desired, v, k) does not match" in text.out
    refused = cmr("brand", "add", "X", "--connector", "wrong-write", env=env)
    assert refused.code == 2
    assert "connector 'wrong-write' is broken: write(self, desired, v, k)" in refused.err


class Helpers(ManualConnector):
    """Names a first hook check listed as broken: helpers and constants of a working
    connector, and a cached catalog."""

    info = ConnectorInfo(id="helpers", name="Helpers", version="1", api_version=API_VERSION)
    CHECK = "ok"  # a constant
    REMOTE = "https://vendor.example"

    def read(self) -> RemoteState:  # the real hook in the same class: head is a helper
        return super().read()

    def head(self) -> None:
        pass

    def check(self) -> str:
        return super().check()

    def checks(self) -> list[str]:
        return []

    def problem(self, body: object) -> str:  # VendorHttp(problem=...) invites this name
        return str(body)

    def writer(self, text: str, more: str) -> None:
        pass

    @functools.cache  # noqa: B019 (one catalog per connector object)
    def catalog(self) -> Catalog:
        return super().catalog()


def test_helpers_constants_and_a_cached_hook_of_a_working_connector_are_not_broken() -> None:
    assert hook_problems(Helpers) == []
    assert load_entry(_InTest(Helpers)).status is Status.OK  # type: ignore[arg-type]
