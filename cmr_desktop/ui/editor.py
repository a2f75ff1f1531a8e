"""The brand editor beside the table: every change is saved at once and can be undone.

Each edit is a QUndoCommand that sets one preference field; its redo/undo write through
services on a pool thread (never on the GUI thread) and mark the brand pending, like any
edit. ``QUndoStack.push`` calls ``redo`` at once, so the widget never applies it itself.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from cmr_desktop.domain.preferences import FieldKey, FieldValue, PreferenceSet
from cmr_desktop.domain.vocabulary import Channel, Frequency
from cmr_desktop.services import Services
from cmr_desktop.ui.runner import Runner

_DEFAULT = "(their default)"


class SetField(QUndoCommand):
    """Set one preference field of one brand (and put it back on undo)."""

    def __init__(
        self, editor: BrandEditor, slug: str, key: FieldKey, old: FieldValue, new: FieldValue
    ) -> None:
        super().__init__(f"{_field_label(key)} of {slug}")
        self.editor, self.slug, self.key, self.old, self.new = editor, slug, key, old, new

    def redo(self) -> None:
        self.editor.write(self.slug, self.key, self.new)

    def undo(self) -> None:
        self.editor.write(self.slug, self.key, self.old)


def _field_label(key: FieldKey) -> str:
    if key[0] in ("channel", "frequency"):
        channel = key[1]
        assert isinstance(channel, Channel)
        return channel.label + (" frequency" if key[0] == "frequency" else "")
    return " ".join(str(k) for k in key)


class BrandEditor(QWidget):
    """Channels and how often, for the selected brand.

    Signals:
        saved(str): a brand's preferences were written (its slug).
    """

    saved = Signal(str)

    def __init__(
        self, services: Services, runner: Runner, undo: QUndoStack, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.services, self.runner, self.undo = services, runner, undo
        self.slug: str | None = None
        self.prefs = PreferenceSet()
        self._loading = False
        layout = QVBoxLayout(self)
        self.title = QLabel("", self)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.title)
        box = QGroupBox("Channels", self)
        form = QFormLayout(box)
        self.switches: dict[Channel, QCheckBox] = {}
        self.frequencies: dict[Channel, QComboBox] = {}
        for channel in Channel:
            switch = QCheckBox(channel.label, box)
            switch.setTristate(False)
            switch.setAccessibleName(f"Allow {channel.label}")
            combo = QComboBox(box)
            combo.setAccessibleName(f"{channel.label}: at most how often")
            combo.addItem(_DEFAULT, None)
            for freq in reversed(list(Frequency)):
                combo.addItem(freq.label, freq.value)
            switch.toggled.connect(lambda on, ch=channel: self._on_switch(ch, on))
            combo.currentIndexChanged.connect(lambda _, ch=channel: self._on_frequency(ch))
            row = QHBoxLayout()
            row.addWidget(switch)
            row.addWidget(combo)
            form.addRow(row)
            self.switches[channel] = switch
            self.frequencies[channel] = combo
        layout.addWidget(box)
        layout.addStretch(1)
        self.setEnabled(False)

    # --- showing a brand ------------------------------------------------------------------

    def show_brand(self, slug: str) -> None:
        """Load the brand in the background, then fill the controls."""
        self.slug = slug

        def load() -> tuple[str, str, PreferenceSet]:
            brand = self.services.get_brand(slug).brand
            return brand.slug, brand.name, brand.preferences

        self.runner.run(load, self._fill, lambda exc: self.title.setText(f"Error: {exc}"))

    def _fill(self, loaded: tuple[str, str, PreferenceSet]) -> None:
        slug, name, prefs = loaded
        if slug != self.slug:
            return  # the user moved on meanwhile
        self._loading = True
        self.prefs = prefs
        self.title.setText(name)
        for channel in Channel:
            self.switches[channel].setChecked(bool(prefs.channels.get(channel)))
            freq = prefs.frequencies.get(channel)
            combo = self.frequencies[channel]
            combo.setCurrentIndex(max(0, combo.findData(freq.value if freq else None)))
            combo.setEnabled(prefs.channels.get(channel) is not False)
        self._loading = False
        self.setEnabled(True)

    # --- edits ----------------------------------------------------------------------------

    def _on_switch(self, channel: Channel, on: bool) -> None:
        self.frequencies[channel].setEnabled(on)
        if not self._loading:
            self._push(("channel", channel), on)

    def _on_frequency(self, channel: Channel) -> None:
        if self._loading:
            return
        value = self.frequencies[channel].currentData()
        self._push(("frequency", channel), Frequency(value) if value else None)

    def _push(self, key: FieldKey, new: FieldValue) -> None:
        if self.slug is None:
            return
        old = self.prefs.get(key)
        if old == new:
            return
        self.undo.push(SetField(self, self.slug, key, old, new))

    def write(self, slug: str, key: FieldKey, value: FieldValue) -> None:
        """Store one field in the background; the table row updates when it is saved."""
        if slug == self.slug:
            self.prefs = self.prefs.replace_field(key, value)
            if key[0] in ("channel", "frequency"):
                self._loading = True
                self._fill((slug, self.title.text(), self.prefs))

        def save() -> str:
            self.services.update_preferences(slug, lambda p: p.replace_field(key, value))
            return slug

        self.runner.run(save, self.saved.emit, lambda exc: self.title.setText(f"Error: {exc}"))
