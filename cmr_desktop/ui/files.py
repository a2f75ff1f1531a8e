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
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from cmr_desktop.domain.brand import DETAIL_FIELDS, Brand
from cmr_desktop.domain.fields import in_order
from cmr_desktop.interop.directory import bundled_directory
from cmr_desktop.interop.files import write_atomically
from cmr_desktop.interop.plan import ImportPlan
from cmr_desktop.services import Services
from cmr_desktop.ui.editor import field_label
from cmr_desktop.ui.errors import error_box
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.text import describe_value, translate

#: Relationship details in the customer's words (the import preview).
_DETAILS = {f.name: f.label for f in DETAIL_FIELDS}


def _detail_words(value: object) -> str:
    if isinstance(value, dict):
        value = ", ".join(f"{k} {v}" for k, v in sorted(value.items()))
    elif isinstance(value, tuple | list):
        value = ", ".join(map(str, value))
    return str(value) if value not in (None, "") else "none"


def change_words(old: Brand, new: Brand) -> list[str]:
    """What an import changes in a brand, in the customer's words ("Email: allowed →
    refused", "Website: none → https://…")."""
    out = []
    for name, label in _DETAILS.items():
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            out.append(f"{label}: {_detail_words(a)} → {_detail_words(b)}")
    fa, fb = old.preferences.fields(), new.preferences.fields()
    for key in in_order(fa.keys() | fb.keys()):
        if fa.get(key) != fb.get(key):
            was, now = describe_value(fa.get(key)), describe_value(fb.get(key))
            out.append(f"{field_label(key)}: {was} → {now}")
    return out


def preview_lines(plan: ImportPlan) -> tuple[list[str], str]:
    """(one line per brand, by name; the summary) of what an import would change."""
    lines = [f"New: {b.name}" for b in plan.added]
    for c in plan.changed:
        lines.append(f"Changed: {c.old.name}: " + "; ".join(change_words(c.old, c.new)))
    if plan.policy_after is not None:
        before = ", ".join(plan.policy_before.describe()) or "no rules"
        after = ", ".join(plan.policy_after.describe()) or "no rules"
        lines.append(f"My Terms: {before} → {after}")
    summary = (
        translate("Import", "%n brand(s) to add", None, len(plan.added))
        + f", {len(plan.changed)} to change, {plan.unchanged} unchanged"
        + (", My Terms change" if plan.policy_after is not None else "")
    )
    return lines, summary


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
        #: The last error box shown (ui.errors' box, with the standard icon), or None.
        self.error: QMessageBox | None = None

    def _show(self, dialog: TextDialog) -> TextDialog:
        self.dialog = dialog
        dialog.show()
        return dialog

    def _error(self, what: str) -> Callable[[Exception], None]:
        def show(error: Exception) -> None:
            self._clear_error()
            box = error_box(what, f"{what} failed: {error}", self.window)
            box.setModal(False)  # never blocks the window (nor a test)
            self.error = box
            box.show()
            self.message.emit(f"{what} failed.")

        return show

    def _clear_error(self) -> None:
        """A new attempt starts: an earlier failure is no longer shown."""
        if self.error is not None:
            self.error.close()
            self.error = None

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
        write = services.transfer.export_json if fmt == "json" else services.transfer.export_csv
        newline = "" if fmt == "csv" else None

        def done(count: int) -> None:
            text = translate("Files", "Exported %n brand(s) to {path}.", None, count)
            self.message.emit(text.format(path=path))

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
        self._clear_error()
        self.message.emit(f"Checking {path.name}…")  # replaces an earlier "Import failed."

        def show(result: Any) -> None:
            previewed = list(result.plan.lines())  # compared again before importing
            lines, summary = preview_lines(result.plan)
            self.message.emit(f"{path.name}: {summary}.")
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
                "\n".join(lines),
                "&Import",
                self.window,
            )
            dialog.accepted.connect(lambda: self._import(path, previewed))
            self._show(dialog)

        self.runner.run(
            lambda: services.transfer.import_file(path, dry_run=True), show, self._error("Import")
        )

    def _import(self, path: Path, previewed: list[str]) -> None:
        """Import what the preview showed; if the file or the brands changed since, stop."""
        services = self.services

        def run() -> Any:
            again = list(services.transfer.import_file(path, dry_run=True).plan.lines())
            if again != previewed:
                raise ValueError(
                    "the file or your brands changed since the preview; nothing was "
                    "imported. Open the import again to see the changes."
                )
            return services.transfer.import_file(path)

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
            heading = translate(
                "Files",
                "Added {added} and updated {updated} of %n organisation(s); ",
                None,
                result.total,
            ).format(added=result.added, updated=result.updated) + (
                f"skipped {len(result.skipped)}."
            )
            self.message.emit(heading)
            if result.skipped:
                text = "\n".join(result.skipped)
                self._show(TextDialog("Company directory", heading, text, None, self.window))

        self.runner.run(
            lambda: services.directory.import_directory(path),
            done,
            self._error("Directory import"),
            write=True,
        )
