"""The generated plugin API reference matches the code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docs_plugin_api_md_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts/gen_plugin_api_docs.py")
    assert spec is not None
    assert spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    expected = gen.render()
    assert "## `Connector`" in expected
    assert "RateLimited" in expected
    current = (ROOT / "docs" / "plugin-api.md").read_text(encoding="utf-8")
    assert current == expected, "run: python scripts/gen_plugin_api_docs.py"


def test_the_api_module_exports_only_what_exists() -> None:
    from cmr_desktop.connectors import api

    missing = [name for name in api.__all__ if not hasattr(api, name)]
    assert missing == []
