"""The connector conformance kit: the standard tests every connector must pass.

A plugin author's whole test file can be::

    import pytest
    from cmr_desktop.testing.conformance import ConnectorConformance, SuiteConfig, VendorSetup
    from acme_loyalty import CATALOG, AcmeLoyaltyConnector

    class TestAcmeLoyalty(ConnectorConformance):
        connector_class = AcmeLoyaltyConnector
        suite = SuiteConfig(
            catalog=CATALOG,  # optional: one test case per channel, topic ... it offers
            skip={"quiet_hours": "Acme has no quiet hours"},
        )

        @pytest.fixture
        def vendor(self, acme_fake) -> VendorSetup:   # your running fake of the vendor
            return VendorSetup(
                config={"api_url": acme_fake.url, "member_id": "M-1"},
                secrets={"api_key": acme_fake.key},
                url_field="api_url",
                writes_applied=lambda: acme_fake.writes_applied,
            )

Every test is named for the promise it checks (``test_a_partial_write_leaves_absent_fields_
alone`` ...); :data:`STANDARD_TESTS` lists them. They cover metadata and settings
(``config_problems``), ``check()``, the catalog, reads, round trips of every channel,
frequency, topic, grant (with and without an end date) and quiet hours the catalog offers,
required topics, a write with nothing offered, idempotent replay, version conflicts (409/412),
``Retry-After``, the mapping of every HTTP failure to a typed error, and that no secret is
logged, put in an error or sent in a URL.

Capabilities a vendor lacks are opted out in one place, :attr:`ConnectorConformance.suite`
(see :data:`CAPABILITIES`); a test can be opted out by its name as well. An opted-out test is
reported as skipped with the declared reason (``pytest -rs`` lists them). A capability the
catalog does not offer and the suite does not opt out of fails, saying how to opt out: a gap
is declared, never silent.

HTTP failures are injected by a :class:`~cmr_desktop.testing.faults.FaultProxy` placed
between the connector and your vendor (that is what ``url_field`` is for), so your fake does
not need to know how to fail. The kit only uses the public connector API (``catalog``,
``read``, ``write``, ``check``, ``problems``, ``config_problems``).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar, TypeVar

import pytest

from cmr_desktop.connectors.api import (
    API_VERSION,
    AuthenticationError,
    Catalog,
    Channel,
    Connector,
    ConnectorContext,
    ConnectorError,
    ConnectorTimeout,
    DataCategory,
    Decision,
    Frequency,
    Grant,
    InvalidResponse,
    NotFound,
    PreferenceSet,
    Purpose,
    QuietHours,
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

#: What a vendor may lack, and the tests each one opts out of.
CAPABILITIES: Mapping[str, str] = {
    "partial_writes": "a write changes only the fields it names, absent fields are left alone",
    "frequencies": "the subscriber can choose how often a channel is used",
    "topics": "the subscriber can choose topics",
    "required_topics": "some topics cannot be turned off",
    "grants": "the vendor asks permission for data uses",
    "grant_end_dates": "the vendor keeps an end date for a permission",
    "quiet_hours": "the vendor honours a daily quiet window",
    "idempotent_replay": "a write replayed with the same idempotency key is applied once",
    "version_conflicts": "the vendor refuses a write based on an old version",
    "retry_after": "the vendor says how long to wait (Retry-After)",
    "config_url_checks": "the connector checks the vendor's address before it is stored",
}


@dataclass(frozen=True)
class SuiteConfig:
    """What the kit may expect of a connector: the one place where gaps are declared.

    Attributes:
        skip: capability (a key of :data:`CAPABILITIES`) or test name -> why it does not
            apply, e.g. ``{"quiet_hours": "the vendor has no quiet hours"}``. The reason is
            what ``pytest -rs`` shows.
        catalog: the catalog the connector offers for the test subscriber, if it is known
            when the tests are collected: the round trips then run one case per channel,
            frequency, topic and data use (``...[email]``, ``...[offers]``); otherwise one
            case goes through everything the catalog offers. A test checks that the
            connector's catalog offers exactly this.
    """

    skip: Mapping[str, str] = field(default_factory=dict)
    catalog: Catalog | None = None

    def __post_init__(self) -> None:
        for key, reason in self.skip.items():
            if key not in CAPABILITIES and not key.startswith("test_"):
                known = ", ".join(sorted(CAPABILITIES))
                raise ValueError(
                    f"SuiteConfig.skip: unknown capability {key!r} (known: {known}; "
                    "or give a test name)"
                )
            if not isinstance(reason, str) or not reason.strip():
                raise ValueError(f"SuiteConfig.skip[{key!r}]: say why it does not apply")


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


class RecordingProxy(FaultProxy):
    """A :class:`FaultProxy` that also keeps the method, path and headers of every request."""

    def __init__(self, upstream: str, *, hang_seconds: float = 5.0) -> None:
        super().__init__(upstream, hang_seconds=hang_seconds)
        self.seen: list[tuple[str, str, dict[str, str]]] = []

    def __enter__(self) -> RecordingProxy:
        self.start()
        return self

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        self.seen.append((h.command, h.path, dict(h.headers.items())))
        super()._serve(h)


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


def _first_channel_change(prefs: PreferenceSet, catalog: Catalog) -> PreferenceSet:
    """Only the first offered channel, switched (a partial write of one field)."""
    channel = min(catalog.channels)
    return PreferenceSet(channels={channel: not bool(prefs.channels.get(channel))})


def _key() -> str:
    return uuid.uuid4().hex


_F = TypeVar("_F", bound=Callable[..., Any])


def needs(*capabilities: str) -> Callable[[_F], _F]:
    """Mark a test as checking ``capabilities`` (opted out through :class:`SuiteConfig`)."""
    for capability in capabilities:
        assert capability in CAPABILITIES, capability

    def mark(test: _F) -> _F:
        test._cmr_needs = capabilities  # type: ignore[attr-defined]
        return test

    return mark


def _offers(catalog: Catalog) -> tuple[Any, ...]:
    return (
        sorted(catalog.channels),
        sorted(catalog.frequencies),
        sorted((t.id, t.required) for t in catalog.topics),
        sorted(catalog.data_uses),
        catalog.supports_quiet_hours,
    )


def _grant_id(use: tuple[DataCategory, Purpose]) -> str:
    return f"{use[0]}:{use[1]}"


def _opt_out_hint(capability: str) -> str:
    return (
        f"opt out in one place if the vendor lacks it: "
        f"suite = SuiteConfig(skip={{{capability!r}: 'why'}})"
    )


class ConnectorConformance:
    """Subclass it (named ``Test...``), set :attr:`connector_class`, declare :attr:`suite`
    and provide a ``vendor`` fixture returning a :class:`VendorSetup`. Override
    :attr:`read_timeout` if your vendor is slow even when healthy."""

    connector_class: ClassVar[type[Connector]]
    suite: ClassVar[SuiteConfig] = SuiteConfig()
    read_timeout: ClassVar[float] = 2.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not isinstance(cls.suite, SuiteConfig):
            raise TypeError(f"{cls.__name__}.suite must be a SuiteConfig")
        for key in cls.suite.skip:
            if key.startswith("test_") and not callable(getattr(cls, key, None)):
                raise TypeError(f"{cls.__name__}.suite skips {key!r}, which is not a test here")

    # --- parametrisation over the declared catalog -------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        catalog = self.suite.catalog
        cases: dict[str, Callable[[Catalog], list[tuple[str, object]]]] = {
            "offered_channel": lambda c: [(str(ch), ch) for ch in sorted(c.channels)],
            "offered_frequency": lambda c: [(str(f), f) for f in sorted(c.frequencies)],
            "offered_topic": lambda c: [(t.id, t.id) for t in c.topics if not t.required],
            "required_topic": lambda c: [(t, t) for t in sorted(c.required_topics)],
            "offered_grant": lambda c: [(_grant_id(u), u) for u in sorted(c.data_uses)],
        }
        for name, values_of in cases.items():
            if name not in metafunc.fixturenames:
                continue
            values = values_of(catalog) if catalog is not None else []
            if not values:
                # No declared catalog: one case goes through what the catalog offers. An
                # empty offer: one case that says so (not pytest's silent empty-set skip).
                label = "every-offered" if catalog is None else "none-offered"
                values = [(label, None)]
            metafunc.parametrize(name, [v for _, v in values], ids=[i for i, _ in values])

    # --- fixtures -------------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _suite_opt_outs(self, request: pytest.FixtureRequest) -> None:
        """Skip a test the suite opts out of, with the declared reason."""
        test = request.function
        for key in (test.__name__, *getattr(test, "_cmr_needs", ())):
            reason = self.suite.skip.get(key)
            if reason:
                pytest.skip(f"{key}: {reason}")

    @pytest.fixture
    def vendor(self) -> VendorSetup:
        raise NotImplementedError("define a `vendor` fixture in your ConnectorConformance subclass")

    @pytest.fixture
    def proxy(self, vendor: VendorSetup) -> Iterator[RecordingProxy]:
        upstream = vendor.config[vendor.url_field]
        with RecordingProxy(upstream, hang_seconds=self.read_timeout * 3) as p:
            yield p

    def make(
        self,
        vendor: VendorSetup,
        *,
        proxy: FaultProxy | None = None,
        secrets: Mapping[str, str] | None = None,
        log: logging.Logger | None = None,
        config: Mapping[str, str] | None = None,
    ) -> Connector:
        """A connector wired like the host wires it (no retries, short timeouts)."""
        settings = {**self.connector_class.config_defaults(), **vendor.config, **(config or {})}
        if proxy is not None:
            settings[vendor.url_field] = proxy.url
        context = ConnectorContext(
            config=settings,
            secrets=_Secrets(vendor.secrets if secrets is None else secrets),
            session=make_session(timeout=(2.0, self.read_timeout), retries=0),
            clock=SystemClock(),
            log=log or logging.getLogger(f"cmr_desktop.connector.{self.connector_class.__name__}"),
        )
        return self.connector_class(context)

    @pytest.fixture
    def connector(self, vendor: VendorSetup) -> Connector:
        return self.make(vendor)

    @pytest.fixture
    def catalog(self, connector: Connector) -> Catalog:
        return connector.catalog()

    # --- helpers ----------------------------------------------------------------------------

    def _each(
        self, value: Any, offered: Iterable[Any], capability: str | None, what: str
    ) -> list[Any]:
        """The values one parametrised case covers: its own, or everything offered."""
        values = [value] if value is not None else list(offered)
        if not values:
            hint = f"; {_opt_out_hint(capability)}" if capability else ""
            pytest.fail(f"the catalog offers no {what}{hint}")
        return values

    @staticmethod
    def _write(connector: Connector, desired: PreferenceSet) -> tuple[RemoteState, RemoteState]:
        """Write ``desired`` on the current version; (the answer, a fresh read)."""
        before = connector.read()
        after = connector.write(desired, base_version=before.version, idempotency_key=_key())
        return after, connector.read()

    def _round_trip(self, connector: Connector, desired: PreferenceSet, what: str) -> None:
        after, again = self._write(connector, desired)
        for key, value in desired.fields().items():
            assert after.preferences.get(key) == value, (
                f"{what}: wrote {value}, the write answered {after.preferences.get(key)}"
            )
            assert again.preferences.get(key) == value, (
                f"{what}: wrote {value}, read back {again.preferences.get(key)}"
            )

    # --- metadata and configuration -------------------------------------------------------

    def test_metadata_is_valid(self) -> None:
        from cmr_desktop.connectors.registry import hook_problems

        cls = self.connector_class
        assert cls.problems() == []
        assert hook_problems(cls) == []  # what discovery would list it as broken for
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

    def test_config_problems_accept_the_working_settings(self, vendor: VendorSetup) -> None:
        cls = self.connector_class
        problems = cls.config_problems({**cls.config_defaults(), **vendor.config})
        assert problems == [], f"the settings that work are refused: {problems}"

    @needs("config_url_checks")
    def test_config_problems_refuse_plain_http_to_another_machine(
        self, vendor: VendorSetup
    ) -> None:
        cls = self.connector_class
        config = {**cls.config_defaults(), **vendor.config}
        config[vendor.url_field] = "http://vendor.example/api"
        problems = cls.config_problems(config)
        assert problems, "plain http to another machine was accepted (tokens would travel clear)"
        for problem in problems:
            assert isinstance(problem, str)
            assert problem.strip()
            assert "\n" not in problem, "one line per problem"

    @needs("config_url_checks")
    def test_config_problems_never_repeat_a_password_in_the_url(self, vendor: VendorSetup) -> None:
        cls = self.connector_class
        config = {**cls.config_defaults(), **vendor.config}
        config[vendor.url_field] = "https://someone:pw-s3cret-42@vendor.example/api"
        problems = cls.config_problems(config)
        assert problems, "an address holding a password was accepted"
        assert not any("pw-s3cret-42" in p for p in problems), "the problem repeats the password"

    def test_a_missing_secret_is_an_authentication_error_before_any_request(
        self, vendor: VendorSetup, proxy: RecordingProxy
    ) -> None:
        connector = self.make(vendor, proxy=proxy, secrets={})
        with pytest.raises(AuthenticationError):
            connector.read()
        assert proxy.seen == [], "a request went out without the credentials"

    # --- check() ----------------------------------------------------------------------------

    def test_check_describes_a_working_connection(
        self, connector: Connector, vendor: VendorSetup
    ) -> None:
        seen = connector.check()
        assert isinstance(seen, str)
        assert seen.strip(), "check() must say what it saw"
        for value in vendor.secrets.values():
            assert value not in seen, "check() shows a secret"

    def test_check_with_a_refused_secret_is_an_authentication_error(
        self, vendor: VendorSetup
    ) -> None:
        wrong = {name: "wrong-" + value for name, value in vendor.secrets.items()}
        with pytest.raises(AuthenticationError):
            self.make(vendor, secrets=wrong).check()

    def test_check_against_a_vendor_that_is_down_is_a_transient_error(
        self, vendor: VendorSetup
    ) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        # Nothing listens on ``port`` now: the connection is refused at once.
        connector = self.make(vendor, config={vendor.url_field: f"http://127.0.0.1:{port}/v1"})
        with pytest.raises(TransientError):
            connector.check()

    # --- the catalog and reads --------------------------------------------------------------

    def test_catalog_is_valid(self, catalog: Catalog) -> None:
        assert isinstance(catalog, Catalog)
        assert catalog.problems() == []
        assert catalog.channels, "a vendor with no channel has nothing to manage"

    def test_catalog_is_stable_and_is_the_declared_one(
        self, connector: Connector, catalog: Catalog
    ) -> None:
        assert _offers(connector.catalog()) == _offers(catalog), "the catalog changes per call"
        declared = self.suite.catalog
        if declared is not None:
            assert _offers(catalog) == _offers(declared), (
                "the connector's catalog is not the one declared in SuiteConfig(catalog=...)"
            )

    def test_read_returns_a_versioned_state_within_the_catalog(
        self, connector: Connector, catalog: Catalog
    ) -> None:
        state = connector.read()
        assert isinstance(state, RemoteState)
        assert isinstance(state.preferences, PreferenceSet)
        assert isinstance(state.version, str)
        assert state.version
        assert catalog.violations(state.preferences) == []

    def test_reading_twice_gives_the_same_state_and_version(self, connector: Connector) -> None:
        first, second = connector.read(), connector.read()
        assert second.version == first.version, "a read changed the version"
        assert second.preferences == first.preferences

    # --- writes -----------------------------------------------------------------------------

    def test_write_round_trip(self, connector: Connector, catalog: Catalog) -> None:
        before = connector.read()
        desired = toggled(before.preferences, catalog)
        after = connector.write(desired, base_version=before.version, idempotency_key=_key())
        assert after.preferences == desired
        assert after.version != before.version
        again = connector.read()
        assert again.preferences == desired
        assert again.version == after.version

    @needs("partial_writes")
    def test_a_partial_write_leaves_absent_fields_alone(
        self, connector: Connector, catalog: Catalog
    ) -> None:
        before = connector.read()
        desired = _first_channel_change(before.preferences, catalog)
        (changed,) = desired.fields()
        others = {k: v for k, v in before.preferences.fields().items() if k != changed}
        assert others, "give the test subscriber more than one setting at the vendor"
        after, again = self._write(connector, desired)
        for state in (after, again):
            kept = {k: state.preferences.get(k) for k in others}
            assert kept == others, "a field absent from the write was changed at the vendor"

    @needs("partial_writes")
    def test_a_write_restricted_to_a_catalog_with_nothing_offered_changes_nothing(
        self, connector: Connector, catalog: Catalog
    ) -> None:
        before = connector.read()
        nothing = Catalog(channels=frozenset())
        desired = nothing.restrict(toggled(before.preferences, catalog))
        assert desired == PreferenceSet()
        after, again = self._write(connector, desired)
        assert after.preferences == before.preferences, "writing nothing changed the vendor"
        assert again.preferences == before.preferences, "writing nothing changed the vendor"

    def test_every_offered_channel_round_trips(
        self, connector: Connector, catalog: Catalog, offered_channel: Channel | None
    ) -> None:
        for channel in self._each(offered_channel, sorted(catalog.channels), None, "channel"):
            assert channel in catalog.channels, f"the catalog does not offer {channel}"
            current = bool(connector.read().preferences.channels.get(channel))
            for value in (not current, current):
                desired = PreferenceSet(channels={channel: value})
                self._round_trip(connector, desired, f"channel {channel}")

    @needs("frequencies")
    def test_every_offered_frequency_round_trips(
        self, connector: Connector, catalog: Catalog, offered_frequency: Frequency | None
    ) -> None:
        offered = sorted(catalog.frequencies)
        for frequency in self._each(offered_frequency, offered, "frequencies", "frequency"):
            assert frequency in catalog.frequencies, f"the catalog does not offer {frequency}"
            refusals = []
            # Some vendors limit a frequency to some channels: one channel taking it is enough.
            for channel in sorted(catalog.channels):
                desired = PreferenceSet(frequencies={channel: frequency})
                try:
                    self._round_trip(connector, desired, f"frequency {frequency} on {channel}")
                except RejectedError as exc:
                    refusals.append(f"{channel}: {exc}")
                    continue
                break
            else:
                pytest.fail(f"no channel takes frequency {frequency}: {'; '.join(refusals)}")

    @needs("topics")
    def test_every_offered_topic_round_trips(
        self, connector: Connector, catalog: Catalog, offered_topic: str | None
    ) -> None:
        offered = [t.id for t in catalog.topics if not t.required]
        for topic in self._each(offered_topic, offered, "topics", "optional topic"):
            assert topic in catalog.topic_ids, f"the catalog does not offer topic {topic}"
            current = bool(connector.read().preferences.topics.get(topic))
            for value in (not current, current):
                self._round_trip(connector, PreferenceSet(topics={topic: value}), f"topic {topic}")

    @needs("required_topics")
    def test_a_required_topic_reads_as_wanted_and_a_write_of_it_round_trips(
        self, connector: Connector, catalog: Catalog, required_topic: str | None
    ) -> None:
        offered = sorted(catalog.required_topics)
        for topic in self._each(required_topic, offered, "required_topics", "required topic"):
            assert topic in catalog.required_topics, f"{topic} is not a required topic"
            wanted = connector.read().preferences.topics.get(topic)
            assert wanted in (None, True), f"required topic {topic} reads as turned off"
            self._round_trip(connector, PreferenceSet(topics={topic: True}), f"topic {topic}")

    @needs("required_topics")
    def test_turning_a_required_topic_off_is_refused_naming_the_topic(
        self, connector: Connector, catalog: Catalog, required_topic: str | None
    ) -> None:
        offered = sorted(catalog.required_topics)
        for topic in self._each(required_topic, offered, "required_topics", "required topic"):
            before = connector.read()
            with pytest.raises(RejectedError) as caught:
                connector.write(
                    PreferenceSet(topics={topic: False}),
                    base_version=before.version,
                    idempotency_key=_key(),
                )
            assert caught.value.field in (None, f"topics.{topic}"), caught.value.field
            assert connector.read().preferences == before.preferences

    @needs("grants")
    def test_every_offered_grant_round_trips_without_an_end_date(
        self,
        connector: Connector,
        catalog: Catalog,
        offered_grant: tuple[DataCategory, Purpose] | None,
    ) -> None:
        offered = sorted(catalog.data_uses)
        for category, purpose in self._each(offered_grant, offered, "grants", "data use"):
            assert (category, purpose) in catalog.data_uses
            for decision in (Decision.ALLOW, Decision.DENY, Decision.ALLOW):
                desired = PreferenceSet(grants={(category, purpose): Grant(decision)})
                self._round_trip(connector, desired, f"grant {category}:{purpose} {decision}")

    @needs("grants", "grant_end_dates")
    def test_every_offered_grant_round_trips_with_an_end_date(
        self,
        connector: Connector,
        catalog: Catalog,
        offered_grant: tuple[DataCategory, Purpose] | None,
    ) -> None:
        offered = sorted(catalog.data_uses)
        last_day = SystemClock().now().date() + dt.timedelta(days=90)
        for category, purpose in self._each(offered_grant, offered, "grants", "data use"):
            assert (category, purpose) in catalog.data_uses
            grant = Grant(Decision.ALLOW, expires=last_day)
            desired = PreferenceSet(grants={(category, purpose): grant})
            self._round_trip(connector, desired, f"grant {category}:{purpose} until {last_day}")

    @needs("quiet_hours")
    def test_quiet_hours_round_trip_including_over_midnight(
        self, connector: Connector, catalog: Catalog
    ) -> None:
        if not catalog.supports_quiet_hours:
            pytest.fail(f"the catalog does not support quiet hours; {_opt_out_hint('quiet_hours')}")
        for window in (QuietHours.parse("22:00-07:00"), QuietHours.parse("12:30-13:45")):
            self._round_trip(connector, PreferenceSet(quiet_hours=window), f"quiet hours {window}")

    # --- idempotent replay ------------------------------------------------------------------

    @needs("idempotent_replay")
    def test_a_replayed_write_is_applied_once(
        self, connector: Connector, vendor: VendorSetup, catalog: Catalog
    ) -> None:
        before = connector.read()
        desired = toggled(before.preferences, catalog)
        key = _key()
        applied = vendor.writes_applied()
        connector.write(desired, base_version=before.version, idempotency_key=key)
        connector.write(desired, base_version=before.version, idempotency_key=key)
        assert vendor.writes_applied() - applied == 1

    @needs("idempotent_replay")
    def test_a_replayed_write_answers_what_the_first_answered(
        self, connector: Connector, catalog: Catalog
    ) -> None:
        before = connector.read()
        desired = toggled(before.preferences, catalog)
        key = _key()
        first = connector.write(desired, base_version=before.version, idempotency_key=key)
        second = connector.write(desired, base_version=before.version, idempotency_key=key)
        assert second == first

    @needs("idempotent_replay")
    def test_a_late_replay_does_not_undo_a_newer_write(
        self, connector: Connector, catalog: Catalog
    ) -> None:
        before = connector.read()
        first = toggled(before.preferences, catalog)
        key = _key()
        one = connector.write(first, base_version=before.version, idempotency_key=key)
        newer = toggled(one.preferences, catalog)
        connector.write(newer, base_version=one.version, idempotency_key=_key())
        connector.write(first, base_version=before.version, idempotency_key=key)  # the replay
        assert connector.read().preferences == newer, "replaying an old write undid a newer one"

    # --- version conflicts (409/412) --------------------------------------------------------

    @needs("version_conflicts")
    def test_a_write_on_a_stale_version_is_a_conflict(
        self, connector: Connector, catalog: Catalog
    ) -> None:
        before = connector.read()
        first = toggled(before.preferences, catalog)
        connector.write(first, base_version=before.version, idempotency_key=_key())
        with pytest.raises(VersionConflict):
            connector.write(
                toggled(first, catalog), base_version=before.version, idempotency_key=_key()
            )

    @needs("version_conflicts")
    def test_a_refused_stale_write_changes_nothing_at_the_vendor(
        self, connector: Connector, catalog: Catalog
    ) -> None:
        before = connector.read()
        first = connector.write(
            toggled(before.preferences, catalog),
            base_version=before.version,
            idempotency_key=_key(),
        )
        with pytest.raises(VersionConflict):
            connector.write(
                toggled(first.preferences, catalog),
                base_version=before.version,
                idempotency_key=_key(),
            )
        now = connector.read()
        assert now.preferences == first.preferences
        assert now.version == first.version

    @needs("version_conflicts")
    def test_after_a_conflict_the_version_read_again_is_accepted(
        self, connector: Connector, catalog: Catalog
    ) -> None:
        before = connector.read()
        first = toggled(before.preferences, catalog)
        connector.write(first, base_version=before.version, idempotency_key=_key())
        desired = toggled(first, catalog)
        with pytest.raises(VersionConflict):
            connector.write(desired, base_version=before.version, idempotency_key=_key())
        fresh = connector.read()
        after = connector.write(desired, base_version=fresh.version, idempotency_key=_key())
        assert after.preferences == desired

    def test_a_412_answer_is_a_conflict_and_the_write_succeeds_after_reading_again(
        self, vendor: VendorSetup, proxy: RecordingProxy
    ) -> None:
        connector = self.make(vendor, proxy=proxy)
        before = connector.read()
        desired = toggled(before.preferences, connector.catalog())
        proxy.fail(412)
        with pytest.raises(VersionConflict):
            connector.write(desired, base_version=before.version, idempotency_key=_key())
        fresh = connector.read()
        assert fresh.preferences == before.preferences, "a refused write changed the vendor"
        after = connector.write(desired, base_version=fresh.version, idempotency_key=_key())
        assert after.preferences == desired

    # --- Retry-After ------------------------------------------------------------------------

    def _meet(
        self, vendor: VendorSetup, proxy: FaultProxy, fault: int, retry_after: str
    ) -> TransientError:
        connector = self.make(vendor, proxy=proxy)
        proxy.fail(fault, retry_after=retry_after)
        with pytest.raises(TransientError) as caught:
            connector.read()
        return caught.value

    @needs("retry_after")
    def test_a_429_says_how_many_seconds_to_wait(
        self, vendor: VendorSetup, proxy: RecordingProxy
    ) -> None:
        error = self._meet(vendor, proxy, 429, "7")
        assert isinstance(error, RateLimited), f"429 gave {type(error).__name__}"
        assert error.retry_after == 7

    @needs("retry_after")
    def test_a_429_with_an_http_date_says_how_long_to_wait(
        self, vendor: VendorSetup, proxy: RecordingProxy
    ) -> None:
        when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=600)
        error = self._meet(vendor, proxy, 429, email.utils.format_datetime(when, usegmt=True))
        assert isinstance(error, RateLimited), f"429 gave {type(error).__name__}"
        # The date has a precision of one second, and a little time passes on the way.
        assert error.retry_after is not None, "Retry-After as an HTTP-date was not read"
        assert 300 <= error.retry_after <= 601, error.retry_after

    @needs("retry_after")
    def test_a_503_says_how_many_seconds_to_wait(
        self, vendor: VendorSetup, proxy: RecordingProxy
    ) -> None:
        error = self._meet(vendor, proxy, 503, "3")
        assert error.retry_after == 3

    # --- failures -------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("fault", "error", "call"),
        FAULT_CASES,
        ids=[str(case[0]) for case in FAULT_CASES],
    )
    def test_http_failures_become_typed_errors(
        self,
        vendor: VendorSetup,
        proxy: RecordingProxy,
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
                connector.write(desired, base_version=state.version, idempotency_key=_key())

        with pytest.raises(ConnectorError) as caught:
            meet_the_fault()
        assert isinstance(caught.value, error), (
            f"HTTP fault {fault} should raise {error.__name__}, "
            f"got {type(caught.value).__name__}: {caught.value}"
        )
        assert str(caught.value), "errors must say what went wrong"

    def test_failures_are_connector_errors_not_library_errors(
        self, vendor: VendorSetup, proxy: RecordingProxy
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
            pytest.fail(f"fault {fault}: read() raised nothing (a failure was swallowed)")

    def _errors(self, vendor: VendorSetup, proxy: FaultProxy) -> list[ConnectorError]:
        connector = self.make(vendor, proxy=proxy)
        errors = []
        for fault in (401, 404, 422, 500, "garbage"):
            proxy.fail(fault)
            try:
                connector.read()
            except ConnectorError as exc:
                errors.append(exc)
            else:
                pytest.fail(f"fault {fault}: read() raised nothing (a failure was swallowed)")
        return errors

    def test_error_messages_are_one_short_line(
        self, vendor: VendorSetup, proxy: RecordingProxy
    ) -> None:
        for error in self._errors(vendor, proxy):
            text = str(error)
            assert "\n" not in text.strip(), f"an error message runs over lines: {text!r}"
            assert len(text) <= 500, f"an error message is {len(text)} characters long"

    def test_errors_do_not_chain_library_exceptions(
        self, vendor: VendorSetup, proxy: RecordingProxy
    ) -> None:
        for error in self._errors(vendor, proxy):
            chained = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
            assert chained is None or isinstance(chained, ConnectorError), (
                f"{type(error).__name__} carries {type(chained).__name__}: raise it `from None`"
            )

    # --- secrets ----------------------------------------------------------------------------

    def test_no_secret_in_logs_or_errors(
        self, vendor: VendorSetup, proxy: RecordingProxy, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        errors: list[BaseException] = []
        connector = self.make(vendor, proxy=proxy)
        state = connector.read()
        connector.write(
            toggled(state.preferences, connector.catalog()),
            base_version=state.version,
            idempotency_key=_key(),
        )
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

    def test_no_secret_travels_in_a_url(self, vendor: VendorSetup, proxy: RecordingProxy) -> None:
        connector = self.make(vendor, proxy=proxy)
        connector.check()
        state = connector.read()
        connector.write(
            toggled(state.preferences, connector.catalog()),
            base_version=state.version,
            idempotency_key=_key(),
        )
        assert proxy.seen, "the connector sent nothing through the vendor's address"
        for method, path, _headers in proxy.seen:
            for value in vendor.secrets.values():
                assert value not in path, f"a secret is in the URL of {method} (logged by proxies)"


#: The standard tests (each named for the promise it checks).
STANDARD_TESTS: tuple[str, ...] = tuple(
    name for name in vars(ConnectorConformance) if name.startswith("test_")
)

__all__ = [
    "CAPABILITIES",
    "FAULT_CASES",
    "STANDARD_TESTS",
    "ConnectorConformance",
    "RecordingProxy",
    "SuiteConfig",
    "VendorSetup",
    "needs",
    "toggled",
]
