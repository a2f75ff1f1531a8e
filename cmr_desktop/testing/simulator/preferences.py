"""Preferences (``P`` of the protocol): checked against the document and a vendor's catalog,
put in canonical order, and merged (the admin API's tamper)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cmr_desktop.testing.simulator import schema
from cmr_desktop.testing.simulator.problems import ProblemError, bad_body
from cmr_desktop.testing.simulator.vocabulary import CHANNEL_ORDER, CHANNELS, FREQUENCIES

if TYPE_CHECKING:
    from cmr_desktop.testing.simulator.spec import VendorSpec

MEMBERS = ("channels", "topics", "grants", "quiet_hours")
"""The members of ``P``."""


def check_subject_id(subject: str) -> None:
    """Raise ``ValueError`` for a subject id the simulator cannot serve."""
    if not subject or len(subject) > 200 or "/" in subject:
        raise ValueError(f"invalid subject id {subject!r} (1-200 characters, no '/')")


def validate_preferences(spec: VendorSpec, prefs: Any, where: str = "$") -> dict[str, Any]:
    """Check preferences against the document's ``PreferencesInput`` and the vendor's catalog.

    Args:
        spec: the vendor.
        prefs: preferences (``P`` of the protocol) as decoded from JSON.
        where: the JSON path of ``prefs`` in what was sent, for the messages.

    Returns:
        A canonical copy (channels in vocabulary order, topics and grants sorted).

    Raises:
        ProblemError: 400 ``invalid-body`` for a shape the document refuses, 422
            ``invalid-preferences`` (with ``invalid-params``) for values outside the catalog.
    """
    schema.check(schema.PREFERENCES, prefs, where)
    return fit_catalog(spec, prefs)


def fit_catalog(spec: VendorSpec, prefs: Mapping[str, Any]) -> dict[str, Any]:
    """Preferences the document accepts, checked against the vendor's catalog.

    Returns:
        A canonical copy.

    Raises:
        ProblemError: 422 ``invalid-preferences`` for values outside the catalog.
    """
    params = catalog_problems(spec, prefs)
    if params:
        raise ProblemError(
            422,
            "invalid-preferences",
            "The preferences do not fit the vendor's catalog",
            f"{len(params)} value(s) are outside the catalog of {spec.id}",
            extra={"invalid-params": params},
        )
    return canonical(prefs)


def catalog_problems(spec: VendorSpec, prefs: Mapping[str, Any]) -> list[dict[str, str]]:
    """What in well-shaped preferences falls outside the vendor's catalog (what the document
    leaves to the catalog: the ids, required topics, one grant per data use, and quiet hours
    whose start and end differ)."""
    params: list[dict[str, str]] = []

    def bad(name: str, reason: str) -> None:
        params.append({"name": name, "reason": reason})

    for ch, entry in prefs["channels"].items():
        if ch not in spec.channels:
            known = "unknown channel" if ch not in CHANNELS else "channel not offered"
            bad(f"channels.{ch}", f"{known} (offered: {', '.join(spec.channels)})")
            continue
        freq = entry.get("frequency")
        if freq is not None and freq not in spec.frequencies:
            known = "unknown frequency" if freq not in FREQUENCIES else "frequency not offered"
            bad(
                f"channels.{ch}.frequency",
                f"{known} {freq!r} (offered: {', '.join(spec.frequencies) or 'none'})",
            )
    topic_ids = {t.id for t in spec.topics}
    for topic, wanted in prefs["topics"].items():
        if topic not in topic_ids:
            bad(f"topics.{topic}", "not a topic of this vendor's catalog")
        elif not wanted and topic in spec.required_topics:
            bad(f"topics.{topic}", "a required topic cannot be turned off")
    seen: set[tuple[str, str]] = set()
    for i, grant in enumerate(prefs["grants"]):
        key = (grant["category"], grant["purpose"])
        if key in seen:
            bad(f"grants[{i}]", f"a second grant for {key[0]}/{key[1]}")
        elif key not in spec.data_uses:  # DataUse is a (category, purpose) tuple
            bad(f"grants[{i}]", f"the vendor does not ask for {key[0]}/{key[1]}")
        seen.add(key)
    quiet = prefs["quiet_hours"]
    if quiet is not None and quiet["start"] == quiet["end"]:
        bad("quiet_hours", "start and end are the same")
    return params


def canonical(prefs: Mapping[str, Any]) -> dict[str, Any]:
    """``prefs`` with channels in vocabulary order, topics and grants sorted."""
    channels: dict[str, dict[str, Any]] = {}
    for ch in sorted(prefs["channels"], key=lambda c: (CHANNEL_ORDER.get(c, 99), c)):
        entry = prefs["channels"][ch]
        out: dict[str, Any] = {}
        if "enabled" in entry:
            out["enabled"] = entry["enabled"]
        if entry.get("frequency") is not None:
            out["frequency"] = entry["frequency"]
        channels[ch] = out
    grants = []
    for g in sorted(prefs["grants"], key=lambda g: (g["category"], g["purpose"])):
        item = {"category": g["category"], "purpose": g["purpose"], "decision": g["decision"]}
        if g.get("expires") is not None:
            item["expires"] = g["expires"]
        grants.append(item)
    quiet = prefs["quiet_hours"]
    return {
        "channels": channels,
        "topics": dict(sorted(prefs["topics"].items())),
        "grants": grants,
        "quiet_hours": None if quiet is None else {"start": quiet["start"], "end": quiet["end"]},
    }


def merge(stored: Mapping[str, Any], change: Any) -> dict[str, Any]:
    """Partial preferences ``change`` merged into ``stored`` (see the admin ``tamper``).

    Channel entries and topics are merged key by key (a ``null`` in a channel entry removes
    that member), a grant replaces the grant with the same category and purpose,
    ``quiet_hours`` replaces. Only what the merge needs is checked here: the merged
    preferences are then checked against the document and the catalog.

    Raises:
        ProblemError: 400 ``invalid-body`` when ``change`` cannot be merged.
    """
    if not isinstance(change, Mapping):
        raise bad_body("a tamper must be an object of partial preferences")
    unknown = [k for k in change if k not in MEMBERS]
    if unknown:
        raise bad_body(f"unknown member(s): {', '.join(map(str, unknown))}")
    out = copy.deepcopy(dict(stored))
    channels = _mergeable(change, "channels", Mapping, "an object")
    for ch, entry in channels.items():
        if not isinstance(entry, Mapping):
            raise bad_body(f"$.channels.{ch} must be an object")
        merged = {**out["channels"].get(ch, {}), **entry}
        out["channels"][ch] = {k: v for k, v in merged.items() if v is not None}
    out["topics"].update(_mergeable(change, "topics", Mapping, "an object"))
    for grant in _mergeable(change, "grants", list, "an array"):
        if not isinstance(grant, Mapping):
            raise bad_body("$.grants: every grant must be an object")
        key = (grant.get("category"), grant.get("purpose"))
        out["grants"] = [g for g in out["grants"] if (g["category"], g["purpose"]) != key]
        out["grants"].append(dict(grant))
    if "quiet_hours" in change:
        out["quiet_hours"] = change["quiet_hours"]
    return out


def _mergeable(change: Mapping[str, Any], name: str, kind: type, what: str) -> Any:
    if name not in change:
        return {} if kind is Mapping else []
    value = change[name]
    if not isinstance(value, kind):
        raise bad_body(f"$.{name} must be {what}")
    return value
