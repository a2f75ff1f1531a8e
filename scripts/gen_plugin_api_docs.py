"""Write docs/plugin-api.md from the docstrings of cmr_desktop.connectors.api.

Run: python scripts/gen_plugin_api_docs.py   (a test checks the file is up to date)
"""

from __future__ import annotations

import enum
import inspect
import sys
from pathlib import Path

from cmr_desktop.connectors import api

OUT = Path(__file__).resolve().parent.parent / "docs" / "plugin-api.md"
# Re-exported vocabulary and domain types: listed after the API's own names, enums with
# their members.
REEXPORTED = {
    "Channel",
    "DataCategory",
    "Decision",
    "Frequency",
    "Grant",
    "PreferenceSet",
    "Purpose",
    "QuietHours",
}


def _doc(obj: object) -> str:
    text = inspect.cleandoc(obj.__doc__ or "").strip()
    return f"```text\n{text}\n```" if text else ""


def render() -> str:
    lines = [
        "# Plugin API reference (`cmr_desktop.connectors.api`)",
        "",
        "Generated from the docstrings by `scripts/gen_plugin_api_docs.py`; do not edit.",
        f"API version: `{api.API_VERSION}`.",
        "",
        _doc(api),
        "",
    ]
    names = [n for n in api.__all__ if n not in REEXPORTED and n != "API_VERSION"]
    vocabulary = [n for n in api.__all__ if n in REEXPORTED]
    for name in [*names, "", *vocabulary]:
        if not name:
            lines += [
                "# Vocabulary and preferences (re-exported from `cmr_desktop.domain`)",
                "",
                "The words a connector maps its vendor's words to, and the preference set it"
                " reads and writes.",
                "",
            ]
            continue
        obj = getattr(api, name)
        if inspect.isclass(obj) and issubclass(obj, enum.Enum):
            members = ", ".join(f"`{m.name}` (`{m.value}`)" for m in obj)
            lines += [f"## `{name}`", "", _doc(obj), "", f"Members: {members}.", ""]
        elif inspect.isclass(obj):
            sig = ""
            if not issubclass(obj, BaseException) and name != "Connector":
                try:
                    sig = str(inspect.signature(obj))
                except (TypeError, ValueError):
                    sig = ""
            lines += [f"## `{name}{sig}`", "", _doc(obj), ""]
            for attr, member in sorted(vars(obj).items()):
                if attr.startswith("_"):
                    continue
                func = member.__func__ if isinstance(member, classmethod) else member
                if inspect.isfunction(func) and func.__doc__:
                    lines += [
                        f"### `{name}.{attr}{inspect.signature(func)}`",
                        "",
                        _doc(func),
                        "",
                    ]
        elif inspect.isfunction(obj):
            lines += [f"## `{name}{inspect.signature(obj)}`", "", _doc(obj), ""]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
