"""The add-brand wizard checks what is typed on the page where it is typed: a malformed web
address is flagged under its field, and Next stays disabled until the page is valid."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QWizard

from cmr_desktop.testing.simulator import VendorSimulator
from cmr_desktop.ui.main_window import MainWindow
from tests.ui.test_wizard import _open


def _next_enabled(wizard: QWizard) -> bool:
    return wizard.button(QWizard.WizardButton.NextButton).isEnabled()


def _labels(form: Any) -> list[str]:
    layout = form.form
    out = []
    for row in range(layout.rowCount()):
        item = layout.itemAt(row, layout.ItemRole.LabelRole)
        widget = item.widget() if item is not None else None
        if isinstance(widget, QLabel):
            out.append(widget.text())
    return out


def test_a_malformed_api_address_is_flagged_inline_and_next_waits_until_it_is_fixed(
    qtbot: Any, window: MainWindow, sim: VendorSimulator
) -> None:
    wizard = _open(qtbot, window)
    wizard.who.name.setText("Fresh Vendor")
    wizard.next()
    how = wizard.how
    how.connector.setCurrentIndex(how.connector.findData("openpref"))
    # The connector's own labels, never its keys.
    assert _labels(how.settings) == ["API address", "Your subscriber id", "Access token"]
    how.edits["subject"][1].setText("s-1")
    how.edits["token"][1].setText("a-token")
    address = how.edits["base_url"][1]
    problem = how.settings.problems["base_url"]
    address.setText("htps//vendor example")
    assert problem.isVisibleTo(wizard)
    assert problem.text() == "A web address has no spaces."
    assert not how.isComplete()
    assert not _next_enabled(wizard)
    address.setText("http://vendor.example/v1")
    assert "Use https://" in problem.text()
    assert not _next_enabled(wizard)
    address.setText("api.vendor.example/v1")
    assert "https://api.example.com/v1" in problem.text()
    assert not _next_enabled(wizard)
    address.setText(sim.base_url(sim.vendor_ids[0]))
    assert not problem.isVisibleTo(wizard)
    assert problem.text() == ""
    assert how.isComplete()
    assert _next_enabled(wizard)


def test_a_malformed_website_is_flagged_on_the_first_page(qtbot: Any, window: MainWindow) -> None:
    wizard = _open(qtbot, window)
    who = wizard.who
    who.name.setText("Contoso Bank")
    assert _next_enabled(wizard)
    who.website.setText("htp://contoso.example")
    assert who.website_problem.isVisibleTo(wizard)
    assert "should look like https://contoso.com" in who.website_problem.text()
    assert not _next_enabled(wizard)
    who.website.setText("contoso.example")  # a bare domain is a website
    assert not who.website_problem.isVisibleTo(wizard)
    assert _next_enabled(wizard)
