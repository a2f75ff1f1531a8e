"""My Terms in the window: edit the terms, see who breaks them, preview and apply, undo."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cmr_desktop.domain import Channel, Purpose
from cmr_desktop.domain.policy import (
    GrantMaxMonths,
    MyTerms,
    NeverPurpose,
    NoChannel,
    QuietHoursRule,
)
from cmr_desktop.domain.preferences import QuietHours
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.terms import TermsWindow
from tests.reads import list_brands


def _open(qtbot: Any, window: MainWindow) -> TermsWindow:
    window.terms_action.trigger()
    terms = window.terms_window
    assert terms is not None
    assert terms.isVisible()
    # Both background reads: the report, and the stored terms (the form stays disabled, and
    # a click does nothing, until they are shown; under load the report can come first).
    qtbot.waitUntil(
        lambda: terms.status.text() != "Checking every brand…" and terms.form.isEnabled(),
        timeout=10_000,
    )
    return terms


def test_terms_are_saved_at_once_and_undone(qtbot: Any, window: MainWindow) -> None:
    terms = _open(qtbot, window)
    assert terms.status.text() == "Every brand keeps your terms."
    terms.never_channel[Channel.SMS].click()
    qtbot.waitUntil(
        lambda: window.services.preferences.policy().rules == (NoChannel(Channel.SMS),),
        timeout=3000,
    )
    qtbot.waitUntil(lambda: terms.tree.topLevelItemCount() == 13, timeout=10_000)
    assert terms.status.text() == "13 brands break your terms."
    first = terms.tree.topLevelItem(0)
    assert first is not None
    assert first.child(0).text(0) == "no SMS anywhere"
    assert "may still text you" in first.child(0).text(1)
    assert not terms.max_frequency[Channel.SMS].isEnabled()
    terms.never_purpose[Purpose.SALE].click()
    terms.grant_months.setValue(12)
    terms.grant_months.editingFinished.emit()
    terms.quiet.click()  # 21:00 to 08:00
    window_ = QuietHours(dt.time(21), dt.time(8))
    expected = (
        NoChannel(Channel.SMS),
        NeverPurpose(Purpose.SALE),
        GrantMaxMonths(12),
        QuietHoursRule(window_),
    )
    qtbot.waitUntil(lambda: window.services.preferences.policy().rules == expected, timeout=3000)
    for _ in range(4):
        window.undo_stack.undo()
    qtbot.waitUntil(lambda: window.services.preferences.policy().rules == (), timeout=3000)
    qtbot.waitUntil(lambda: not terms.never_channel[Channel.SMS].isChecked(), timeout=3000)
    qtbot.waitUntil(lambda: terms.tree.topLevelItemCount() == 0, timeout=10_000)


def test_apply_to_all_previews_then_applies_in_one_undoable_step(
    qtbot: Any, window: MainWindow
) -> None:
    terms = _open(qtbot, window)
    terms.never_channel[Channel.SMS].click()
    qtbot.waitUntil(lambda: terms.tree.topLevelItemCount() == 13, timeout=10_000)
    terms.apply_all.click()
    qtbot.waitUntil(lambda: terms.preview is not None and terms.preview.isVisible(), timeout=10_000)
    preview = terms.preview
    assert preview is not None
    assert len(preview.changes) == 13
    line = preview.tree.topLevelItem(0).child(0)
    assert (line.text(0), line.text(1), line.text(2)) == ("SMS", "their default", "refused")
    before = {b.brand.slug: b.brand.preferences for b in list_brands(window.services)}
    assert all(
        window.services.brands.get_brand(s).brand.preferences == p for s, p in before.items()
    )
    preview.apply_button.click()

    def sms_refused() -> set[bool | None]:
        return {b.brand.preferences.channels.get(Channel.SMS) for b in list_brands(window.services)}

    qtbot.waitUntil(lambda: sms_refused() == {False}, timeout=10_000)
    assert all(b.pending for b in list_brands(window.services))
    qtbot.waitUntil(lambda: terms.status.text() == "Every brand keeps your terms.", timeout=10_000)
    window.undo_stack.undo()  # the whole application, in one step
    qtbot.waitUntil(lambda: sms_refused() == {None}, timeout=10_000)
    assert window.services.preferences.policy().rules == (NoChannel(Channel.SMS),)  # terms stay


def test_apply_to_selected_changes_only_those(qtbot: Any, window: MainWindow) -> None:
    terms = _open(qtbot, window)
    terms.never_channel[Channel.PHONE].click()
    qtbot.waitUntil(lambda: terms.tree.topLevelItemCount() == 13, timeout=10_000)
    item = terms.tree.topLevelItem(2)
    assert item is not None
    item.setSelected(True)
    slug = terms.selected_slugs()[0]
    assert terms.apply_selected.isEnabled()
    terms.apply_selected.click()
    qtbot.waitUntil(lambda: terms.preview is not None and terms.preview.isVisible(), timeout=10_000)
    assert terms.preview is not None
    assert [c.slug for c in terms.preview.changes] == [slug]
    terms.preview.reject()  # cancel: nothing written
    assert (
        window.services.brands.get_brand(slug).brand.preferences.channels.get(Channel.PHONE) is None
    )


def test_a_brand_edited_after_the_preview_is_left_alone(qtbot: Any, window: MainWindow) -> None:
    terms = _open(qtbot, window)
    terms.never_channel[Channel.SMS].click()
    qtbot.waitUntil(lambda: terms.tree.topLevelItemCount() == 13, timeout=10_000)
    terms.apply_all.click()
    qtbot.waitUntil(lambda: terms.preview is not None and terms.preview.isVisible(), timeout=10_000)
    # Meanwhile the customer edits one brand in the editor.
    window.services.preferences.update_preferences(
        "shop-005", lambda p: p.with_channel(Channel.PHONE, False)
    )
    assert terms.preview is not None
    terms.preview.apply_button.click()
    qtbot.waitUntil(lambda: "left alone" in window.statusBar().currentMessage(), timeout=10_000)
    assert "shop-005" in window.statusBar().currentMessage()
    edited = window.services.brands.get_brand("shop-005").brand.preferences
    assert edited.channels.get(Channel.PHONE) is False  # the edit survived
    assert edited.channels.get(Channel.SMS) is None  # and was not overwritten
    other = window.services.brands.get_brand("shop-006").brand.preferences
    assert other.channels.get(Channel.SMS) is False


def test_the_form_waits_for_the_stored_terms(qtbot: Any, window: MainWindow) -> None:
    window.services.preferences.set_policy(MyTerms.of([NeverPurpose(Purpose.SALE)]))
    window.terms_action.trigger()
    terms = window.terms_window
    assert terms is not None
    qtbot.waitUntil(terms.form.isEnabled, timeout=10_000)
    assert terms.never_purpose[Purpose.SALE].isChecked()
    terms.never_channel[Channel.SMS].click()
    expected = (NoChannel(Channel.SMS), NeverPurpose(Purpose.SALE))
    qtbot.waitUntil(lambda: window.services.preferences.policy().rules == expected, timeout=3000)
