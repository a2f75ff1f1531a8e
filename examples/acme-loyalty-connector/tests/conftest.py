"""Fixtures for the Acme Loyalty connector's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_acme import AcmeFake


@pytest.fixture
def acme_fake() -> Iterator[AcmeFake]:
    """A running fake of the Acme API with member M-1, stopped after the test."""
    with AcmeFake() as fake:
        yield fake
