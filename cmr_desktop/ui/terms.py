"""My Terms: the customer's standing rules, which brands break them, and applying them.

The window has the terms on the left (saved at once through the preference writer, undoable
like any edit; a refused save shows the stored terms again and says why) and, on the right,
every brand that breaks them with the reason. "Apply to all" and "Apply to
selected" first show what would change; applying is one undoable step
(:class:`ApplyTerms`) that marks the changed brands pending.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from PySide6.QtCore import QSettings, Qt, QTime, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTimeEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cmr_desktop.domain.policy import (
    AnyRule,
    GrantMaxMonths,
    MaxFrequency,
    MyTerms,
    NeverPurpose,
    NoChannel,
    QuietHoursRule,
    Violation,
)
from cmr_desktop.domain.preferences import QuietHours
from cmr_desktop.domain.vocabulary import Channel, Frequency, Purpose
from cmr_desktop.services import PolicyChange, Services
from cmr_desktop.ui.editor import field_label
from cmr_desktop.ui.geometry import secondary_window
from cmr_desktop.ui.results import describe_value
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.text import plural, tooltip
from cmr_desktop.ui.writer import (
    TERMS,
    ManySave,
    Outcome,
    PreferenceWriter,
    Save,
    SaveCommand,
    TermsSave,
)

_SLUG = Qt.ItemDataRole.UserRole


class SetTerms(SaveCommand):
    """Replace My Terms (and put the old terms back on undo): the two documents only."""

    def __init__(self, writer: PreferenceWriter, old: MyTerms, new: MyTerms) -> None:
        super().__init__(writer, terms_change(old, new))
        self.old, self.new = old, new

    def forward(self) -> Save:
        return TermsSave(self.new, self.old)

    def backward(self) -> Save:
        return TermsSave(self.old, self.new)


def terms_change(old: MyTerms, new: MyTerms) -> str:
    """One change of My Terms in words: "My Terms: no SMS anywhere" (the rule it adds or
    changes), "My Terms: no longer no SMS anywhere" (the rule it drops)."""
    added = [rule for rule in new.rules if rule not in old.rules]
    dropped = [rule for rule in old.rules if rule not in new.rules]
    if len(added) == 1 and len(dropped) <= 1:
        return f"My Terms: {added[0]}"
    if not added and len(dropped) == 1:
        return f"My Terms: no longer {dropped[0]}"
    return "Change My Terms"


class ApplyTerms(SaveCommand):
    """Apply My Terms to several brands in one step (undo puts every brand back). Holds each
    brand's preference set before and after; a brand changed since is left alone."""

    def __init__(self, writer: PreferenceWriter, changes: Sequence[PolicyChange]) -> None:
        super().__init__(writer, f"Apply My Terms to {plural(len(changes), 'brand')}")
        self.before = {c.slug: c.before for c in changes}
        self.after = {c.slug: c.after for c in changes}

    def forward(self) -> Save:
        return ManySave(self.after, self.before)

    def backward(self) -> Save:
        return ManySave(self.before, self.after)


class PreviewDialog(QDialog):
    """What applying My Terms would change; nothing is written until Apply.

    Shown without blocking (``show()``); ``accepted`` applies.
    """

    def __init__(self, changes: Sequence[PolicyChange], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.changes = list(changes)
        self.setWindowTitle("Apply My Terms: preview")
        layout = QVBoxLayout(self)
        count = len(self.changes)
        summary = QLabel(
            f"{plural(count, 'brand')} will change and be synced at the next sync:"
            if count
            else "Every brand already keeps your terms: nothing to change.",
            self,
        )
        summary.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(summary)
        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName("Changes")
        self.tree.setHeaderLabels(["Brand / setting", "Now", "After"])
        self.tree.setColumnWidth(0, 260)
        for change in self.changes:
            brand = QTreeWidgetItem(
                self.tree, [change.name, f"{plural(len(change.lines), 'change')}", ""]
            )
            before, after = change.before.fields(), change.after.fields()
            for key in sorted(before.keys() | after.keys(), key=lambda k: tuple(map(str, k))):
                if before.get(key) != after.get(key):
                    old, new = describe_value(before.get(key)), describe_value(after.get(key))
                    QTreeWidgetItem(brand, [field_label(key), old, new])
            brand.setExpanded(count <= 20 or self.tree.topLevelItemCount() <= 3)
        layout.addWidget(self.tree)
        buttons = QDialogButtonBox(self)
        self.apply_button = buttons.addButton("&Apply", QDialogButtonBox.ButtonRole.AcceptRole)
        self.apply_button.setEnabled(bool(count))
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, 420)


class TermsWindow(QWidget):
    """Edit My Terms and see who breaks them.

    Signals:
        brands_changed(list): brands whose preferences were written (their slugs).
        terms_saved(): My Terms were stored.
        message(str): something for the status bar.
    """

    brands_changed = Signal(list)
    terms_saved = Signal()
    message = Signal(str)

    def __init__(
        self,
        services: Services,
        runner: Runner,
        writer: PreferenceWriter,
        parent: QWidget | None = None,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.services, self.runner, self.writer = services, runner, writer
        undo = writer.undo
        writer.asked.connect(self._on_asked)
        writer.stored.connect(self._on_stored)
        writer.refused.connect(self._on_refused)
        self.setWindowTitle("My Terms")
        self.terms = MyTerms()
        self.violations: dict[str, list[Violation]] = {}
        self.preview: PreviewDialog | None = None
        self._loading = False
        self._writes = 0  # terms written from here; a read asked for before one is stale
        layout = QHBoxLayout(self)
        self.form = self._build_form()
        self.form.setEnabled(False)  # until the stored terms are shown: an edit made
        layout.addWidget(self.form, 0)  # before that would overwrite them
        layout.addWidget(self._build_compliance(), 1)
        for action in (
            undo.createUndoAction(self, "&Undo"),
            undo.createRedoAction(self, "&Redo"),
        ):
            self.addAction(action)
        self.actions()[0].setShortcut(QKeySequence.StandardKey.Undo)
        self.actions()[1].setShortcut(QKeySequence.StandardKey.Redo)
        self.resize(1000, 640)
        self.placement = secondary_window(self, "terms", settings)  # Esc closes it
        self.load()

    # --- building -------------------------------------------------------------------------

    def _build_form(self) -> QWidget:
        box = QWidget(self)
        outer = QVBoxLayout(box)
        intro = QLabel("Your standing terms for every brand. Changes are saved at once.", box)
        intro.setWordWrap(True)
        outer.addWidget(intro)
        self.problem = QLabel("", box)  # a save the store refused, until the next one is kept
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.problem.setWordWrap(True)
        self.problem.setAccessibleName("Not saved")
        self.problem.setVisible(False)
        outer.addWidget(self.problem)
        channels = QGroupBox("Channels", box)
        grid = QGridLayout(channels)
        self.never_channel: dict[Channel, QCheckBox] = {}
        self.max_frequency: dict[Channel, QComboBox] = {}
        for row, channel in enumerate(Channel):
            never = QCheckBox(f"No {channel.noun} at all", channels)
            never.setAccessibleName(f"No {channel.label} anywhere")
            combo = QComboBox(channels)
            combo.setAccessibleName(f"{channel.label}: at most")
            combo.addItem("no limit", None)
            for freq in sorted(Frequency, key=lambda f: f.rank):
                combo.addItem(freq.label, freq.value)
            never.toggled.connect(lambda on, c=combo: c.setEnabled(not on))
            never.clicked.connect(lambda _=False: self._changed())
            combo.activated.connect(lambda _: self._changed())
            grid.addWidget(never, row, 0)
            grid.addWidget(combo, row, 1)
            self.never_channel[channel] = never
            self.max_frequency[channel] = combo
        outer.addWidget(channels)
        purposes = QGroupBox("Never use my data for", box)
        pgrid = QGridLayout(purposes)
        self.never_purpose: dict[Purpose, QCheckBox] = {}
        for i, purpose in enumerate(Purpose):
            check = QCheckBox(purpose.label, purposes)
            check.setAccessibleName(f"Never use my data for {purpose.label}")
            check.clicked.connect(lambda _=False: self._changed())
            pgrid.addWidget(check, i // 2, i % 2)
            self.never_purpose[purpose] = check
        outer.addWidget(purposes)
        other = QGroupBox("Time", box)
        form = QFormLayout(other)
        self.grant_months = QSpinBox(other)
        self.grant_months.setRange(0, 120)
        self.grant_months.setSpecialValueText("no limit")
        self.grant_months.setSuffix(" months")
        self.grant_months.setAccessibleName("Permissions end after")
        self.grant_months.editingFinished.connect(self._changed)
        form.addRow("Permissions end after", self.grant_months)
        quiet_row = QHBoxLayout()
        self.quiet = QCheckBox("Quiet from", other)
        self.quiet.setAccessibleName("Quiet hours for every brand")
        self.quiet_start = QTimeEdit(QTime(21, 0), other)
        self.quiet_end = QTimeEdit(QTime(8, 0), other)
        for edit, name in ((self.quiet_start, "start"), (self.quiet_end, "end")):
            edit.setDisplayFormat("HH:mm")
            edit.setAccessibleName(f"Quiet hours {name}")
            edit.editingFinished.connect(self._changed)
        self.quiet.clicked.connect(lambda _=False: self._changed())
        quiet_row.addWidget(self.quiet)
        quiet_row.addWidget(self.quiet_start)
        quiet_row.addWidget(QLabel("to", other))
        quiet_row.addWidget(self.quiet_end)
        quiet_row.addStretch(1)
        form.addRow(quiet_row)
        outer.addWidget(other)
        outer.addStretch(1)
        return box

    def _build_compliance(self) -> QWidget:
        box = QWidget(self)
        layout = QVBoxLayout(box)
        self.status = QLabel("Checking every brand…", box)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.status)
        self.tree = QTreeWidget(box)
        self.tree.setAccessibleName("Brands that break My Terms")
        self.tree.setHeaderLabels(["Brand", "Why"])
        self.tree.setColumnWidth(0, 220)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.tree)
        row = QHBoxLayout()
        self.apply_all = QPushButton("Apply to &all…", box)
        self.apply_all.setToolTip("Preview, then change every brand that breaks your terms")
        self.apply_all.clicked.connect(lambda: self.ask_apply(()))
        self.apply_selected = QPushButton("Apply to &selected…", box)
        self.apply_selected.clicked.connect(lambda: self.ask_apply(self.selected_slugs()))
        row.addWidget(self.apply_all)
        row.addWidget(self.apply_selected)
        row.addStretch(1)
        layout.addLayout(row)
        self._update_buttons()
        return box

    # --- loading --------------------------------------------------------------------------

    def load(self) -> None:
        """Read My Terms and check every brand, in the background."""
        services, asked = self.services, self._writes

        def show(terms: MyTerms) -> None:
            if asked == self._writes:  # else a write since is newer than this read
                self._show_terms(terms)
            self.form.setEnabled(True)

        self.runner.run(
            services.preferences.policy, show, self._failed, write=True
        )  # after pending writes
        self.check()

    def check(self) -> None:
        self.runner.run(
            self.services.preferences.policy_report,
            self._show_violations,
            self._failed,
            latest="terms",
        )

    def _failed(self, error: Exception) -> None:
        self.message.emit(f"My Terms: {error}")

    def _show_terms(self, terms: MyTerms) -> None:
        self.terms = terms
        self._loading = True
        try:
            rules = terms.rules
            never = {r.channel for r in rules if isinstance(r, NoChannel)}
            limits = {r.channel: r.frequency for r in rules if isinstance(r, MaxFrequency)}
            for channel in Channel:
                self.never_channel[channel].setChecked(channel in never)
                combo = self.max_frequency[channel]
                limit = limits.get(channel)
                combo.setCurrentIndex(max(0, combo.findData(limit.value if limit else None)))
                combo.setEnabled(channel not in never)
            purposes = {r.purpose for r in rules if isinstance(r, NeverPurpose)}
            for purpose, check in self.never_purpose.items():
                check.setChecked(purpose in purposes)
            months = [r.months for r in rules if isinstance(r, GrantMaxMonths)]
            self.grant_months.setValue(min(months) if months else 0)
            quiet = next((r.window for r in rules if isinstance(r, QuietHoursRule)), None)
            self.quiet.setChecked(quiet is not None)
            if quiet is not None:
                self.quiet_start.setTime(QTime(quiet.start.hour, quiet.start.minute))
                self.quiet_end.setTime(QTime(quiet.end.hour, quiet.end.minute))
        finally:
            self._loading = False

    def _show_violations(self, report: list[tuple[str, str, list[Violation]]]) -> None:
        self.violations = {slug: found for slug, _, found in report}
        selected = set(self.selected_slugs())
        self.tree.clear()
        for slug, name, found in report:
            item = QTreeWidgetItem(self.tree, [name, f"{plural(len(found), 'rule')}"])
            item.setData(0, _SLUG, slug)
            for v in found:
                child = QTreeWidgetItem(item, [v.rule, v.message])
                child.setToolTip(1, tooltip(v.message))
            item.setSelected(slug in selected)
        count = len(report)
        self.status.setText(
            f"{plural(count, 'brand')} {'breaks' if count == 1 else 'break'} your terms."
            if count
            else "Every brand keeps your terms."
        )
        self._update_buttons()

    # --- editing the terms ----------------------------------------------------------------

    def form_terms(self) -> MyTerms | None:
        """The terms the form shows (None: the quiet hours start when they end)."""
        rules: list[AnyRule] = []
        for channel in Channel:
            if self.never_channel[channel].isChecked():
                rules.append(NoChannel(channel))
            elif (value := self.max_frequency[channel].currentData()) is not None:
                rules.append(MaxFrequency(channel, Frequency(value)))
        rules += [NeverPurpose(p) for p, check in self.never_purpose.items() if check.isChecked()]
        if self.grant_months.value():
            rules.append(GrantMaxMonths(self.grant_months.value()))
        if self.quiet.isChecked():
            s, e = self.quiet_start.time(), self.quiet_end.time()
            if (s.hour(), s.minute()) == (e.hour(), e.minute()):
                return None
            window = QuietHours(dt.time(s.hour(), s.minute()), dt.time(e.hour(), e.minute()))
            rules.append(QuietHoursRule(window))
        return MyTerms.of(rules)

    def _changed(self) -> None:
        if self._loading:
            return
        new = self.form_terms()
        if new is None:
            self.message.emit("Quiet hours need a start and an end that differ; not saved.")
            return
        if new != self.terms:
            self.writer.push(SetTerms(self.writer, self.terms, new))

    # --- what the writer says ------------------------------------------------------------

    def _on_asked(self, outcome: Outcome) -> None:
        """New terms were asked for (an edit, an undo, a redo): show them at once."""
        save = outcome.save
        if isinstance(save, TermsSave):
            self._writes += 1  # a read asked for before this is out of date
            self._show_terms(save.terms)

    def _on_stored(self, outcome: Outcome) -> None:
        save = outcome.save
        if isinstance(save, TermsSave):
            self.problem.setVisible(False)
            self.check()
            self.terms_saved.emit()
        elif isinstance(save, ManySave):
            self.problem.setVisible(False)
            self._brands_written(list(outcome.changed), list(outcome.skipped))

    def _on_refused(self, outcome: Outcome) -> None:
        """Refused: the form shows the stored terms again (the message names the step)."""
        save = outcome.save
        if not isinstance(save, TermsSave | ManySave):
            return
        self.problem.setText(outcome.message)
        self.problem.setVisible(True)
        if isinstance(save, TermsSave) and not self.writer.pending(TERMS):
            self._show_terms(outcome.terms if outcome.terms is not None else save.previous)
        self.check()

    # --- applying -------------------------------------------------------------------------

    def selected_slugs(self) -> list[str]:
        slugs = []
        for item in self.tree.selectedItems():
            top = item
            while (parent := top.parent()) is not None:
                top = parent
            slug = top.data(0, _SLUG)
            if slug and slug not in slugs:
                slugs.append(str(slug))
        return slugs

    def _update_buttons(self) -> None:
        self.apply_all.setEnabled(bool(self.violations))
        self.apply_selected.setEnabled(bool(self.selected_slugs()))

    def ask_apply(self, slugs: Sequence[str]) -> None:
        """Preview applying My Terms to ``slugs`` (empty: every brand), then apply on OK."""
        services, wanted = self.services, list(slugs)
        self.runner.run(
            lambda: services.preferences.preview_policy(wanted), self._show_preview, self._failed
        )

    def _show_preview(self, changes: list[PolicyChange]) -> None:
        dialog = PreviewDialog(changes, self)
        dialog.accepted.connect(lambda: self.apply(dialog.changes))
        self.preview = dialog
        dialog.show()

    def apply(self, changes: Sequence[PolicyChange]) -> None:
        if changes:
            self.writer.push(ApplyTerms(self.writer, changes))

    def _brands_written(self, changed: list[str], skipped: list[str]) -> None:
        """Applying (or undoing) My Terms was stored: say what changed."""
        self.brands_changed.emit(changed)
        they = "it syncs" if len(changed) == 1 else "they sync"
        text = f"My Terms: {plural(len(changed), 'brand')} changed; {they} next time."
        if skipped:
            text += (
                f" {len(skipped)} changed since the preview and were left alone "
                f"({', '.join(skipped[:5])}); preview again to include them."
            )
        self.message.emit(text)
        self.check()
