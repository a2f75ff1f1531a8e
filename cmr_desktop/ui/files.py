"""File menu: export (JSON, CSV), import with a preview first, and the company directory.

Each flow is split in two: a method that takes a path (what tests call) and the file
dialog that asks for it. Nothing is written by an import until the user has seen the
preview and pressed Import; an export is written to a temporary file next to the target
and renamed over it when complete, so a failure never leaves half a file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from cmr_desktop.interop.directory import bundled_directory
from cmr_desktop.interop.files import write_atomically
from cmr_desktop.services import Services
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.text import plural


class TextDialog(QDialog):
    """A non-blocking dialog with a heading, plain text and buttons (shown with ``show()``).

    ``action`` names the accept button; without one there is only Close.
    """

    def __init__(
        self,
        title: str,
        heading: str,
        text: str,
        action: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        self.heading = QLabel(heading, self)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        self.text = QPlainTextEdit(text, self)  # plain text: file content is untrusted
        self.text.setReadOnly(True)
        self.text.setAccessibleName(title)
        self.text.setVisible(bool(text))
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(self)
        self.action_button = None
        if action is not None:
            self.action_button = buttons.addButton(action, QDialogButtonBox.ButtonRole.AcceptRole)
            buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        else:
            buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(620, 420 if text else 160)


class FileActions(QObject):
    """The File menu's flows.

    Signals:
        imported(): brands or My Terms were imported (the window reloads).
        message(str): something for the status bar.
    """

    imported = Signal()
    message = Signal(str)

    def __init__(self, services: Services, runner: Runner, parent: QWidget) -> None:
        super().__init__(parent)
        self.services, self.runner, self.window = services, runner, parent
        self.dialog: TextDialog | None = None  # the last one shown (tests look at it)

    def _show(self, dialog: TextDialog) -> TextDialog:
        self.dialog = dialog
        dialog.show()
        return dialog

    def _error(self, what: str) -> Callable[[Exception], None]:
        def show(error: Exception) -> None:
            self._show(TextDialog(what, f"{what} failed: {error}", "", None, self.window))
            self.message.emit(f"{what} failed.")

        return show

    # --- export ---------------------------------------------------------------------------

    def ask_export(self, fmt: str) -> None:
        suffix = {"json": "JSON (*.json)", "csv": "CSV (*.csv)"}[fmt]
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export", str(Path.home() / f"cmr-export.{fmt}"), suffix
        )
        if path:
            self.export_to(Path(path), fmt)

    def export_to(self, path: Path, fmt: str) -> None:
        """Export every brand (and My Terms, in JSON) to ``path`` in the background."""
        services = self.services
        write = services.export_json if fmt == "json" else services.export_csv
        newline = "" if fmt == "csv" else None

        def done(count: int) -> None:
            self.message.emit(f"Exported {plural(count, 'brand')} to {path}.")

        self.runner.run(lambda: write_atomically(path, write, newline), done, self._error("Export"))

    # --- import of brands -----------------------------------------------------------------

    def ask_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Import brands", str(Path.home()), "CMR Desktop export (*.json)"
        )
        if path:
            self.preview_import(Path(path))

    def preview_import(self, path: Path) -> None:
        """Check ``path`` and show what importing it would change; import on the button."""
        services = self.services

        def show(result: Any) -> None:
            lines = list(result.plan.lines())
            summary = lines[-1] if lines else ""
            if result.plan.is_empty:
                dialog = TextDialog(
                    "Import brands",
                    f"{path.name}: nothing to import ({summary}).",
                    "",
                    None,
                    self.window,
                )
                self._show(dialog)
                return
            dialog = TextDialog(
                "Import brands",
                f"Importing {path.name} would change this (nothing is written yet): {summary}.",
                "\n".join(lines[:-1]),
                "&Import",
                self.window,
            )
            dialog.accepted.connect(lambda: self._import(path, lines))
            self._show(dialog)

        self.runner.run(
            lambda: services.import_file(path, dry_run=True), show, self._error("Import")
        )

    def _import(self, path: Path, previewed: list[str]) -> None:
        """Import what the preview showed; if the file or the brands changed since, stop."""
        services = self.services

        def run() -> Any:
            again = list(services.import_file(path, dry_run=True).plan.lines())
            if again != previewed:
                raise ValueError(
                    "the file or your brands changed since the preview; nothing was "
                    "imported. Open the import again to see the changes."
                )
            return services.import_file(path)

        def done(_result: Any) -> None:
            self.message.emit(f"Imported {path.name}.")
            self.imported.emit()

        self.runner.run(run, done, self._error("Import"), write=True)

    # --- company directory ----------------------------------------------------------------

    def ask_directory(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window,
            "Import a company directory",
            str(bundled_directory()),
            "Company directory (*.json)",
        )
        if path:
            self.import_directory(Path(path))

    def import_directory(self, path: Path | None = None) -> None:
        """Import a company directory (None: the bundled one); report skipped records."""
        services = self.services

        def done(result: Any) -> None:
            heading = (
                f"Added {result.added} and updated {result.updated} of "
                f"{plural(result.total, 'organisation')}; skipped {len(result.skipped)}."
            )
            self.message.emit(heading)
            if result.skipped:
                text = "\n".join(result.skipped)
                self._show(TextDialog("Company directory", heading, text, None, self.window))

        self.runner.run(
            lambda: services.import_directory(path),
            done,
            self._error("Directory import"),
            write=True,
        )
