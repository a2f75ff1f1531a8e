"""Errors raised by the domain layer."""

from __future__ import annotations


class DomainError(ValueError):
    """A value does not fit the CMR vocabulary or rules.

    The message is written for a person: it names the value and what was expected.
    """


class VocabularyError(DomainError):
    """An id that is not part of the stable vocabulary (ARCHITECTURE 3.3)."""
