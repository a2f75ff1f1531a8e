"""CMR Desktop connector for the (fictional) Acme Loyalty Club member API.

Acme's API has its own shape and words; this module translates them to and from CMR
Desktop's vocabulary. It imports nothing from CMR Desktop but ``cmr_desktop.connectors.api``.

The Acme Loyalty Club member API
--------------------------------

Base address: the ``api_url`` setting, e.g. ``https://api.acme-loyalty.example/v2``. Every
request carries the member's API key in the ``X-Api-Key`` header (never in the URL). JSON
in and out.

``GET {api_url}/members/{member_id}/contact-settings``
    200 with the member's contact settings::

        {
          "member_id": "M-1",
          "revision": 12,
          "mailings": {
            "newsletter_email": {"on": true, "cadence": "once-a-week"},
            "text_messages": {"on": false},
            "paper_mail": {"on": true, "cadence": "once-a-month"}
          },
          "interests": ["deals"],
          "data_sharing": {"partners": false, "personalised_ads": true}
        }

    ``cadence`` is ``every-day``, ``once-a-week`` or ``once-a-month``; absent means Acme's
    default. ``interests`` lists the interests the member wants; the others are off. Account
    notices (points statements, card expiry) are always sent and never listed.

``POST {api_url}/members/{member_id}/contact-settings`` (a POST, not a PUT)
    Body::

        {
          "base_revision": 12,
          "request_id": "0f3c9a...",
          "settings": {
            "mailings": {"newsletter_email": {"on": false, "cadence": "once-a-month"}},
            "interests": {"deals": true, "store-events": false},
            "data_sharing": {"partners": false}
          }
        }

    A partial update: mailings, interests and data-sharing keys left out keep their value
    (note ``interests`` is an object here, interest -> wanted, but a list in the GET answer).
    200 with the new contact settings (the GET shape), ``revision`` increased by one.
    Idempotent by ``request_id``: a request whose ``request_id`` Acme has seen before for this
    member is not applied again; Acme answers what it answered the first time (and 422
    ``request_id_reused`` if the body differs).

Errors have a JSON body ``{"code": ..., "message": ..., "errors": [{"field": ...,
"message": ...}]}``; ``errors`` comes with 400/422 only, and ``field`` is a path in the POST
body such as ``settings.mailings.paper_mail.cadence``:

==========  ============================================================================
401         ``bad_api_key``
403         ``key_not_for_member``
404         ``unknown_member``
409         ``revision_conflict`` (``base_revision`` is older than the member's revision) or
            ``revision_unknown`` (newer than any Acme knows, e.g. after a restore)
400 / 422   ``bad_request`` / ``invalid_settings`` (e.g. paper mail is at most weekly),
            ``request_id_reused``
429         ``slow_down``, with ``Retry-After`` (seconds or an HTTP date)
5xx         Acme trouble, sometimes with ``Retry-After``
==========  ============================================================================

CMR Desktop's :class:`~cmr_desktop.connectors.api.VendorHttp` turns these statuses into its
typed errors; this module adds only what is Acme's own: ``revision_unknown`` and the field
names in ``errors``.

Acme has no catalog resource: its vocabulary is fixed and documented, so the catalog is
hard-coded here (:data:`CATALOG`), next to the mapping it must agree with:

==============================  =====================================================
Acme                            CMR Desktop
==============================  =====================================================
``newsletter_email``            channel ``email``
``text_messages``               channel ``sms``
``paper_mail``                  channel ``postal``
``every-day``                   frequency ``daily``
``once-a-week``                 frequency ``weekly``
``once-a-month``                frequency ``monthly``
interest ``deals``              topic ``offers``
interest ``store-events``       topic ``events``
(always sent)                   topic ``account-notices`` (required)
``data_sharing.partners``       grant ``contact`` : ``third_party_sharing``
``data_sharing.personalised_ads``  grant ``purchase_history`` : ``advertising``
==============================  =====================================================

Acme keeps no end date for a data-sharing permission: an allow that has an expiry date is
sent as a plain allow (an already expired one as a deny), and CMR Desktop itself pushes the
deny when the date passes.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

from cmr_desktop.connectors.api import (
    API_VERSION,
    Catalog,
    Channel,
    ConfigField,
    Connector,
    ConnectorContext,
    ConnectorInfo,
    DataCategory,
    Decision,
    Frequency,
    Grant,
    HeaderAuth,
    HttpResponse,
    InvalidResponse,
    PreferenceSet,
    Purpose,
    RejectedError,
    RemoteState,
    Topic,
    VendorHttp,
    VendorProblem,
    VersionConflict,
    base_url_problems,
)

#: The connector's own version (keep in step with ``pyproject.toml``; a test checks it).
__version__: Final = "1.0.0"

VENDOR: Final = "Acme Loyalty Club"

# --- the mapping ----------------------------------------------------------------------------

MAILINGS: Final[Mapping[str, Channel]] = {
    "newsletter_email": Channel.EMAIL,
    "text_messages": Channel.SMS,
    "paper_mail": Channel.POSTAL,
}
CADENCES: Final[Mapping[str, Frequency]] = {
    "every-day": Frequency.DAILY,
    "once-a-week": Frequency.WEEKLY,
    "once-a-month": Frequency.MONTHLY,
}
INTERESTS: Final[Mapping[str, str]] = {"deals": "offers", "store-events": "events"}
#: The topic Acme always sends and that cannot be turned off.
ACCOUNT_NOTICES: Final = "account-notices"
SHARING: Final[Mapping[str, tuple[DataCategory, Purpose]]] = {
    "partners": (DataCategory.CONTACT, Purpose.THIRD_PARTY_SHARING),
    "personalised_ads": (DataCategory.PURCHASE_HISTORY, Purpose.ADVERTISING),
}

_MAILING_OF: Final = {channel: key for key, channel in MAILINGS.items()}
_CADENCE_OF: Final = {frequency: word for word, frequency in CADENCES.items()}
_INTEREST_OF: Final = {topic: interest for interest, topic in INTERESTS.items()}
_SHARING_OF: Final = {use: key for key, use in SHARING.items()}

#: What Acme supports (hard-coded: Acme publishes no catalog resource).
CATALOG: Final = Catalog(
    channels=frozenset(MAILINGS.values()),
    frequencies=frozenset(CADENCES.values()),
    topics=(
        Topic("offers", "Deals and member offers"),
        Topic("events", "Store events"),
        Topic(ACCOUNT_NOTICES, "Account notices (points, card expiry)", required=True),
    ),
    data_uses=frozenset(SHARING.values()),
    supports_quiet_hours=False,
)

_log = logging.getLogger(__name__)


def preferences_from_acme(
    body: Mapping[str, Any], *, log: logging.Logger = _log
) -> tuple[PreferenceSet, str]:
    """Translate Acme's contact settings (the GET shape) to our preferences and version.

    Mailings, cadence words, interests and data-sharing keys Acme may add later are skipped
    (with a log line): they are outside our catalog, and a partial write leaves them alone.

    Args:
        body: the decoded JSON answer.
        log: where to note values that were skipped.

    Returns:
        The preferences and the version (``str(revision)``).

    Raises:
        ValueError: the body does not have the documented shape (says where).
    """
    revision = body.get("revision")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 0:
        raise ValueError("'revision' is not a whole number")
    channels: dict[Channel, bool] = {}
    frequencies: dict[Channel, Frequency] = {}
    for key, entry in _section(body, "mailings", dict).items():
        channel = MAILINGS.get(key)
        if channel is None:
            log.info("skipping Acme mailing %r: not part of the catalog", key)
            continue
        if not isinstance(entry, dict):
            raise ValueError(f"'mailings.{key}' is not an object")
        on = entry.get("on")
        if on is not None:
            if not isinstance(on, bool):
                raise ValueError(f"'mailings.{key}.on' is not true or false")
            channels[channel] = on
        cadence = entry.get("cadence")
        if cadence is not None:
            frequency = CADENCES.get(cadence) if isinstance(cadence, str) else None
            if frequency is None:
                log.warning("skipping unknown Acme cadence %r of mailing %r", cadence, key)
            else:
                frequencies[channel] = frequency
    topics: dict[str, bool] = {ACCOUNT_NOTICES: True}
    if "interests" in body:
        wanted = _section(body, "interests", list)
        if not all(isinstance(item, str) for item in wanted):
            raise ValueError("'interests' holds something that is not a string")
        for interest, topic in INTERESTS.items():
            topics[topic] = interest in wanted
    grants: dict[tuple[DataCategory, Purpose], Grant] = {}
    for key, allowed in _section(body, "data_sharing", dict).items():
        use = SHARING.get(key)
        if use is None:
            log.info("skipping Acme data-sharing setting %r: not part of the catalog", key)
            continue
        if not isinstance(allowed, bool):
            raise ValueError(f"'data_sharing.{key}' is not true or false")
        grants[use] = Grant(Decision.ALLOW if allowed else Decision.DENY)
    prefs = PreferenceSet(channels=channels, frequencies=frequencies, topics=topics, grants=grants)
    return prefs, str(revision)


def _section(body: Mapping[str, Any], name: str, kind: type[Any]) -> Any:
    value = body.get(name, kind())
    if not isinstance(value, kind):
        raise ValueError(f"{name!r} is not a JSON {'object' if kind is dict else 'array'}")
    return value


def settings_for_acme(desired: PreferenceSet, *, today: dt.date) -> dict[str, Any]:
    """Translate our desired preferences to the ``settings`` of Acme's POST body.

    Only decided fields are sent; Acme keeps its current value for the rest.

    Args:
        desired: the desired preferences (normally already restricted to :data:`CATALOG`).
        today: the customer's date, to send an expired allow as a deny.

    Returns:
        The ``settings`` object.

    Raises:
        RejectedError: a value Acme cannot hold, naming our field (``channels.push`` ...).
    """
    mailings: dict[str, dict[str, Any]] = {}
    for channel, on in desired.channels.items():
        mailings.setdefault(_mailing(channel), {})["on"] = on
    for channel, frequency in desired.frequencies.items():
        key = _mailing(channel)
        word = _CADENCE_OF.get(frequency)
        if word is None:
            raise RejectedError(
                f"{VENDOR} cannot limit {channel.noun} to {frequency.label}",
                field=f"channels.{channel}.frequency",
            )
        mailings.setdefault(key, {})["cadence"] = word
    interests: dict[str, bool] = {}
    for topic, wanted in desired.topics.items():
        if topic == ACCOUNT_NOTICES:
            if not wanted:
                raise RejectedError(
                    f"{VENDOR} always sends account notices", field=f"topics.{topic}"
                )
            continue
        interest = _INTEREST_OF.get(topic)
        if interest is None:
            raise RejectedError(f"{VENDOR} has no topic {topic!r}", field=f"topics.{topic}")
        interests[interest] = wanted
    sharing: dict[str, bool] = {}
    for (category, purpose), grant in desired.grants.items():
        sharing_key = _SHARING_OF.get((category, purpose))
        if sharing_key is None:
            raise RejectedError(
                f"{VENDOR} does not ask about {category.label.lower()} data for "
                f"{purpose.label.lower()}",
                field=f"grants.{category}:{purpose}",
            )
        sharing[sharing_key] = grant.effective(today) is Decision.ALLOW
    if desired.quiet_hours is not None:
        raise RejectedError(f"{VENDOR} does not support quiet hours", field="quiet_hours")
    settings: dict[str, Any] = {}
    for name, section in (
        ("mailings", mailings),
        ("interests", interests),
        ("data_sharing", sharing),
    ):
        if section:
            settings[name] = section
    return settings


def _mailing(channel: Channel) -> str:
    key = _MAILING_OF.get(channel)
    if key is None:
        raise RejectedError(f"{VENDOR} cannot {channel.verb}", field=f"channels.{channel}")
    return key


def field_from_acme(path: str | None) -> str | None:
    """Our field path for a field Acme names in an error, or None when it is not one of ours.

    ``settings.mailings.paper_mail.cadence`` -> ``channels.postal.frequency``;
    ``mailings.text_messages.on`` -> ``channels.sms``; ``interests.deals`` -> ``topics.offers``;
    ``data_sharing.partners`` -> ``grants.contact:third_party_sharing``.
    """
    if not path:
        return None
    parts = path.split(".")
    if parts[0] == "settings":
        parts = parts[1:]
    if len(parts) < 2:
        return None
    section, key, rest = parts[0], parts[1], parts[2:]
    if section == "mailings" and key in MAILINGS:
        return f"channels.{MAILINGS[key]}" + (".frequency" if rest == ["cadence"] else "")
    if section == "interests" and key in INTERESTS:
        return f"topics.{INTERESTS[key]}"
    if section == "data_sharing" and key in SHARING:
        category, purpose = SHARING[key]
        return f"grants.{category}:{purpose}"
    return None


def problem_from_acme(body: Any) -> VendorProblem:
    """What an Acme error body says, with the field it names translated to ours.

    Acme's shape is ``{"code", "message", "errors": [{"field", "message"}]}``; gateways in
    front of Acme answer RFC 9457 problem details. :meth:`VendorProblem.from_body` reads both.
    """
    problem = VendorProblem.from_body(body)
    return VendorProblem(problem.message, field_from_acme(problem.field), problem.code)


# --- the connector --------------------------------------------------------------------------


class AcmeLoyaltyConnector(Connector):
    """One Acme Loyalty Club member's contact settings.

    Args:
        context: what CMR Desktop provides (settings, the API key, an HTTP session, a clock
            and a logger).
    """

    info = ConnectorInfo(
        id="acme-loyalty",
        name=VENDOR,
        version=__version__,
        api_version=API_VERSION,
        homepage="https://example.invalid/cmr-acme-loyalty",
        description="Acme Loyalty Club members: mailings, interests and data sharing.",
    )
    config_fields = (
        ConfigField(
            "api_url",
            "API address",
            help="From Account > Developer access, e.g. https://api.acme-loyalty.example/v2.",
        ),
        ConfigField("member_id", "Member number", help="On your Acme card, e.g. M-1234567."),
        ConfigField(
            "api_key", "API key", help="Create one in Account > Developer access.", secret=True
        ),
    )

    def __init__(self, context: ConnectorContext) -> None:
        super().__init__(context)
        self.http = VendorHttp(
            self,
            base_url_field="api_url",
            auth=HeaderAuth("X-Api-Key", "api_key"),
            subject_field="member_id",
            problem=problem_from_acme,
            check=_unknown_revision,
        )

    @classmethod
    def config_problems(cls, config: Mapping[str, str]) -> list[str]:
        """Refuse an API address that is not https or carries credentials, and no member."""
        problems = base_url_problems(config, "api_url")
        if not config.get("member_id", "").strip():
            problems.append("member_id is empty: give your Acme member number")
        return problems

    # --- the plugin API ---------------------------------------------------------------------

    def catalog(self) -> Catalog:
        """Acme's fixed offer (no request: Acme publishes no catalog)."""
        return CATALOG

    def read(self) -> RemoteState:
        """The member's contact settings, as our preferences, at Acme's revision.

        Raises:
            ConnectorError: a subclass saying what failed (see the module docstring).
        """
        return self._state(self.http.get_json(self._path()))

    def write(
        self, desired: PreferenceSet, *, base_version: str, idempotency_key: str
    ) -> RemoteState:
        """POST ``desired`` to Acme, based on revision ``base_version``.

        Acme applies a ``request_id`` at most once, so replaying this call with the same
        ``idempotency_key`` is safe even though the host's session never retries a POST.

        Args:
            desired: the desired preferences.
            base_version: the revision they were based on (a version from :meth:`read`).
            idempotency_key: sent as Acme's ``request_id``.

        Returns:
            Acme's state after the write.

        Raises:
            VersionConflict: Acme's revision moved on (or ``base_version`` is not one).
            RejectedError: Acme refused a value; ``field`` names ours.
            ConnectorError: another subclass for other failures.
        """
        if not re.fullmatch(r"\d{1,18}", base_version):
            raise VersionConflict(
                f"version {base_version[:40]!r} is not an {VENDOR} revision; read again"
            )
        payload = {
            "base_revision": int(base_version),
            "request_id": idempotency_key,
            "settings": settings_for_acme(desired, today=self.context.clock.now().date()),
        }
        self.context.log.debug(
            "posting contact settings at revision %s (request %s)", base_version, idempotency_key
        )
        return self._state(self.http.post_json(self._path(), payload))

    # --- plumbing ---------------------------------------------------------------------------

    def _path(self) -> str:
        member = self.context.config.get("member_id", "").strip()
        if not member:
            raise RejectedError("no Acme member number set", field="member_id")
        return f"/members/{quote(member, safe='')}/contact-settings"

    def _state(self, response: HttpResponse) -> RemoteState:
        body = response.object()
        try:
            prefs, version = preferences_from_acme(body, log=self.context.log)
        except ValueError as exc:
            problem = str(exc)
        else:
            member = body.get("member_id")
            if member is None or member == self.context.config.get("member_id", "").strip():
                return RemoteState(prefs, version)
            problem = "they are for another member"
        raise InvalidResponse(f"{VENDOR} sent contact settings we cannot read ({problem})")


def _unknown_revision(response: HttpResponse) -> None:
    """Acme's 409 ``revision_unknown``: our revision is newer than any Acme knows."""
    if response.status == 409 and response.problem.code == "revision_unknown":
        raise VersionConflict(
            f"{VENDOR} does not know the revision we had (it may have restored a backup); "
            "read again"
        )


__all__ = [
    "ACCOUNT_NOTICES",
    "CADENCES",
    "CATALOG",
    "INTERESTS",
    "MAILINGS",
    "SHARING",
    "AcmeLoyaltyConnector",
    "field_from_acme",
    "preferences_from_acme",
    "problem_from_acme",
    "settings_for_acme",
]
