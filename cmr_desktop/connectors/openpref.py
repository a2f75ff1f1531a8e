"""The built-in ``openpref`` connector: speaks the Open Preference API v1.

The protocol is documented in ``resources/openapi/open-preference-api-v1.yaml``: a catalog
resource, and per subscriber a preferences resource read with ``ETag`` and written with
``If-Match`` and ``Idempotency-Key``; bearer-token auth; RFC 9457 problem details.

The spec lets vendors add vocabulary ids within v1 and says clients MUST ignore what they do
not know: an unknown channel, frequency, data category, purpose or decision in a catalog or
in preferences is left out (as if the vendor had not sent it), while a malformed document
(a list where an object belongs, a flag that is not true/false) is still refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from cmr_desktop import __version__
from cmr_desktop.connectors.api import (
    API_VERSION,
    BearerAuth,
    Catalog,
    Channel,
    ConfigField,
    Connector,
    ConnectorContext,
    ConnectorError,
    ConnectorInfo,
    DataCategory,
    Frequency,
    HttpResponse,
    InvalidResponse,
    PreferenceSet,
    Purpose,
    RejectedError,
    RemoteState,
    Topic,
    VendorHttp,
    base_url_problems,
    check_base_url,
)

_CHANNELS = {c.value: c for c in Channel}
_FREQUENCIES = {f.value: f for f in Frequency}
_CATEGORIES = {c.value: c for c in DataCategory}
_PURPOSES = {p.value: p for p in Purpose}
_DECISIONS = ("allow", "deny")


class _Malformed(ValueError):
    """A document whose structure (not vocabulary) is wrong."""


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Malformed(f"{where} is not an object")
    return value


def _array(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Malformed(f"{where} is not an array")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _Malformed(f"{where} is not a string")
    return value


def _known_preferences(prefs: Any) -> dict[str, Any]:
    """``prefs`` (``Preferences`` of the spec) with every id this client does not know left
    out, in the shape :meth:`PreferenceSet.from_dict` reads; _Malformed on a wrong shape."""
    prefs = _object(prefs, "preferences")
    channels: dict[str, dict[str, Any]] = {}
    for name, entry in _object(prefs.get("channels", {}), "preferences.channels").items():
        entry = _object(entry, f"channels.{name}")
        out: dict[str, Any] = {}
        if "enabled" in entry:
            if not isinstance(entry["enabled"], bool):
                raise _Malformed(f"channels.{name}.enabled is not true or false")
            out["enabled"] = entry["enabled"]
        freq = entry.get("frequency")
        if freq is not None and _string(freq, f"channels.{name}.frequency") in _FREQUENCIES:
            out["frequency"] = freq
        if name in _CHANNELS and out:
            channels[name] = out
    topics = _object(prefs.get("topics", {}), "preferences.topics")
    for topic, wanted in topics.items():
        if not isinstance(wanted, bool):
            raise _Malformed(f"topics.{topic} is not true or false")
    grants = []
    for i, grant in enumerate(_array(prefs.get("grants", []), "preferences.grants")):
        grant = _object(grant, f"grants[{i}]")
        category = _string(grant.get("category"), f"grants[{i}].category")
        purpose = _string(grant.get("purpose"), f"grants[{i}].purpose")
        decision = _string(grant.get("decision"), f"grants[{i}].decision")
        if category in _CATEGORIES and purpose in _PURPOSES and decision in _DECISIONS:
            grants.append(grant)
    quiet = prefs.get("quiet_hours")
    if quiet is not None:
        quiet = _object(quiet, "quiet_hours")
        _string(quiet.get("start"), "quiet_hours.start")
        _string(quiet.get("end"), "quiet_hours.end")
    return {"channels": channels, "topics": topics, "grants": grants, "quiet_hours": quiet}


class OpenPrefConnector(Connector):
    """A vendor that implements the Open Preference API v1."""

    info = ConnectorInfo(
        id="openpref",
        name="Open Preference API",
        version=__version__,
        api_version=API_VERSION,
        homepage="https://example.invalid/cmr-desktop/openpref",
        description="Vendors that implement the open Open Preference API v1.",
    )
    config_fields = (
        ConfigField(
            "base_url",
            "API address",
            help="The vendor's Open Preference API base URL, ending in /v1.",
        ),
        ConfigField("subject", "Your subscriber id", help="Your customer id at the vendor."),
        ConfigField("token", "Access token", help="Issued by the vendor.", secret=True),
    )

    def __init__(self, context: ConnectorContext) -> None:
        super().__init__(context)
        self._http = VendorHttp(
            self,
            base_url_field="base_url",
            auth=BearerAuth("token"),
            subject_field="subject",
            vendor="the vendor",
            check=self._raise_for,
        )

    @classmethod
    def config_problems(cls, config: Mapping[str, str]) -> list[str]:
        return base_url_problems(config, "base_url")

    # --- plumbing -------------------------------------------------------------------------

    @staticmethod
    def _raise_for(response: HttpResponse) -> None:
        """The Open Preference API's own answer on top of VendorHttp's table: 428, a write
        sent without ``If-Match``, is a refused request (this client always sends one)."""
        if response.status == 428:
            raise RejectedError(
                f"the vendor refused the request: {response.problem.message or 'HTTP 428'}"
            )

    def _subject_path(self) -> str:
        subject = self.context.config.get("subject", "")
        if not subject:
            raise RejectedError("no subscriber id set", field="subject")
        return f"/subjects/{quote(subject, safe='')}/preferences"

    def _state(self, response: HttpResponse) -> RemoteState:
        body = response.object()
        etag = response.required_header("ETag")
        if "preferences" not in body:
            raise InvalidResponse(
                f"the vendor's answer to {response.method} {response.path} has no preferences"
            )
        try:
            prefs = PreferenceSet.from_dict(_known_preferences(body["preferences"]))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise InvalidResponse(f"the vendor sent preferences we cannot read ({exc})") from None
        return RemoteState(prefs, etag)

    # --- the connector API ----------------------------------------------------------------

    def catalog(self) -> Catalog:
        body = self._http.get_json("/catalog").object()
        try:
            channels = _array(body["channels"], "channels")
            frequencies = _array(body.get("frequencies", []), "frequencies")
            data_uses = []
            for i, use in enumerate(_array(body.get("data_uses", []), "data_uses")):
                use = _object(use, f"data_uses[{i}]")
                category = _string(use.get("category"), f"data_uses[{i}].category")
                purpose = _string(use.get("purpose"), f"data_uses[{i}].purpose")
                if category in _CATEGORIES and purpose in _PURPOSES:
                    data_uses.append((_CATEGORIES[category], _PURPOSES[purpose]))
            return Catalog(
                channels=frozenset(
                    _CHANNELS[c] for c in channels if _string(c, "channels[]") in _CHANNELS
                ),
                frequencies=frozenset(
                    _FREQUENCIES[f]
                    for f in frequencies
                    if _string(f, "frequencies[]") in _FREQUENCIES
                ),
                topics=tuple(
                    Topic(
                        str(t["id"]),
                        str(t.get("label", t["id"])),
                        bool(t.get("required")),
                        str(t.get("reason", ""))[:300],
                    )
                    for t in _array(body.get("topics", []), "topics")
                ),
                data_uses=frozenset(data_uses),
                # Every vendor's preferences carry quiet_hours (the spec's Preferences
                # requires the member), so every Open Preference vendor takes them.
                supports_quiet_hours=True,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidResponse(f"the vendor's catalog cannot be read ({exc})") from None

    def read(self) -> RemoteState:
        return self._state(self._http.get_json(self._subject_path()))

    def write(
        self, desired: PreferenceSet, *, base_version: str, idempotency_key: str
    ) -> RemoteState:
        response = self._http.put_json(
            self._subject_path(),
            {"preferences": desired.to_dict()},
            if_match=base_version,
            idempotency_key=idempotency_key,
        )
        return self._state(response)


__all__ = ["ConnectorError", "OpenPrefConnector", "check_base_url"]
