"""Export / import: schema, round trip at scale, all-or-nothing under broken input."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmr_desktop.interop import ImportProblem, validate_document
from cmr_desktop.services import Services
from cmr_desktop.testing.sample import sample_brands
from tests.conftest import NOW, open_services
from tests.reads import export_document


def _doc(services: Services) -> dict[str, Any]:
    doc = export_document(services)
    doc.pop("exported_at")
    return doc


def _fill(services: Services, n: int) -> None:
    with services.store.write() as uow:
        uow.brands.add_many(sample_brands(n), now=NOW)


def test_round_trip_of_1000_brands(services: Services, tmp_path: Path) -> None:
    _fill(services, 1000)
    services.preferences.apply_policy()  # no rules: must change nothing
    from cmr_desktop.domain.policy import MyTerms, NeverPurpose
    from cmr_desktop.domain.vocabulary import Purpose

    services.preferences.set_policy(MyTerms.of([NeverPurpose(Purpose.SALE)]))
    out = tmp_path / "export.json"
    with out.open("w") as fh:
        assert services.transfer.export_json(fh) == 1000
    first = json.loads(out.read_text())
    validate_document(first)
    assert len(first["brands"]) == 1000
    assert first["brands"][0]["preferences"]["grants"]  # full preferences went out

    empty = open_services(tmp_path / "empty-home")
    result = empty.transfer.import_file(out)
    assert result.applied
    assert len(result.plan.added) == 1000
    second = export_document(empty)
    first.pop("exported_at")
    second.pop("exported_at")
    assert second == first
    # Importing the same file again changes nothing.
    again = empty.transfer.import_file(out)
    assert not again.applied
    assert again.plan.unchanged == 1000
    empty.store.close()


def test_secrets_never_reach_the_database_or_an_export(services: Services, tmp_path: Path) -> None:
    secret = "tok_LIVE_5ecr3t_value_1234567890"
    services.brands.add_brand(
        "Acme",
        connector="openpref",
        connector_config={"base_url": "https://prefs.acme.example/v1", "subject": "me"},
        secrets={"token": secret},
    )
    assert services.secrets.get("acme", "token") == secret
    services.connections.set_secret("acme", "token", secret + "-2")
    assert services.secrets.get("acme", "token") == secret + "-2"
    out = tmp_path / "export.json"
    with out.open("w") as fh:
        services.transfer.export_json(fh)
    with (tmp_path / "export.csv").open("w") as fh:
        services.transfer.export_csv(fh)
    services.store.close()  # checkpoint the WAL into the main file
    files = [p for p in (tmp_path / "home").iterdir() if p.is_file()]
    files += [out, tmp_path / "export.csv"]
    assert any(p.name == "cmr.sqlite3" for p in files)
    for path in files:
        assert secret[:20].encode() not in path.read_bytes(), path


# --- fuzz: broken documents ---------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
TRICKY = st.sampled_from(
    [
        "",
        "email",
        "fax",
        "2027-02-30",
        "2027-06-30",
        "allow",
        "deny",
        "maybe",
        "-1",
        "sale",
        "weekly",
        "hourly",
        "25:00",
        "acme",
        "Acme",
        "UPPER",
        "a" * 300,
    ]
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def broken_documents(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        path = draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "tricky", "delete", "add"]))
        key = path[-1]
        if action == "replace":
            parent[key] = draw(JSON_VALUES)
        elif action == "tricky":
            parent[key] = draw(TRICKY)
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(TRICKY)] = draw(JSON_VALUES)
        else:
            parent.append(draw(JSON_VALUES))
        if not isinstance(doc, dict):
            break
    return doc


def test_broken_import_documents_give_a_clear_error_and_change_nothing(tmp_path: Path) -> None:
    source = open_services(tmp_path / "source")
    _fill(source, 3)
    source.brands.add_brand("Acme")
    source.preferences.update_preferences(
        "acme", lambda p: p.with_quiet_hours(None).with_topic("offers", True)
    )
    base = export_document(source)
    source.store.close()

    target = open_services(tmp_path / "target")
    with target.store.write() as uow:
        uow.brands.add_many(sample_brands(2, seed=7), now=NOW)
    state = {"before": _doc(target)}
    outcomes = {"rejected": 0, "accepted": 0}

    # At least 150 examples whatever the profile: the test counts the outcomes it met.
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(doc=broken_documents(base))
    def check(doc: dict[str, Any]) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".json", dir=tmp_path, delete=False) as fh:
            json.dump(doc, fh)
        path = Path(fh.name)
        problem: ImportProblem | None = None
        try:
            target.transfer.import_file(path)  # a real import, not a dry run
        except ImportProblem as exc:
            problem = exc
        finally:
            path.unlink()
        if problem is None:
            outcomes["accepted"] += 1  # the mutation happened to keep the document valid
            state["before"] = _doc(target)
            return
        outcomes["rejected"] += 1
        message = str(problem)
        assert message.startswith(str(path)), message
        assert problem.detail
        assert len(message) < 600
        assert "\n" not in message
        assert _doc(target) == state["before"]  # nothing written

    check()
    assert outcomes["rejected"] > 50, outcomes
    target.store.close()


def test_a_valid_import_is_all_or_nothing_when_the_store_fails(
    services: Services, tmp_path: Path
) -> None:
    _fill(services, 5)
    doc = export_document(services)
    # The document is valid, but the store fails half-way: a trigger refuses the 3rd new brand.
    import sqlite3

    con = sqlite3.connect(services.store.path)
    con.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON brands WHEN NEW.slug = 'zz-c' "
        "BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END"
    )
    con.commit()
    con.close()
    for i, slug in enumerate(("zz-a", "zz-b", "zz-c")):
        doc["brands"].append({**doc["brands"][i], "slug": slug})
    path = tmp_path / "import.json"
    path.write_text(json.dumps(doc))
    before = _doc(services)
    with pytest.raises(Exception, match="disk full"):  # the store's own error surfaces
        services.transfer.import_file(path)
    assert _doc(services) == before


def test_fast_read_outs_match_the_domain_objects(services: Services) -> None:
    """Listings and exports copy stored records out without building domain objects; they
    must say exactly what the domain objects say."""
    import io

    from cmr_desktop.interop.document import brand_to_dict, record_json, record_to_dict

    _fill(services, 50)
    services.preferences.update_preferences("brand-000003", lambda p: p.with_topic("zz-new", True))
    with services.store.read() as uow:
        brands = {b.slug: b for b in uow.brands.all()}
        records = uow.brands.records(order="slug")
        pending = uow.brands.pending_slugs()
    assert [r.slug for r in records] == sorted(brands)
    for r in records:
        expected = brand_to_dict(brands[r.slug])
        assert record_to_dict(r) == expected
        assert json.loads(record_json(r, pending=r.pending)) == {
            **expected,
            "pending": r.slug in pending,
        }
    out = io.StringIO()
    assert services.transfer.export_json(out) == 50
    text_doc = json.loads(out.getvalue())
    data_doc = export_document(services)
    text_doc.pop("exported_at")
    data_doc.pop("exported_at")
    assert text_doc == data_doc
    validate_document({**text_doc, "exported_at": "2026-11-24T12:00:00Z"})
