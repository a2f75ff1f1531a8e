"""The main window: every brand in one table, what needs you in the sidebar, sync in the
background (UX.md). Slots stay quick: data comes from services through the Runner."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QByteArray, QModelIndex, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from cmr_desktop.domain.preferences import PreferenceSet
from cmr_desktop.domain.summary import BrandSummary
from cmr_desktop.services import Services
from cmr_desktop.ui.brand_actions import BrandActions, EmptyNote, EscapeClears
from cmr_desktop.ui.brand_model import (
    STATUSES,
    BrandRow,
    BrandTableModel,
    MeasuredCell,
    measured_cell,
    measured_cells,
)
from cmr_desktop.ui.brand_table import SidebarFitter, set_up_brand_table
from cmr_desktop.ui.datamap import DataMapWindow
from cmr_desktop.ui.discover import DiscoverDialog
from cmr_desktop.ui.editor import BrandEditor, field_label
from cmr_desktop.ui.files import FileActions, TextDialog
from cmr_desktop.ui.geometry import default_size, secondary_window
from cmr_desktop.ui.icons import status_icon
from cmr_desktop.ui.journal import JournalWindow
from cmr_desktop.ui.notify import Notifier, app_icon
from cmr_desktop.ui.palette import use_readable_palette
from cmr_desktop.ui.results import ResultsDock, SyncResults
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.sync_process import SyncProcess, cmr_command
from cmr_desktop.ui.terms import TermsWindow
from cmr_desktop.ui.text import describe_value, plural
from cmr_desktop.ui.unsubscribe import UnsubscribeActions
from cmr_desktop.ui.welcome import EditorPages, StartPages
from cmr_desktop.ui.wizard import AddBrandWizard, SignInDialog
from cmr_desktop.ui.writer import PreferenceWriter

Filter = Callable[[BrandRow], bool] | None
NO_BRANDS = "No brands yet"  # the status bar's summary on an empty home


class MainWindow(QMainWindow):
    """The dashboard.

    Args:
        services: the use cases over the open home.
        runner: where background work runs.
        settings: where window geometry is kept (QSettings holds nothing else).
        sync_command: how to run ``cmr`` on this home (default: this interpreter with
            ``-m cmr_desktop``); sync runs in that child process (see ui/sync_process.py).
    """

    def __init__(
        self,
        services: Services,
        runner: Runner,
        settings: QSettings | None = None,
        sync_command: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        self.services = services
        self.runner = runner
        # Results that arrive after the window is gone must not reach its deleted widgets.
        self.destroyed.connect(runner.forget)
        self.settings = settings or QSettings("cmr-desktop", "cmr-desktop")
        self.setWindowTitle("CMR Desktop")
        self.model = BrandTableModel(self)
        self._sync_command = list(sync_command or cmr_command(services.store.home))
        self._sync: SyncProcess | None = None
        self._cancel_asked = False
        self._sync_verify = False
        self._select_after_load: str | None = None
        # Brands just added, imported or put back: shown even if the filter hid them.
        self._reveal_after_load: tuple[str, set[str]] | None = None
        self._reselecting = False
        self._last_shown: str | None = None  # current again once a search stops hiding it
        self._picked: tuple[str, frozenset[str]] | None = None
        self._loaded_once = False
        self.notices_dialog: TextDialog | None = None
        self.last_sync: list[dict[str, Any]] = []  # the outcomes of the last sync
        self._filter: Filter = None
        # Finished brands arrive one by one; the table takes them in batches, at most ten
        # times a second, so a fast sync does not re-read and repaint per brand.
        self._arrived: set[str] = set()
        self._arrived_progress = (0, 0)
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(100)
        self._flush_timer.timeout.connect(self._flush_synced)
        self._build()
        self._restore()
        self.reload()

    # --- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        use_readable_palette()  # selected rows' text at 4.5:1 (Fusion's light default: 3.7)
        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("main-toolbar")
        self.addToolBar(toolbar)
        self.sync_all = QAction("Sync all", self)
        self.sync_all.setShortcut(QKeySequence("Ctrl+R"))
        self.sync_all.setToolTip("Push your pending choices to every vendor (Ctrl+R)")
        self.sync_all.triggered.connect(lambda: self.start_sync(verify=False))
        self.verify_all = QAction("Check all vendors", self)
        self.verify_all.setShortcut(QKeySequence("Ctrl+Shift+R"))
        self.verify_all.triggered.connect(lambda: self.start_sync(verify=True))
        self.sync_selected = QAction("Sync selected", self)
        self.sync_selected.setShortcut(QKeySequence("Ctrl+Shift+Y"))
        self.sync_selected.setToolTip("Sync only the selected brands (Ctrl+Shift+Y)")
        self.sync_selected.triggered.connect(
            lambda: self.start_sync(slugs=self.selected_slugs(), verify=True)
        )
        self.terms_action = QAction("My Terms", self)
        self.terms_action.setShortcut(QKeySequence("Ctrl+T"))
        self.terms_action.setToolTip("Your standing terms for every brand (Ctrl+T)")
        self.terms_action.triggered.connect(self.show_terms)
        self.terms_window: TermsWindow | None = None
        toolbar.addAction(self.sync_all)
        toolbar.addAction(self.sync_selected)
        toolbar.addAction(self.verify_all)
        toolbar.addSeparator()
        toolbar.addAction(self.terms_action)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search brands…")
        self.search.setAccessibleName("Search brands")
        self.search.setClearButtonEnabled(True)
        self.search.setMaximumWidth(320)
        find = QAction("Find", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self.search.setFocus)
        self.addAction(find)
        self._search_separator = toolbar.addSeparator()  # where later actions go
        self._search_separator.setVisible(False)
        # Debounce: filter when typing pauses, not on every key of a fast typist.
        self._search_timer = QTimer(self, singleShot=True, interval=120)
        self._search_timer.timeout.connect(self._apply_filter)
        self.search.textChanged.connect(lambda _: self._search_timer.start())
        EscapeClears(self.search)  # Esc clears a search (before Esc cancels a sync)

        self.sidebar = QListWidget(self)
        self.sidebar.setAccessibleName("Filters")
        self.sidebar.setIconSize(QSize(16, 16))
        self.sidebar.currentItemChanged.connect(lambda *_: self._apply_filter())

        self.table = QTableView(self)
        self.table.setAccessibleName("Brands")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        # Columns as wide as their content; the brand's name takes what is left.
        self.columns = set_up_brand_table(self.table, self.model)
        self.sidebar_fit = SidebarFitter(self.sidebar)  # no horizontal bar, counts shown
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self.empty_note = EmptyNote(self.table)  # "No brand matches 'xyz' — clear the search"

        self.detail = QLabel("Select a brand to see what it may do.", self)
        self.detail.setTextFormat(Qt.TextFormat.PlainText)  # vendor text is never markup
        self.detail.setWordWrap(True)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setAccessibleName("Brand details")
        self.undo_stack = QUndoStack(self)
        # Every save of the editor, the results panel and My Terms (ui/writer.py).
        self.writer = PreferenceWriter(self.services, self.runner, self.undo_stack, self)
        self.writer.brand_stored.connect(self._refresh_brand)
        self.writer.refused.connect(lambda out: self.statusBar().showMessage(out.message, 15_000))
        self.editor = BrandEditor(self.services, self.runner, self.writer, self)
        self.editor.failed.connect(lambda text: self.statusBar().showMessage(text, 15_000))
        inner = QWidget(self)
        box = QVBoxLayout(inner)
        box.addWidget(self.editor)
        summary = QGroupBox("In your words", inner)
        QVBoxLayout(summary).addWidget(self.detail)
        box.addWidget(summary)
        box.addStretch(1)
        detail_box = QScrollArea(self)
        detail_box.setWidget(inner)
        detail_box.setWidgetResizable(True)
        detail_box.setFrameShape(QScrollArea.Shape.NoFrame)
        detail_box.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        detail_box.setMinimumWidth(360)
        file_menu = self.menuBar().addMenu("&File")
        self.files = FileActions(self.services, self.runner, self)
        self.files.imported.connect(self._imported)
        self.files.message.connect(lambda text: self.statusBar().showMessage(text, 15_000))
        for text, key, slot in (
            ("&Import brands…", "Ctrl+I", self.files.ask_import),
            ("Export as &JSON…", "Ctrl+E", lambda: self.files.ask_export("json")),
            ("Export as &CSV…", "Ctrl+Shift+E", lambda: self.files.ask_export("csv")),
            ("Import company &directory…", "Ctrl+Shift+D", self.files.ask_directory),
        ):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(key))
            action.triggered.connect(slot)
            file_menu.addAction(action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        edit_menu = self.menuBar().addMenu("&Edit")
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        # The platform's redo keys (Ctrl+Shift+Z on Linux) and Ctrl+Y everywhere, once each.
        redo_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
        redo.setShortcuts(redo_keys + [k for k in [QKeySequence("Ctrl+Y")] if k not in redo_keys])
        edit_menu.addAction(undo)
        edit_menu.addAction(redo)
        edit_menu.addSeparator()
        edit_menu.addAction(find)
        self.results = SyncResults(self.services, self.runner, self.writer, self)
        self.results.show_brand.connect(self.select_brand)
        self.results_dock = ResultsDock(self.results, self)  # at most a third high
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.results_dock)
        self.results_dock.hide()
        show_results = self.results_dock.toggleViewAction()
        show_results.setShortcut(QKeySequence("Ctrl+Shift+J"))
        show_results.setToolTip("Failures and drift of the last sync (Ctrl+Shift+J)")
        brands_menu = self.menuBar().addMenu("&Brands")
        self.add_action = QAction("&Add brand…", self)
        self.add_action.setShortcut(QKeySequence.StandardKey.New)
        if self.add_action.shortcut().isEmpty():
            self.add_action.setShortcut(QKeySequence("Ctrl+N"))
        self.add_action.triggered.connect(self.add_brand)
        self.sign_in_action = QAction("&Sign in again…", self)
        self.sign_in_action.setShortcut(QKeySequence("Ctrl+Shift+K"))
        self.sign_in_action.setToolTip("Enter the selected brand's token again")
        self.sign_in_action.triggered.connect(self.sign_in_again)
        brands_menu.addAction(self.add_action)
        toolbar.insertAction(toolbar.actions()[0], self.add_action)
        brands_menu.addAction(self.sign_in_action)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.addAction(self.sign_in_action)
        self.table.addAction(self.sync_selected)
        self.wizard: AddBrandWizard | None = None
        self.sign_in: SignInDialog | None = None
        self.journal_action = QAction("Activity &journal", self)
        self.journal_action.setShortcut(QKeySequence("Ctrl+L"))
        self.journal_action.triggered.connect(lambda: self.show_journal(None))
        brand_journal = QAction("&History of this brand", self)
        brand_journal.setShortcut(QKeySequence("Ctrl+Shift+L"))
        brand_journal.triggered.connect(lambda: self.show_journal(self._current_slug()))
        brands_menu.addAction(brand_journal)
        self.table.addAction(brand_journal)
        self._build_brand_actions(brands_menu)
        self._build_mail_actions(brands_menu, toolbar)
        self.journal_window: JournalWindow | None = None
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.terms_action)
        view_menu.addAction(self.journal_action)
        self.map_action = QAction("&Who may use what", self)
        self.map_action.setShortcut(QKeySequence("Ctrl+M"))
        self.map_action.setToolTip("The data-sharing map: brands x kinds of data (Ctrl+M)")
        self.map_action.triggered.connect(self.show_map)
        self.map_window: DataMapWindow | None = None
        view_menu.addAction(self.map_action)
        toolbar.insertAction(self._search_separator, self.map_action)
        view_menu.addAction(show_results)
        view_menu.addSeparator()
        # Keyboard users jump between the three panes (Tab moves within and across them).
        for text, key, target in (
            ("Go to &filters", "Ctrl+1", lambda: self.sidebar),
            ("Go to &brands", "Ctrl+2", lambda: self.table),
            ("Go to the &editor", "Ctrl+3", lambda: self.editor.first_control()),
        ):
            go = QAction(text, self)
            go.setShortcut(QKeySequence(key))
            go.triggered.connect(lambda _=False, t=target: t().setFocus())
            view_menu.addAction(go)
        self.cancel_action = QAction("&Cancel sync", self)
        self.cancel_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_action.setEnabled(False)
        self.cancel_action.triggered.connect(self.cancel_sync)
        sync_menu = self.menuBar().addMenu("&Sync")
        sync_menu.addAction(self.sync_all)
        sync_menu.addAction(self.sync_selected)
        sync_menu.addAction(self.verify_all)
        sync_menu.addSeparator()
        sync_menu.addAction(self.cancel_action)
        self.notifier = Notifier(
            self.services,
            self.runner,
            self.settings,
            verify=lambda: self.start_sync(verify=True),
            show_window=self._bring_forward,
        )
        self.notifier.notice.connect(
            lambda title, text: self.statusBar().showMessage(f"{title}: {text}", 30_000)
        )
        sync_menu.addSeparator()
        sync_menu.addMenu(self.notifier.verify_menu(self))
        notices = QAction("&Notices", self)
        notices.setShortcut(QKeySequence("Ctrl+Shift+N"))
        notices.triggered.connect(self.show_notices)
        view_menu.addAction(notices)
        self.setWindowIcon(app_icon())

        self.splitter = QSplitter(self)
        self.splitter.setObjectName("main-splitter")
        self.splitter.addWidget(self.sidebar)
        # The search sits on top of the list it filters, not in the toolbar: a toolbar too
        # narrow for its actions hides what does not fit, and the search went first.
        brand_list = QWidget(self)
        brand_list.setObjectName("brand-list")
        list_box = QVBoxLayout(brand_list)
        list_box.setContentsMargins(0, 0, 0, 0)
        list_box.setSpacing(4)
        self.search.setMaximumWidth(16_777_215)
        list_box.addWidget(self.search)
        list_box.addWidget(self.table)
        self.splitter.addWidget(brand_list)
        # A hint in the editor's place until a brand is selected (ui/welcome.py).
        self.editor_pages = EditorPages(detail_box, self)
        self.model.modelReset.connect(self._editor_or_hint)
        self.splitter.addWidget(self.editor_pages)
        self.splitter.setSizes([200, 840, 400])  # the default width: every column shows
        self.splitter.setStretchFactor(1, 2)  # the brand table takes most of a change of width
        self.splitter.setStretchFactor(2, 1)
        self.splitter.setCollapsible(0, False)
        self.splitter.setCollapsible(1, False)
        # The welcome in place of the brand panes while the home is empty (ui/welcome.py).
        self.pages = StartPages(self.splitter, self)
        self.pages.welcome.add_brand.connect(self.add_brand)
        self.pages.welcome.import_file.connect(self.files.ask_import)
        self.pages.welcome.find_brands.connect(self.find_brands)
        self.setCentralWidget(self.pages)

        self.progress = QProgressBar(self)
        self.progress.setAccessibleName("Sync progress")
        self.progress.setMaximumWidth(240)
        self.progress.setVisible(False)
        self.cancel = QPushButton("Cancel", self)
        self.cancel.setToolTip("Stop the sync (Esc); brands in flight finish first")
        self.cancel.setVisible(False)
        self.cancel.clicked.connect(self.cancel_sync)
        self.summary = QLabel("", self)
        self.summary.setAccessibleName("What needs attention")
        self.statusBar().addWidget(self.progress)
        self.statusBar().addWidget(self.cancel)
        self.statusBar().addWidget(self.brand_actions.notice)
        self.statusBar().addPermanentWidget(self.summary)
        self.resize(default_size(QSize(1440, 860)))  # every column fits; less on a small screen
        self.model.rows_changed.connect(self._refresh_map)  # the data map follows imports

    def _build_brand_actions(self, menu: Any) -> None:
        """Remove (Delete key, undoable) and connector settings: Brands menu and the table's
        context menu (ui/brand_actions.py)."""
        self.brand_actions = BrandActions(
            self.services, self.runner, self.undo_stack, self, busy=self.is_syncing
        )
        self.brand_actions.removed.connect(self._brands_removed)
        self.brand_actions.restored.connect(self._brands_restored)
        self.brand_actions.changed.connect(self._refresh_brand)
        self.brand_actions.message.connect(lambda text: self.statusBar().showMessage(text, 15_000))
        self.brand_actions.sign_in.connect(self._sign_in_brand)
        self.settings_action = QAction("Connector &settings…", self)
        self.settings_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.settings_action.setToolTip("How the app reaches the selected brand (Ctrl+Shift+S)")
        self.settings_action.triggered.connect(self.show_connector_settings)
        self.remove_action = QAction("&Remove brand…", self)
        self.remove_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        # Only on the brand list: Delete in the editor makes a choice undecided.
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.remove_action.setToolTip(
            "Remove the selected brands (Delete); Edit ▸ Undo puts them back"
        )
        self.remove_action.triggered.connect(self.remove_selected)
        menu.addSeparator()
        menu.addAction(self.settings_action)
        menu.addAction(self.remove_action)
        self.table.addAction(self.settings_action)
        self.table.addAction(self.remove_action)

    def _build_mail_actions(self, menu: Any, toolbar: QToolBar) -> None:
        """Find my brands (toolbar, Brands menu, Ctrl+Shift+F, the welcome) and the
        unsubscribe actions of the current brand (Brands menu, the table's context menu)."""
        self.discover_action = QAction("&Find my brands in my mailbox…", self)
        self.discover_action.setShortcut(QKeySequence("Ctrl+Shift+F"))
        self.discover_action.setIconText("Find my brands")
        self.discover_action.setToolTip(
            "Find the brands that write to you in your mail: mbox, Maildir or IMAP (Ctrl+Shift+F)"
        )
        self.discover_action.triggered.connect(self.find_brands)
        self.discover_dialog: DiscoverDialog | None = None
        menu.insertAction(self.sign_in_action, self.discover_action)
        toolbar.insertAction(self.sync_all, self.discover_action)
        self.unsubscribe = UnsubscribeActions(
            self.services, self.runner, self, current=self._current_brand
        )
        self.unsubscribe.message.connect(lambda text: self.statusBar().showMessage(text, 30_000))
        self.unsubscribe.changed.connect(self._refresh_brand)
        menu.addSeparator()
        separator = QAction(self)
        separator.setSeparator(True)
        self.table.addAction(separator)
        for action in self.unsubscribe.actions:
            menu.addAction(action)
            self.table.addAction(action)

    def _current_brand(self) -> tuple[str, str] | None:
        current = self.table.currentIndex()
        if not current.isValid():
            return None
        row = self.model.row_at(current.row())
        return row.slug, row.name

    def find_brands(self) -> DiscoverDialog:
        """Open (or raise) Find my brands."""
        if self.discover_dialog is None:
            dialog = DiscoverDialog(self.services, self.runner, self, self.settings)
            dialog.added.connect(self._found_added)
            dialog.scanned.connect(self.load_measured)
            self.discover_dialog = dialog
        self.discover_dialog.show()
        self.discover_dialog.raise_()
        self.discover_dialog.activateWindow()
        return self.discover_dialog

    def _found_added(self, slugs: list[str], message: str) -> None:
        self.statusBar().showMessage(message, 30_000)
        self._reveal(slugs, "added")
        self.reload()

    def load_measured(self) -> None:
        """The Measured column, read off the GUI thread (after a load, a scan or an add;
        never per edit: one query for every brand)."""
        services = self.services

        def load() -> dict[str, Any]:
            return measured_cells(services.discovery.measured())

        def show(cells: dict[str, Any]) -> None:
            self.model.set_measured(cells)
            self._update_counts()  # the sidebar's mailbox flags

        self.runner.run(load, show, self._on_error, latest="measured")

    def remove_selected(self) -> None:
        """Ask to remove the selected brands (one confirmation for all)."""
        slugs = self.selected_slugs() or ([s] if (s := self._current_slug()) else [])
        self.brand_actions.ask_remove(slugs)

    def show_connector_settings(self) -> None:
        slug = self._current_slug()
        if slug is not None:
            self.brand_actions.show_settings(slug)

    def _sign_in_brand(self, slug: str) -> None:
        self.select_brand(slug)
        if self._current_slug() == slug:
            self.sign_in_again()

    def _brands_removed(self, slugs: list[str]) -> None:
        """Brands went: the one after them in the list becomes current."""
        gone, current = set(slugs), self.table.currentIndex()
        start = current.row() if current.isValid() else 0
        order = [*range(start, self.model.rowCount()), *reversed(range(start))]
        after = (self.model.row_at(i).slug for i in order)
        self._select_after_load = next((s for s in after if s not in gone), None)
        self.reload()

    def _brands_restored(self, slugs: list[str]) -> None:
        self._reveal(slugs[:1], "put back")
        self.reload()

    def _imported(self) -> None:
        """Brands were imported: show the first new one, even if the filter hid it."""
        self._reveal_after_load = ("import", {r.slug for r in self.model.all_rows()})
        self.reload()

    def _reveal(self, slugs: list[str], what: str) -> None:
        self._select_after_load = slugs[0] if slugs else None
        self._reveal_after_load = (what, set(slugs))

    def _revealed(self, rows: list[BrandRow]) -> str | None:
        """After a reload: the brand to show of those just added, imported or put back,
        with the search and filter cleared if they hid it; what the status bar adds."""
        if self._reveal_after_load is None:
            return None
        what, slugs = self._reveal_after_load
        self._reveal_after_load = None
        if what == "import":  # slugs: the brands there were before the import
            new = [r.slug for r in self.model.all_rows() if r.slug not in slugs]
            if not new:
                return None
            self._select_after_load = new[0]
            slugs = set(new)
        shown = [s for s in slugs if self.model.visible_row(s) is not None]
        if len(shown) == len(slugs):
            return None
        searched, filtered = bool(self.search.text().strip()), self._filter is not None
        hid = "search and filter" if searched and filtered else "search" if searched else "filter"
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self._search_timer.stop()
        self.sidebar.blockSignals(True)
        self.sidebar.setCurrentRow(0)
        self.sidebar.blockSignals(False)
        self._apply_filter(self._select_after_load)
        return f"The {hid} hid {'it' if len(slugs) == 1 else 'them'}: cleared to show all brands."

    def _enable_for_brands(self) -> None:
        """What needs brands waits for one: on an empty home, nothing to sync or search (the
        welcome offers the ways to add some)."""
        has = bool(self.model.all_rows())
        for action in (self.sync_all, self.verify_all, self.sync_selected, self.map_action):
            action.setEnabled(has and not self.is_syncing())
        self.search.setEnabled(has)

    def _show_no_brand(self) -> None:
        """No brand is current (the list is empty, or its brand went): the editor shows
        none, and its late loads are dropped."""
        self.detail.setText("Select a brand to see what it may do.")
        self.editor.slug = None
        self.editor.setEnabled(False)
        self.unsubscribe.brand_shown(None)
        self.editor_pages.show_editor(False)  # the "select a brand" hint (ui/welcome.py)

    def _update_empty_note(self) -> None:
        """Say in the table why it is empty (a search or a filter), with the way out."""
        if self.model.rowCount() or not self.model.all_rows():
            self.empty_note.hide()
            return
        query = self.search.text().strip()
        if query:
            self.empty_note.show_note(
                f"No brand matches '{query}'", "clear the search", self.search.clear
            )
            return
        item = self.sidebar.currentItem()
        kind = item.data(Qt.ItemDataRole.UserRole)[0] if item else "all"
        text = "No brand needs attention" if kind == "attention" else "No brand here"
        self.empty_note.show_note(text, "show all brands", lambda: self.sidebar.setCurrentRow(0))

    # --- data -----------------------------------------------------------------------------

    def reload(self) -> None:
        """Load every brand in the background, then fill the table and sidebar."""

        def load() -> list[BrandRow]:
            # Every row from the brand's summary (domain.summary): the table, sidebar and
            # status bar count the same things, My Terms and expiry included.
            return [BrandRow.of(r, s) for r, s in self.services.brands.brand_summaries()]

        self.runner.run(load, self._on_loaded, self._on_error, latest="reload")
        self.load_measured()

    def _on_loaded(self, rows: list[BrandRow]) -> None:
        if not self._loaded_once:
            self._loaded_once = True
            self.notifier.check_expiring()
        current = self.table.currentIndex()
        keep = self.model.row_at(current.row()).slug if current.isValid() else None
        keep = self._select_after_load or keep
        self.model.set_rows(rows)
        self.pages.show_for(len(rows))
        self._enable_for_brands()
        self._fill_sidebar()
        self._apply_filter(keep)
        revealed = self._revealed(rows)
        if revealed is not None:
            shown = self.statusBar().currentMessage().strip()
            self.statusBar().showMessage(f"{shown} {revealed}".strip(), 15_000)
        keep, self._select_after_load = self._select_after_load or keep, None
        self._update_summary()
        row = self.model.visible_row(keep) if keep else None
        if row is not None:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))  # e.g. a brand just added
            self.editor.show_brand(keep or "")  # its choices may have changed meanwhile
            self._describe(keep or "")
        elif self.model.rowCount():
            self.table.selectRow(0)
        else:
            self._show_no_brand()

    def _on_error(self, error: Exception) -> None:
        self.statusBar().showMessage(f"Error: {error}", 10_000)

    def _fill_sidebar(self) -> None:
        current = self.sidebar.currentItem()
        wanted = current.data(Qt.ItemDataRole.UserRole) if current else ("all", None)
        self.sidebar.blockSignals(True)
        # Every count comes from the model, which keeps them row by row (no scan per edit).
        counts, flags = self.model.counts(), self.model.flag_counts()
        entries: list[tuple[str, tuple[str, Any]]] = [
            (f"All  {len(self.model.all_rows())}", ("all", None)),
            (f"Needs attention  {flags['attention']}", ("attention", None)),
        ]
        for kind, label in FLAG_LABELS:
            if flags[kind]:
                entries.append((f"   {label}  {flags[kind]}", (kind, None)))
        measured = self.model.measured_flag_counts()  # what the mailbox shows (issue 12)
        entries += [
            (f"{label}  {measured[k]}", (k, None)) for k, label in MEASURED_LABELS if measured[k]
        ]
        entries += [(f"{STATUSES[s][0]}  {n}", ("status", s)) for s, n in sorted(counts.items())]
        categories = self.model.category_counts()
        entries += [(f"Category: {c}  {n}", ("category", c)) for c, n in sorted(categories.items())]
        if self._picked is not None:  # brands picked elsewhere (the data-sharing map)
            label, slugs = self._picked
            entries.insert(2, (f"{label}  {len(slugs)}", ("picked", label)))
        keys = [key for _, key in entries]
        if keys == [
            self.sidebar.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.sidebar.count())
        ]:
            # The same entries (an edit changed a count): new numbers in place, no rebuild.
            for i, (text, key) in enumerate(entries):
                item = self.sidebar.item(i)
                if item.text() != text:
                    item.setText(text)
                    item.setToolTip(FLAG_TIPS.get(key[0], text.strip()))
            self.sidebar.blockSignals(False)
            return
        self.sidebar.clear()
        for text, key in entries:
            item = QListWidgetItem(text)
            item.setToolTip(FLAG_TIPS.get(key[0], text.strip()))  # the pane may be narrow
            item.setData(Qt.ItemDataRole.UserRole, key)
            if key[0] == "status":
                item.setIcon(status_icon(str(key[1])))
            self.sidebar.addItem(item)
            if key == wanted:
                self.sidebar.setCurrentItem(item)
        if self.sidebar.currentItem() is None:
            self.sidebar.setCurrentRow(0)
        self.sidebar.blockSignals(False)

    def _apply_filter(self, keep: str | None = None) -> None:
        """Filter the table; the brand shown stays current if it is still listed, else the
        first listed one becomes current (or none: the editor shows none)."""
        keep = keep or self._current_slug() or self.editor.slug or self._last_shown
        item = self.sidebar.currentItem()
        kind, value = item.data(Qt.ItemDataRole.UserRole) if item else ("all", None)
        predicate: Filter = None
        if kind == "attention":
            predicate = _Flag("attention", self.model.measured_flagged_any())
        elif kind in ("terms", "ending", "vendor"):
            predicate = _Flag(kind)
        elif kind == "status":
            predicate = _Status(str(value))
        elif kind == "category":
            predicate = _Category("" if value == "(none)" else str(value))
        elif kind == "picked" and self._picked is not None:
            predicate = _Picked(self._picked[1])
        elif kind in ("over_limit", "ignored_unsubscribe"):
            predicate = _Picked(self.model.measured_flagged(kind))
        if (predicate is None and self._filter is None) or predicate == self._filter:
            predicate = self._filter  # keep the same object: lets the model narrow its scan
        self._filter = predicate
        self.model.set_filter(self.search.text(), predicate)
        row = self.model.visible_row(keep) if keep else None
        if row is None and self.model.rowCount():
            row = 0
        if row is None:
            self._show_no_brand()
        else:
            self._reselecting = True  # the same brand again: no reload of the editor
            try:
                self.table.selectRow(row)
            finally:
                self._reselecting = False
        self._update_empty_note()

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.editor_pages.show_editor(current.isValid())
        if not current.isValid():
            self._show_no_brand()
            return
        slug = self._last_shown = self.model.row_at(current.row()).slug
        if self._reselecting and slug == self.editor.slug:
            return
        self.unsubscribe.brand_shown(slug)
        self.editor.show_brand(slug)
        self._describe(slug)

    def _editor_or_hint(self) -> None:
        """After a filter or reload: the hint once the editor's brand is not in the list."""
        slug = self.editor.slug
        listed = slug is not None and self.model.visible_row(slug) is not None
        self.editor_pages.show_editor(self.table.currentIndex().isValid() or listed)

    def _refresh_brand(self, slug: str) -> None:
        """A brand was edited: update its row, the counts and, if it is shown, its
        description, from one read of that brand only."""
        services = self.services
        shown = self.model.measured(slug)

        def load() -> tuple[BrandRow, str, MeasuredCell | None] | None:
            # Only this brand is re-read and re-evaluated (My Terms, expiry, vendor state,
            # its measured mail against its e-mail choice): the cost of an edit does not
            # grow with the number of brands, nor with the mailbox.
            found = services.brands.brand_summaries([slug])
            if not found:
                return None
            record, summary = found[0]
            judged = None
            if shown is not None and shown.source is not None:
                judged = measured_cell(
                    services.discovery.rejudged(shown.source, record.preferences)
                )
            text = describe_brand(record, summary, services.today())
            return BrandRow.of(record, summary), text, judged

        def show(loaded: tuple[BrandRow, str, MeasuredCell | None] | None) -> None:
            if loaded is None:
                return
            row, text, judged = loaded
            if judged is not None and judged != self.model.measured(slug):
                self.model.set_measured_cell(slug, judged)  # the counts follow below
            self._on_rows_loaded([row])
            if self.editor.slug == slug:
                self.detail.setText(text)

        self.runner.run(load, show, self._on_error, latest="describe")

    def _describe(self, slug: str) -> None:
        services = self.services

        def describe() -> str:
            found = services.brands.brand_summaries([slug])
            if not found:
                return ""
            return describe_brand(*found[0], services.today())

        self.runner.run(describe, self.detail.setText, self._on_error, latest="describe")

    def _update_summary(self) -> None:
        """The status bar's summary, from the same counts as the sidebar."""
        counts, flags = self.model.counts(), self.model.flag_counts()
        text = summary_text(counts, flags) if self.model.all_rows() else NO_BRANDS
        self.summary.setText("Preparing…" if self.pages.is_preparing() else text)

    # --- sync -----------------------------------------------------------------------------

    def selected_slugs(self) -> list[str]:
        rows = {i.row() for i in self.table.selectionModel().selectedRows()}
        return [self.model.row_at(r).slug for r in sorted(rows)]

    def is_syncing(self) -> bool:
        return self._sync is not None

    def start_sync(self, *, verify: bool = False, slugs: list[str] | None = None) -> None:
        """Run a sync in a child process; rows update as brands finish.

        Args:
            verify: re-read every vendor, not only brands with pending changes.
            slugs: only these brands (None: all).
        """
        if self._sync is not None or slugs == []:
            return
        sync = SyncProcess(self._sync_command, self)
        self._sync = sync
        self._cancel_asked = False
        self._sync_verify = verify
        self.last_sync = []
        self.progress.setRange(0, 0)  # busy until the process says how many
        self.progress.setFormat("Starting…")
        # A message left in the status bar would show through beside the bar and the
        # Cancel button, cut off (they sit in the same place): the bar says it all now.
        self.statusBar().clearMessage()
        self.progress.setVisible(True)
        self.cancel.setVisible(True)
        self.cancel.setEnabled(True)
        self.cancel_action.setEnabled(True)
        for action in (self.sync_all, self.verify_all, self.sync_selected):
            action.setEnabled(False)
        sync.started.connect(self._on_sync_started)
        sync.brand.connect(self._on_brand_synced)
        sync.finished.connect(self._on_sync_finished)
        sync.start(slugs or (), verify=verify, jobs=32)

    def cancel_sync(self) -> None:
        if self._sync is not None:
            self._cancel_asked = True
            self._sync.cancel()
            self.cancel.setEnabled(False)
            self.cancel_action.setEnabled(False)
            self.statusBar().showMessage("Cancelling: no brand is started any more…")

    def _on_sync_started(self, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(0)
        self.progress.setFormat(f"Syncing 0/{total}")

    def _on_brand_synced(self, event: dict[str, Any]) -> None:
        self.last_sync.append(event)
        self._arrived.add(str(event.get("brand")))
        self._arrived_progress = max(
            self._arrived_progress, (int(event.get("done", 0)), int(event.get("total", 0)))
        )
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _flush_synced(self) -> None:
        self._flush_timer.stop()
        done, total = self._arrived_progress
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress.setFormat(f"Syncing {done}/{total}")
        if not self._arrived:
            return
        slugs, self._arrived = sorted(self._arrived), set()
        services = self.services

        def load() -> list[BrandRow]:
            return [BrandRow.of(r, s) for r, s in services.brands.brand_summaries(slugs)]

        self.runner.run(load, self._on_rows_loaded, self._on_error)

    def _on_rows_loaded(self, rows: list[BrandRow]) -> None:
        """Rows re-read after an edit or a sync: the table, the sidebar's counts and the
        status bar change together."""
        self.model.update_rows(rows)
        self._update_counts()

    def _update_counts(self) -> None:
        item = self.sidebar.currentItem()
        before = item.data(Qt.ItemDataRole.UserRole) if item else None
        self._fill_sidebar()
        item = self.sidebar.currentItem()
        if (item.data(Qt.ItemDataRole.UserRole) if item else None) != before:
            self._apply_filter()  # the entry shown went away (its count reached 0)
        self._update_summary()

    def add_brand(self) -> AddBrandWizard:
        """Open the add-brand wizard (not blocking the window)."""
        wizard = AddBrandWizard(self.services, self.runner, self)
        wizard.added.connect(self._brand_added)
        self.wizard = wizard
        wizard.show()
        return wizard

    def _brand_added(self, slug: str) -> None:
        problem = self.wizard.error if self.wizard is not None else ""
        name = self.wizard.added_name if self.wizard is not None else slug
        self.statusBar().showMessage(f"Added {name}. {problem}".strip(), 15_000)
        self._reveal([slug], "added")
        self.reload()

    def sign_in_again(self) -> None:
        """Enter the selected brand's secrets again (a dialog opens once its connector is
        known)."""
        current = self.table.currentIndex()
        if not current.isValid():
            return
        slug, services = self.model.row_at(current.row()).slug, self.services

        def show(connector: str) -> None:
            dialog = SignInDialog(services, self.runner, slug, connector, self)
            dialog.saved.connect(self._refresh_brand)
            self.sign_in = dialog
            dialog.show()

        self.runner.run(
            lambda: services.brands.get_brand(slug).brand.connector, show, self._on_error
        )

    def _current_slug(self) -> str | None:
        current = self.table.currentIndex()
        return self.model.row_at(current.row()).slug if current.isValid() else None

    def show_journal(self, slug: str | None) -> JournalWindow:
        """Open (or raise) the activity journal, for one brand or all."""
        if self.journal_window is None:
            journal = JournalWindow(self.services, self.runner, self, self.settings)
            journal.message.connect(lambda text: self.statusBar().showMessage(text, 15_000))
            self.journal_window = journal
        self.journal_window.load(slug)
        self.journal_window.show()
        self.journal_window.raise_()
        return self.journal_window

    def _bring_forward(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def show_notices(self) -> TextDialog:
        """The notices of this session, newest first."""
        lines = [f"{title}: {text}" for title, text in reversed(self.notifier.history)]
        dialog = TextDialog(
            "Notices",
            f"{plural(len(lines), 'notice')} since the app started."
            if lines
            else "No notices yet.",
            "\n\n".join(lines),
            None,
            self,
        )
        secondary_window(dialog, "notices", self.settings)  # on screen, where it was left
        self.notices_dialog = dialog
        dialog.show()
        return dialog

    def show_map(self) -> DataMapWindow:
        """Open (or raise) the data-sharing map."""
        if self.map_window is None:
            data_map = DataMapWindow(self.services, self.runner, self, self.settings)
            data_map.show_brands.connect(self.show_picked)
            self.map_window = data_map
        self.map_window.load()
        self.map_window.show()
        self.map_window.raise_()
        return self.map_window

    def _refresh_map(self) -> None:
        """Brands were imported, edited or synced: an open data map reads them again."""
        if self.map_window is not None:
            self.map_window.refresh()

    def show_picked(self, label: str, slugs: list[str]) -> None:
        """Show only these brands in the table (a sidebar entry, until another is chosen)."""
        self._picked = (label, frozenset(slugs))
        self.search.clear()
        self._fill_sidebar()
        self.sidebar.setCurrentRow(2)
        self._apply_filter()
        self.raise_()

    def show_terms(self) -> TermsWindow:
        """Open (or raise) the My Terms window."""
        if self.terms_window is None:
            terms = TermsWindow(self.services, self.runner, self.writer, self, self.settings)
            terms.brands_changed.connect(lambda _slugs: self.reload())
            terms.terms_saved.connect(self.reload)  # every brand is judged by the new terms
            terms.message.connect(lambda text: self.statusBar().showMessage(text, 15_000))
            self.terms_window = terms
        else:
            self.terms_window.load()
        self.terms_window.show()
        self.terms_window.raise_()
        self.terms_window.activateWindow()
        return self.terms_window

    def select_brand(self, slug: str) -> None:
        """Show a brand in the table (clearing the search and filter if they hide it)."""
        row = self.model.visible_row(slug)
        if row is None:
            self.search.clear()
            self.sidebar.setCurrentRow(0)
            self._apply_filter()
            row = self.model.visible_row(slug)
        if row is not None:
            self.table.selectRow(row)
            self.table.setFocus()

    def _on_sync_finished(self, result: dict[str, Any]) -> None:
        self._end_sync()
        self.notifier.sync_finished(self.last_sync)
        if self.results.show_outcomes(self.last_sync):
            self.results_dock.show()
            self.results_dock.raise_()
        if "error" in result:
            self.statusBar().showMessage(str(result["error"]), 30_000)
        elif result.get("cancelled") or (self._cancel_asked and not result.get("ok")):
            left = int(result.get("cancelled", 0))
            done = int(result.get("done", len(self.last_sync)))
            # A check of every vendor also re-reads brands with nothing to send: those are
            # "not checked", not pending.
            rest = "not checked" if self._sync_verify else "left pending"
            self.statusBar().showMessage(f"Sync cancelled: {done} done, {left} {rest}", 30_000)
        else:
            counts = result.get("counts", {})
            parts = [f"{n} {name.replace('_', ' ')}" for name, n in sorted(counts.items())]
            self.statusBar().showMessage(
                f"Sync done: {plural(len(self.last_sync), 'brand')}"
                + (f" ({', '.join(parts)})" if parts else ""),
                15_000,
            )
        self.reload()

    def _end_sync(self) -> None:
        self._flush_synced()
        self._arrived_progress = (0, 0)
        if self._sync is not None:
            self._sync.deleteLater()
        self._sync = None
        self.progress.setVisible(False)
        self.cancel.setVisible(False)
        self.cancel_action.setEnabled(False)
        self._enable_for_brands()
        self.brand_actions.sync_done()  # removals undone or redone meanwhile waited for it

    # --- window state ---------------------------------------------------------------------

    def _restore(self) -> None:
        geometry = self.settings.value("main/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        splitter = self.settings.value("main/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        state = self.settings.value("main/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        header = self.settings.value("main/columns")
        if isinstance(header, QByteArray):
            self.table.horizontalHeader().restoreState(header)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._sync is not None:
            self._sync.stop()
        self.settings.setValue("main/geometry", self.saveGeometry())
        self.settings.setValue("main/splitter", self.splitter.saveState())
        self.settings.setValue("main/state", self.saveState())
        self.settings.setValue("main/columns", self.table.horizontalHeader().saveState())
        self.runner.wait(15_000)
        super().closeEvent(event)


#: Sub-entries of "Needs attention" in the sidebar: (flag, label), in display order.
FLAG_LABELS = (
    ("terms", "Breaks My Terms"),
    ("ending", "Permission ends soon"),
    ("vendor", "Vendor allows, undecided"),
)
#: Sidebar entries of what the mailbox shows (the Measured column's flags).
MEASURED_LABELS = (
    ("over_limit", "Writes more than you allow"),
    ("ignored_unsubscribe", "Still writing after unsubscribe"),
)
#: The whole sentence of a sidebar entry whose label is short (shown as its tooltip).
FLAG_TIPS = {
    "vendor": "Vendor allows what you haven't decided, and My Terms object: decide it",
    "over_limit": "Your mailbox shows them writing more often than you allow",
    "ignored_unsubscribe": "Your mailbox shows them writing after you unsubscribed, past the "
    "deadline (48 hours for one click, 10 business days otherwise)",
}


def describe_brand(record: Any, summary: BrandSummary, today: dt.date) -> str:
    """The "In your words" text of a brand: its decisions as sentences, then what its vendor
    has open that the customer has not decided (the vendor's, never a decision)."""
    prefs = PreferenceSet.from_dict(record.preferences)
    lines = [record.name, f"{record.category or 'no category'} · {record.website or 'no website'}"]
    if record.account_id:
        lines.append(f"Account: {record.account_id}")
    lines.append("")
    lines += list(prefs.describe(record.name, today))
    if not prefs.fields():
        lines.append("No choices recorded yet: the brand's defaults apply.")
    if summary.vendor_open:
        lines += ["", "You have not decided (their setting):"]
        for item in summary.vendor_open:
            against = f" — My Terms: {', '.join(item.objections)}" if item.objections else ""
            lines.append(f"• {field_label(item.key)}: {describe_value(item.value)}{against}")
    return "\n".join(lines)


def summary_text(counts: dict[str, int], flags: dict[str, int]) -> str:
    """The status bar's words, from the model's counts (the sidebar's numbers)."""
    parts = []
    pending = counts.get("pending", 0) + counts.get("new", 0)
    if pending:
        parts.append(f"{pending} pending")
    if flags.get("attention"):
        parts.append(f"Needs attention {flags['attention']}")
    parts += [f"{counts[s]} {STATUSES[s][0].lower()}" for s in ("drift", "failed") if s in counts]
    return " · ".join(parts) or "All in order"


class _Flag:
    """Brands that need attention, or have one of its reasons (see FLAG_LABELS)."""

    def __init__(self, kind: str, mailbox: frozenset[str] = frozenset()) -> None:
        self.kind = kind
        self.mailbox = mailbox  # "attention": also the brands the mailbox flags

    def __call__(self, row: BrandRow) -> bool:
        if self.kind == "attention":
            return row.attention or row.slug in self.mailbox
        if self.kind == "terms":
            return row.breaks_terms
        if self.kind == "ending":
            return row.ending_soon
        return row.vendor_open > 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Flag) and (other.kind, other.mailbox) == (self.kind, self.mailbox)

    def __hash__(self) -> int:
        return hash((self.kind, self.mailbox))


class _Status:
    def __init__(self, status: str) -> None:
        self.status = status

    def __call__(self, row: BrandRow) -> bool:
        return row.status == self.status

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Status) and other.status == self.status

    def __hash__(self) -> int:
        return hash(self.status)


class _Picked:
    def __init__(self, slugs: frozenset[str]) -> None:
        self.slugs = slugs

    def __call__(self, row: BrandRow) -> bool:
        return row.slug in self.slugs

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Picked) and other.slugs == self.slugs

    def __hash__(self) -> int:
        return hash(self.slugs)


class _Category:
    def __init__(self, category: str) -> None:
        self.category = category

    def __call__(self, row: BrandRow) -> bool:
        return row.category == self.category

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Category) and other.category == self.category

    def __hash__(self) -> int:
        return hash(self.category)
