"""The simulator's admin API: what tests and scripts use to look at and steer the vendors.

No authentication; answered only to loopback clients; JSON in and out. Errors are
``application/problem+json`` like those of the protocol. See the package's documentation for
the routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmr_desktop.testing.simulator.preferences import (
    check_subject_id,
    merge,
    validate_preferences,
)
from cmr_desktop.testing.simulator.problems import bad_body, method_not_allowed, not_found
from cmr_desktop.testing.simulator.server import Response, ok, parse_json
from cmr_desktop.testing.simulator.state import Vendor

if TYPE_CHECKING:
    from cmr_desktop.testing.simulator.inprocess import VendorSimulator


def serve(sim: VendorSimulator, method: str, route: list[str], body: bytes) -> Response:
    """Answer one request to ``/admin`` (``route``: the path after it).

    Raises:
        ProblemError: the answer is a problem.
    """
    if route == ["reset"]:
        if method != "POST":
            raise method_not_allowed(method, "POST")
        sim.reset()
        return ok({"reset": True})
    if route == ["vendors"]:
        if method != "GET":
            raise method_not_allowed(method, "GET")
        return ok({"vendors": [_vendor_summary(sim, v) for v in sim._vendors.values()]})
    if len(route) < 2 or route[0] != "vendors":
        raise not_found("no such admin resource")
    vendor = sim._vendors.get(route[1])
    if vendor is None:
        raise not_found(f"no vendor {route[1]!r} here")
    rest = route[2:]
    if not rest:
        if method != "GET":
            raise method_not_allowed(method, "GET")
        return ok(_vendor_detail(sim, vendor))
    if rest == ["knobs"]:
        if method == "GET":
            return ok(vendor.knobs.to_dict())
        if method != "PATCH":
            raise method_not_allowed(method, "GET, PATCH")
        changes = parse_json(body)
        if not isinstance(changes, dict):
            raise bad_body("send an object of knob changes")
        try:
            knobs = sim.set_knobs(vendor.spec.id, **changes)
        except (ValueError, TypeError) as exc:
            raise bad_body(str(exc)) from None
        return ok(knobs.to_dict())
    if len(rest) in (2, 3) and rest[0] == "subjects":
        subject = rest[1]
        if len(rest) == 2:
            if method == "GET":
                with vendor.lock:
                    entry = vendor.subjects.get(subject)
                    if entry is None:
                        raise not_found(f"no subject {subject!r} at {vendor.spec.id}")
                    return ok({"subject": subject, **entry.to_json()})
            if method != "PUT":
                raise method_not_allowed(method, "GET, PUT")
            return _put_subject(vendor, subject, body)
        if rest[2] == "tamper":
            if method != "POST":
                raise method_not_allowed(method, "POST")
            return _tamper(vendor, subject, body)
    raise not_found("no such admin resource")


def _put_subject(vendor: Vendor, subject: str, body: bytes) -> Response:
    doc, where = parse_json(body), "$"
    if isinstance(doc, dict) and set(doc) == {"preferences"}:
        doc, where = doc["preferences"], "$.preferences"
    try:
        check_subject_id(subject)
    except ValueError as exc:
        raise bad_body(str(exc)) from None
    # null: the vendor's defaults for a new subject (as VendorSimulator.add_subject).
    prefs = (
        vendor.spec.default_preferences()
        if doc is None
        else validate_preferences(vendor.spec, doc, where)
    )
    with vendor.lock:
        created = subject not in vendor.subjects
        entry = vendor.store(subject, prefs)
        return ok(
            {"subject": subject, **entry.to_json()},
            status=201 if created else 200,
            headers={"ETag": entry.etag},
        )


def _tamper(vendor: Vendor, subject: str, body: bytes) -> Response:
    change = parse_json(body)
    with vendor.lock:
        entry = vendor.subjects.get(subject)
        if entry is None:
            raise not_found(f"no subject {subject!r} at {vendor.spec.id}")
        prefs = validate_preferences(vendor.spec, merge(entry.preferences, change))
        entry = vendor.store(subject, prefs)
        vendor.count(tampers=1)
        return ok({"subject": subject, **entry.to_json()}, headers={"ETag": entry.etag})


def _vendor_summary(sim: VendorSimulator, vendor: Vendor) -> dict[str, Any]:
    return {
        "id": vendor.spec.id,
        "name": vendor.spec.name,
        "base_url": sim.base_url(vendor.spec.id),
        "token": vendor.spec.token,
    }


def _vendor_detail(sim: VendorSimulator, vendor: Vendor) -> dict[str, Any]:
    with vendor.lock:
        return {
            **_vendor_summary(sim, vendor),
            "catalog": vendor.spec.catalog(),
            "knobs": vendor.knobs.to_dict(),
            "stats": vendor.stats.to_dict(),
            "subjects": {s: e.to_json() for s, e in vendor.subjects.items()},
        }
