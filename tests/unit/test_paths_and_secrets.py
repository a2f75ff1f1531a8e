"""Where data lives, and how secrets are kept (or clearly refused)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
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
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]  # headless, no D-Bus
    store = SecretStore()
    calls: list[Callable[[], object]] = [
        lambda: store.set("acme", "token", "x"),
        lambda: store.get("acme", "token"),
    ]
    for call in calls:
        with pytest.raises(SecretsUnavailable, match="no system keyring is available"):
            call()


@pytest.fixture
def openpref() -> Iterator[tuple[str, ...]]:
    """``brand add`` options for an openpref vendor on a loopback port that refuses
    connections: bound (so nothing else can take it) but never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        yield (
            "--connector",
            "openpref",
            "--set",
            f"base_url=http://127.0.0.1:{port}/v1",
            "--set",
            "subject=me",
        )


def _run(cmr: Any, env_extra: dict[str, str], *args: str, stdin: str = "") -> Any:
    import os
    import subprocess

    from tests.conftest import BIN

    env = {**os.environ, "CMR_HOME": str(cmr.home), **env_extra}
    return subprocess.run(
        [str(BIN / "cmr"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_cli_reports_a_missing_keyring_exits_1_and_stores_nothing(
    cmr: Any, openpref: tuple[str, ...]
) -> None:
    no_keyring = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "TOK": "s3cret-tok"}
    proc = _run(cmr, no_keyring, "brand", "add", "Acme", *openpref, "--secret-env", "token=TOK")
    assert proc.returncode == 1
    assert "no system keyring is available" in proc.stderr
    assert "s3cret" not in proc.stderr + proc.stdout
    assert cmr("brand", "list", "--json").json() == []  # the brand was not half-added

    assert cmr("brand", "add", "Globex", *openpref, "--secret-env", "token=TOK").code == 2
    proc = _run(cmr, no_keyring, "brand", "set-secret", "acme", "token", stdin="s3cret\n")
    assert proc.returncode == 2  # unknown brand: acme was never stored


def test_cli_stores_a_secret_from_the_environment_or_stdin(
    cmr: Any, openpref: tuple[str, ...]
) -> None:
    res = _run(
        cmr,
        {"PYTHON_KEYRING_BACKEND": "cmr_desktop.testing.keyring.InMemoryKeyring", "TOK": "s3c"},
        "brand",
        "add",
        "Acme",
        *openpref,
        "--secret-env",
        "token=TOK",
    )
    assert res.returncode == 0, res.stderr
    res = cmr("brand", "set-secret", "acme", "token", stdin="s3cret\n")
    assert res.code == 0, res
    assert "s3cret" not in res.out + res.err
    assert "Stored token for acme" in res.out
    wrong = cmr("brand", "set-secret", "acme", "password", stdin="x\n")
    assert wrong.code == 2
    assert "no secret 'password' (its secrets: token)" in wrong.err


def test_a_secret_on_the_command_line_or_a_missing_one_is_refused(
    cmr: Any, openpref: tuple[str, ...]
) -> None:
    res = cmr("brand", "add", "Acme", *openpref, "--set", "token=visible")
    assert res.code == 2
    assert "is a secret" in res.err
    res = cmr("brand", "add", "Acme", *openpref)  # no tty to prompt on
    assert res.code == 2
    assert "--secret-env token=VAR" in res.err
    res = cmr("brand", "add", "Acme", *openpref, "--secret-env", "token=NOT_SET_ANYWHERE")
    assert res.code == 2
    assert "NOT_SET_ANYWHERE is not set" in res.err


def test_the_test_keyring_is_never_chosen_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from keyring.backend import KeyringBackend

    from cmr_desktop.testing.keyring import InMemoryKeyring

    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    assert InMemoryKeyring in KeyringBackend._classes  # keyring has seen it ...
    assert InMemoryKeyring not in set(KeyringBackend.get_viable_backends())  # ... but skips it
