"""Vendor simulator: many Open Preference API v1 vendors served from one local process.

The Open Preference API v1 (ARCHITECTURE 3.5) is the small open HTTP protocol through which
CMR Desktop reads and writes one subscriber's marketing preferences at a vendor. Its contract
is ``cmr_desktop/resources/openapi/open-preference-api-v1.yaml``. This package implements it
for any number of simulated vendors on one real HTTP/1.1 server (stdlib ``http.server``,
keep-alive, one thread per connection), with knobs that make vendors slow, flaky, rate
limited, broken or sneaky, so the sync engine and connectors can be tested against the real
thing over real sockets.

Each vendor lives under ``{root}/vendors/{vendor}/v1`` and has its own bearer token, catalog,
subjects, knobs, statistics and random generator. Every failure-injection decision comes from
that vendor's ``random.Random`` seeded from ``(seed, vendor id)``, drawn in the order requests
arrive, so the same request sequence against two simulators with the same seed meets the same
failures.

Python use (tests)::

    with VendorSimulator(default_vendors(3), seed=7) as sim:
        url = sim.base_url("vendor-001")          # http://127.0.0.1:PORT/vendors/vendor-001/v1
        sim.set_knobs("vendor-001", error_rate=0.2)
        ...
        assert sim.stats("vendor-001").writes_applied == 1

Knobs (per vendor; see :class:`Knobs`): ``latency_ms``, ``jitter_ms``, ``error_rate`` with
``error_status``, ``timeout_rate`` with ``hang_seconds``, ``rate_limit``,
``retry_after_seconds`` and ``retry_after_date`` (the ``Retry-After`` of injected 429/503),
``garbage_rate``, ``tamper_rate``, ``trickle_ms`` (slow bodies), ``huge_body_bytes`` (big
bodies), ``lax_write`` (200, but a looser value kept), ``hold_after_apply`` and
``drop_after_apply`` (a write applied, its answer held or lost), ``future_vocabulary`` (ids
of a later vocabulary in answers).
Injected failures are decided in this order, after the latency and the authentication check:
rate limit (429), hang (the request is not applied), server error (500/503; not applied),
then the request is served; an applied write may then be held or dropped; a ``200`` answer
may then have its body replaced by garbage (a write *is* applied in that case, which is what
makes idempotent retries matter), and a ``GET`` of preferences may first be preceded by a
remote tamper. Bodies are then padded (``huge_body_bytes``) or trickled (``trickle_ms``).

Request bodies are checked against that document (its schemas, compiled once: see
:mod:`~cmr_desktop.testing.simulator.schema`): a body of a shape it refuses is ``400
invalid-body`` with a detail naming the JSON path and the document's rule, e.g.
``$.preferences.channels.email.enabled: 'yes' is not of type 'boolean' (breaks
#/components/schemas/ChannelPreferenceInput/properties/enabled/type)``; values outside the
vendor's catalog are ``422 invalid-preferences`` with ``invalid-params``.

A vendor whose catalog offers no frequencies is a ``VendorSpec(frequencies=[])``: its
catalog lists ``"frequencies": []`` and a write carrying a frequency is ``422``.

Admin API (no authentication; answered only to loopback clients; JSON in and out):

``GET /admin/vendors``
    ``{"vendors": [{"id", "name", "base_url", "token"}, ...]}``.
``GET /admin/vendors/{vendor}``
    ``{"id", "name", "base_url", "token", "catalog", "knobs", "stats": {"requests",
    "writes_applied", "writes_replayed", "tampers", "writes_loosened"}, "subjects": {subject:
    {"etag", "preferences", "updated_at"}}}``.
``PATCH /admin/vendors/{vendor}/knobs``
    Body: knob changes, e.g. ``{"error_rate": 0.5}``. Answers the vendor's knobs. Unknown
    knobs or bad values: 400.
``PUT /admin/vendors/{vendor}/subjects/{subject}``
    Body: preferences (``P`` of the protocol, or ``{"preferences": P}``; ``null`` for the
    vendor's defaults); creates (201) or
    replaces (200) the subject's stored preferences and answers the subject with its new
    ``etag``. Invalid preferences: 400 (a shape the document's ``PreferencesInput`` refuses)
    or 422 (outside the catalog).
``POST /admin/vendors/{vendor}/subjects/{subject}/tamper``
    Body: partial preferences merged into the stored state (channel entries and topics are
    merged key by key, grants replace the grant with the same category and purpose,
    ``quiet_hours`` replaces); bumps the ETag and counts as a tamper, not as a write.
``POST /admin/reset``
    Every vendor back to its initial subjects, knobs, statistics and random generator.

Errors of the admin API are ``application/problem+json`` like those of the protocol.

Modules: :mod:`.spec` (what a vendor is: ``VendorSpec``, ``Topic``, ``DataUse``, ``Knobs``,
``VendorStats``, ``default_vendors``), :mod:`.schema` (bodies against the document),
:mod:`.preferences` (the catalog check, canonical order, merge), :mod:`.state` (a vendor's
mutable state), :mod:`.server` (HTTP plumbing), :mod:`.protocol` (the Open Preference API),
:mod:`.admin` (the admin API), :mod:`.inprocess` (``VendorSimulator``), :mod:`.process`
(``SimulatorProcess``, the simulator in a child process) and :mod:`.cli` (``cmr-vendor-sim``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cmr_desktop.testing.simulator.cli import main
    from cmr_desktop.testing.simulator.inprocess import VendorSimulator
    from cmr_desktop.testing.simulator.process import SimulatorProcess
    from cmr_desktop.testing.simulator.spec import (
        DataUse,
        Knobs,
        Topic,
        VendorSpec,
        VendorStats,
        default_vendors,
    )

__all__ = [
    "DataUse",
    "Knobs",
    "SimulatorProcess",
    "Topic",
    "VendorSimulator",
    "VendorSpec",
    "VendorStats",
    "default_vendors",
    "main",
]

# Each name is imported from its module when first asked for: the desktop app's demo needs
# only SimulatorProcess (its vendors run in a child process), not the HTTP server or the CLI.
_HOME = {
    "DataUse": "spec",
    "Knobs": "spec",
    "SimulatorProcess": "process",
    "Topic": "spec",
    "VendorSimulator": "inprocess",
    "VendorSpec": "spec",
    "VendorStats": "spec",
    "default_vendors": "spec",
    "main": "cli",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
