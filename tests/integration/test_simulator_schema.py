"""The simulator checks request bodies against the OpenAPI document, and says where and why.

A body the document's schemas refuse is ``400 invalid-body`` whose detail names the JSON path
of the offending value and the rule of the document it breaks (a JSON pointer to the keyword),
so the document is the one source of truth for the shape of a body.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from cmr_desktop.testing.simulator import VendorSimulator, default_vendors, schema

V = "vendor-001"
AUTH = {"Authorization": "Bearer token-vendor-001"}
TIMEOUT = (5, 10)
PROBLEM = "https://openpref.example/problems/"
DOC: dict[str, Any] = yaml.safe_load(schema.SPEC_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def sim() -> Iterator[VendorSimulator]:
    with VendorSimulator(default_vendors(1, seed=1), seed=3) as s:
        yield s


def _valid(sim: VendorSimulator) -> dict[str, Any]:
    """Preferences that fit vendor-001's catalog, with a grant that ends and quiet hours."""
    prefs = copy.deepcopy(sim.state(V)["subject-001"]["preferences"])
    prefs["grants"][0] = {**prefs["grants"][0], "decision": "allow", "expires": "2027-06-30"}
    prefs["quiet_hours"] = {"start": "21:00", "end": "08:00"}
    return prefs


def _write(sim: VendorSimulator, body: Any) -> requests.Response:
    etag = sim.state(V)["subject-001"]["etag"]
    return requests.put(
        f"{sim.base_url(V)}/subjects/subject-001/preferences",
        data=json.dumps(body),
        headers={
            **AUTH,
            "Content-Type": "application/json",
            "If-Match": etag,
            "Idempotency-Key": f"k-{hash(json.dumps(body, sort_keys=True))}",
        },
        timeout=TIMEOUT,
    )


def _refused(r: requests.Response) -> str:
    """The detail of a 400 invalid-body answer."""
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == PROBLEM + "invalid-body"
    detail: str = problem["detail"]
    return detail


def _rule(detail: str) -> str:
    """The rule a detail names: ``... (breaks #/components/...)``."""
    return detail.split("(breaks ", 1)[1].split(")", 1)[0]


def _keyword_in_document(pointer: str) -> Any:
    node: Any = DOC
    for part in pointer.removeprefix("#/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def test_a_write_with_a_wrong_type_is_refused_naming_the_path_and_the_rule(
    sim: VendorSimulator,
) -> None:
    prefs = _valid(sim)
    prefs["channels"]["email"]["enabled"] = "yes"
    detail = _refused(_write(sim, {"preferences": prefs}))
    assert detail.startswith("$.preferences.channels.email.enabled: 'yes' is not of type")
    assert _rule(detail) == "#/components/schemas/ChannelPreferenceInput/properties/enabled/type"
    assert sim.stats(V).writes_applied == 0


def test_a_write_missing_a_required_member_is_refused_naming_it(sim: VendorSimulator) -> None:
    prefs = _valid(sim)
    del prefs["quiet_hours"]
    detail = _refused(_write(sim, {"preferences": prefs}))
    assert detail.startswith("$.preferences: 'quiet_hours' is a required property")
    assert _rule(detail) == "#/components/schemas/PreferencesInput/required"
    grant = _valid(sim)
    del grant["grants"][0]["purpose"]
    detail = _refused(_write(sim, {"preferences": grant}))
    assert detail.startswith("$.preferences.grants[0]: 'purpose' is a required property")
    assert _rule(detail) == "#/components/schemas/GrantInput/oneOf/0/required"


def test_a_write_with_a_member_the_document_forbids_is_refused_naming_it(
    sim: VendorSimulator,
) -> None:
    prefs = _valid(sim)
    prefs["loyalty_tier"] = "gold"
    detail = _refused(_write(sim, {"preferences": prefs}))
    assert detail.startswith("$.preferences: Additional properties are not allowed")
    assert "'loyalty_tier' was unexpected" in detail
    assert _rule(detail) == "#/components/schemas/PreferencesInput/additionalProperties"
    outer = _refused(_write(sim, {"preferences": _valid(sim), "note": "hi"}))
    assert outer.startswith("$: Additional properties are not allowed ('note' was unexpected)")
    assert _rule(outer) == "#/components/schemas/PreferencesUpdate/additionalProperties"


def test_a_deny_grant_with_an_end_date_is_blamed_on_the_end_date(sim: VendorSimulator) -> None:
    prefs = _valid(sim)
    prefs["grants"][0]["decision"] = "deny"  # it still has "expires"
    detail = _refused(_write(sim, {"preferences": prefs}))
    assert detail.startswith("$.preferences.grants[0]: Additional properties are not allowed")
    assert "'expires' was unexpected" in detail
    assert _rule(detail) == "#/components/schemas/GrantInput/oneOf/1/additionalProperties"


def test_a_decision_of_neither_kind_names_the_ones_allowed(sim: VendorSimulator) -> None:
    prefs = _valid(sim)
    prefs["grants"][0] = {**prefs["grants"][0], "decision": "maybe"}
    del prefs["grants"][0]["expires"]
    detail = _refused(_write(sim, {"preferences": prefs}))
    assert detail.startswith("$.preferences.grants[0].decision: 'maybe' is not one of")
    assert "'allow', 'deny'" in detail
    assert _rule(detail) == "#/components/schemas/GrantInput/oneOf"


def test_an_end_date_that_is_no_day_is_refused_by_the_documents_format(
    sim: VendorSimulator,
) -> None:
    prefs = _valid(sim)
    prefs["grants"][0]["expires"] = "2027-02-30"
    detail = _refused(_write(sim, {"preferences": prefs}))
    assert detail.startswith("$.preferences.grants[0].expires: '2027-02-30' is not a 'date'")
    assert _rule(detail) == "#/components/schemas/GrantInput/oneOf/0/properties/expires/format"


def test_a_time_with_a_trailing_newline_is_refused_as_json_schema_reads_patterns(
    sim: VendorSimulator,
) -> None:
    # JSON Schema patterns are ECMA-262: "$" is the end of the string. Python's re.match
    # (the old hand-written check) let "21:00\n" through.
    prefs = _valid(sim)
    prefs["quiet_hours"]["start"] = "21:00\n"
    detail = _refused(_write(sim, {"preferences": prefs}))
    assert detail.startswith("$.preferences.quiet_hours.start: '21:00\\n' does not match")
    assert _rule(detail) == "#/components/schemas/HHMM/pattern"


def test_quiet_hours_of_neither_form_say_which_forms_there_are(sim: VendorSimulator) -> None:
    prefs = _valid(sim)
    prefs["quiet_hours"] = "nights"
    detail = _refused(_write(sim, {"preferences": prefs}))
    assert detail.startswith("$.preferences.quiet_hours: 'nights' fits none of the allowed")
    assert "not of type 'null'" in detail
    assert "not of type 'object'" in detail
    assert _rule(detail) == "#/components/schemas/QuietHoursOrNull/oneOf"


def test_every_rule_named_is_a_keyword_of_the_document(sim: VendorSimulator) -> None:
    bodies = []
    for change in (
        lambda p: p["channels"]["email"].update(enabled=1),
        lambda p: p["channels"]["email"].update(colour="red"),
        lambda p: p["topics"].update(offers="yes"),
        lambda p: p.update(grants={}),
        lambda p: p["grants"].append("x"),
        lambda p: p.update(quiet_hours={"start": "25:00", "end": "08:00"}),
        lambda p: p.update(quiet_hours={"start": "20:00"}),
        lambda p: p.pop("channels"),
    ):
        prefs = _valid(sim)
        change(prefs)
        bodies.append({"preferences": prefs})
    bodies += [[], {"preferences": []}, {}]
    for body in bodies:
        rule = _rule(_refused(_write(sim, body)))
        keyword = rule.rsplit("/", 1)[1]
        assert keyword in _keyword_in_document(rule.rsplit("/", 1)[0]), rule


def test_ids_outside_the_catalog_are_still_422_with_invalid_params(sim: VendorSimulator) -> None:
    prefs = _valid(sim)
    prefs["channels"]["fax"] = {"enabled": True}  # the document's shape; not the catalog's
    r = _write(sim, {"preferences": prefs})
    assert r.status_code == 422, r.text
    assert r.json()["invalid-params"][0]["name"] == "channels.fax"


def test_the_admin_api_names_the_path_in_the_body_it_was_sent(sim: VendorSimulator) -> None:
    url = f"{sim.url}/admin/vendors/{V}/subjects/new-subject"
    prefs = _valid(sim)
    prefs["topics"]["offers"] = "yes"
    wrapped = _refused(requests.put(url, json={"preferences": prefs}, timeout=TIMEOUT))
    assert wrapped.startswith("$.preferences.topics.offers: 'yes' is not of type 'boolean'")
    bare = _refused(requests.put(url, json=prefs, timeout=TIMEOUT))
    assert bare.startswith("$.topics.offers: 'yes' is not of type 'boolean'")
    topics = "#/components/schemas/PreferencesInput/properties/topics"
    assert _rule(bare) == topics + "/additionalProperties/type"
    assert "new-subject" not in sim.state(V)


def test_the_python_api_raises_the_same_words(sim: VendorSimulator) -> None:
    prefs = _valid(sim)
    prefs["grants"][0]["decision"] = "deny"
    with pytest.raises(ValueError, match=r"^\$\.grants\[0\]: Additional properties .*'expires'"):
        sim.add_subject(V, "s-9", prefs)
    with pytest.raises(ValueError, match=r"^\$\.quiet_hours\.end: '24:00' does not match"):
        sim.tamper(V, "subject-001", {"quiet_hours": {"start": "22:00", "end": "24:00"}})


def test_the_document_decides_what_is_refused(
    sim: VendorSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule changed in the document changes the simulator: no shape is checked by hand."""
    changed = copy.deepcopy(DOC)
    topics = changed["components"]["schemas"]["PreferencesInput"]["properties"]["topics"]
    topics["maxProperties"] = 1
    spec = tmp_path / "openapi.yaml"
    spec.write_text(yaml.safe_dump(changed), encoding="utf-8")
    prefs = _valid(sim)
    assert len(prefs["topics"]) > 1
    assert _write(sim, {"preferences": prefs}).status_code == 200
    if schema._warming is not None:
        schema._warming.join()  # the compile start() began is done: none after the switch
    monkeypatch.setattr(schema, "SPEC_PATH", spec)
    monkeypatch.setattr(schema, "_DOC", None)
    monkeypatch.setattr(schema, "_compiled", {})
    prefs["quiet_hours"] = None  # another body: not a replay of the first write
    detail = _refused(_write(sim, {"preferences": prefs}))
    assert detail.startswith("$.preferences.topics: ")
    assert _rule(detail) == "#/components/schemas/PreferencesInput/properties/topics/maxProperties"


def _mutations(value: Any) -> Iterator[Any]:
    """``value`` with one part replaced, removed or added, every way this test knows."""
    odd: list[Any] = [None, 0, 1.5, True, "", "x", "21:00\n", "2027-02-30", [], {}, ["x"]]
    yield from odd
    if isinstance(value, dict):
        for key in value:
            yield {k: v for k, v in value.items() if k != key}
            for changed in _mutations(value[key]):
                yield {**value, key: changed}
        yield {**value, "unexpected": 1}
    if isinstance(value, list):
        for i, item in enumerate(value):
            for changed in _mutations(item):
                yield [*value[:i], changed, *value[i + 1 :]]


def test_the_fast_check_and_jsonschema_agree_on_every_body(sim: VendorSimulator) -> None:
    valid = {"preferences": _valid(sim)}
    deny = copy.deepcopy(valid)
    deny["preferences"]["grants"][0] = {"category": "contact", "purpose": "x", "decision": "deny"}
    bodies = [valid, deny, *_mutations(valid), *_mutations(deny)]
    assert len(bodies) > 500
    verdicts = [schema.verdicts(schema.WRITE_BODY, body) for body in bodies]
    disagree = [body for body, (fast, ref) in zip(bodies, verdicts, strict=True) if fast != ref]
    assert disagree == []
    assert {fast for fast, _ in verdicts} == {True, False}  # both verdicts were reached


def test_the_demo_imports_its_simulator_client_without_the_server_or_the_schemas() -> None:
    """The demo imports TetheredSimulator on its way to a filled window: not the HTTP server,
    the CLI or the schema libraries (the child process needs those). The simulator reads the
    document and compiles the fast check for the first body it checks, and imports
    jsonschema only for the first body it refuses."""
    script = (
        "import sys, json, requests\n"
        "heavy = ('yaml', 'jsonschema', 'fastjsonschema', 'http.server', 'click')\n"
        "mods = lambda: [m for m in heavy if m in sys.modules]\n"
        "from cmr_desktop.testing.tethered import TetheredSimulator\n"
        "print(mods())\n"
        "from cmr_desktop.testing.simulator import VendorSimulator, default_vendors\n"
        "with VendorSimulator(default_vendors(1)) as sim:\n"
        "    url = sim.base_url('vendor-001') + '/subjects/subject-001/preferences'\n"
        "    s = sim.state('vendor-001')['subject-001']\n"
        "    h = {'Authorization': 'Bearer token-vendor-001', 'If-Match': s['etag'],\n"
        "         'Idempotency-Key': 'k1'}\n"
        "    r = requests.put(url, json={'preferences': s['preferences']}, headers=h)\n"
        "    print(r.status_code, mods())\n"
        "    h['Idempotency-Key'] = 'k2'\n"
        "    r = requests.put(url, json={'preferences': []}, headers=h)\n"
        "    print(r.status_code, mods())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=True,
    ).stdout.splitlines()
    assert out == [
        "[]",
        "200 ['yaml', 'fastjsonschema', 'http.server']",
        "400 ['yaml', 'jsonschema', 'fastjsonschema', 'http.server']",
    ]
