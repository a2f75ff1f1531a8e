"""The activity journal window: filters, the chain's verification, consent receipts."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from cmr_desktop.ui.journal import JournalWindow
from cmr_desktop.ui.main_window import MainWindow


def _synced(qtbot: Any, window: MainWindow) -> None:
    window.start_sync()
    qtbot.waitUntil(lambda: not window.is_syncing(), timeout=20_000)


def _loaded(qtbot: Any, journal: JournalWindow) -> None:
    qtbot.waitUntil(lambda: journal.chain.text() != "Checking the journal…", timeout=5000)


def test_the_journal_of_one_brand_and_its_filters(qtbot: Any, window: MainWindow) -> None:
    _synced(qtbot, window)
    window.select_brand("shop-001")
    journal = window.show_journal("shop-001")
    _loaded(qtbot, journal)
    assert journal.chain.text().startswith("The journal is intact")
    entries = journal.shown_entries()
    assert {e.brand for e in entries} == {"shop-001"}
    kinds = [e.kind for e in entries]
    assert kinds[0] == "answer"  # newest first
    assert "push" in kinds
    assert journal.model.data(journal.model.index(0, 2)) == "Confirmed"
    journal.kind.setCurrentIndex(journal.kind.findData("push"))
    assert [e.kind for e in journal.shown_entries()] == ["push"]
    journal.brand.setCurrentIndex(0)  # all brands
    assert len({e.brand for e in journal.shown_entries()}) == 12
    journal.kind.setCurrentIndex(0)
    journal.search.setText("shop-00")
    assert {e.brand for e in journal.shown_entries()} == {f"shop-00{i}" for i in range(10)}


def test_a_changed_journal_is_flagged(qtbot: Any, window: MainWindow) -> None:
    _synced(qtbot, window)
    db = Path(window.services.store.home) / "cmr.sqlite3"
    with sqlite3.connect(db) as con:
        con.execute("UPDATE journal SET detail = '{}' WHERE id = 3")
    journal = window.show_journal(None)
    _loaded(qtbot, journal)
    assert "changed at entry 3" in journal.chain.text()


def test_receipts_for_a_brand(qtbot: Any, window: MainWindow, tmp_path: Path) -> None:
    from cmr_desktop.domain import DataCategory, Decision, Grant, Purpose

    # A receipt holds only what the customer consented to: give Shop 003 one permission.
    window.services.preferences.update_preferences(
        "shop-003",
        lambda p: p.with_grant(DataCategory.CONTACT, Purpose.SERVICE, Grant(Decision.ALLOW)),
    )
    _synced(qtbot, window)
    journal = window.show_journal("shop-003")
    _loaded(qtbot, journal)
    assert journal.receipts.isEnabled()
    out = tmp_path / "receipts.json"
    journal.export_receipts("shop-003", out)
    qtbot.waitUntil(out.exists, timeout=5000)
    receipts = json.loads(out.read_text("utf-8"))
    assert len(receipts) == 1
    assert receipts[0]["piiControllers"][0]["piiController"] == "Shop 003"
    journal.brand.setCurrentIndex(0)
    assert not journal.receipts.isEnabled()  # receipts are per brand


def test_what_the_journal_loads_never_widens_its_minimum_so_a_saved_size_stays(
    qtbot: Any, window: MainWindow
) -> None:
    # A long brand name and the chain's long sentence arrive after the window is shown; a
    # minimum width that grew with them would undo the size the user left it at.
    _synced(qtbot, window)
    window.services.brands.edit_brand("shop-001", name="A Very Long Name Of A Brand " * 5)
    journal = window.show_journal(None)
    before = journal.minimumSizeHint().width()
    _loaded(qtbot, journal)
    assert max(len(journal.brand.itemText(i)) for i in range(journal.brand.count())) > 100
    assert journal.minimumSizeHint().width() == before
    assert before <= 500


def test_the_mailbox_entries_are_told_in_the_customers_words() -> None:
    import datetime as dt

    from cmr_desktop.storage.repositories import JournalEntry
    from cmr_desktop.ui.journal import summarize

    def entry(kind: str, detail: dict[str, object]) -> JournalEntry:
        return JournalEntry(1, dt.datetime(2026, 12, 1, tzinfo=dt.UTC), "b", kind, detail, "", "")

    drift = {"source": "mailbox", "method": "one-click", "evidence_count": 3, "deadline": "D"}
    assert summarize(entry("drift", drift)) == (
        "kept writing after your one-click unsubscribe: 3 messages after the deadline D"
    )
    sent = {"method": "mailto", "done": True, "result": "sent to leave@x.example"}
    assert summarize(entry("unsubscribe", sent)) == (
        "mailto unsubscribe (done): sent to leave@x.example"
    )
    added = {"action": "added", "email_frequency": "weekly", "measured": {"per_week": 2.5}}
    assert summarize(entry("from_mailbox", added)) == (
        "added from the mailbox; e-mail allowed weekly (your choice); "
        "the sender wrote 2.5 a week (its behaviour)"
    )
