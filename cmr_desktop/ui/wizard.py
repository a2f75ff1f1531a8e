"""Adding a brand: pick it from the company directory (or type a new one), choose how the
app reaches it (a connector and its settings; secrets go to the keyring), test the
connection and read the vendor's catalog, then store it with My Terms applied.

Re-entering a brand's secrets (after the vendor refused the stored token) is
:class:`SignInDialog`. Both are shown without blocking the window.
"""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from cmr_desktop.connectors.api import Catalog, ConfigField
from cmr_desktop.domain.directory import DirectoryEntry
from cmr_desktop.services import ConnectionFailed, Services
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.text import tooltip


def _plain(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


def describe_catalog(catalog: Catalog | None) -> str:
    """A catalog in a sentence or two."""
    if catalog is None:
        return "Handled by hand: you carry out your choices yourself; the app keeps track."
    channels = ", ".join(sorted(c.label for c in catalog.channels)) or "no channel"
    required = [t.label for t in catalog.topics if t.required]
    text = (
        f"The vendor offers: {channels}; {len(catalog.topics)} topic(s)"
        f"{' (always sent: ' + ', '.join(required) + ')' if required else ''}; asks about "
        f"{len(catalog.data_uses)} use(s) of your data"
    )
    return text + ("; honours quiet hours." if catalog.supports_quiet_hours else ".")


class WhoPage(QWizardPage):
    """The brand: from the directory (autocomplete) or new."""

    def __init__(self, wizard: AddBrandWizard) -> None:
        super().__init__(wizard)
        self.wiz = wizard
        self.setTitle("Which brand?")
        self.setSubTitle(
            "Type its name: organisations from the company directory are suggested, with "
            "their privacy contact. A name that is not listed is added as you type it."
        )
        outer = QVBoxLayout(self)
        form = QFormLayout()
        outer.addLayout(form)
        self.name = QLineEdit(self)
        self.name.setAccessibleName("Brand name")
        self.name.setPlaceholderText("e.g. Deutsche Bahn")
        self.suggestions = QStringListModel(self)
        self.completer = QCompleter(self.suggestions, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        # QLineEdit puts the chosen suggestion's text in the box after this signal: pick
        # once the event loop turns, so the box ends with the organisation's plain name.
        self.completer.activated.connect(
            lambda label: QTimer.singleShot(0, lambda: self.pick(label))
        )
        self.name.setCompleter(self.completer)
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self._search)
        self.name.textEdited.connect(self._edited)
        self.name.textChanged.connect(lambda _: self.completeChanged.emit())
        self._found: dict[str, DirectoryEntry] = {}
        self.picked: DirectoryEntry | None = None
        form.addRow("&Name", self.name)
        self.about = _plain("", self)
        self.about.setAccessibleName("From the company directory")
        outer.addWidget(self.about)
        form = QFormLayout()
        outer.addLayout(form)
        outer.addStretch(1)
        self.category = QLineEdit(self)
        self.category.setAccessibleName("Category")
        self.website = QLineEdit(self)
        self.website.setAccessibleName("Website")
        self.privacy_contact = QLineEdit(self)
        self.privacy_contact.setAccessibleName("Privacy contact")
        form.addRow("&Category", self.category)
        form.addRow("&Website", self.website)
        form.addRow("&Privacy contact", self.privacy_contact)

    def _edited(self, text: str) -> None:
        if self.picked is not None and text.strip() != self.picked.name:
            # A different name: the picked organisation's details no longer apply.
            self.picked = None
            for edit in (self.category, self.website, self.privacy_contact):
                edit.clear()
            self.about.clear()
        self._timer.start()

    def _search(self) -> None:
        text, services = self.name.text().strip(), self.wiz.services
        if len(text) < 2:
            return
        self.wiz.runner.run(
            lambda: services.search_directory(text, 15),
            self._show_found,
            lambda _: None,
            latest="directory-search",
        )

    def _show_found(self, found: list[DirectoryEntry]) -> None:
        self._found = {self._label(e): e for e in found}
        self.suggestions.setStringList(list(self._found))
        if found and self.name.hasFocus():
            self.completer.complete()

    @staticmethod
    def _label(entry: DirectoryEntry) -> str:
        return f"{entry.name} ({entry.category or 'no category'})"

    def pick(self, label: str) -> None:
        """Take an organisation from the directory (by its suggestion label)."""
        entry = self._found.get(label)
        if entry is None:
            return
        self.picked = entry
        self.name.setText(entry.name)
        self.category.setText(entry.category)
        self.website.setText(entry.web)
        self.privacy_contact.setText(entry.privacy_contact)
        where = f"Privacy contact: {entry.privacy_contact or 'none listed'}"
        self.about.setText(
            f"From the company directory ({entry.quality or 'unchecked'}): {entry.name}, "
            f"{entry.category or 'no category'}. {where}."
        )

    def isComplete(self) -> bool:
        return bool(self.name.text().strip())


class HowPage(QWizardPage):
    """The connector and its settings."""

    def __init__(self, wizard: AddBrandWizard) -> None:
        super().__init__(wizard)
        self.wiz = wizard
        self.setTitle("How does the app reach it?")
        self.setSubTitle(
            "A connector talks to the brand's systems. Without one, you carry out your "
            "choices by hand and the app keeps track. Secret fields go to the system keyring."
        )
        layout = QVBoxLayout(self)
        self.connector = QComboBox(self)
        self.connector.setAccessibleName("Connector")
        for entry in wizard.services.connector_entries():
            if entry.status != "ok" or entry.cls is None:
                continue
            self.connector.addItem(f"{entry.name} {entry.version} (from {entry.package})", entry.id)
        self.connector.currentIndexChanged.connect(lambda _: self._build_fields())
        layout.addWidget(self.connector)
        self.fields_box = QWidget(self)
        self.form = QFormLayout(self.fields_box)
        layout.addWidget(self.fields_box)
        layout.addStretch(1)
        self.edits: dict[str, tuple[ConfigField, QLineEdit]] = {}
        manual = self.connector.findData("manual")
        self.connector.setCurrentIndex(max(manual, 0))
        self._build_fields()

    def connector_id(self) -> str:
        return str(self.connector.currentData())

    def _build_fields(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.edits = {}
        cls = self.wiz.services.connector_class(self.connector_id())
        for f in cls.config_fields:
            edit = QLineEdit(self.fields_box)
            edit.setAccessibleName(f.label)
            edit.setToolTip(tooltip(f.help))
            edit.setPlaceholderText(f.help)
            if f.default:
                edit.setText(f.default)
            if f.secret:
                edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.textChanged.connect(lambda _: self.completeChanged.emit())
            self.form.addRow(f.label + ("" if f.required else " (optional)"), edit)
            self.edits[f.name] = (f, edit)
        if not cls.config_fields:
            self.form.addRow(_plain("Nothing to set up.", self.fields_box))
        self.completeChanged.emit()

    def values(self) -> tuple[dict[str, str], dict[str, str]]:
        """(settings, secrets) as typed."""
        config: dict[str, str] = {}
        secrets: dict[str, str] = {}
        for name, (f, edit) in self.edits.items():
            value = edit.text().strip()
            if value:
                (secrets if f.secret else config)[name] = value
        return config, secrets

    def isComplete(self) -> bool:
        return all(
            edit.text().strip() for f, edit in self.edits.values() if f.required and not f.default
        )


class CheckPage(QWizardPage):
    """Test the connection, read the catalog, and choose whether to apply My Terms."""

    def __init__(self, wizard: AddBrandWizard) -> None:
        super().__init__(wizard)
        self.wiz = wizard
        self.setTitle("Check and add")
        layout = QVBoxLayout(self)
        self.test = QPushButton("&Test the connection", self)
        self.test.clicked.connect(self.run_test)
        layout.addWidget(self.test)
        self.result = _plain("", self)
        self.result.setAccessibleName("Connection test result")
        layout.addWidget(self.result)
        self.apply_terms = QCheckBox("Apply &My Terms to this brand", self)
        self.apply_terms.setChecked(True)
        layout.addWidget(self.apply_terms)
        layout.addStretch(1)
        self.tested = False

    def initializePage(self) -> None:
        self.tested = False
        manual = not self.wiz.services.connector_class(self.wiz.how.connector_id()).remote
        self.test.setEnabled(not manual)
        self.result.setText(
            describe_catalog(None)
            if manual
            else "Test the connection to see what the vendor offers (recommended)."
        )

    def run_test(self) -> None:
        services, connector = self.wiz.services, self.wiz.how.connector_id()
        config, secrets = self.wiz.how.values()
        self.test.setEnabled(False)
        self.result.setText("Asking the vendor…")

        def done(found: tuple[str, Catalog | None]) -> None:
            seen, catalog = found
            self.tested = True
            self.test.setEnabled(True)
            self.result.setText(f"Connected: {seen}\n{describe_catalog(catalog)}")

        def failed(error: Exception) -> None:
            self.test.setEnabled(True)
            self.result.setText(f"The connection failed: {error}")

        self.wiz.runner.run(
            lambda: services.try_connection(connector, config, secrets),
            done,
            failed,
            latest="connection-test",
        )


class AddBrandWizard(QWizard):
    """Add a brand in three steps.

    Signals:
        added(str): the new brand's slug, once stored.
    """

    added = Signal(str)

    def __init__(self, services: Services, runner: Runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.runner = services, runner
        self.setWindowTitle("Add a brand")
        self.who = WhoPage(self)
        self.how = HowPage(self)
        self.check = CheckPage(self)
        for page in (self.who, self.how, self.check):
            self.addPage(page)
        self.error = ""
        self.resize(640, 480)

    def accept(self) -> None:
        """Store the brand in the background; the wizard closes once it is stored."""
        services = self.services
        name = self.who.name.text().strip()
        fields = {
            "category": self.who.category.text().strip(),
            "website": self.who.website.text().strip(),
            "privacy_contact": self.who.privacy_contact.text().strip(),
        }
        connector = self.how.connector_id()
        config, secrets = self.how.values()
        apply_terms = self.check.apply_terms.isChecked()

        def store() -> tuple[str, str]:
            brand = services.add_brand(
                name, connector=connector, connector_config=config, secrets=secrets, **fields
            )
            problem = ""
            if apply_terms:
                try:
                    services.apply_policy([brand.slug])
                except Exception as exc:  # the brand is stored; say what is missing
                    problem = f"My Terms could not be applied to it ({exc}); apply them later."
            return brand.slug, problem

        def stored(result: tuple[str, str]) -> None:
            slug, problem = result
            self.error = problem
            self.added.emit(slug)
            super(AddBrandWizard, self).accept()

        def failed(error: Exception) -> None:
            self.error = str(error)
            self.check.result.setText(f"Not added: {error}")
            self.button(QWizard.WizardButton.FinishButton).setEnabled(True)

        self.button(QWizard.WizardButton.FinishButton).setEnabled(False)
        self.runner.run(store, stored, failed, write=True)


class SignInDialog(QDialog):
    """Enter a brand's secrets again (the vendor refused the stored ones).

    Signals:
        saved(str): the brand's slug, once the secrets are stored.
    """

    saved = Signal(str)

    def __init__(
        self,
        services: Services,
        runner: Runner,
        slug: str,
        connector: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.services, self.runner, self.slug = services, runner, slug
        self.setWindowTitle("Sign in again")
        layout = QVBoxLayout(self)
        cls = services.connector_class(connector)
        secret_fields = [f for f in cls.config_fields if f.secret]
        layout.addWidget(_plain(f"New secrets for {slug} (kept in the system keyring):", self))
        form = QFormLayout()
        self.edits: dict[str, QLineEdit] = {}
        for f in secret_fields:
            edit = QLineEdit(self)
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setAccessibleName(f.label)
            form.addRow(f.label, edit)
            self.edits[f.name] = edit
        layout.addLayout(form)
        self.note = _plain("" if secret_fields else "This brand has no secrets.", self)
        layout.addWidget(self.note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def save(self) -> None:
        values = {k: e.text() for k, e in self.edits.items() if e.text()}
        services, slug = self.services, self.slug

        def store() -> tuple[bool, str]:
            for field, value in values.items():
                services.set_secret(slug, field, value)
            try:
                return True, services.check_connection(slug)
            except ConnectionFailed as exc:
                return False, str(exc)

        def done(result: tuple[bool, str]) -> None:
            ok, text = result
            self.saved.emit(slug)
            if ok:
                self.accept()
            else:
                self.note.setText(f"Stored, but the vendor still refuses: {text}")

        def failed(error: Exception) -> None:
            self.note.setText(f"Not stored: {error}")

        self.runner.run(store, done, failed, write=True)
