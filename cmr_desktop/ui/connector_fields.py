"""A connector's settings as a form: one row per field the connector describes, with its
human label and help. Shared by the add-brand wizard's connector page and the "Connector
settings" dialog of a brand that exists.

Secret fields are password boxes that are never filled in: the stored secret stays in the
system keyring, and an empty box means "keep it".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QWidget

from cmr_desktop.connectors.api import ConfigField
from cmr_desktop.ui.text import tooltip

#: In a secret's empty box when the keyring holds one (the value is never shown).
KEPT = "Stored in the system keyring (leave empty to keep it)"
#: In a secret's empty box when the keyring holds none.
MISSING = "Not stored: type it to sign in"


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
        self.edits = {}
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
            edit.textChanged.connect(lambda _: self.changed.emit())
            self.form.addRow(f.label + ("" if f.required else " (optional)"), edit)
            self.edits[f.name] = (f, edit)
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

    def edit(self, name: str) -> QLineEdit | None:
        """The box of field ``name`` (None when the connector has no such field)."""
        found = self.edits.get(name)
        return found[1] if found is not None else None
