"""A solution of the plugin guide's exercise (docs/plugins.md, section 9): a connector for
Kettle & Co, written from the guide by changing what ``cmr connectors new kettle`` generated.
tests/conformance/test_exercise_solution.py runs the kit on it against the exercise vendor.

Kettle & Co's preferences API (v2): bearer token; ``GET /options`` (channels and
newsletters), ``GET /customers/{id}/preferences`` (``contact``, ``newsletters``; version in
``ETag``), ``PATCH`` the same path with ``If-Match`` and ``Idempotency-Key`` (partial).
Errors: ``{"error", "detail", "field"}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

from cmr_desktop.connectors.api import (
    BearerAuth,
    Catalog,
    Channel,
    ConfigField,
    Connector,
    ConnectorContext,
    ConnectorInfo,
    HttpResponse,
    InvalidResponse,
    PreferenceSet,
    RemoteState,
    Topic,
    VendorHttp,
    VendorProblem,
    base_url_problems,
)

__version__: Final = "0.1.0"  # as in pyproject.toml
VENDOR: Final = "Kettle & Co"

CHANNELS = {"email": Channel.EMAIL, "sms": Channel.SMS, "post": Channel.POSTAL}
_WORD_OF: Final = {channel: word for word, channel in CHANNELS.items()}


def our_field(field: Any) -> str | None:
    """Kettle's field path in an error (``newsletters.safety``) as ours (``topics.safety``)."""
    if not isinstance(field, str) or "." not in field:
        return None
    section, name = field.split(".", 1)
    if section == "contact" and name in CHANNELS:
        return f"channels.{CHANNELS[name]}"
    if section == "newsletters":
        return f"topics.{name}"
    return None


def _problem(body: Any) -> VendorProblem:
    read = VendorProblem.from_body(body)
    field = our_field(body.get("field")) if isinstance(body, dict) else None
    return dataclasses.replace(read, field=field)


class KettleConnector(Connector):
    """Kettle & Co, through its preferences API."""

    info = ConnectorInfo(
        id="kettle",
        name=VENDOR,
        version=__version__,
        api_version="1.2.0",
        description="Your contact preferences at Kettle & Co.",
    )
    config_fields = (
        ConfigField("api_url", "API address", help="Kettle & Co's API address (https://...)."),
        ConfigField("token", "Access token", help="From your Kettle & Co account.", secret=True),
        ConfigField("customer", "Customer id", help="As shown in your Kettle & Co account."),
    )

    def __init__(self, context: ConnectorContext) -> None:
        super().__init__(context)
        auth = BearerAuth("token")
        self.http = VendorHttp(self, base_url_field="api_url", auth=auth, problem=_problem)

    @classmethod
    def config_problems(cls, config: Mapping[str, str]) -> list[str]:
        return base_url_problems(config, "api_url")

    def catalog(self) -> Catalog:
        body = self.http.get_json("/options").object()
        channels, newsletters = body.get("channels"), body.get("newsletters")
        if not isinstance(channels, list) or not isinstance(newsletters, list):
            raise InvalidResponse(f"{VENDOR}'s options are not lists of channels and newsletters")
        topics = []
        for item in newsletters:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise InvalidResponse(f"{VENDOR} sent a newsletter without an id")
            topics.append(
                Topic(
                    item["id"],
                    str(item.get("title") or item["id"]),
                    required=bool(item.get("mandatory")),
                    reason=str(item.get("why") or "")[:300],
                )
            )
        return Catalog(
            channels=frozenset(CHANNELS[c] for c in channels if c in CHANNELS),
            topics=tuple(topics),
        )

    def read(self) -> RemoteState:
        return _state(self.http.get_json(self._path()))

    def write(
        self, desired: PreferenceSet, *, base_version: str, idempotency_key: str
    ) -> RemoteState:
        body: dict[str, Any] = {}
        if desired.channels:
            body["contact"] = {_WORD_OF[ch]: on for ch, on in desired.channels.items()}
        if desired.topics:
            body["newsletters"] = dict(desired.topics)
        answer = self.http.request(
            "PATCH",
            self._path(),
            body=body,
            headers={"If-Match": base_version, "Idempotency-Key": idempotency_key},
        )
        return _state(answer)

    def _path(self) -> str:
        customer = quote(self.context.config.get("customer", ""), safe="")
        return f"/customers/{customer}/preferences"


def _flags(body: dict[str, Any], name: str) -> dict[str, bool]:
    value = body.get(name, {})
    if not isinstance(value, dict) or not all(isinstance(v, bool) for v in value.values()):
        raise InvalidResponse(f"{VENDOR}'s {name!r} is not an object of true/false")
    return value


def _state(answer: HttpResponse) -> RemoteState:
    body = answer.object()
    contact = _flags(body, "contact")
    prefs = PreferenceSet(
        channels={CHANNELS[w]: on for w, on in contact.items() if w in CHANNELS},
        topics=_flags(body, "newsletters"),
    )
    return RemoteState(prefs, answer.required_header("ETag"))
