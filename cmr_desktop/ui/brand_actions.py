"""Brand actions of the window besides editing choices: removing brands (a confirmation
that says exactly what happens, then undo), a brand's connector settings, and the note an
empty table shows ("No brand matches 'xyz' — clear the search").

Removal runs on the Runner's write thread. What it took away (:class:`RemovedBrand`, the
secrets included) is kept by the undo command, in memory only, until the app closes.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)

from cmr_desktop.connectors.api import ConfigField
from cmr_desktop.services import RemovedBrand, Services, SettingRefused
from cmr_desktop.ui.connector_fields import ConnectorFieldsForm
from cmr_desktop.ui.plugin_calls import PluginCalls
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.text import plural

# --- removing brands ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RemovalCandidate:
    """A brand the customer asked to remove, as the confirmation describes it."""

    slug: str
    name: str
    secrets: tuple[str, ...]  # the labels of its connector's secret settings
    pending: bool  # it has choices not sent to its vendor yet


def removal_candidates(services: Services, slugs: Sequence[str]) -> list[RemovalCandidate]:
    """What the confirmation needs to know (reads the store: off the GUI thread)."""
    out = []
    for slug in slugs:
        record = services.brands.brand_record(slug)
        if record is None:
            continue  # removed meanwhile
        labels: tuple[str, ...] = ()
        with contextlib.suppress(Exception):  # a connector that is not installed
            labels = tuple(
                f.label
                for f in services.connections.connector_class(record.connector).config_fields
                if f.secret
            )
        out.append(RemovalCandidate(slug, record.name, labels, record.pending))
    return out


def _names(names: Sequence[str], most: int = 8) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _quoted(labels: Sequence[str]) -> str:
    quoted = [f"“{label}”" for label in labels]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def removal_text(brands: Sequence[RemovalCandidate]) -> tuple[str, str]:
    """(question, what happens) of the confirmation: exactly what removing does
    (services.brands.remove_brands), no more, no less."""
    one = len(brands) == 1
    its, it = ("its", "it") if one else ("their", "them")
    question = f"Remove {brands[0].name}?" if one else f"Remove {plural(len(brands), 'brand')}?"
    lines = [] if one else [_names([b.name for b in brands]) + ".", ""]
    lines.append(
        f"• Your decisions for {it}, {its} details and connector settings, and what {its} "
        "vendor last reported are deleted from CMR Desktop."
    )
    keeps = "it keeps the settings it holds" if one else "they keep the settings they hold"
    unsent = any(b.pending for b in brands)
    lines.append(
        f"• Nothing is sent to {'the vendor' if one else 'the vendors'}: {keeps}"
        + ("; your choices not sent yet will not be sent." if unsent else ".")
    )
    with_secrets = [b for b in brands if b.secrets]
    labels = sorted({label for b in with_secrets for label in b.secrets})
    if with_secrets:
        count = sum(len(b.secrets) for b in with_secrets)
        secrets, verb = ("secret", "is") if count == 1 else ("secrets", "are")
        if one:
            lines.append(
                f"• Its {secrets} {_quoted(labels)} {verb} deleted from the system keyring."
            )
        else:
            whose = _names([b.name for b in with_secrets])
            lines.append(
                f"• The {secrets} of {whose} ({_quoted(labels)}) {verb} deleted from the "
                "system keyring."
            )
    lines.append(f"• The activity journal keeps {its} entries, and notes the removal.")
    lines.append("")
    back = "it comes back" if one else "they come back"
    kept = (
        f", {_quoted(labels)} included (kept in memory for the undo, never on disk)"
        if with_secrets
        else ""
    )
    lines.append(
        f"You can undo this (Edit ▸ Undo) while CMR Desktop stays open: {back} as "
        f"{'it was' if one else 'they were'}{kept}."
    )
    return question, "\n".join(lines)


class RemoveCommand(QUndoCommand):
    """The undo of a removal that is already stored: undo puts the brands back, redo
    removes them again (each on the Runner's write thread, in order)."""

    def __init__(self, actions: BrandActions, removed: list[RemovedBrand]) -> None:
        names = [r.name for r in removed]
        super().__init__(
            f"Remove {names[0]}" if len(names) == 1 else f"Remove {plural(len(names), 'brand')}"
        )
        self.actions = actions
        self.slugs = [r.slug for r in removed]
        self.names = names
        # Set on the write thread by the job that removes; read there by the job that
        # restores, which runs after it on that one thread.
        self.removed = removed
        self._stored = True  # pushed once the removal is stored: the first redo is a no-op
        self.broken = False  # a restore was refused: do nothing more

    def redo(self) -> None:
        if self._stored or self.broken:
            self._stored = False
            return
        self.actions.remove_again(self)

    def undo(self) -> None:
        if not self.broken:
            self.actions.restore(self)


class UndoNotice(QLabel):
    """ "Removed Contoso Bank — Undo" in the status bar; the link undoes that removal only
    while it is the next thing to undo."""

    def __init__(self, undo: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.undo = undo
        self.command: QUndoCommand | None = None
        self.setTextFormat(Qt.TextFormat.RichText)  # brand names are escaped
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.setAccessibleName("Undo the removal")
        self.linkActivated.connect(lambda _: self.activate())
        self._timer = QTimer(self, singleShot=True, interval=30_000)
        self._timer.timeout.connect(self.hide)
        undo.indexChanged.connect(self._check)
        self.hide()

    def show_for(self, text: str, command: QUndoCommand) -> None:
        self.command = command
        bar = self.parentWidget()
        if isinstance(bar, QStatusBar):
            bar.clearMessage()  # a message shown before would be drawn under this one
        self.setText(f'{html.escape(text)} — <a href="undo">Undo</a>')
        self.setToolTip("Put it back as it was (Ctrl+Z)")
        self.show()
        self._timer.start()

    def plain_text(self) -> str:
        return self.text().replace('<a href="undo">', "").replace("</a>", "")

    def _is_next(self, index: int) -> bool:
        return (
            self.command is not None and index > 0 and self.undo.command(index - 1) is self.command
        )

    def _check(self, index: int) -> None:
        # The index comes with the signal: while the stack is being deleted (it clears
        # itself, index 0) it must not be asked anything.
        if not self._is_next(index):
            self.hide()

    def activate(self) -> None:
        """Undo the removal (when it is still the next thing to undo)."""
        if self._is_next(self.undo.index()):
            self.undo.undo()
        self.hide()


class BrandActions(QObject):
    """Remove and restore brands, and open a brand's connector settings.

    Signals:
        removed(list): slugs of brands removed (the window reloads).
        restored(list): slugs of brands put back (the window reloads and shows them).
        changed(str): a brand's settings were saved (its slug).
        message(str): something for the status bar.
        sign_in(str): the customer asked to sign in again for this brand.
    """

    removed = Signal(list)
    restored = Signal(list)
    changed = Signal(str)
    message = Signal(str)
    sign_in = Signal(str)

    def __init__(
        self,
        services: Services,
        runner: Runner,
        undo: QUndoStack,
        parent: QWidget,
        *,
        busy: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__(parent)
        self.services, self.runner, self.undo, self.window = services, runner, undo, parent
        self.busy = busy
        self.confirm: QMessageBox | None = None  # the last confirmation shown (tests)
        self.remove_button: QPushButton | None = None
        self.settings_dialog: ConnectorSettingsDialog | None = None
        self.notice = UndoNotice(undo, parent)
        #: Undos and redos of removals asked for during a sync: done once it is over (the
        #: sync's process must not find its brands gone, or back, under it).
        self._after_sync: list[Callable[[], None]] = []

    def sync_done(self) -> None:
        """The sync is over: do the removals and restores that waited for it, in order."""
        waiting, self._after_sync = self._after_sync, []
        for job in waiting:
            job()

    def _when_idle(self, job: Callable[[], None], what: str) -> bool:
        """True when ``job`` had to wait for the sync (it runs after it, and the status bar
        says so)."""
        if not self.busy():
            return False
        self._after_sync.append(job)
        self.message.emit(f"{what} once the sync is done.")
        return True

    # --- remove ---------------------------------------------------------------------------

    def ask_remove(self, slugs: Sequence[str]) -> None:
        """Ask to remove these brands (a confirmation opens once they are read)."""
        slugs = list(dict.fromkeys(slugs))
        if not slugs:
            return
        if self.busy():
            self.message.emit("Brands can be removed once the sync is done.")
            return
        services = self.services
        self.runner.run(
            lambda: removal_candidates(services, slugs),
            self._confirm,
            lambda error: self.message.emit(f"Not removed: {error}"),
        )

    def _confirm(self, brands: list[RemovalCandidate]) -> None:
        if not brands:
            return
        question, details = removal_text(brands)
        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Remove brands" if len(brands) > 1 else "Remove a brand")
        box.setTextFormat(Qt.TextFormat.PlainText)  # brand names are never markup
        box.setText(question)
        box.setInformativeText(details)
        label = "&Remove" if len(brands) == 1 else f"&Remove {plural(len(brands), 'brand')}"
        remove = box.addButton(label, QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setEscapeButton(QMessageBox.StandardButton.Cancel)
        slugs = [b.slug for b in brands]

        def finished(_result: int) -> None:
            if box.clickedButton() is remove:
                self.remove(slugs)

        box.finished.connect(finished)
        self.confirm, self.remove_button = box, remove
        box.open()  # not blocking: the window keeps working (and tests can click)

    def remove(self, slugs: Sequence[str]) -> None:
        """Remove the brands now (no confirmation); undoable."""
        services, slugs = self.services, list(slugs)
        if self.busy():
            self.message.emit("Brands can be removed once the sync is done.")
            return

        def done(removed: list[RemovedBrand]) -> None:
            if not removed:
                return
            command = RemoveCommand(self, removed)
            self.undo.push(command)  # its first redo does nothing: the removal is stored
            self.removed.emit(command.slugs)
            self.notice.show_for(f"Removed {self._words(command.names)}", command)
            kept = [r.name for r in removed if r.kept]
            if kept:
                self.message.emit(
                    f"The system keyring would not delete the secrets of {_names(kept)}: "
                    "they are still in it (remove them with your keyring's own tool)."
                )

        self.runner.run(
            lambda: services.brands.remove_brands(slugs),
            done,
            lambda error: self.message.emit(f"Not removed: {error}"),
            write=True,
        )

    @staticmethod
    def _words(names: Sequence[str]) -> str:
        return names[0] if len(names) == 1 else plural(len(names), "brand")

    def remove_again(self, command: RemoveCommand) -> None:
        """Redo of a removal: remove the restored brands again (fresh snapshots)."""
        if self._when_idle(
            lambda: self.remove_again(command),
            f"{self._words(command.names)} will be removed again",
        ):
            return
        services = self.services

        def run() -> list[str]:
            command.removed = services.brands.remove_brands(command.slugs)
            return [r.slug for r in command.removed]

        def done(slugs: list[str]) -> None:
            self.removed.emit(slugs)
            self.message.emit(f"Removed {self._words(command.names)} again.")

        def failed(error: Exception) -> None:
            command.broken = True
            self.message.emit(f"Not removed: {error}")

        self.runner.run(run, done, failed, write=True)

    def restore(self, command: RemoveCommand) -> None:
        """Undo of a removal: put the brands back as they were, secrets included."""
        if self._when_idle(
            lambda: self.restore(command), f"{self._words(command.names)} will be put back"
        ):
            return
        services = self.services

        def run() -> list[str]:
            return services.brands.restore_brands(command.removed)

        def done(refused: list[str]) -> None:
            text = f"Put back {self._words(command.names)}."
            if refused:
                text += (
                    " The system keyring would not take back the secrets of "
                    f"{_names(refused)}: sign in again (Brands ▸ Sign in again)."
                )
            self.message.emit(text)
            self.restored.emit(list(command.slugs))

        def failed(error: Exception) -> None:
            command.broken = True
            # The steps below this one name brands by id, and that id now means another
            # brand: undoing them would change the new brand. They are dropped.
            self.undo.clear()
            self.message.emit(f"Not put back: {error} The earlier steps can no longer be undone.")

        self.runner.run(run, done, failed, write=True)

    # --- connector settings ---------------------------------------------------------------

    def show_settings(self, slug: str) -> ConnectorSettingsDialog:
        """Open the connector settings of a brand (not blocking the window)."""
        dialog = ConnectorSettingsDialog(self.services, self.runner, slug, self.window)
        dialog.saved.connect(self.changed)
        dialog.saved.connect(
            lambda _slug: self.message.emit(f"Saved the connector settings of {dialog.name}.")
        )
        dialog.sign_in.connect(self.sign_in)
        self.settings_dialog = dialog
        dialog.show()
        return dialog


@dataclass(frozen=True, slots=True)
class _Loaded:
    name: str
    connector: str
    fields: tuple[ConfigField, ...]
    config: dict[str, str]
    held: dict[str, bool]


def _load_settings(services: Services, slug: str) -> _Loaded:
    """A brand's connector fields and settings (imports its plugin: off the GUI thread)."""
    view = services.brands.get_brand(slug)
    connector, config, held = services.connections.connector_settings(slug)
    fields = tuple(services.connections.connector_class(connector).config_fields)
    return _Loaded(view.brand.name, connector, fields, config, held)


class ConnectorSettingsDialog(QDialog):
    """A brand's connector settings with the connector's own labels, checked and saved
    through the services; secrets are never shown, only replaced.

    Signals:
        saved(str): the settings were stored (the brand's slug).
        sign_in(str): "Sign in again" was asked for (the brand's slug).
    """

    saved = Signal(str)
    sign_in = Signal(str)
    load_timeout_ms = 10_000

    def __init__(
        self, services: Services, runner: Runner, slug: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.services, self.runner, self.slug = services, runner, slug
        self.name = slug
        self.loaded: _Loaded | None = None
        self.plugins = PluginCalls(self)
        self.setWindowTitle("Connector settings")
        layout = QVBoxLayout(self)
        self.heading = QLabel("Looking for the brand's connector…", self)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        self.form = ConnectorFieldsForm(self)
        self.form.changed.connect(self._update_buttons)
        layout.addWidget(self.form)
        self.note = QLabel("", self)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setWordWrap(True)
        self.note.setAccessibleName("What happened")
        layout.addWidget(self.note)
        layout.addStretch(1)
        buttons = QDialogButtonBox(self)
        self.save_button = buttons.addButton(QDialogButtonBox.StandardButton.Save)
        self.sign_in_button = buttons.addButton(
            "Sign &in again…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.sign_in_button.setToolTip("Enter the brand's secrets again and check them")
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        self.save_button.clicked.connect(lambda: self.save())
        self.sign_in_button.clicked.connect(self._sign_in)
        self.save_button.setEnabled(False)
        self.sign_in_button.setEnabled(False)
        layout.addWidget(buttons)
        self.resize(560, 240)
        self.plugins.run(
            lambda: _load_settings(services, slug),
            self._show,
            lambda error: self.heading.setText(f"The connector settings cannot be shown: {error}"),
            timeout_ms=self.load_timeout_ms,
            on_slow=lambda: self.heading.setText(
                "Still looking for the connector: its plugin is taking long to load."
            ),
        )

    def _show(self, loaded: _Loaded) -> None:
        self.loaded, self.name = loaded, loaded.name
        self.setWindowTitle(f"Connector settings of {loaded.name}")
        if loaded.connector == "manual":
            self.heading.setText(
                f"{loaded.name} is handled by hand: you carry out your choices yourself, so "
                "there is nothing to set up."
            )
        else:
            self.heading.setText(
                f"How CMR Desktop reaches {loaded.name} (connector {loaded.connector}). "
                "Secrets stay in the system keyring and are never shown."
            )
        self.form.set_fields(loaded.fields, loaded.config, loaded.held, empty="")
        self.sign_in_button.setEnabled(any(f.secret for f in loaded.fields))
        self._update_buttons()
        first = next(iter(self.form.edits.values()), None)
        if first is not None:
            first[1].setFocus()

    def _changed(self) -> bool:
        if self.loaded is None:
            return False
        config, secrets = self.form.values()
        return bool(secrets) or config != {k: v for k, v in self.loaded.config.items() if v.strip()}

    def _update_buttons(self) -> None:
        self.save_button.setEnabled(
            self.loaded is not None and bool(self.form.edits) and self.form.is_valid()
        )

    def save(self, then: Callable[[], None] | None = None) -> None:
        """Check and store the settings as typed (and any secret typed)."""
        config, secrets = self.form.values()
        services, slug = self.services, self.slug
        self.save_button.setEnabled(False)
        self.note.setText("Saving…")

        def stored(_: Any) -> None:
            self.note.setText("Saved.")
            self.saved.emit(slug)
            if then is not None:
                then()
            self.accept()

        def failed(error: Exception) -> None:
            self._update_buttons()
            self.note.setText(f"Not saved: {error}")
            if isinstance(error, SettingRefused):
                edit = self.form.edit(error.field)
                if edit is not None:
                    edit.setFocus()
                    edit.selectAll()

        self.runner.run(
            lambda: services.connections.set_connector_settings(slug, config, secrets),
            stored,
            failed,
            write=True,
        )

    def _sign_in(self) -> None:
        if self._changed():  # typed settings are saved first, then the sign-in opens
            self.save(then=lambda: self.sign_in.emit(self.slug))
            return
        self.sign_in.emit(self.slug)
        self.accept()


# --- the empty table ------------------------------------------------------------------------


class EmptyNote(QWidget):
    """Drawn in an empty table: why it is empty, and a button that fixes it."""

    def __init__(self, view: QAbstractItemView) -> None:
        super().__init__(view.viewport())
        self.view = view
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        self.label = QLabel("", self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # the query is the user's text
        self.label.setAccessibleName("Why no brand is shown")
        self.button = QPushButton("", self)
        self.button.setFlat(True)
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        font = self.button.font()
        font.setUnderline(True)
        self.button.setFont(font)
        self.button.setStyleSheet("QPushButton { color: palette(link); border: none; }")
        self.button.clicked.connect(lambda: self._action() if self._action else None)
        layout.addWidget(self.label)
        layout.addWidget(self.button)
        self._action: Callable[[], None] | None = None
        view.viewport().installEventFilter(self)
        self.hide()

    def show_note(self, text: str, action: str, do: Callable[[], None]) -> None:
        self.label.setText(f"{text} —")
        self.button.setText(action)
        self.button.setAccessibleName(action[0].upper() + action[1:])
        self._action = do
        self._place()
        self.show()
        self.raise_()

    def text(self) -> str:
        """What the note says, as one line."""
        return f"{self.label.text()} {self.button.text()}" if self.isVisible() else ""

    def _place(self) -> None:
        self.adjustSize()
        viewport = self.view.viewport()
        width = min(self.sizeHint().width(), viewport.width())
        self.resize(width, self.sizeHint().height())
        self.move(max(0, (viewport.width() - width) // 2), 24)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False


class EscapeClears(QObject):
    """Esc in a non-empty search box clears it (before any window shortcut on Esc)."""

    def __init__(self, edit: QLineEdit) -> None:
        super().__init__(edit)
        self.edit = edit
        edit.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Escape and self.edit.text():
                if kind == QEvent.Type.KeyPress:
                    self.edit.clear()
                event.accept()
                return True
        return False
