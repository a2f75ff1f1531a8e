"""Secrets (API tokens, passwords) live in the OS keyring, never in the database or exports.

Each secret is scoped to a brand and a config field: service ``cmr-desktop``, user name
``<brand-slug>/<field>``. On a machine with no usable keyring (a headless Linux box without
D-Bus, say) every call raises :class:`SecretsUnavailable` with a message that says so and
what to do; we never fall back to a plaintext file.
"""

from __future__ import annotations

import re
from typing import Any

import keyring
import keyring.errors

SERVICE = "cmr-desktop"
_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,63}\Z")

__all__ = ["SERVICE", "SecretStore", "SecretsUnavailable"]


class SecretsUnavailable(RuntimeError):
    """No keyring backend can store secrets on this machine."""


_NO_KEYRING = (
    "no system keyring is available, so secrets (API tokens, passwords) cannot be stored. "
    "Start a Secret Service (e.g. GNOME Keyring or KeePassXC) or another keyring backend, "
    "then try again. CMR Desktop never writes secrets to a plain file."
)


class SecretStore:
    """Reads and writes brand secrets through ``keyring``.

    Args:
        service: keyring service name (tests may use their own).
    """

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service

    @staticmethod
    def _user(brand: str, field: str) -> str:
        if not _FIELD.match(field):
            raise ValueError(f"invalid secret field name {field!r}")
        return f"{brand}/{field}"

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except keyring.errors.NoKeyringError:
            raise SecretsUnavailable(_NO_KEYRING) from None
        except keyring.errors.PasswordDeleteError:
            raise  # "there was nothing to delete": not a keyring failure
        except (keyring.errors.KeyringError, RuntimeError, OSError) as exc:
            raise SecretsUnavailable(f"the system keyring refused the request: {exc}") from None

    def set(self, brand: str, field: str, value: str) -> None:
        if not value:
            raise ValueError("an empty secret cannot be stored")
        self._call(keyring.set_password, self.service, self._user(brand, field), value)

    def get(self, brand: str, field: str) -> str | None:
        result: str | None = self._call(
            keyring.get_password, self.service, self._user(brand, field)
        )
        return result

    def delete(self, brand: str, field: str) -> bool:
        """Forget a secret; False when there was none."""
        try:
            self._call(keyring.delete_password, self.service, self._user(brand, field))
        except keyring.errors.PasswordDeleteError:
            return False
        return True

    def backend_name(self) -> str:
        kr = keyring.get_keyring()
        return f"{type(kr).__module__}.{type(kr).__name__}"
