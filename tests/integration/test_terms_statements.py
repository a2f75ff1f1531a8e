"""Judging My Terms by what a brand can do costs no more per brand than before: the vendor's
state comes with the same read-out, so the statements run do not grow with the brands (no
per-brand query, no network)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from operator import attrgetter
from pathlib import Path
from typing import Any

from sqlalchemy import event

from cmr_desktop.domain import Channel, Purpose
from cmr_desktop.domain.policy import MyTerms, NeverPurpose, NoChannel
from cmr_desktop.services import Services
from tests.conftest import open_services


@contextmanager
def _statements(svc: Services) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(svc.store.db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(svc.store.db.engine, "before_cursor_execute", count)


def _home(tmp_path: Path, n: int) -> Services:
    svc = open_services(tmp_path / f"home-{n}")
    svc.preferences.set_policy(MyTerms.of([NoChannel(Channel.SMS), NeverPurpose(Purpose.SALE)]))
    for i in range(n):
        svc.brands.add_brand(f"Shop {i:03d}")
    return svc


def _cost(svc: Services, call: Callable[[], object]) -> int:
    with _statements(svc) as seen:
        call()
    return len(seen)


def test_summaries_and_the_terms_report_run_as_many_statements_for_50_brands_as_for_5(
    tmp_path: Path,
) -> None:
    small, large = _home(tmp_path, 5), _home(tmp_path, 50)
    try:
        for name in (
            "brands.brand_summaries",
            "preferences.policy_report",
            "preferences.check_policy",
            "preferences.preview_policy",
        ):
            few = _cost(small, attrgetter(name)(small))
            many = _cost(large, attrgetter(name)(large))
            assert many == few, (name, few, many)
    finally:
        small.store.close()
        large.store.close()
