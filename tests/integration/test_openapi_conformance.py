"""The Open Preference API v1 document is valid, and the simulator conforms to it.

The document is checked with openapi-spec-validator, its examples against its own schemas,
and the simulator is fuzzed with schemathesis from the document (positive and negative data)
with the checks ``not_a_server_error``, ``status_code_conformance``,
``content_type_conformance`` and ``response_schema_conformance``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import jsonschema
import pytest
import schemathesis
import yaml
from openapi_spec_validator import validate as validate_openapi
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import cmr_desktop
from cmr_desktop.testing.simulator import DataUse, Topic, VendorSimulator, VendorSpec

SPEC_PATH = (
    Path(cmr_desktop.__file__).parent / "resources" / "openapi" / "open-preference-api-v1.yaml"
)
DOC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))

# A vendor whose catalog fits the document's examples, so the examples succeed end to end.
VENDOR = VendorSpec(
    id="acme-outdoor",
    name="Acme Outdoor",
    token="token-acme",
    channels=["email", "sms", "postal"],
    frequencies=["daily", "weekly", "monthly"],
    topics=[
        Topic("offers", "Offers and discounts"),
        Topic("newsletter", "Newsletter"),
        Topic("order-updates", "Order and delivery updates", required=True),
    ],
    data_uses=[
        DataUse("contact", "marketing"),
        DataUse("location", "advertising"),
        DataUse("purchase_history", "marketing"),
        DataUse("purchase_history", "personalization"),
    ],
    subjects={"subject-001": None, "subject-002": None},
)
AUTH = {"Authorization": f"Bearer {VENDOR.token}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_path(SPEC_PATH)
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    max_examples=100,
    deterministic=True,
)


@pytest.fixture(scope="module")
def simulator() -> Iterator[VendorSimulator]:
    with VendorSimulator([VENDOR], seed=1) as sim:
        yield sim


# --- the document itself ----------------------------------------------------------------


def test_document_is_valid_openapi_3_1() -> None:
    assert DOC["openapi"] == "3.1.0"
    validate_openapi(DOC)  # raises on any violation of the OpenAPI 3.1 schema


def test_invalid_documents_are_refused() -> None:
    """The validator used above does catch mistakes (so the test above can fail)."""
    broken = {**DOC, "paths": {"/catalog": {"get": {"responses": "not a map"}}}}
    with pytest.raises(Exception, match=r"not a map|is not of type"):
        validate_openapi(broken)


def _examples() -> Iterator[tuple[str, str, Any]]:
    """(where, schema ref, example value) for every example attached to a media type."""
    for path, item in DOC["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            bodies = [("request", op.get("requestBody", {}))]
            bodies += [(status, r) for status, r in op["responses"].items()]
            for status, holder in bodies:
                holder = _resolve(holder)
                for media in holder.get("content", {}).values():
                    ref = media["schema"]["$ref"]
                    named = {k: _resolve(v)["value"] for k, v in media.get("examples", {}).items()}
                    if "example" in media:
                        named["example"] = media["example"]
                    for name, value in named.items():
                        yield f"{method.upper()} {path} {status} {name}", ref, value


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = DOC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


EXAMPLES = list(_examples())


def test_every_operation_has_examples() -> None:
    where = {w.split(" ")[0] + " " + w.split(" ")[1] for w, _, _ in EXAMPLES}
    assert where == {
        "GET /catalog",
        "GET /subjects/{subject}/preferences",
        "PUT /subjects/{subject}/preferences",
    }
    assert len(EXAMPLES) >= 15


@pytest.mark.parametrize(("where", "ref", "value"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_examples_match_their_schemas(where: str, ref: str, value: Any) -> None:
    validator = jsonschema.Draft202012Validator(
        {**DOC, "$ref": ref}, format_checker=jsonschema.FormatChecker()
    )
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)]
    assert errors == [], where


def test_schemas_refuse_what_the_protocol_refuses() -> None:
    """The schemas are strict where the protocol is (so the examples test can fail)."""
    prefs = _resolve({"$ref": "#/components/examples/PreferencesDocument"})["value"]
    validator = jsonschema.Draft202012Validator(
        {**DOC, "$ref": "#/components/schemas/PreferencesDocument"}
    )
    assert validator.is_valid(prefs)
    bad_channel = {
        **prefs,
        "preferences": {**prefs["preferences"], "channels": {"Fax Machine!": {}}},
    }
    assert not validator.is_valid(bad_channel)
    # An id of a later vocabulary is well-formed: clients ignore it (see Vocabulary).
    later = {**prefs, "preferences": {**prefs["preferences"], "channels": {"fax": {}}}}
    assert validator.is_valid(later)
    expiring_deny = {
        **prefs,
        "preferences": {
            **prefs["preferences"],
            "grants": [
                {
                    "category": "contact",
                    "purpose": "sale",
                    "decision": "deny",
                    "expires": "2027-01-01",
                }
            ],
        },
    }
    assert not validator.is_valid(expiring_deny)
    assert not validator.is_valid({**prefs, "preferences": {**prefs["preferences"], "x": 1}})


# --- the simulator against the document (schemathesis) ----------------------------------


def _pick(case: Any, salt: str) -> int:
    """A stable number from a generated case, to steer some cases to existing subjects."""
    text = f"{salt}|{case.method}|{case.path_parameters}|{case.headers}|{case.body!r}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def _call(case: Any, simulator: VendorSimulator) -> Any:
    """Send a generated case to the simulator, checked against the document."""
    params = case.path_parameters
    # Random subjects are almost never known: send most cases to existing subjects, and most
    # writes with the current version, so that the 200/412/422 paths are fuzzed as well.
    if params is not None and "subject" in params and _pick(case, "subject") % 4:
        params["subject"] = "subject-001"
    if case.method == "PUT" and case.headers is not None and "If-Match" in case.headers:
        current = simulator.state("acme-outdoor").get(str(params["subject"]))
        if current is not None and _pick(case, "etag") % 3:
            case.headers["If-Match"] = current["etag"]
    return case.call_and_validate(
        base_url=simulator.base_url(VENDOR.id), headers=dict(AUTH), checks=CHECKS, timeout=10
    )


@schema.parametrize()
@hypothesis.settings(
    deadline=None, database=None, suppress_health_check=list(hypothesis.HealthCheck)
)
def test_simulator_conforms_to_the_document(case: Any, simulator: VendorSimulator) -> None:
    _call(case, simulator)


def test_fuzzing_reached_every_outcome(simulator: VendorSimulator) -> None:
    """Fuzzing from the document goes past the error paths into reads and writes that
    succeed (its own derandomized run, so it holds alone and in any order)."""
    seen: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = hypothesis.strategies.one_of(
            operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
            operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
        )

        @hypothesis.given(case=strategy)
        @hypothesis.settings(
            max_examples=100,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.generate],
        )
        def fuzz(case: Any) -> None:
            response = _call(case, simulator)
            seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)

        fuzz()
    assert {200} <= seen["GET /catalog"]
    assert {200, 404} <= seen["GET /subjects/{subject}/preferences"]
    assert {200, 400, 404, 412, 422, 428} <= seen["PUT /subjects/{subject}/preferences"]
