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

import ipaddress
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from cmr_desktop import __version__
from cmr_desktop.connectors.api import (
    API_VERSION,
    AuthenticationError,
    Catalog,
    Channel,
    ConfigField,
    Connector,
    ConnectorError,
    ConnectorInfo,
    ConnectorTimeout,
    DataCategory,
    Frequency,
    InvalidResponse,
    NotFound,
    PreferenceSet,
    Purpose,
    RateLimited,
    RejectedError,
    RemoteState,
    Topic,
    TransientError,
    VersionConflict,
)
from cmr_desktop.connectors.http import ResponseTooLarge, retry_after_seconds


def check_base_url(url: str) -> str:
    """``url`` without a trailing slash, if it is https (or http on this machine only)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        # Say so without repeating the URL: it holds a password.
        raise ValueError("base_url must not contain a user name or password; use the token")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"base_url {url!r} is not an http(s) URL")
    if parts.scheme == "http":
        host = parts.hostname
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"base_url {url!r} must use https (plain http only for 127.0.0.1)")
    return url.rstrip("/")


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


def _max_mib(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MiB"


def _problem(response: requests.Response) -> tuple[str, str | None]:
    """(readable detail, offending field) from an RFC 9457 problem body, if there is one."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}", None
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}", None
    detail = str(body.get("detail") or body.get("title") or f"HTTP {response.status_code}")
    field = None
    params = body.get("invalid-params")
    if isinstance(params, list) and params and isinstance(params[0], dict):
        field = str(params[0].get("name")) if params[0].get("name") else None
        reason = params[0].get("reason")
        if reason:
            detail = f"{detail}: {field}: {reason}" if field else f"{detail}: {reason}"
    return detail[:300], field


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

    @classmethod
    def config_problems(cls, config: Mapping[str, str]) -> list[str]:
        try:
            check_base_url(config.get("base_url", ""))
        except ValueError as exc:
            return [str(exc)]
        return []

    # --- plumbing -------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        try:
            base = check_base_url(self.context.config["base_url"])
        except (KeyError, ValueError) as exc:
            raise RejectedError(f"bad connector settings: {exc}", field="base_url") from None
        return base + path

    def _subject_path(self) -> str:
        subject = self.context.config.get("subject", "")
        if not subject:
            raise RejectedError("no subscriber id set", field="subject")
        return f"/subjects/{quote(subject, safe='')}/preferences"

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        token = self.context.secrets.get("token")
        if not token:
            raise AuthenticationError("no access token stored for this brand; enter it again")
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        headers.update(kwargs.pop("headers", {}))
        try:
            response = self.context.session.request(
                method, self._url(path), headers=headers, allow_redirects=False, **kwargs
            )
        except requests.Timeout:
            raise ConnectorTimeout("the vendor did not answer in time") from None
        except ResponseTooLarge as exc:
            raise InvalidResponse(
                f"the vendor's answer is larger than {_max_mib(exc.limit)}"
            ) from None
        except requests.RequestException as exc:
            raise TransientError(f"cannot reach the vendor ({type(exc).__name__})") from None
        self._raise_for(response)
        return response

    @staticmethod
    def _raise_for(response: requests.Response) -> None:
        status = response.status_code
        if status < 300:
            return
        detail, field = _problem(response)
        if status in (401, 403):
            raise AuthenticationError(f"the vendor refused the access token ({status}): {detail}")
        if status == 404:
            raise NotFound(f"the vendor does not know this subscriber: {detail}")
        if status in (409, 412):
            raise VersionConflict(f"the vendor's preferences changed meanwhile: {detail}")
        if status == 429:
            raise RateLimited(
                f"too many requests: {detail}", retry_after=retry_after_seconds(response)
            )
        if status >= 500:
            raise TransientError(
                f"the vendor had a problem ({status}): {detail}",
                retry_after=retry_after_seconds(response),
            )
        if status in (400, 422, 428):
            raise RejectedError(f"the vendor refused the request: {detail}", field=field)
        raise InvalidResponse(f"unexpected answer from the vendor: HTTP {status}")

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except (ValueError, json.JSONDecodeError):
            raise InvalidResponse("the vendor sent something that is not JSON") from None
        if not isinstance(body, dict):
            raise InvalidResponse("the vendor sent JSON of the wrong shape")
        return body

    def _state(self, response: requests.Response) -> RemoteState:
        body = self._json(response)
        etag = response.headers.get("ETag")
        if not etag:
            raise InvalidResponse("the vendor sent no version (ETag)")
        if "preferences" not in body:
            raise InvalidResponse("the vendor sent no preferences")
        try:
            prefs = PreferenceSet.from_dict(_known_preferences(body["preferences"]))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise InvalidResponse(f"the vendor sent preferences we cannot read ({exc})") from None
        return RemoteState(prefs, etag)

    # --- the connector API ----------------------------------------------------------------

    def catalog(self) -> Catalog:
        body = self._json(self._request("GET", "/catalog"))
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
        return self._state(self._request("GET", self._subject_path()))

    def write(
        self, desired: PreferenceSet, *, base_version: str, idempotency_key: str
    ) -> RemoteState:
        response = self._request(
            "PUT",
            self._subject_path(),
            json={"preferences": desired.to_dict()},
            headers={"If-Match": base_version, "Idempotency-Key": idempotency_key},
        )
        return self._state(response)


__all__ = ["ConnectorError", "OpenPrefConnector", "check_base_url"]
