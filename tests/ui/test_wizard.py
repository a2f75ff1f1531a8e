"""Adding a brand from the company directory or with a connector; signing in again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QLineEdit, QWizard

from cmr_desktop.domain import Channel
from cmr_desktop.domain.policy import MyTerms, NoChannel
from cmr_desktop.testing.simulator import VendorSimulator
from cmr_desktop.ui.main_window import MainWindow
from tests.integration.test_directory import real_directory


def _open(qtbot: Any, window: MainWindow) -> Any:
    window.add_action.trigger()
    wizard = window.wizard
    assert wizard is not None
    qtbot.waitUntil(wizard.isVisible, timeout=3000)
    qtbot.waitUntil(lambda: wizard.how.ready, timeout=10_000)  # found in the background
    return wizard


def test_a_brand_from_the_directory_with_my_terms_applied(qtbot: Any, window: MainWindow) -> None:
    window.services.directory.import_directory(real_directory())
    window.services.preferences.set_policy(MyTerms.of([NoChannel(Channel.SMS)]))
    wizard = _open(qtbot, window)
    who = wizard.who
    assert not who.isComplete()
    who.name.setFocus()
    qtbot.keyClicks(who.name, "deutsche bahn")
    qtbot.waitUntil(lambda: who.suggestions.rowCount() > 0, timeout=5000)
    first = who.suggestions.stringList()[0]
    assert first == "Deutsche Bahn AG (travel)"
    who.completer.activated.emit(first)  # as a click on the suggestion does
    qtbot.waitUntil(lambda: who.picked is not None, timeout=3000)
    assert who.name.text() == "Deutsche Bahn AG"  # the plain name, not the suggestion label
    assert who.privacy_contact.text() == "konzerndatenschutz@deutschebahn.com"
    assert who.category.text() == "travel"
    assert "From the company directory (verified)" in who.about.text()
    wizard.next()
    assert wizard.how.connector_id() == "manual"
    wizard.next()
    assert "Handled by hand" in wizard.check.result.text()
    assert wizard.check.apply_terms.isChecked()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=5000)
    brand = window.services.brands.get_brand("deutsche-bahn-ag").brand
    assert brand.privacy_contact == "konzerndatenschutz@deutschebahn.com"
    assert brand.preferences.channels.get(Channel.SMS) is False  # My Terms applied
    qtbot.waitUntil(
        lambda: window.editor.slug == "deutsche-bahn-ag", timeout=5000
    )  # the new brand is selected


def test_a_brand_with_a_connector_tested_before_it_is_stored(
    qtbot: Any, window: MainWindow, sim: VendorSimulator, tmp_path: Path
) -> None:
    vendor = sim.vendor_ids[0]
    sim.add_subject(vendor, "new-subject")
    wizard = _open(qtbot, window)
    wizard.who.name.setText("Fresh Vendor")
    wizard.next()
    how = wizard.how
    how.connector.setCurrentIndex(how.connector.findData("openpref"))
    assert set(how.edits) == {"base_url", "subject", "token"}
    assert how.edits["token"][1].echoMode() is QLineEdit.EchoMode.Password
    assert not how.isComplete()
    how.edits["base_url"][1].setText(sim.base_url(vendor))
    how.edits["subject"][1].setText("new-subject")
    how.edits["token"][1].setText("wrong-token")
    assert how.isComplete()
    wizard.next()
    check = wizard.check
    check.test.click()
    qtbot.waitUntil(lambda: "failed" in check.result.text(), timeout=5000)
    wizard.back()
    how.edits["token"][1].setText(sim.token(vendor))
    wizard.next()
    check.test.click()
    qtbot.waitUntil(lambda: check.result.text().startswith("Connected"), timeout=5000)
    assert "The vendor offers:" in check.result.text()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=5000)
    brand = window.services.brands.get_brand("fresh-vendor").brand
    assert brand.connector == "openpref"
    assert "token" not in brand.connector_config
    assert window.services.secrets.get("fresh-vendor", "token") == sim.token(vendor)
    stored = (Path(window.services.store.home) / "cmr.sqlite3").read_bytes()
    assert sim.token(vendor).encode() not in stored  # secrets live in the keyring only


def test_signing_in_again_stores_the_new_token(
    qtbot: Any, window: MainWindow, sim: VendorSimulator
) -> None:
    window.services.connections.set_secret("shop-002", "token", "expired")
    window.select_brand("shop-002")
    window.sign_in_action.trigger()
    qtbot.waitUntil(lambda: window.sign_in is not None, timeout=3000)
    dialog = window.sign_in
    assert dialog is not None
    qtbot.waitUntil(lambda: "token" in dialog.edits, timeout=10_000)
    edit = dialog.edits["token"]
    assert edit.echoMode() is QLineEdit.EchoMode.Password
    edit.setText("still-wrong")
    dialog.save()
    qtbot.waitUntil(lambda: "still refuses" in dialog.note.text(), timeout=5000)
    edit.setText(sim.token(sim.vendor_ids[2]))  # shop-002 is at the third vendor
    dialog.save()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    assert window.services.secrets.get("shop-002", "token") == sim.token(sim.vendor_ids[2])


def test_retyping_the_name_drops_the_picked_organisations_details(
    qtbot: Any, window: MainWindow
) -> None:
    window.services.directory.import_directory(real_directory())
    wizard = _open(qtbot, window)
    who = wizard.who
    who.name.setFocus()
    qtbot.keyClicks(who.name, "deutsche bahn")
    qtbot.waitUntil(lambda: who.suggestions.rowCount() > 0, timeout=5000)
    who.pick(who.suggestions.stringList()[0])
    assert who.website.text()
    who.name.selectAll()
    qtbot.keyClicks(who.name, "My Local Bakery")
    assert who.picked is None
    assert (who.category.text(), who.website.text(), who.privacy_contact.text()) == ("", "", "")
