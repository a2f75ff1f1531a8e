"""The connector conformance suite: the standard tests every connector must pass.

A plugin author's whole test file can be::

    import pytest
    from cmr_desktop.testing.conformance import ConnectorConformance, VendorSetup
    from acme_loyalty import AcmeLoyaltyConnector

    class TestAcmeLoyalty(ConnectorConformance):
        connector_class = AcmeLoyaltyConnector

        @pytest.fixture
        def vendor(self, acme_fake) -> VendorSetup:   # your running fake of the vendor
            return VendorSetup(
                config={"api_url": acme_fake.url, "member_id": "M-1"},
                secrets={"api_key": acme_fake.key},
                url_field="api_url",
                writes_applied=lambda: acme_fake.writes_applied,
            )

What it checks: metadata and config schema; the catalog; the shape of a read; a write round
trip; that replaying a write with the same idempotency key is applied once; that a write
based on a stale version is a :class:`VersionConflict`; that every HTTP failure (401, 403,
404, 409, 412, 422, 429 with Retry-After, 500, 503, a garbage body, a timeout) becomes the
right typed error; and that no secret appears in logs or error messages.

HTTP failures are injected by a :class:`~cmr_desktop.testing.faults.FaultProxy` placed
between the connector and your vendor (that is what ``url_field`` is for), so your fake does
not need to know how to fail.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar

import pytest

from cmr_desktop.connectors.api import (
    API_VERSION,
    AuthenticationError,
    Catalog,
    Connector,
    ConnectorContext,
    ConnectorError,
    ConnectorTimeout,
    InvalidResponse,
    NotFound,
    PreferenceSet,
    RateLimited,
    RejectedError,
    RemoteState,
    TransientError,
    VersionConflict,
    api_major,
)
from cmr_desktop.connectors.http import REDACTOR, make_session
from cmr_desktop.domain.clock import SystemClock
from cmr_desktop.testing.faults import FaultProxy


@dataclass(frozen=True)
class VendorSetup:
    """How to reach one subscriber at a running vendor (real, simulated or fake).

    Attributes:
        config: the connector's non-secret settings for that subscriber.
        secrets: its secret settings.
        url_field: the config field holding the vendor's base URL (faults are injected by
            pointing it at a local proxy).
        writes_applied: how many writes the vendor has applied so far (to prove a replayed
            write is applied once).
    """

    config: Mapping[str, str]
    secrets: Mapping[str, str]
    url_field: str
    writes_applied: Callable[[], int]


class _Secrets:
    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def get(self, field: str) -> str | None:
        value = self._values.get(field)
        if value:
            REDACTOR.add_secret(value)
        return value


#: (fault, expected error, the call that meets it)
FAULT_CASES: list[tuple[int | str, type[ConnectorError], str]] = [
    (401, AuthenticationError, "read"),
    (403, AuthenticationError, "read"),
    (404, NotFound, "read"),
    (409, VersionConflict, "write"),
    (412, VersionConflict, "write"),
    (422, RejectedError, "write"),
    (429, RateLimited, "read"),
    (500, TransientError, "read"),
    (503, TransientError, "read"),
    ("garbage", InvalidResponse, "read"),
    ("timeout", ConnectorTimeout, "read"),
]


def toggled(prefs: PreferenceSet, catalog: Catalog) -> PreferenceSet:
    """A different state the vendor can take: the first offered channel switched."""
    for channel in sorted(catalog.channels):
        current = prefs.channels.get(channel)
        return catalog.restrict(prefs.with_channel(channel, not bool(current)))
    raise AssertionError("the catalog offers no channel to change")


class ConnectorConformance:
    """Subclass it (named ``Test...``), set :attr:`connector_class` and provide a ``vendor``
    fixture returning a :class:`VendorSetup`. Override :attr:`read_timeout` if your vendor is
    slow even when healthy."""

    connector_class: ClassVar[type[Connector]]
    read_timeout: ClassVar[float] = 2.0

    # --- fixtures -------------------------------------------------------------------------

    @pytest.fixture
    def vendor(self) -> VendorSetup:
        raise NotImplementedError("define a `vendor` fixture in your ConnectorConformance subclass")

    @pytest.fixture
    def proxy(self, vendor: VendorSetup) -> Iterator[FaultProxy]:
        with FaultProxy(vendor.config[vendor.url_field], hang_seconds=self.read_timeout * 3) as p:
            yield p

    def make(
        self,
        vendor: VendorSetup,
        *,
        proxy: FaultProxy | None = None,
        secrets: Mapping[str, str] | None = None,
        log: logging.Logger | None = None,
    ) -> Connector:
        """A connector wired like the host wires it (no retries, short timeouts)."""
        config = {**self.connector_class.config_defaults(), **vendor.config}
        if proxy is not None:
            config[vendor.url_field] = proxy.url
        context = ConnectorContext(
            config=config,
            secrets=_Secrets(vendor.secrets if secrets is None else secrets),
            session=make_session(timeout=(2.0, self.read_timeout), retries=0),
            clock=SystemClock(),
            log=log or logging.getLogger(f"cmr_desktop.connector.{self.connector_class.__name__}"),
        )
        return self.connector_class(context)

    @pytest.fixture
    def connector(self, vendor: VendorSetup) -> Connector:
        return self.make(vendor)

    # --- metadata and configuration -------------------------------------------------------

    def test_metadata_is_valid(self) -> None:
        cls = self.connector_class
        assert cls.problems() == []
        assert api_major(cls.info.api_version) == api_major(API_VERSION), (
            f"built for plugin API {cls.info.api_version}, the host provides {API_VERSION}"
        )

    def test_config_schema_matches_the_vendor_setup(self, vendor: VendorSetup) -> None:
        fields = {f.name: f for f in self.connector_class.config_fields}
        assert vendor.url_field in fields, f"url_field {vendor.url_field!r} is not a setting"
        assert not fields[vendor.url_field].secret
        for name in vendor.config:
            assert name in fields, f"{name!r} is not a declared setting"
            assert not fields[name].secret, f"secret {name!r} must not be in config"
        for name in vendor.secrets:
            assert name in fields, f"{name!r} is not a declared setting"
            assert fields[name].secret, f"{name!r} is given as a secret but not declared one"
        for f in fields.values():
            if f.required and f.default is None:
                assert f.name in vendor.config or f.name in vendor.secrets, f.name

    # --- reading and writing --------------------------------------------------------------

    def test_catalog_is_valid(self, connector: Connector) -> None:
        catalog = connector.catalog()
        assert isinstance(catalog, Catalog)
        assert catalog.problems() == []
        assert catalog.channels, "a vendor with no channel has nothing to manage"

    def test_read_returns_a_versioned_state_within_the_catalog(self, connector: Connector) -> None:
        state = connector.read()
        assert isinstance(state, RemoteState)
        assert isinstance(state.preferences, PreferenceSet)
        assert isinstance(state.version, str)
        assert state.version
        assert connector.catalog().violations(state.preferences) == []

    def test_write_round_trip(self, connector: Connector) -> None:
        before = connector.read()
        desired = toggled(before.preferences, connector.catalog())
        after = connector.write(
            desired, base_version=before.version, idempotency_key=uuid.uuid4().hex
        )
        assert after.preferences == desired
        assert after.version != before.version
        again = connector.read()
        assert again.preferences == desired
        assert again.version == after.version

    def test_a_replayed_write_is_applied_once(
        self, connector: Connector, vendor: VendorSetup
    ) -> None:
        before = connector.read()
        desired = toggled(before.preferences, connector.catalog())
        key = uuid.uuid4().hex
        applied = vendor.writes_applied()
        first = connector.write(desired, base_version=before.version, idempotency_key=key)
        second = connector.write(desired, base_version=before.version, idempotency_key=key)
        assert second == first
        assert vendor.writes_applied() - applied == 1

    def test_a_write_on_a_stale_version_is_a_conflict(self, connector: Connector) -> None:
        before = connector.read()
        catalog = connector.catalog()
        first = toggled(before.preferences, catalog)
        connector.write(first, base_version=before.version, idempotency_key=uuid.uuid4().hex)
        with pytest.raises(VersionConflict):
            connector.write(
                toggled(first, catalog),
                base_version=before.version,
                idempotency_key=uuid.uuid4().hex,
            )

    # --- failures -------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("fault", "error", "call"),
        FAULT_CASES,
        ids=[str(case[0]) for case in FAULT_CASES],
    )
    def test_http_failures_become_typed_errors(
        self,
        vendor: VendorSetup,
        proxy: FaultProxy,
        fault: int | str,
        error: type[ConnectorError],
        call: str,
    ) -> None:
        connector = self.make(vendor, proxy=proxy)
        state = connector.read()  # through the proxy, healthy
        desired = toggled(state.preferences, connector.catalog())
        proxy.fail(fault)

        def meet_the_fault() -> None:
            if call == "read":
                connector.read()
            else:
                key = uuid.uuid4().hex
                connector.write(desired, base_version=state.version, idempotency_key=key)

        with pytest.raises(ConnectorError) as caught:
            meet_the_fault()
        assert isinstance(caught.value, error), (
            f"HTTP fault {fault} should raise {error.__name__}, "
            f"got {type(caught.value).__name__}: {caught.value}"
        )
        if fault == 429:
            assert isinstance(caught.value, RateLimited)
            assert caught.value.retry_after == 7
        assert str(caught.value), "errors must say what went wrong"

    def test_no_secret_in_logs_or_errors(
        self, vendor: VendorSetup, proxy: FaultProxy, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        errors: list[BaseException] = []
        connector = self.make(vendor, proxy=proxy)
        for fault in (401, 422, "garbage", 500):
            proxy.fail(fault)
            try:
                connector.read()
            except ConnectorError as exc:
                errors.append(exc)
        wrong = {name: "wrong-" + value for name, value in vendor.secrets.items()}
        try:
            self.make(vendor, secrets=wrong).read()
        except ConnectorError as exc:
            errors.append(exc)
        shown = caplog.text + "".join(
            f"{e}{e!r}{e.args}{e.__cause__!r}{e.__context__!r}" for e in errors
        )
        for value in (*vendor.secrets.values(), *wrong.values()):
            assert value not in shown, "a secret value appears in a log line or an error"

    def test_failures_are_connector_errors_not_library_errors(
        self, vendor: VendorSetup, proxy: FaultProxy
    ) -> None:
        connector = self.make(vendor, proxy=proxy)
        for fault in ("garbage", "timeout", 500):
            proxy.fail(fault)
            try:
                connector.read()
            except ConnectorError:
                continue
            except Exception as exc:  # pragma: no cover - what the test is looking for
                pytest.fail(f"fault {fault}: {type(exc).__name__} escaped the connector")


__all__ = ["FAULT_CASES", "ConnectorConformance", "VendorSetup", "toggled"]
