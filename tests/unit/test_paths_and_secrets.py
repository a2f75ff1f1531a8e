"""Where data lives, and how secrets are kept (or clearly refused)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import fail

from cmr_desktop.paths import ENV_HOME, default_home, resolve_home
from cmr_desktop.secrets import SecretStore, SecretsUnavailable


def test_home_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "env"))
    assert resolve_home(tmp_path / "cli") == (tmp_path / "cli").resolve()
    assert resolve_home() == (tmp_path / "env").resolve()
    monkeypatch.delenv(ENV_HOME)
    assert resolve_home() == default_home()
    assert default_home().name == "cmr-desktop"


def test_secrets_are_scoped_per_brand_and_field() -> None:
    store = SecretStore(service="cmr-test")
    store.set("acme", "token", "a-token")
    store.set("globex", "token", "g-token")
    store.set("acme", "password", "a-pass")
    assert store.get("acme", "token") == "a-token"
    assert store.get("globex", "token") == "g-token"
    assert store.get("acme", "password") == "a-pass"
    assert store.delete("acme", "token") is True
    assert store.delete("acme", "token") is False
    assert store.get("acme", "token") is None
    with pytest.raises(ValueError, match="invalid secret field"):
        store.set("acme", "Bad Field", "x")
    with pytest.raises(ValueError, match="empty secret"):
        store.set("acme", "token", "")


def test_no_keyring_backend_gives_a_clear_message() -> None:
    keyring.set_keyring(fail.Keyring())  # what a headless Linux box without D-Bus gets
    store = SecretStore()
    for call in (lambda: store.set("acme", "token", "x"), lambda: store.get("acme", "token")):
        with pytest.raises(SecretsUnavailable, match="no system keyring is available"):
            call()


def test_cli_reports_a_missing_keyring_and_exits_1(cmr: Any) -> None:
    import os
    import subprocess

    from tests.conftest import BIN

    assert cmr("brand", "add", "Acme").code == 0
    env = {
        **os.environ,
        "CMR_HOME": str(cmr.home),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    proc = subprocess.run(
        [str(BIN / "cmr"), "brand", "set-secret", "acme", "token"],
        input="s3cret\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1
    assert "no system keyring is available" in proc.stderr
    assert "s3cret" not in proc.stderr + proc.stdout


def test_cli_stores_a_secret_from_stdin(cmr: Any) -> None:
    assert cmr("brand", "add", "Acme").code == 0
    res = cmr("brand", "set-secret", "acme", "token", stdin="s3cret\n")
    assert res.code == 0, res
    assert "s3cret" not in res.out + res.err
    assert "Stored token for acme" in res.out
