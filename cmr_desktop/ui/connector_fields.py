"""A connector's settings as a form: one row per field the connector describes, with its
human label and help. Shared by the add-brand wizard's connector page and the "Connector
settings" dialog of a brand that exists.

Secret fields are password boxes that are never filled in: the stored secret stays in the
system keyring, and an empty box means "keep it".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QWidget

from cmr_desktop.connectors.api import ConfigField
from cmr_desktop.ui.text import tooltip

#: In a secret's empty box when the keyring holds one (the value is never shown).
KEPT = "Stored in the system keyring (leave empty to keep it)"
#: In a secret's empty box when the keyring holds none.
MISSING = "Not stored: type it to sign in"


def is_address_field(f: ConfigField) -> bool:
    """A setting that holds a web address (``url``, ``base_url``, ``api_url`` ...)."""
    return f.name == "url" or f.name.endswith("_url")


def address_problem(text: str) -> str:
    """Why ``text`` is not a usable web address for a connector ("" when it is)."""
    if not text:
        return ""
    example = "https://api.example.com/v1"
    if any(c.isspace() for c in text):
        return "A web address has no spaces."
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return f"Not a web address: it should look like {example}."
    if parts.scheme not in ("https", "http") or not host or not parts.netloc:
        return f"Not a complete web address: it should look like {example}."
    if parts.username or parts.password:
        return "Leave the user name and password out of the address; secrets have their own field."
    if parts.scheme == "http":
        try:
            local = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = False
        if not local:
            return "Use https://: plain http:// is only for this computer (localhost)."
        from cmr_desktop.connectors.http import in_test_mode

        if not in_test_mode():
            return (
                "Use https://: plain http:// to this computer is only for testing "
                "(CMR_TEST_MODE=1)."
            )
    return ""


class ConnectorFieldsForm(QWidget):
    """The fields of one connector.

    Signals:
        changed(): a value was typed (pages re-check whether they are complete).
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.edits: dict[str, tuple[ConfigField, QLineEdit]] = {}
        #: Under each web address, why it is malformed (hidden while it is not).
        self.problems: dict[str, QLabel] = {}
        self._held: dict[str, bool] = {}

    def set_fields(
        self,
        fields: Sequence[ConfigField],
        values: Mapping[str, str] | None = None,
        held: Mapping[str, bool] | None = None,
        *,
        empty: str = "Nothing to set up.",
    ) -> None:
        """Show ``fields`` (their labels, help and defaults), filled with ``values``.

        Args:
            held: for each secret field, whether a value is stored already (then the box
                may stay empty); None: nothing is stored yet (adding a brand).
            empty: what to say when the connector has no settings.
        """
        while self.form.rowCount():
            self.form.removeRow(0)
        self.edits, self.problems = {}, {}
        self._held = dict(held or {})
        values = values or {}
        for f in fields:
            edit = QLineEdit(self)
            edit.setAccessibleName(f.label)
            edit.setToolTip(tooltip(f.help))
            if f.secret:
                edit.setEchoMode(QLineEdit.EchoMode.Password)
                if held is not None:
                    edit.setPlaceholderText(KEPT if self._held.get(f.name) else MISSING)
                else:
                    edit.setPlaceholderText(f.help)
            else:
                edit.setPlaceholderText(f.help)
                text = values.get(f.name, f.default or "")
                if text:
                    edit.setText(text)
            self.form.addRow(f.label + ("" if f.required else " (optional)"), edit)
            self.edits[f.name] = (f, edit)
            if is_address_field(f):
                problem = QLabel("", self)
                problem.setTextFormat(Qt.TextFormat.PlainText)
                problem.setWordWrap(True)
                problem.setAccessibleName(f"{f.label}: problem")
                problem.setVisible(False)
                self.form.addRow("", problem)
                self.problems[f.name] = problem
                edit.textChanged.connect(lambda _, n=f.name: self._check(n))
                self._check(f.name)
            edit.textChanged.connect(lambda _: self.changed.emit())
        if not fields and empty:
            note = QLabel(empty, self)
            note.setTextFormat(Qt.TextFormat.PlainText)
            note.setWordWrap(True)
            self.form.addRow(note)
        self.changed.emit()

    def values(self) -> tuple[dict[str, str], dict[str, str]]:
        """(settings, secrets) as typed; empty boxes are left out."""
        config: dict[str, str] = {}
        secrets: dict[str, str] = {}
        for name, (f, edit) in self.edits.items():
            value = edit.text().strip()  # a pasted token often ends in a space
            if value:
                (secrets if f.secret else config)[name] = value
        return config, secrets

    def is_complete(self) -> bool:
        """Every required field has a value (a secret the keyring holds counts)."""
        return all(
            edit.text().strip() or (f.secret and self._held.get(name, False))
            for name, (f, edit) in self.edits.items()
            if f.required and not f.default
        )

    def is_valid(self) -> bool:
        """Complete, and no web address is malformed (what Next and Save wait for)."""
        return self.is_complete() and not any(p.text() for p in self.problems.values())

    def _check(self, name: str) -> None:
        label = self.problems[name]
        label.setText(address_problem(self.edits[name][1].text().strip()))
        label.setVisible(bool(label.text()))

    def edit(self, name: str) -> QLineEdit | None:
        """The box of field ``name`` (None when the connector has no such field)."""
        found = self.edits.get(name)
        return found[1] if found is not None else None
