"""The conformance kit fails connectors that get things wrong (so passing it means something).

Each broken connector below is the openpref connector with one bug, made through the public
connector API only (``read``/``write``/``catalog``/``check``/``config_problems``), so the
bugs stay bugs whatever openpref's insides become. One pytest subprocess checks, for every
standard test the kit has, that some broken connector makes it fail.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from cmr_desktop.testing.conformance import STANDARD_TESTS, SuiteConfig

BUGGY = '''
import dataclasses
import uuid

import pytest
import requests

from cmr_desktop.connectors.api import (
    ConfigField, ConnectorError, ConnectorInfo, PreferenceSet, RemoteState, Topic,
    TransientError, VersionConflict,
)
from cmr_desktop.connectors.openpref import OpenPrefConnector
from cmr_desktop.testing.conformance import ConnectorConformance, SuiteConfig


def without(desired, kind, keep=lambda key, value: False):
    return PreferenceSet.from_fields(
        {k: v for k, v in desired.fields().items() if k[0] != kind or keep(k, v)}
    )


class PartialOpenPref(OpenPrefConnector):
    """openpref sending the desired fields merged over the vendor's state (a partial write)."""

    def write(self, desired, *, base_version, idempotency_key):
        current = self.read()
        if current.version != base_version:
            raise VersionConflict("the preferences changed meanwhile")
        full = PreferenceSet.from_fields({**current.preferences.fields(), **desired.fields()})
        return super().write(full, base_version=base_version, idempotency_key=idempotency_key)


class ResetsAbsentFields(PartialOpenPref):
    def write(self, desired, **kw):
        for channel in self.catalog().channels:
            if channel not in desired.channels:
                desired = desired.with_channel(channel, False)
        return super().write(desired, **kw)


class Drops(OpenPrefConnector):
    kind = ""
    keep = staticmethod(lambda key, value: False)

    def write(self, desired, **kw):
        return super().write(without(desired, self.kind, self.keep), **kw)


class DropsFrequencies(Drops):
    kind = "frequency"


class DropsTopics(Drops):
    kind = "topic"


class DropsFalseChannels(Drops):
    kind = "channel"
    keep = staticmethod(lambda key, value: value is True)


class DropsGrants(Drops):
    kind = "grant"


class DropsQuietHours(Drops):
    kind = "quiet_hours"


class DropsEndDates(OpenPrefConnector):
    def write(self, desired, **kw):
        for (category, purpose), grant in desired.grants.items():
            plain = dataclasses.replace(grant, expires=None)
            desired = desired.with_grant(category, purpose, plain)
        return super().write(desired, **kw)


class NoQuietHoursInCatalog(OpenPrefConnector):
    def catalog(self):
        return dataclasses.replace(super().catalog(), supports_quiet_hours=False)


class RequiredTopicsWrong(OpenPrefConnector):
    """Reads required topics as off, and drops a request to turn one off without a word."""

    def read(self):
        state = super().read()
        prefs = state.preferences
        for topic in self.catalog().required_topics:
            prefs = prefs.with_topic(topic, False)
        return RemoteState(prefs, state.version)

    def write(self, desired, **kw):
        required = self.catalog().required_topics
        return super().write(
            without(desired, "topic", lambda k, v: k[1] not in required or v), **kw
        )


class NewKeyEveryTime(OpenPrefConnector):
    def write(self, desired, *, base_version, idempotency_key):
        return super().write(desired, base_version=base_version, idempotency_key=uuid.uuid4().hex)


class LastWriteWins(OpenPrefConnector):
    def write(self, desired, *, base_version, idempotency_key):
        current = self.read().version
        return super().write(desired, base_version=current, idempotency_key=idempotency_key)


class SwallowsConflicts(OpenPrefConnector):
    def write(self, desired, *, base_version, idempotency_key):
        try:
            return super().write(
                desired, base_version=base_version, idempotency_key=idempotency_key
            )
        except VersionConflict:
            return self.read()


class Rewrap(OpenPrefConnector):
    def read(self):
        try:
            return super().read()
        except ConnectorError as exc:
            self.rewrap(exc)
            raise


class EverythingIsTransient(Rewrap):
    """Maps every failure to TransientError and leaks the token in it."""

    def rewrap(self, exc):
        token = self.context.secrets.get("token")
        raise TransientError(f"{exc} (sent token {token})") from None


class LosesRetryAfter(Rewrap):
    def rewrap(self, exc):
        if isinstance(exc, TransientError):
            raise type(exc)(str(exc)) from None


class MultiLineErrors(Rewrap):
    def rewrap(self, exc):
        raise type(exc)(f"{exc}\\n  while reading\\n  in read()") from None


class ChainsLibraryErrors(Rewrap):
    def rewrap(self, exc):
        raise type(exc)(str(exc)) from requests.ConnectionError("pool exhausted")


class LibraryErrorsEscape(Rewrap):
    def rewrap(self, exc):
        if isinstance(exc, TransientError):
            raise ValueError("cannot parse") from None


class ChecksNothing(OpenPrefConnector):
    def check(self):
        return "connected"


class CheckShowsTheToken(OpenPrefConnector):
    def check(self):
        return f"{super().check()} with token {self.context.secrets.get('token')}"


class AcceptsAnyConfig(OpenPrefConnector):
    @classmethod
    def config_problems(cls, config):
        return []


class RefusesEveryConfig(OpenPrefConnector):
    @classmethod
    def config_problems(cls, config):
        return ["base_url: no"]


class SendsWithoutToken(OpenPrefConnector):
    def read(self):
        if not self.context.secrets.get("token"):
            self.context.session.get(self.context.config["base_url"] + "/catalog", timeout=2)
        return super().read()


class TokenInTheUrl(OpenPrefConnector):
    def read(self):
        token = self.context.secrets.get("token")
        self.context.session.get(f"{self.context.config['base_url']}/catalog?t={token}")
        return super().read()


class UnstableCatalog(OpenPrefConnector):
    def catalog(self):
        extra = Topic(uuid.uuid4().hex[:8], "Surprise")
        catalog = super().catalog()
        return dataclasses.replace(catalog, topics=(*catalog.topics, extra))


class VersionPerRead(OpenPrefConnector):
    def read(self):
        state = super().read()
        return RemoteState(state.preferences, f"{state.version}-{uuid.uuid4().hex[:6]}")


class ReadsOutsideTheCatalog(OpenPrefConnector):
    def read(self):
        state = super().read()
        return RemoteState(state.preferences.with_topic("not-offered", True), state.version)


class AnswersTheOldState(OpenPrefConnector):
    def write(self, desired, **kw):
        before = self.read()
        super().write(desired, **kw)
        return before


class BadMetadata(OpenPrefConnector):
    info = ConnectorInfo(id="Bad Id", name="", version="1", api_version="1.0")


class TokenIsNoSecret(OpenPrefConnector):
    config_fields = (
        ConfigField("base_url", "API address"),
        ConfigField("subject", "Subscriber"),
        ConfigField("token", "Token"),
    )


class Base(ConnectorConformance):
    @pytest.fixture
    def vendor(self, openpref_vendor):
        return openpref_vendor


class TestOptedOut(Base):
    connector_class = OpenPrefConnector
    suite = SuiteConfig(
        skip={
            "quiet_hours": "the vendor has no quiet hours",
            "test_reading_twice_gives_the_same_state_and_version": "reads are counted",
        }
    )
'''

#: The tests run for the connector that opts out (one passes, two are skipped).
OPTED_OUT = [
    "test_metadata_is_valid",
    "test_quiet_hours_round_trip_including_over_midnight",
    "test_reading_twice_gives_the_same_state_and_version",
]

#: broken connector -> the standard tests it must fail.
CAUGHT_BY: dict[str, list[str]] = {
    "ResetsAbsentFields": [
        "test_a_partial_write_leaves_absent_fields_alone",
        "test_a_write_restricted_to_a_catalog_with_nothing_offered_changes_nothing",
    ],
    "DropsFalseChannels": ["test_every_offered_channel_round_trips", "test_write_round_trip"],
    "DropsFrequencies": ["test_every_offered_frequency_round_trips"],
    "DropsTopics": ["test_every_offered_topic_round_trips"],
    "DropsGrants": ["test_every_offered_grant_round_trips_without_an_end_date"],
    "DropsEndDates": ["test_every_offered_grant_round_trips_with_an_end_date"],
    "DropsQuietHours": ["test_quiet_hours_round_trip_including_over_midnight"],
    "NoQuietHoursInCatalog": ["test_quiet_hours_round_trip_including_over_midnight"],
    "RequiredTopicsWrong": [
        "test_a_required_topic_reads_as_wanted_and_a_write_of_it_round_trips",
        "test_turning_a_required_topic_off_is_refused_naming_the_topic",
    ],
    "NewKeyEveryTime": [
        "test_a_replayed_write_is_applied_once",
        "test_a_replayed_write_answers_what_the_first_answered",
        "test_a_late_replay_does_not_undo_a_newer_write",
    ],
    "LastWriteWins": [
        "test_a_write_on_a_stale_version_is_a_conflict",
        "test_a_refused_stale_write_changes_nothing_at_the_vendor",
        "test_after_a_conflict_the_version_read_again_is_accepted",
    ],
    "SwallowsConflicts": [
        "test_a_412_answer_is_a_conflict_and_the_write_succeeds_after_reading_again"
    ],
    "EverythingIsTransient": [
        "test_http_failures_become_typed_errors[401]",
        "test_no_secret_in_logs_or_errors",
    ],
    "LosesRetryAfter": [
        "test_a_429_says_how_many_seconds_to_wait",
        "test_a_429_with_an_http_date_says_how_long_to_wait",
        "test_a_503_says_how_many_seconds_to_wait",
    ],
    "MultiLineErrors": ["test_error_messages_are_one_short_line"],
    "ChainsLibraryErrors": ["test_errors_do_not_chain_library_exceptions"],
    "LibraryErrorsEscape": ["test_failures_are_connector_errors_not_library_errors"],
    "ChecksNothing": [
        "test_check_with_a_refused_secret_is_an_authentication_error",
        "test_check_against_a_vendor_that_is_down_is_a_transient_error",
    ],
    "CheckShowsTheToken": ["test_check_describes_a_working_connection"],
    "AcceptsAnyConfig": [
        "test_config_problems_refuse_plain_http_to_another_machine",
        "test_config_problems_never_repeat_a_password_in_the_url",
    ],
    "RefusesEveryConfig": ["test_config_problems_accept_the_working_settings"],
    "SendsWithoutToken": ["test_a_missing_secret_is_an_authentication_error_before_any_request"],
    "TokenInTheUrl": ["test_no_secret_travels_in_a_url"],
    "UnstableCatalog": ["test_catalog_is_stable_and_is_the_declared_one"],
    "VersionPerRead": ["test_reading_twice_gives_the_same_state_and_version"],
    "ReadsOutsideTheCatalog": ["test_read_returns_a_versioned_state_within_the_catalog"],
    "AnswersTheOldState": ["test_write_round_trip"],
    "BadMetadata": ["test_metadata_is_valid"],
    "TokenIsNoSecret": ["test_config_schema_matches_the_vendor_setup"],
}
#: What the healthy connectors pass (so a failure above is the bug, not the setup).
PASSED_BY: dict[str, list[str]] = {
    "PartialOpenPref": CAUGHT_BY["ResetsAbsentFields"],
    "EverythingIsTransient": ["test_catalog_is_valid", "test_write_round_trip"],
}
# The one test no single-bug connector can fail on its own: every catalog has a channel.
NOT_A_BUG_CLASS = {"test_catalog_is_valid"}


def _module() -> str:
    classes = sorted({*CAUGHT_BY, *PASSED_BY})
    tests = "".join(
        f"\n\nclass Test{name}(Base):\n    connector_class = {name}\n" for name in classes
    )
    return BUGGY + tests


def _node(cls: str, test: str) -> str:
    return f"test_buggy.py::Test{cls}::{test}"


@pytest.fixture(scope="module")
def kit_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], str]:
    """Run every broken connector through the tests that must catch it, in one pytest
    subprocess (a folder of its own: the kit is found through the installed pytest plugin)."""
    folder = tmp_path_factory.mktemp("kit")
    (folder / "test_buggy.py").write_text(_module())
    nodes = [_node(c, t) for c, ts in CAUGHT_BY.items() for t in ts]
    nodes += [_node(c, t) for c, ts in PASSED_BY.items() for t in ts]
    nodes += [_node("OptedOut", t) for t in OPTED_OUT]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *nodes],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    text = done.stdout + done.stderr
    outcomes = {}
    for outcome, node in re.findall(r"^(PASSED|FAILED|ERROR|SKIPPED) (\S+)", text, re.M):
        outcomes[node] = outcome
    return outcomes, text


@pytest.mark.parametrize(
    ("broken", "test"),
    [(c, t) for c, ts in CAUGHT_BY.items() for t in ts],
    ids=[f"{c}-{t}" for c, ts in CAUGHT_BY.items() for t in ts],
)
def test_the_kit_fails_a_connector_with_the_bug_the_test_is_named_for(
    kit_run: tuple[dict[str, str], str], broken: str, test: str
) -> None:
    outcomes, text = kit_run
    node = _node(broken, test)
    found = {n: o for n, o in outcomes.items() if n == node or n.startswith(node + "[")}
    assert found, f"{node} did not run:\n{text[-3000:]}"
    assert "FAILED" in found.values(), f"{broken} passed {test}: {found}"


@pytest.mark.parametrize(("healthy", "test"), [(c, t) for c, ts in PASSED_BY.items() for t in ts])
def test_what_a_connector_does_right_still_passes(
    kit_run: tuple[dict[str, str], str], healthy: str, test: str
) -> None:
    outcomes, text = kit_run
    node = _node(healthy, test)
    found = {n: o for n, o in outcomes.items() if n == node or n.startswith(node + "[")}
    assert found, f"{node} did not run:\n{text[-3000:]}"
    assert set(found.values()) == {"PASSED"}, found


def test_every_standard_test_but_one_is_shown_able_to_fail() -> None:
    caught = {t.split("[")[0] for ts in CAUGHT_BY.values() for t in ts}
    assert set(STANDARD_TESTS) - caught == NOT_A_BUG_CLASS
    assert len(STANDARD_TESTS) >= 25


def test_the_failures_say_what_is_wrong(kit_run: tuple[dict[str, str], str]) -> None:
    _, text = kit_run
    assert "should raise AuthenticationError, got TransientError" in text
    assert "a secret value appears in a log line or an error" in text
    assert "a field absent from the write was changed at the vendor" in text
    assert "opt out in one place if the vendor lacks it" in text
    assert "a request went out without the credentials" in text


def test_opted_out_capabilities_are_reported_as_skipped_with_the_declared_reason(
    kit_run: tuple[dict[str, str], str],
) -> None:
    outcomes, text = kit_run
    assert "quiet_hours: the vendor has no quiet hours" in text
    assert "test_reading_twice_gives_the_same_state_and_version: reads are counted" in text
    assert outcomes[_node("OptedOut", "test_metadata_is_valid")] == "PASSED"
    assert text.count("SKIPPED [1]") == 2, text[-2000:]


def test_an_unknown_capability_or_a_reason_left_out_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="unknown capability 'quiet_hour'"):
        SuiteConfig(skip={"quiet_hour": "typo"})
    with pytest.raises(ValueError, match="say why"):
        SuiteConfig(skip={"quiet_hours": " "})


def test_skipping_a_test_the_kit_does_not_have_is_refused() -> None:
    from cmr_desktop.connectors.openpref import OpenPrefConnector
    from cmr_desktop.testing.conformance import ConnectorConformance

    with pytest.raises(TypeError, match="skips 'test_no_such_promise', which is not a test"):

        class TestTypo(ConnectorConformance):
            connector_class = OpenPrefConnector
            suite = SuiteConfig(skip={"test_no_such_promise": "typo"})
