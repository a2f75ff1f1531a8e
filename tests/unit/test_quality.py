"""A connector's quality list (quality.toml) is read, checked and shown."""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cmr_desktop.connectors.api import Connector
from cmr_desktop.connectors.manual import ManualConnector
from cmr_desktop.connectors.openpref import OpenPrefConnector
from cmr_desktop.connectors.quality import LEVELS, RULES, level_reached, parse, quality_of

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"

ALL_DONE = "\n".join(f'{rule} = "done"' for rule in RULES)


def test_the_built_in_connectors_and_the_example_declare_a_sound_quality_list() -> None:
    acme = pytest.importorskip("acme_loyalty").AcmeLoyaltyConnector
    for cls, level in ((OpenPrefConnector, "gold"), (ManualConnector, "gold"), (acme, "silver")):
        quality = quality_of(cls)
        assert quality.problems == (), cls
        assert (quality.claimed, quality.level) == (level, level)
        assert quality.source is not None


def test_cmr_connectors_json_shows_each_connectors_quality(cmr: Any) -> None:
    res = cmr("connectors", "--json")
    assert res.code == 0, res
    by_id = {e["id"]: e for e in res.json()}
    openpref = by_id["openpref"]["quality"]
    assert openpref["level"] == "gold"
    assert openpref["file"] == "openpref.quality.toml"
    assert "retry-after-honoured" in openpref["done"]
    assert openpref["exempt"]["docs-mapping"].startswith("The Open Preference API uses")
    assert openpref["problems"] == []
    assert by_id["manual"]["quality"]["exempt"]["retry-after-honoured"] == "No HTTP."
    listing = cmr("connectors")
    assert re.search(r"^\s+quality: gold$", listing.out, re.MULTILINE), listing.out


def test_an_unknown_rule_is_a_problem_that_suggests_the_right_name() -> None:
    quality = parse('level = "bronze"\n[rules]\nretry-after-honored = "done"\n', source="q.toml")
    assert quality.problems[0] == (
        "q.toml: unknown rule 'retry-after-honored' (did you mean 'retry-after-honoured'?)"
    )


def test_a_level_that_does_not_exist_is_a_problem() -> None:
    quality = parse(f'level = "platinum"\n[rules]\n{ALL_DONE}\n', source="q.toml")
    assert quality.problems == ("q.toml: level 'platinum' is not one of bronze, silver, gold",)
    assert quality.claimed is None
    assert quality.level == "gold"


def test_a_claim_above_what_the_rules_reach_names_the_missing_rules() -> None:
    text = ALL_DONE.replace('idempotent-writes = "done"', 'idempotent-writes = "todo"')
    quality = parse(f'level = "gold"\n[rules]\n{text}\n', source="q.toml")
    assert quality.level == "bronze"
    assert quality.problems == (
        "q.toml: claims gold, but these rules are not done: idempotent-writes",
    )


def test_a_rule_left_out_counts_as_todo() -> None:
    quality = parse('level = "bronze"\n[rules]\nmetadata-valid = "done"\n', source="q.toml")
    assert quality.rules["typed-errors"] == "todo"
    assert quality.level == "none"
    assert "claims bronze, but these rules are not done: config-validated" in quality.problems[0]


def test_an_exempt_rule_needs_a_comment_and_then_counts_as_met() -> None:
    bare = parse(
        'level = "bronze"\n[rules]\ndocs-settings = { status = "exempt" }\n', source="q.toml"
    )
    assert "q.toml: rule 'docs-settings': an exempt rule needs a comment saying why" in (
        bare.problems
    )
    text = ALL_DONE.replace(
        'docs-settings = "done"', 'docs-settings = { status = "exempt", comment = "None." }'
    )
    quality = parse(f'level = "gold"\n[rules]\n{text}\n', source="q.toml")
    assert quality.problems == ()
    assert quality.comments == {"docs-settings": "None."}
    assert quality.to_dict()["exempt"] == {"docs-settings": "None."}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('level = "bronze"\n[rules]\ntyped-errors = "yes"', "rule 'typed-errors': status 'yes'"),
        ('level = "bronze"\nrules = 3', "'rules' must be a table"),
        ('lvl = "bronze"', "unknown key 'lvl'"),
        ("[rules]", "no level"),
        ('level = "bronze"\n[rules', "q.toml: Expected ']'"),
    ],
)
def test_a_malformed_file_is_listed_as_a_problem_not_raised(text: str, problem: str) -> None:
    quality = parse(text, source="q.toml")
    assert any(problem in p for p in quality.problems), quality.problems


def test_a_rule_the_class_visibly_breaks_is_a_problem() -> None:
    class NoChecks(ManualConnector):
        pass

    quality = parse(f'level = "gold"\n[rules]\n{ALL_DONE}\n', source="q.toml", cls=NoChecks)
    assert quality.problems == (
        "q.toml: config-validated is done, but the class does not override config_problems()",
    )


def test_the_levels_are_cumulative() -> None:
    silver = {r: "done" for r, (lv, _) in RULES.items() if lv in ("bronze", "silver")}
    assert level_reached(silver) == "silver"
    assert level_reached({**silver, "metadata-valid": "todo"}) == "none"
    assert level_reached(dict.fromkeys(RULES, "done")) == "gold"


@pytest.fixture
def plugin_module(tmp_path: Path) -> Iterator[Path]:
    """A package ``qplug`` on sys.path with a connector in ``qplug.conn``."""
    package = tmp_path / "qplug"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "conn.py").write_text(
        textwrap.dedent(
            """
            from cmr_desktop.connectors.manual import ManualConnector

            class QConnector(ManualConnector):
                pass
            """
        ),
        encoding="utf-8",
    )
    sys.path.insert(0, str(tmp_path))
    yield package
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m == "qplug" or m.startswith("qplug.")]:
        del sys.modules[name]


def _load(package: Path) -> type[Connector]:
    cls: type[Connector] = importlib.import_module("qplug.conn").QConnector
    return cls


def test_the_file_is_found_next_to_the_module_and_its_absence_is_said(plugin_module: Path) -> None:
    missing = quality_of(_load(plugin_module))
    assert missing.level == "none"
    assert missing.problems == ("no quality list: add quality.toml next to qplug.conn",)


def test_a_module_named_file_wins_over_the_package_one(plugin_module: Path) -> None:
    (plugin_module / "quality.toml").write_text('level = "gold"\n', encoding="utf-8")
    (plugin_module / "conn.quality.toml").write_text('level = "bronze"\n', encoding="utf-8")
    quality = quality_of(_load(plugin_module))
    assert quality.source == "conn.quality.toml"
    assert quality.claimed == "bronze"


def test_every_level_and_rule_is_explained_in_the_plugin_guide() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for level in LEVELS:
        assert f"### {level.capitalize()}" in text, level
    for rule in RULES:
        assert f"`{rule}`" in text, f"docs/plugins.md does not explain the rule {rule!r}"


def test_a_file_that_is_not_text_is_a_problem_not_a_crash(plugin_module: Path) -> None:
    (plugin_module / "quality.toml").write_bytes(b"level = \xff\n")
    quality = quality_of(_load(plugin_module))
    assert quality.level == "none"
    assert quality.problems[0].startswith("cannot read the quality list: ")


def test_the_listing_says_when_a_connector_reaches_more_than_its_file_claims() -> None:
    from cmr_desktop.connectors.quality import Quality

    more = Quality("silver", "bronze", {"docs-mapping": "todo"}, source="quality.toml")
    assert more.summary() == "silver (claims bronze; 1 todo)"
    assert Quality("gold", "gold", {}, source="quality.toml").summary() == "gold"
