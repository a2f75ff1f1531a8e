"""A keyring backend for tests: forgets everything when the process ends.

Select it with ``keyring.set_keyring(InMemoryKeyring())`` or, in a subprocess, with
``PYTHON_KEYRING_BACKEND=cmr_desktop.testing.keyring.InMemoryKeyring``.

It is never chosen on its own: keyring picks the viable backend with the highest priority
among every backend class it has seen, and a test backend that won that contest would make
a real installation silently forget its tokens. So its priority raises (keyring reads that
as "not viable") unless ``PYTHON_KEYRING_BACKEND`` names it; ``set_keyring()`` always works.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
from keyring.compat import properties


class InMemoryKeyring(keyring.backend.KeyringBackend):
    """Secrets in a dict, for tests only."""

    @properties.classproperty
    def priority(cls) -> float:
        if os.environ.get("PYTHON_KEYRING_BACKEND", "").endswith(".InMemoryKeyring"):
            return 1.0
        raise RuntimeError("test-only backend: select it explicitly")

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        # Tests that run `cmr` as several processes share secrets through a file they name
        # (a test's temporary folder); a real installation never sets this.
        self._file = os.environ.get("CMR_TEST_KEYRING_FILE")
        self._data: dict[tuple[str, str], str] = {}

    def _load(self) -> None:
        if self._file and os.path.exists(self._file):
            with open(self._file, encoding="utf-8") as fh:
                self._data = {(s, u): p for s, u, p in json.load(fh)}

    def _save(self) -> None:
        if self._file:
            with open(self._file, "w", encoding="utf-8") as fh:
                json.dump([[s, u, p] for (s, u), p in self._data.items()], fh)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._load()
        self._data[(service, username)] = password
        self._save()

    def get_password(self, service: str, username: str) -> str | None:
        self._load()
        return self._data.get((service, username))

    def delete_password(self, service: str, username: str) -> None:
        self._load()
        try:
            del self._data[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError(username) from None
        self._save()


def use_shared_keyring(path: Path) -> InMemoryKeyring:
    """Select a throw-away keyring kept in ``path``, for this process and its children.

    The desktop app runs sync in a child process (``cmr sync --jsonl``); in demo mode and in
    tests the secrets must reach it, so they go to a file in a temporary folder instead of
    memory. Never use this for real secrets.
    """
    os.environ["PYTHON_KEYRING_BACKEND"] = f"{__name__}.InMemoryKeyring"
    os.environ["CMR_TEST_KEYRING_FILE"] = str(path)
    backend = InMemoryKeyring()
    keyring.set_keyring(backend)
    return backend
