"""Telling the user that the app cannot start, in a window (never a bare traceback).

Every such message goes through :func:`show_error`, the one seam tests replace. With
``CMR_DESKTOP_ERRORS=stderr`` in the environment the message is printed instead of shown
(for scripts and for tests that run the real ``cmr-desktop`` in a child process, where a
modal dialog would wait for a click that never comes).
"""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

ENV_ERRORS = "CMR_DESKTOP_ERRORS"

HOME_ADVICE = (
    "Move the file away or choose another folder with --home (or the CMR_HOME "
    "environment variable). Nothing was changed."
)


def home_problem(home: object, reason: str) -> str:
    """The message for a home folder that cannot be opened: what is wrong, what to do."""
    reason = reason.strip().rstrip(".")
    prefix = f"cannot open the data folder {home}:"
    if reason.startswith(prefix):  # storage's own wording: say it once
        reason = reason[len(prefix) :].strip()
    text = f"CMR Desktop cannot open the data folder {home}:\n{reason}."
    if "newer CMR Desktop" in reason:
        return text + "\n\nOr choose another folder with --home."
    return f"{text}\n\n{HOME_ADVICE}"


#: The standard icon of each kind of message box: the one Qt shows on every platform.
ICONS = {
    "error": QMessageBox.Icon.Critical,
    "warning": QMessageBox.Icon.Warning,
    "question": QMessageBox.Icon.Question,
    "information": QMessageBox.Icon.Information,
}


def message_box(
    kind: str,
    title: str,
    text: str,
    parent: QWidget | None = None,
    buttons: QMessageBox.StandardButton = QMessageBox.StandardButton.Close,
) -> QMessageBox:
    """A message box with the standard icon of its ``kind`` (``error``, ``warning``,
    ``question`` for a confirmation, ``information``), plain text (file and brand names are
    never markup). Every box the app builds comes from here."""
    box = QMessageBox(parent)
    box.setIcon(ICONS[kind])
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    box.setStandardButtons(buttons)
    return box


def error_box(title: str, text: str, parent: QWidget | None = None) -> QMessageBox:
    """The dialog :func:`show_error` shows."""
    return message_box("error", title, text, parent)


def warning_box(title: str, text: str, parent: QWidget | None = None) -> QMessageBox:
    return message_box("warning", title, text, parent)


def question_box(
    title: str, text: str, parent: QWidget | None = None, action: str = "&OK"
) -> QMessageBox:
    """A confirmation: ``action`` (the accept button, default) and Cancel."""
    box = message_box("question", title, text, parent, QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(box.addButton(action, QMessageBox.ButtonRole.AcceptRole))
    return box


def show_error(title: str, text: str, parent: QWidget | None = None) -> None:
    """Tell the user, and wait until they have read it (printed as well, for terminals)."""
    print("cmr-desktop: " + " ".join(text.split()), file=sys.stderr)
    if os.environ.get(ENV_ERRORS) == "stderr":
        return
    error_box(title, text, parent).exec()
