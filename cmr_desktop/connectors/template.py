"""``cmr connectors new NAME``: write a new connector plugin package that passes its tests.

The package's files are package resources under ``cmr_desktop/resources/plugin_template/``
(``*.tmpl`` files are rendered with :class:`string.Template`, ``${name}`` style; others are
copied; the folder ``PACKAGE`` becomes the Python package). The stdlib's ``string.Template``
is enough for a dozen files with six values: no template engine is needed.

For ``NAME`` = ``acme-loyalty`` and vendor ``Acme Loyalty``, it writes ``cmr-acme-loyalty/``:
the distribution ``cmr-acme-loyalty``, the package ``cmr_acme_loyalty``, the class
``AcmeLoyaltyConnector`` registered as the entry point ``acme-loyalty`` in the group
``cmr_desktop.connectors``; its tests run the conformance kit against a fake of a
placeholder API, so ``pip install -e`` and ``pytest`` accept it at once.
"""

from __future__ import annotations

import importlib.resources
import re
import shutil
import string
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

from cmr_desktop import __version__
from cmr_desktop.connectors.api import API_VERSION

#: A connector id the template accepts: lower-case words of letters and digits joined by
#: single hyphens, starting with a letter (it names the entry point, the distribution and the
#: Python package, so it is stricter than the plugin API's id rule).
NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*\Z")
MAX_NAME = 40
#: Ids of the connectors CMR Desktop ships; a plugin with one of them would be shadowed.
BUILT_IN = frozenset({"manual", "openpref"})
_PACKAGE_FOLDER = "PACKAGE"


class TemplateError(ValueError):
    """The package cannot be written; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class Names:
    """Every name the template derives from the connector's id."""

    name: str  # the connector id and entry-point name: acme-loyalty
    vendor: str  # shown to the customer: Acme Loyalty
    dist: str  # the distribution: cmr-acme-loyalty
    package: str  # the import package: cmr_acme_loyalty
    cls: str  # the connector class: AcmeLoyaltyConnector

    def values(self) -> dict[str, str]:
        return {
            "name": self.name,
            "vendor": self.vendor,
            "dist": self.dist,
            "package": self.package,
            "cls": self.cls,
            "api_version": API_VERSION,
            "cmr_version": __version__,
        }


def names_for(name: str, vendor: str | None = None) -> Names:
    """The names of a new connector package, after checking ``name`` and ``vendor``.

    Raises:
        TemplateError: ``name`` or ``vendor`` cannot be used (says which and why).
    """
    if not NAME.match(name) or len(name) > MAX_NAME:
        raise TemplateError(
            f"connector name {name!r} is not usable: use lower-case letters and digits, "
            f"words joined by single '-', starting with a letter, at most {MAX_NAME} "
            "characters (e.g. acme-loyalty)"
        )
    if name in BUILT_IN:
        raise TemplateError(f"connector name {name!r} is taken by a built-in connector")
    words = name.split("-")
    shown = " ".join(w.capitalize() for w in words) if vendor is None else vendor.strip()
    if not shown or len(shown) > 60 or any(c in shown for c in '"\\') or not shown.isprintable():
        raise TemplateError(
            f"vendor name {vendor!r} is not usable: give 1 to 60 printable characters, "
            'without " or \\'
        )
    return Names(
        name=name,
        vendor=shown,
        dist=f"cmr-{name}",
        package="cmr_" + name.replace("-", "_"),
        cls="".join(w.capitalize() for w in words) + "Connector",
    )


def _template_root() -> Traversable:
    return importlib.resources.files("cmr_desktop").joinpath("resources", "plugin_template")


def _walk(
    folder: Traversable, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Traversable]]:
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if item.name == "__pycache__":
            continue
        if item.is_dir():
            yield from _walk(item, (*prefix, item.name))
        else:
            yield (*prefix, item.name), item


def render(names: Names) -> dict[str, str]:
    """The package's files: relative path (with ``/``) -> text."""
    values = names.values()
    files = {}
    for parts, item in _walk(_template_root()):
        parts = tuple(names.package if p == _PACKAGE_FOLDER else p for p in parts)
        text = item.read_text(encoding="utf-8")
        if parts[-1].endswith(".tmpl"):
            parts = (*parts[:-1], parts[-1].removesuffix(".tmpl"))
            text = string.Template(text).substitute(values)
        files["/".join(parts)] = text
    return files


def create(name: str, *, parent: Path, vendor: str | None = None) -> Path:
    """Write the package for connector ``name`` into a new folder ``parent/cmr-NAME``.

    The folder appears whole or not at all (written next to it, then renamed).

    Returns:
        The new folder.

    Raises:
        TemplateError: a bad name, or the folder exists or cannot be written.
    """
    names = names_for(name, vendor)
    target = parent / names.dist
    if target.exists() or target.is_symlink():
        raise TemplateError(f"{target} already exists: remove it, or choose another name or --dir")
    files = render(names)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{names.dist}-", dir=parent))
    except OSError as exc:
        raise TemplateError(f"cannot write into {parent}: {exc.strerror or exc}") from None
    try:
        for rel, text in files.items():
            path = scratch.joinpath(*rel.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        scratch.chmod(0o755)
        scratch.rename(target)
    except OSError as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise TemplateError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


__all__ = ["BUILT_IN", "NAME", "Names", "TemplateError", "create", "names_for", "render"]
