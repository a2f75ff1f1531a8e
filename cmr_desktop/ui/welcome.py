"""What a new user meets: a welcome on an empty home, "Preparing the demo…" while the demo
fills its throw-away home, and a hint in place of the editor while no brand is selected.

The main window holds its brand panes and these pages in :class:`StartPages` (a stacked
widget), and its editor beside :class:`EditorHint` in :class:`EditorPages`. Nothing here
reads the home: the window says how many brands it has.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QProcess, QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

INTRO = (
    "CMR Desktop keeps, on your own computer, what each brand you deal with may do: which "
    "channels may reach you, how often, about what, and which of your data it may use for "
    "what. It sends your choices to brands that offer an API and keeps track of the ones you "
    "handle by hand, so your record says only what you decided."
)
DEMO_NOTE = (
    "Made-up brands and simulated vendors to try everything on. The demo opens in its own "
    "window and keeps nothing: this window and your data stay as they are."
)
HINT = "Select a brand on the left to see and change what it may do."


@dataclass(frozen=True, slots=True)
class WelcomeAction:
    """One big action of the welcome page: its button text (with its mnemonic), the name a
    screen reader says, and the sentence under it."""

    name: str
    text: str
    accessible: str
    description: str


ADD = WelcomeAction(
    "add",
    "&Add a brand…",
    "Add a brand",
    "Pick it from the bundled company directory, or type its name; connect it to its vendor "
    "if it has an API (Ctrl+N).",
)
IMPORT = WelcomeAction(
    "import",
    "&Import a file…",
    "Import a file",
    "Brands exported from CMR Desktop (JSON). You see what would change before anything is "
    "written (Ctrl+I).",
)
DEMO = WelcomeAction("demo", "Try the &demo", "Try the demo", DEMO_NOTE)
MAILBOX = WelcomeAction(
    "mailbox",
    "Find my brands in my &mailbox…",
    "Find my brands in my mailbox",
    "Read the headers of your mail (an mbox file such as a Google Takeout export, a Maildir "
    "folder or an IMAP account) and pick the brands that write to you (Ctrl+Shift+F).",
)
ACTIONS: tuple[WelcomeAction, ...] = (ADD, IMPORT, MAILBOX, DEMO)

#: The inline program that starts the desktop app (``cmr-desktop``) with this interpreter.
#: (``python -m cmr_desktop`` is the ``cmr`` command line.)
_GUI = "import sys; from cmr_desktop.app import gui_main; sys.exit(gui_main())"


def demo_command() -> tuple[str, list[str]]:
    """How to start ``cmr-desktop --demo`` from this process (no PATH lookup)."""
    if getattr(sys, "frozen", False):  # a bundled app: the executable is the app itself
        return sys.executable, ["--demo"]
    # -P: not the current folder first on sys.path (a cmr_desktop/ or json.py there would be
    # imported and run in place of ours).
    return sys.executable, ["-P", "-c", _GUI, "--demo"]


def launch_demo() -> bool:
    """Start the demo as a detached process (it outlives this window); True if it started."""
    program, arguments = demo_command()
    started, _pid = QProcess.startDetached(program, arguments)
    return bool(started)


def _heading(text: str, parent: QWidget, scale: float = 1.6) -> QLabel:
    label = QLabel(text, parent)
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(True)
    label.setFont(font)
    label.setWordWrap(True)
    return label


def _text(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


class WelcomePage(QWidget):
    """The window's page on an empty home: what the app does and what to do first.

    Args:
        launch: starts the demo (a seam: tests replace it); returns whether it started.

    Signals:
        add_brand(): *Add a brand* was chosen (the window opens its wizard).
        import_file(): *Import a file* was chosen (the window asks for the file).
        find_brands(): *Find my brands in my mailbox* was chosen (ui/discover.py).
    """

    add_brand = Signal()
    import_file = Signal()
    find_brands = Signal()

    def __init__(
        self, parent: QWidget | None = None, *, launch: Callable[[], bool] = launch_demo
    ) -> None:
        super().__init__(parent)
        self.launch = launch
        self.setAccessibleName("Welcome")
        column = QWidget(self)
        column.setMaximumWidth(720)
        box = QVBoxLayout(column)
        box.setSpacing(12)
        self.title = _heading("Welcome to CMR Desktop", column)
        self.title.setAccessibleName("Welcome to CMR Desktop")
        box.addWidget(self.title)
        self.intro = _text(INTRO, column)
        self.intro.setAccessibleName("What CMR Desktop does")
        box.addWidget(self.intro)
        box.addSpacing(8)
        box.addWidget(_text("You have no brands yet. Start with one of these:", column))
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(10)
        self.buttons: dict[str, QPushButton] = {}
        for row, action in enumerate(ACTIONS):
            button = QPushButton(action.text, column)
            button.setAccessibleName(action.accessible)
            button.setAccessibleDescription(action.description)
            button.setToolTip(action.description)
            button.setMinimumSize(220, 44)
            font = QFont(button.font())
            font.setPointSizeF(font.pointSizeF() * 1.15)
            button.setFont(font)
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            button.setAutoDefault(True)  # Enter presses the focused one
            description = _text(action.description, column)
            description.setBuddy(button)
            grid.addWidget(button, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(description, row, 1, Qt.AlignmentFlag.AlignVCenter)
            self.buttons[action.name] = button
        grid.setColumnStretch(1, 1)
        box.addLayout(grid)
        self.status = _text("", column)
        self.status.setAccessibleName("Welcome status")
        box.addWidget(self.status)
        self.buttons["add"].clicked.connect(self.add_brand)
        self.buttons["import"].clicked.connect(self.import_file)
        self.buttons["mailbox"].clicked.connect(self.find_brands)
        self.buttons["demo"].clicked.connect(self.try_demo)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(column, 3, Qt.AlignmentFlag.AlignVCenter)
        outer.addStretch(1)

    def try_demo(self) -> None:
        """Start the demo in its own process and say so."""
        if self.launch():
            self.status.setText(
                "The demo is starting in its own window (it takes a few seconds); it keeps "
                "nothing. Close it when you are done."
            )
        else:
            self.status.setText(
                "The demo could not be started. Run cmr-desktop --demo in a terminal to see why."
            )


class PreparingPage(QWidget):
    """A busy page while the demo (or other start-up work) fills the home."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Preparing")
        column = QWidget(self)
        column.setMaximumWidth(620)
        box = QVBoxLayout(column)
        self.title = _heading("Preparing the demo…", column, 1.4)
        box.addWidget(self.title)
        self.text = _text(
            "Starting the simulated vendors and filling a throw-away home with demo brands. "
            "Nothing you do in the demo is kept.",
            column,
        )
        box.addWidget(self.text)
        self.bar = QProgressBar(column)
        self.bar.setRange(0, 0)  # busy
        self.bar.setTextVisible(False)
        self.bar.setAccessibleName("Preparing the demo")
        box.addWidget(self.bar)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(column, 3, Qt.AlignmentFlag.AlignVCenter)
        outer.addStretch(1)

    def failed(self, text: str) -> None:
        self.title.setText("The demo could not be prepared")
        self.text.setText(text)
        self.bar.hide()


class StartPages(QStackedWidget):
    """The window's centre: its brand panes, the welcome (empty home) or "Preparing…".

    Args:
        brands: the brand panes (sidebar, table, editor).
        launch: how *Try the demo* starts the demo (see :class:`WelcomePage`).

    Signals:
        ready(): "Preparing…" ended (:meth:`prepared`).
    """

    ready = Signal()

    def __init__(
        self,
        brands: QWidget,
        parent: QWidget | None = None,
        *,
        launch: Callable[[], bool] = launch_demo,
    ) -> None:
        super().__init__(parent)
        self.brands = brands
        self.welcome = WelcomePage(self, launch=launch)
        self.preparing = PreparingPage(self)
        for page in (brands, self.welcome, self.preparing):
            self.addWidget(page)
        self._preparing = False
        self.currentChanged.connect(lambda _: self.updateGeometry())

    def minimumSizeHint(self) -> QSize:
        """The page shown's: a hidden welcome (four big buttons) must not take height from
        the brand panes and the results dock (QStackedWidget takes the largest page's)."""
        current = self.currentWidget()
        return current.minimumSizeHint() if current is not None else super().minimumSizeHint()

    def prepare(self) -> None:
        """Show "Preparing…" until :meth:`prepared` (the home is being filled)."""
        self._preparing = True
        self.setCurrentWidget(self.preparing)

    def prepared(self) -> None:
        """The home is filled: "Preparing…" stays until the window's next load says what
        it holds (:meth:`show_for`)."""
        self._preparing = False
        self.ready.emit()

    def is_preparing(self) -> bool:
        return self._preparing

    def show_for(self, brands: int) -> None:
        """The page for a home with ``brands`` brands: the welcome when it has none."""
        if self._preparing:
            return
        page = self.welcome if brands == 0 else self.brands
        if page is not self.currentWidget():
            self.setCurrentWidget(page)
            if page is self.welcome:  # nothing else in the window needs the keyboard now
                self.welcome.buttons["add"].setFocus()


class EditorHint(QFrame):
    """What the editor's place says while no brand is selected."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = _text(HINT, self)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setAccessibleName("Editor")
        box = QVBoxLayout(self)
        box.addStretch(1)
        box.addWidget(self.label)
        box.addStretch(2)


class EditorPages(QStackedWidget):
    """The editor's place: the hint, or the editor once a brand is selected."""

    def __init__(self, editor: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.hint = EditorHint(self)
        self.addWidget(self.hint)
        self.addWidget(editor)

    def show_editor(self, shown: bool) -> None:
        self.setCurrentWidget(self.editor if shown else self.hint)
