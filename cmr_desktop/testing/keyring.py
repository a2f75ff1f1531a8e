"""A keyring backend for tests: forgets everything when the process ends.

Select it with ``keyring.set_keyring(InMemoryKeyring())`` or, in a subprocess, with
``PYTHON_KEYRING_BACKEND=cmr_desktop.testing.keyring.InMemoryKeyring``.

It is never chosen on its own: keyring picks the viable backend with the highest priority
among every backend class it has seen, and a test backend that won that contest would make
a real installation silently forget its tokens. So its priority raises (keyring reads that
as "not viable") unless ``PYTHON_KEYRING_BACKEND`` names it; ``set_keyring()`` always works.
"""

from __future__ import annotations

import os

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
        self._data: dict[tuple[str, str], str] = {}

    def set_password(self, service: str, username: str, password: str) -> None:
        self._data[(service, username)] = password

    def get_password(self, service: str, username: str) -> str | None:
        return self._data.get((service, username))

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self._data[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError(username) from None
