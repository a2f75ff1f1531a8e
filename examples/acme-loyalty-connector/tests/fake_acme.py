"""A fake of the Acme Loyalty Club member API (see ``acme_loyalty.connector``), on CMR Desktop's
:class:`~cmr_desktop.testing.vendor_double.VendorDouble`.

The double does the HTTP, the API key check, the revision check and the replay of a
``request_id``; this page says only what is Acme's own: the shape of a member's settings, the
409s, and what Acme refuses. One member, ``M-1``, with API key ``acme-test-key-123``.
"""

from __future__ import annotations

import copy
from typing import Any

from cmr_desktop.testing.vendor_double import (
    PreferencesResource,
    Refusal,
    Request,
    Response,
    VendorDouble,
    json_response,
)

MEMBER = "M-1"
KEY = "acme-test-key-123"
PATH = f"/api/members/{MEMBER}/contact-settings"
CADENCES = ("every-day", "once-a-week", "once-a-month")
KNOWN = {
    "mailings": ("newsletter_email", "text_messages", "paper_mail"),
    "interests": ("deals", "store-events"),
    "data_sharing": ("partners", "personalised_ads"),
}
INITIAL = {
    "member_id": MEMBER,
    "mailings": {
        "newsletter_email": {"on": True, "cadence": "once-a-week"},
        "text_messages": {"on": False},
        "paper_mail": {"on": True, "cadence": "once-a-month"},
    },
    "interests": ["deals"],
    "data_sharing": {"partners": False, "personalised_ads": True},
}


def _error(status: int, code: str, message: str, field: str | None = None) -> Refusal:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["errors"] = [{"field": field, "message": message}]
    return Refusal(status, body)


def apply_settings(state: dict[str, Any], body: Any) -> dict[str, Any]:
    """One POST's ``settings`` applied to the member (Acme's partial update), or a 422."""
    settings = body.get("settings") if isinstance(body, dict) else None
    if not isinstance(settings, dict):
        raise _error(422, "invalid_settings", "settings must be an object", "settings")
    new = copy.deepcopy(state)
    for section, entries in settings.items():
        if section not in KNOWN or not isinstance(entries, dict):
            raise _error(422, "invalid_settings", "unknown section", f"settings.{section}")
        for key, value in entries.items():
            where = f"settings.{section}.{key}"
            if key not in KNOWN[section]:
                raise _error(422, "invalid_settings", "unknown setting", where)
            if section == "mailings":
                cadence = value.get("cadence")
                if cadence is not None and cadence not in CADENCES:
                    raise _error(422, "invalid_settings", "unknown cadence", f"{where}.cadence")
                if key == "paper_mail" and cadence == "every-day":
                    message = "paper mail goes out at most once a week"
                    raise _error(422, "invalid_settings", message, f"{where}.cadence")
                new["mailings"].setdefault(key, {}).update(value)
            elif section == "interests":
                wanted = {i: i in new["interests"] for i in KNOWN["interests"]} | {key: value}
                new["interests"] = [i for i in KNOWN["interests"] if wanted[i]]
            else:
                new["data_sharing"][key] = value
    return new


def _conflict(resource: PreferencesResource, base: str) -> Response:
    code = "revision_unknown" if int(base) > resource.version else "revision_conflict"
    return json_response(409, {"code": code, "message": "base_revision is not the revision"})


def _body(request: Request) -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


class AcmeFake:
    """The fake API; use as a context manager. :attr:`url` is the ``api_url`` to configure."""

    key = KEY

    def __init__(self) -> None:
        self.double = VendorDouble()
        self.double.require_header(
            "X-Api-Key",
            KEY,
            refusal=json_response(401, {"code": "bad_api_key", "message": "key not accepted"}),
        )
        self.member = self.double.preferences(
            PATH,
            INITIAL,
            write_method="POST",
            version=12,
            apply=apply_settings,
            render=lambda state, revision: {**state, "revision": revision},
            base_version=lambda r: str(_body(r)["base_revision"]),
            idempotency_key=lambda r: str(_body(r)["request_id"]),
            conflict=_conflict,
        )

    @property
    def url(self) -> str:
        return f"{self.double.url}/api"

    @property
    def writes_applied(self) -> int:
        return self.member.writes_applied

    def settings(self) -> dict[str, Any]:
        """What Acme holds for M-1 now (in Acme's own words)."""
        return {**self.member.snapshot(), "revision": self.member.version}

    def __enter__(self) -> AcmeFake:
        self.double.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.double.__exit__(*exc)
