"""UI test fixtures: a modal dialog in a test is a bug (it would hang offscreen)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QDialog


@pytest.fixture(autouse=True)
def _no_modal_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Any) -> int:
        raise AssertionError(f"a modal dialog was opened: {self!r}")

    monkeypatch.setattr(QDialog, "exec", refuse)
