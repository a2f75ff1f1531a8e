"""RFC 9457 problems: how the simulator refuses a request (protocol and admin API alike)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PROBLEM_BASE = "https://openpref.example/problems/"
"""Prefix of every problem ``type`` URI; the slug after it names the problem."""


class ProblemError(Exception):
    """An RFC 9457 problem to answer with."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        return {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }

    def describe(self) -> str:
        """One line for a Python caller (the ``ValueError`` of the Python API)."""
        params = self.extra.get("invalid-params")
        if params:
            return "; ".join(f"{p['name']}: {p['reason']}" for p in params)
        return self.detail


def bad_body(detail: str) -> ProblemError:
    """400 ``invalid-body``: the body is not JSON or not of the documented shape."""
    return ProblemError(400, "invalid-body", "The request body is not valid", detail)


def not_found(detail: str) -> ProblemError:
    return ProblemError(404, "not-found", "Not found", detail)


def method_not_allowed(method: str, allowed: str) -> ProblemError:
    return ProblemError(
        405,
        "method-not-allowed",
        "Method not allowed",
        f"{method} is not allowed here (allowed: {allowed})",
        headers={"Allow": allowed},
    )
