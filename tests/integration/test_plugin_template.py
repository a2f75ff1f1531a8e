"""`cmr connectors new NAME` writes a plugin package that installs and passes its own tests.

The slow test does what a plugin author does: generate a package, ``pip install -e`` it
into a fresh virtual environment (offline: ``--no-deps --no-build-isolation``, CMR Desktop,
pytest and setuptools come from the environment running this suite), run its pytest, and
ask ``cmr connectors --json`` in that environment whether the new connector is ok.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from cmr_desktop.connectors.template import create, names_for, render

NAME = "tiny-vendor"


def _venv(where: Path) -> Path:
    """A throw-away venv that sees this environment's packages; returns its python."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(where)],
        check=True,
        timeout=60,
    )
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    # --system-site-packages sees the base interpreter's packages; when this suite runs in a
    # venv, CMR Desktop, pytest and pip are in *this* venv's site-packages: add those (with
    # their .pth files, which editable installs need) after the new venv's own.
    ours = [p for p in (*site.getsitepackages(), sysconfig.get_path("purelib")) if Path(p).is_dir()]
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in dict.fromkeys(ours))
    Path(purelib, "_cmr_parent_env.pth").write_text(lines, encoding="utf-8")
    return python


def _run(
    args: list[str | Path], *, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_a_generated_plugin_installs_and_passes_its_own_tests(cmr: Any, tmp_path: Path) -> None:
    made = cmr("connectors", "new", NAME, "--dir", str(tmp_path / "work"), "--vendor", "Tiny Co")
    assert made.code == 0, made
    package = tmp_path / "work" / "cmr-tiny-vendor"
    assert f"Created {package}" in made.out
    python = _venv(tmp_path / "venv")
    env = {
        **os.environ,
        "CMR_HOME": str(tmp_path / "home"),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHON_KEYRING_BACKEND": "cmr_desktop.testing.keyring.InMemoryKeyring",
        "PIP_NO_INDEX": "1",  # offline: everything it needs is already here
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("VIRTUAL_ENV", None)

    pip = _run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", package],
        cwd=tmp_path,
        env=env,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr

    tests = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=package, env=env)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout
    assert " failed" not in tests.stdout
    assert " error" not in tests.stdout

    listed = _run([python, "-m", "cmr_desktop", "connectors", "--json"], cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    entry = {e["id"]: e for e in json.loads(listed.stdout)}[NAME]
    assert entry["status"] == "ok", entry
    assert entry["name"] == "Tiny Co"
    assert entry["package"] == "cmr-tiny-vendor 0.1.0"
    assert entry["quality"]["claimed"] == "bronze"
    assert entry["quality"]["problems"] == []
    # The connector is not installed in this suite's own environment.
    assert NAME not in {e["id"] for e in json.loads(cmr("connectors", "--json").out)}


def test_new_refuses_a_folder_that_exists_and_leaves_it_alone(cmr: Any, tmp_path: Path) -> None:
    taken = tmp_path / "cmr-acme"
    taken.mkdir()
    (taken / "mine.txt").write_text("keep me", encoding="utf-8")
    res = cmr("connectors", "new", "acme", "--dir", str(tmp_path))
    assert res.code == 2
    assert (
        res.err
        == f"cmr: error: {taken} already exists: remove it, or choose another name or --dir\n"
    )
    assert [p.name for p in taken.iterdir()] == ["mine.txt"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".cmr-acme")) == []


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Acme", "connector name 'Acme' is not usable"),
        ("acme_loyalty", "connector name 'acme_loyalty' is not usable"),
        ("acme--x", "connector name 'acme--x' is not usable"),
        ("9lives", "connector name '9lives' is not usable"),
        ("openpref", "connector name 'openpref' is taken by a built-in connector"),
    ],
)
def test_new_refuses_a_name_it_cannot_use_in_one_line(
    cmr: Any, tmp_path: Path, name: str, says: str
) -> None:
    res = cmr("connectors", "new", name, "--dir", str(tmp_path))
    assert res.code == 2
    assert res.err.startswith(f"cmr: error: {says}")
    assert res.err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_new_refuses_a_vendor_name_that_would_break_the_code(cmr: Any, tmp_path: Path) -> None:
    res = cmr("connectors", "new", "acme", "--dir", str(tmp_path), "--vendor", 'Acme "Best"')
    assert res.code == 2
    assert res.err.startswith("cmr: error: vendor name 'Acme \"Best\"' is not usable")


def test_the_names_follow_from_the_connector_id() -> None:
    names = names_for("acme-loyalty-2")
    assert (names.dist, names.package, names.cls, names.vendor) == (
        "cmr-acme-loyalty-2",
        "cmr_acme_loyalty_2",
        "AcmeLoyalty2Connector",
        "Acme Loyalty 2",
    )


def test_the_generated_code_is_clean_by_its_own_lint_rules(tmp_path: Path) -> None:
    package = create("acme-loyalty", parent=tmp_path, vendor="Acme & Sons")
    for args in (["check"], ["format", "--check"]):
        ruff = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--no-cache", "."],
            cwd=package,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def test_every_template_value_is_filled_in_and_the_code_compiles() -> None:
    files = render(names_for("acme", "Acme & Sons $1"))
    assert set(files) == {
        "README.md",
        "pyproject.toml",
        "src/cmr_acme/__init__.py",
        "src/cmr_acme/connector.py",
        "src/cmr_acme/py.typed",
        "src/cmr_acme/quality.toml",
        "tests/conftest.py",
        "tests/fake_vendor.py",
        "tests/test_connector.py",
        "tests/test_in_the_host.py",
    }
    for path, text in files.items():
        assert "${" not in text, path
        if path.endswith(".py"):
            compile(text, path, "exec")
    assert 'acme = "cmr_acme.connector:AcmeConnector"' in files["pyproject.toml"]
    assert '[project.entry-points."cmr_desktop.connectors"]' in files["pyproject.toml"]
    assert 'VENDOR: Final = "Acme & Sons $1"' in files["src/cmr_acme/connector.py"]
