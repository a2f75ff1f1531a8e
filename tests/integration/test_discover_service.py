"""services.discovery against a real SQLite home: scans in batches with a resume point,
found brands, adding them, measuring, and drift after an unsubscribe."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace

import pytest
from sqlalchemy import event

from cmr_desktop.domain.directory import DirectoryEntry
from cmr_desktop.domain.vocabulary import Channel, Frequency
from cmr_desktop.mail.headers import MailHeaders, Skipped
from cmr_desktop.services import InputError, ScanProgress, Services
from cmr_desktop.services.discovery import BATCH
from tests.conftest import NOW

UTC = dt.UTC


class ListRun:
    def __init__(self, items: Sequence[MailHeaders | Skipped], start: int, fail_at: int) -> None:
        self.items, self.next, self.fail_at = items, start, fail_at
        self.total: int | None = len(items) - start
        self.closed = False

    def __iter__(self) -> Iterator[MailHeaders | Skipped]:
        while self.next < len(self.items):
            if self.next == self.fail_at:
                raise OSError("the disk went away")
            item = self.items[self.next]
            self.next += 1
            yield item

    def resume_point(self) -> dict[str, object]:
        return {"next": self.next}

    def close(self) -> None:
        self.closed = True


class ListSource:
    """A MailSource over a list (resume point: the index of the next message)."""

    def __init__(
        self, items: Sequence[MailHeaders | Skipped], *, fail_at: int = -1, key: str = "list"
    ) -> None:
        self.items = list(items)
        self.name = key
        self.fail_at = fail_at
        self.runs: list[ListRun] = []

    @property
    def key(self) -> str:
        return f"test:{self.name}"

    def describe(self) -> str:
        return "a test mailbox"

    def scan(self, resume: Mapping[str, object] | None = None) -> ListRun:
        start = int(str(resume["next"])) if resume else 0
        run = ListRun(self.items, start, self.fail_at)
        self.runs.append(run)
        return run


def letter(
    n: int,
    *,
    domain: str = "shop.com",
    days_ago: float = 1.0,
    name: str = "Shop",
    one_click: bool = True,
) -> MailHeaders:
    return MailHeaders(
        where=f"test at {n}",
        message_id=f"m{n}.{domain}@test",
        date=NOW - dt.timedelta(days=days_ago),
        from_address=f"news@{domain}",
        from_name=name,
        list_id=f"news.{domain}",
        list_unsubscribe=(f"https://{domain}/u/{n}", f"mailto:unsub@{domain}"),
        one_click=one_click,
        dkim_domains=(domain,),
        dkim_pass_domains=(domain,),
    )


def personal(n: int) -> MailHeaders:
    return MailHeaders(
        where=f"test at {n}",
        message_id=f"p{n}@gmail.com",
        date=NOW,
        from_address="friend@gmail.com",
    )


def weekly(domain: str, weeks: int, name: str, first: int = 0) -> list[MailHeaders]:
    return [letter(first + i, domain=domain, days_ago=7 * i + 1, name=name) for i in range(weeks)]


def rows(services: Services, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(services.store.path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_scan_stores_only_the_headers_of_brand_mail_and_lists_the_brands(
    services: Services,
) -> None:
    mail = [*weekly("shop.com", 13, "Shop"), personal(100), Skipped("test at 101", "no header")]
    report = services.discovery.scan(ListSource(mail))
    assert (report.read, report.skipped, report.cancelled) == (14, 1, False)
    assert report.skipped_reasons == [("test at 101", "no header")]
    assert rows(services, "SELECT count(*), count(DISTINCT brand_key) FROM mail_messages") == [
        (13, 1)
    ]
    [found] = report.found
    assert (found.key, found.name, found.messages, found.tracked_slug) == (
        "shop.com",
        "Shop",
        13,
        "",
    )
    # The mailbox covers 12 weeks (its oldest to its newest message): the window is that.
    assert found.per_week == pytest.approx(13 / 12)
    assert found.methods == ("one-click", "mailto", "web")
    assert found.suggested is Frequency.WEEKLY
    assert found.last_seen == NOW - dt.timedelta(days=1)


def test_personal_mail_is_never_stored(services: Services) -> None:
    services.discovery.scan(ListSource([personal(i) for i in range(5)]))
    assert rows(services, "SELECT count(*) FROM mail_messages") == [(0,)]
    assert services.discovery.found() == []


def test_a_second_scan_reads_only_new_mail(services: Services) -> None:
    source = ListSource(weekly("shop.com", 3, "Shop"))
    services.discovery.scan(source)
    source.items += [letter(50, days_ago=0.5)]
    report = services.discovery.scan(source)
    assert source.runs[1].total == 1
    assert (report.read, report.stored) == (1, 1)
    assert report.found[0].messages == 4


def test_the_same_message_is_stored_once_per_source(services: Services) -> None:
    services.discovery.scan(ListSource([letter(1), letter(1), letter(2)]))
    assert rows(services, "SELECT count(*) FROM mail_messages") == [(2,)]


def test_a_cancel_keeps_what_was_stored_and_the_resume_point_for_exactly_that(
    services: Services,
) -> None:
    mail = [letter(i, days_ago=i / 100) for i in range(BATCH * 2 + 10)]
    cancel = threading.Event()
    seen: list[ScanProgress] = []

    def progress(p: ScanProgress) -> None:
        seen.append(p)
        if p.read >= BATCH:
            cancel.set()

    source = ListSource(mail)
    report = services.discovery.scan(source, progress=progress, cancel=cancel)
    assert report.cancelled
    stored = rows(services, "SELECT count(*) FROM mail_messages")[0][0]
    resume = json.loads(str(rows(services, "SELECT resume FROM mail_sources")[0][0]))
    assert stored == report.read == resume["next"] == BATCH  # asked during that batch
    assert seen[0] == ScanProgress(0, 0, len(mail))
    assert source.runs[0].closed
    again = services.discovery.scan(source)
    assert again.read == len(mail) - stored
    assert rows(services, "SELECT count(*) FROM mail_messages") == [(len(mail),)]


def test_a_source_that_fails_keeps_the_whole_batches_before_it_and_nothing_half_written(
    services: Services,
) -> None:
    mail = [letter(i, days_ago=i / 100) for i in range(BATCH + 20)]
    source = ListSource(mail, fail_at=BATCH + 5)
    with pytest.raises(OSError, match="disk went away"):
        services.discovery.scan(source)
    assert rows(services, "SELECT count(*) FROM mail_messages") == [(BATCH,)]
    resume = json.loads(str(rows(services, "SELECT resume FROM mail_sources")[0][0]))
    assert resume == {"next": BATCH}
    assert source.runs[0].closed


def test_two_lists_through_one_esp_are_found_as_two_brands(services: Services) -> None:
    def esp(n: int, list_id: str, name: str) -> MailHeaders:
        return MailHeaders(
            where=f"at {n}",
            message_id=f"e{n}@x",
            date=NOW,
            from_name=name,
            from_address="bounce@mailchimpapp.net",
            list_id=list_id,
            dkim_pass_domains=("mcsv.net",),
        )

    services.discovery.scan(
        ListSource([esp(1, "a.mcsv.net", "Alpha"), esp(2, "b.mcsv.net", "Beta")])
    )
    assert sorted(f.name for f in services.discovery.found()) == ["Alpha", "Beta"]


def test_found_brands_are_matched_to_the_directory_by_domain(services: Services) -> None:
    with services.store.write() as uow:
        uow.directory.upsert_many(
            [
                DirectoryEntry(
                    "shop-gmbh",
                    "Shop GmbH",
                    categories=("commerce",),
                    email="privacy@shop.com",
                    web="https://www.shop.com",
                )
            ]
        )
    services.discovery.scan(ListSource(weekly("shop.com", 2, "Shop Newsletter")))
    [found] = services.discovery.found()
    assert (found.name, found.directory_slug, found.directory_name, found.privacy_contact) == (
        "Shop GmbH",
        "shop-gmbh",
        "Shop GmbH",
        "privacy@shop.com",
    )


def test_adding_found_brands_records_the_frequency_the_customer_chose_not_the_measured_one(
    services: Services,
) -> None:
    services.discovery.scan(ListSource(weekly("shop.com", 13, "Shop")))
    [found] = services.discovery.found()
    assert found.suggested is Frequency.WEEKLY
    [slug] = services.discovery.add_found({"shop.com": Frequency.MONTHLY})
    brand = services.brands.get_brand(slug).brand
    assert brand.connector == "email"
    assert brand.preferences.frequencies == {Channel.EMAIL: Frequency.MONTHLY}
    assert brand.preferences.channels == {Channel.EMAIL: True}
    assert brand.connector_config == {
        "sender_domain": "shop.com",
        "one_click_url": "https://shop.com/u/0",
        "mailto": "mailto:unsub@shop.com",
        "web_url": "https://shop.com/u/0",
        "dkim_verified": "yes",
        "seen_at": (NOW - dt.timedelta(days=1)).isoformat(),
    }
    [entry] = [e for e in services.journal.entries(slug) if e.kind == "from_mailbox"]
    assert entry.detail["email_frequency"] == "monthly"
    assert entry.detail["measured"]["messages"] == 13
    assert "consent" not in json.dumps(entry.detail)


def test_adding_with_no_choice_records_no_e_mail_decision(services: Services) -> None:
    services.discovery.scan(ListSource(weekly("shop.com", 2, "Shop")))
    [slug] = services.discovery.add_found({"shop.com": None})
    prefs = services.brands.get_brand(slug).brand.preferences
    assert (prefs.channels, prefs.frequencies) == ({}, {})


def test_an_already_tracked_brand_is_linked_not_duplicated(services: Services) -> None:
    services.brands.add_brand("My Shop", website="https://shop.com")
    services.discovery.scan(ListSource(weekly("shop.com", 2, "Shop")))
    [found] = services.discovery.found()
    assert found.tracked_slug == "my-shop"
    assert services.discovery.add_found({"shop.com": Frequency.WEEKLY}) == ["my-shop"]
    assert [b.slug for b in services.brands.brand_records()] == ["my-shop"]
    prefs = services.brands.get_brand("my-shop").brand.preferences
    assert prefs.frequencies == {Channel.EMAIL: Frequency.WEEKLY}


def test_a_brand_added_from_the_mailbox_is_matched_on_the_next_scan(services: Services) -> None:
    source = ListSource(weekly("shop.com", 2, "Shop"))
    services.discovery.scan(source)
    [slug] = services.discovery.add_found({"shop.com": Frequency.WEEKLY})
    source.items.append(letter(99, days_ago=0.1))
    assert services.discovery.scan(source).found[0].tracked_slug == slug


def test_adding_an_unknown_key_adds_nothing(services: Services) -> None:
    services.discovery.scan(ListSource(weekly("shop.com", 2, "Shop")))
    with pytest.raises(InputError, match=r"'nope\.com'"):
        services.discovery.add_found({"shop.com": None, "nope.com": None})
    assert services.brands.brand_records() == []


def test_removing_a_brand_keeps_its_observations_and_it_is_found_again(
    services: Services,
) -> None:
    services.discovery.scan(ListSource(weekly("shop.com", 2, "Shop")))
    [slug] = services.discovery.add_found({"shop.com": Frequency.WEEKLY})
    removed = services.brands.remove_brands([slug])
    assert rows(services, "SELECT count(*) FROM mail_messages") == [(2,)]
    assert services.discovery.found()[0].tracked_slug == ""
    services.brands.restore_brands(removed)
    assert services.discovery.found()[0].tracked_slug == slug


def test_measured_compares_the_real_rate_with_the_customer_s_choice(services: Services) -> None:
    services.discovery.scan(
        ListSource(
            weekly("shop.com", 13, "Shop")
            + [letter(200 + i, domain="daily.com", days_ago=i / 2, name="Daily") for i in range(60)]
        )
    )
    services.discovery.add_found({"shop.com": Frequency.MONTHLY, "daily.com": None})
    measured = services.discovery.measured()
    shop, daily = measured["shop"], measured["daily"]
    assert shop.messages == 13
    assert shop.allowed_per_week == pytest.approx(12 / 52)
    assert shop.over_limit
    assert shop.ignored_unsubscribe is None
    assert (daily.allowed_per_week, daily.over_limit) == (None, False)
    assert daily.per_week == pytest.approx(60 / (85 / 7))  # the mailbox covers 85 days


def test_measured_costs_the_same_number_of_queries_for_one_brand_or_many(
    services: Services,
) -> None:
    def queries() -> int:
        count = 0

        def on(*_: object) -> None:
            nonlocal count
            count += 1

        engine = services.store.db.engine
        event.listen(engine, "before_cursor_execute", on)
        try:
            services.discovery.measured()
        finally:
            event.remove(engine, "before_cursor_execute", on)
        return count

    services.discovery.scan(ListSource(weekly("shop0.com", 3, "Shop 0")))
    services.discovery.add_found({"shop0.com": Frequency.WEEKLY})
    services.brands.add_brand("Gone", website="https://x.example")
    one = queries()
    mail = [m for i in range(1, 20) for m in weekly(f"shop{i}.com", 3, f"Shop {i}", first=10 * i)]
    services.discovery.scan(ListSource(mail, key="more"))
    services.discovery.add_found({f"shop{i}.com": Frequency.WEEKLY for i in range(1, 20)})
    for slug in ("shop-1", "shop-2"):
        unsubscribe(services, slug, "one-click", NOW - dt.timedelta(days=30))
    assert len(services.discovery.measured()) == 20
    assert queries() == one + 1  # the evidence query runs once there is an unsubscribe


RESULTS = {
    "one-click": "HTTP 200: the sender accepted the unsubscribe",
    "mailto": "accepted by smtp.example.org: 250 OK",
    "web": "done by hand: the customer said they unsubscribed",
}


def unsubscribe(
    services: Services, slug: str, method: str, at: dt.datetime, result: str = ""
) -> None:
    """What services.unsubscribe journals (kind "unsubscribe", its result's words)."""
    with services.store.write() as uow:
        uow.journal.append(
            at=at,
            brand=slug,
            kind="unsubscribe",
            detail={
                "method": method,
                "target": "https://x/u",
                "result": result or RESULTS[method],
                "at": at.isoformat(),
            },
        )


def test_mail_after_the_one_click_deadline_is_drift_journaled_once_with_the_evidence(
    services: Services,
) -> None:
    source = ListSource(weekly("shop.com", 8, "Shop"))  # days ago: 1, 8, 15, ... 50
    services.discovery.scan(source)
    [slug] = services.discovery.add_found({"shop.com": None})
    unsubscribe(services, slug, "one-click", NOW - dt.timedelta(days=10))
    services.discovery.scan(source)  # nothing new read: the check still runs
    measured = services.discovery.measured()[slug].ignored_unsubscribe
    assert measured is not None
    assert measured.method == "one-click"
    assert measured.deadline == NOW - dt.timedelta(days=8)
    assert measured.evidence == ((NOW - dt.timedelta(days=1), "m0.shop.com@test"),)
    drifts = [e for e in services.journal.entries(slug) if e.kind == "drift"]
    assert len(drifts) == 1
    assert drifts[0].detail["source"] == "mailbox"
    assert drifts[0].detail["evidence"] == [
        {"date": (NOW - dt.timedelta(days=1)).isoformat(), "message_id": "m0.shop.com@test"}
    ]
    record = services.brands.brand_summaries([slug])[0][1]
    assert record.status.value == "drift"
    services.discovery.scan(source)
    assert len([e for e in services.journal.entries(slug) if e.kind == "drift"]) == 1
    source.items.append(letter(77, days_ago=0.5))
    services.discovery.scan(source)
    drifts = [e for e in services.journal.entries(slug) if e.kind == "drift"]
    assert len(drifts) == 2
    assert drifts[-1].detail["evidence_count"] == 2


def test_mail_within_ten_business_days_of_a_mailto_unsubscribe_is_not_drift(
    services: Services,
) -> None:
    source = ListSource(weekly("shop.com", 2, "Shop"))  # 1 and 8 days ago
    services.discovery.scan(source)
    [slug] = services.discovery.add_found({"shop.com": None})
    unsubscribe(services, slug, "mailto", NOW - dt.timedelta(days=9))
    services.discovery.scan(source)
    assert services.discovery.measured()[slug].ignored_unsubscribe is None
    assert [e for e in services.journal.entries(slug) if e.kind == "drift"] == []


def test_the_window_ends_with_the_mailbox_s_newest_message(services: Services) -> None:
    old = [replace(m, date=m.date - dt.timedelta(days=400)) for m in weekly("shop.com", 13, "S")]
    services.discovery.scan(ListSource(old))  # type: ignore[arg-type]
    [found] = services.discovery.found()
    assert found.messages == 13
    assert found.suggested is Frequency.WEEKLY


def test_a_brand_whose_e_mail_is_refused_allows_nothing_but_is_flagged_only_after_an_unsubscribe(
    services: Services,
) -> None:
    services.discovery.scan(ListSource(weekly("shop.com", 13, "Shop")))
    [slug] = services.discovery.add_found({"shop.com": None})
    services.preferences.update_preferences(slug, lambda p: p.with_channel(Channel.EMAIL, False))
    shop = services.discovery.measured()[slug]
    assert (shop.allowed_per_week, shop.over_limit, shop.ignored_unsubscribe) == (0.0, False, None)


def test_an_unsubscribe_that_did_not_reach_the_sender_starts_no_deadline(
    services: Services,
) -> None:
    source = ListSource(weekly("shop.com", 8, "Shop"))
    services.discovery.scan(source)
    [slug] = services.discovery.add_found({"shop.com": None})
    unsubscribe(services, slug, "one-click", NOW - dt.timedelta(days=30))
    unsubscribe(services, slug, "mailto", NOW - dt.timedelta(days=20), "not sent: refused")
    item = services.discovery.measured()[slug].ignored_unsubscribe
    assert item is not None
    assert (item.method, item.unsubscribed_at) == ("one-click", NOW - dt.timedelta(days=30))
    with services.store.write() as uow:
        uow.journal.append(
            at=NOW,
            brand=slug,
            kind="unsubscribe",
            detail={"method": "one-click", "result": "HTTP 500: not confirmed", "done": False},
        )
    item = services.discovery.measured()[slug].ignored_unsubscribe
    assert item is not None
    assert item.unsubscribed_at == NOW - dt.timedelta(days=30)
