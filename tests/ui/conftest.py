"""UI test fixtures: a modal dialog in a test is a bug (it would hang offscreen)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from PySide6.QtWidgets import QDialog

from cmr_desktop.testing.keyring import InMemoryKeyring, use_shared_keyring


@pytest.fixture(autouse=True)
def memory_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemoryKeyring]:
    """The window syncs in a child process (``cmr sync --jsonl``): share throw-away secrets
    with it through a file in the test's folder (overrides the in-memory-only fixture)."""
    previous = keyring.get_keyring()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "")  # restored (with the next) after the test
    monkeypatch.setenv("CMR_TEST_KEYRING_FILE", "")
    yield use_shared_keyring(tmp_path / "test-keyring.json")
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def _no_modal_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Any) -> int:
        raise AssertionError(f"a modal dialog was opened: {self!r}")

    monkeypatch.setattr(QDialog, "exec", refuse)
