"""Errors the use cases raise; the CLI and UI show their message as is."""

from __future__ import annotations


class ServiceError(Exception):
    """A use case could not be carried out; the message is for the customer."""


class InputError(ServiceError):
    """The request itself is wrong (unknown brand, bad value ...). CLI exit code 2."""


class BrandNotFound(InputError):
    def __init__(self, ref: str, suggestions: list[str]) -> None:
        hint = f" (did you mean {', '.join(repr(s) for s in suggestions)}?)" if suggestions else ""
        super().__init__(f"unknown brand {ref!r}{hint}")
        self.ref = ref


class ConnectionFailed(ServiceError):
    """A connector could not do its job (vendor down, token refused ...). CLI exit code 1."""


class SettingRefused(InputError):
    """A connector setting was refused; ``field`` names it (its id, ``label`` its words)."""

    def __init__(self, field: str, label: str, problem: str) -> None:
        super().__init__(f"{label}: {problem}")
        self.field, self.label = field, label
