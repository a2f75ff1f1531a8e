"""Adding a brand: pick it from the company directory (or type a new one), choose how the
app reaches it (a connector and its settings; secrets go to the keyring), test the
connection and read the vendor's catalog, then store it with My Terms applied.

Re-entering a brand's secrets (after the vendor refused the stored token) is
:class:`SignInDialog`. Both are shown without blocking the window.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

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
from cmr_desktop.ui.connector_fields import ConnectorFieldsForm
from cmr_desktop.ui.plugin_calls import PluginCalls, PluginTimeout
from cmr_desktop.ui.runner import Runner
from cmr_desktop.ui.text import translate


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
        f"The vendor offers: {channels}; "
        + translate("Wizard", "%n topic(s)", None, len(catalog.topics))
        + f"{' (always sent: ' + ', '.join(required) + ')' if required else ''}; asks about "
        + translate("Wizard", "%n use(s) of your data", None, len(catalog.data_uses))
    )
    return text + ("; honours quiet hours." if catalog.supports_quiet_hours else ".")


@dataclass(frozen=True, slots=True)
class ConnectorChoice:
    """What the wizard needs of a usable connector, read off its class in the background
    (so that no plugin code runs on the GUI thread)."""

    id: str
    label: str
    remote: bool
    fields: tuple[ConfigField, ...]


@dataclass(frozen=True, slots=True)
class ConnectorChoices:
    """The usable connectors, and a line for each one that could not be loaded."""

    usable: tuple[ConnectorChoice, ...]
    unusable: tuple[str, ...]

    def get(self, connector: str) -> ConnectorChoice | None:
        return next((c for c in self.usable if c.id == connector), None)


#: Connectors a brand gets from "Find my brands", not from this wizard: the e-mail
#: connector needs the unsubscribe headers read from the brand's own mail.
FROM_THE_MAILBOX_ONLY = frozenset({"email"})


def connector_choices(services: Services) -> ConnectorChoices:
    """Discover the connectors (this imports plugins: call it off the GUI thread)."""
    usable, unusable = [], []
    for entry in services.connections.connector_entries():
        if entry.id in FROM_THE_MAILBOX_ONLY:
            continue
        if entry.status != "ok" or entry.cls is None:
            unusable.append(f"{entry.id} ({entry.status}: {entry.reason})")
            continue
        label = f"{entry.name} {entry.version} (from {entry.package})"
        cls = entry.cls
        usable.append(ConnectorChoice(entry.id, label, bool(cls.remote), tuple(cls.config_fields)))
    return ConnectorChoices(tuple(usable), tuple(unusable))


LOOKING = "Looking for connectors…"


_DOMAIN = re.compile(r"^[\w-]+(\.[\w-]+)*\.[^\W\d_]{2,}(:[0-9]+)?([/?#].*)?$")


def website_problem(text: str) -> str:
    """Why ``text`` is not a brand's website ("" when it is; a bare "contoso.com" is)."""
    if not text:
        return ""
    if any(c.isspace() for c in text):
        return "A web address has no spaces."
    if "://" not in text:
        return "" if _DOMAIN.match(text) else "Not a web address: it should look like contoso.com."
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "Not a complete web address: it should look like https://contoso.com."
    return ""


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
        self.website_problem = _plain("", self)
        self.website_problem.setAccessibleName("Website: problem")
        self.website_problem.setVisible(False)
        self.website.textChanged.connect(lambda _: self._check_website())
        form.addRow("&Category", self.category)
        form.addRow("&Website", self.website)
        form.addRow("", self.website_problem)
        form.addRow("&Privacy contact", self.privacy_contact)

    def _check_website(self) -> None:
        text = website_problem(self.website.text().strip())
        self.website_problem.setText(text)
        self.website_problem.setVisible(bool(text))
        self.completeChanged.emit()

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
            lambda: services.directory.search_directory(text, 15),
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
        """A name, and no malformed website (Next stays disabled until then)."""
        return bool(self.name.text().strip()) and not self.website_problem.text()


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
        self.connector.setEnabled(False)
        self.connector.currentIndexChanged.connect(lambda _: self._build_fields())
        layout.addWidget(self.connector)
        self.status = _plain(LOOKING, self)
        self.status.setAccessibleName("Connectors")
        layout.addWidget(self.status)
        self.settings = ConnectorFieldsForm(self)
        self.settings.changed.connect(self.completeChanged.emit)
        layout.addWidget(self.settings)
        self.nothing = _plain("Nothing to set up.", self)
        self.nothing.setVisible(False)
        layout.addWidget(self.nothing)
        layout.addStretch(1)
        self.choices: ConnectorChoices | None = None

    @property
    def edits(self) -> dict[str, tuple[ConfigField, QLineEdit]]:
        """The settings' fields by key (what the user typed)."""
        return self.settings.edits

    @property
    def ready(self) -> bool:
        """The connectors have been found."""
        return self.choices is not None

    def slow(self) -> None:
        """Discovery takes long: a plugin may be stuck importing."""
        if self.choices is None:
            self.status.setText(
                "Still looking for connectors: a connector plugin is taking long to load and "
                "may be stuck. The window keeps working; you can cancel and try again later."
            )

    def failed(self, error: Exception) -> None:
        self.status.setText(f"The connectors could not be listed: {error}")

    def fill(self, choices: ConnectorChoices) -> None:
        """Offer the connectors that were found."""
        self.choices = choices
        self.connector.blockSignals(True)
        self.connector.clear()
        for choice in choices.usable:
            self.connector.addItem(choice.label, choice.id)
        manual = self.connector.findData("manual")
        self.connector.setCurrentIndex(max(manual, 0))
        self.connector.blockSignals(False)
        self.connector.setEnabled(bool(choices.usable))
        notes = []
        if not choices.usable:
            notes.append("No connector could be loaded.")
        if choices.unusable:
            notes.append(
                translate(
                    "Wizard",
                    "%n installed connector(s) cannot be used: ",
                    None,
                    len(choices.unusable),
                )
                + "; ".join(choices.unusable)
            )
        self.status.setText("\n".join(notes))
        self.status.setVisible(bool(notes))
        self._build_fields()

    def connector_id(self) -> str:
        return str(self.connector.currentData())

    def choice(self) -> ConnectorChoice | None:
        """The chosen connector (None until the connectors are found)."""
        return self.choices.get(self.connector_id()) if self.choices is not None else None

    def _build_fields(self) -> None:
        choice = self.choice()
        fields = choice.fields if choice is not None else ()
        self.settings.set_fields(fields, empty="")
        self.nothing.setVisible(choice is not None and not fields)
        self.completeChanged.emit()

    def values(self) -> tuple[dict[str, str], dict[str, str]]:
        """(settings, secrets) as typed."""
        return self.settings.values()

    def isComplete(self) -> bool:
        """Next stays disabled until every required setting is given and none is malformed."""
        return self.choice() is not None and self.settings.is_valid()


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
        choice = self.wiz.how.choice()
        manual = choice is None or not choice.remote
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
            if isinstance(error, PluginTimeout):
                seconds = self.wiz.test_timeout_ms / 1000
                self.result.setText(
                    f"The connection failed: no answer within {seconds:g} s (the vendor or "
                    "the connector may be stuck). Try again, or go back and check the settings."
                )
            else:
                self.result.setText(f"The connection failed: {error}")

        # The connector's own code (and the vendor) answer on a thread of their own: one
        # that hangs leaves the wizard working and, after the timeout, says so.
        self.wiz.plugins.run(
            lambda: services.connections.try_connection(connector, config, secrets),
            done,
            failed,
            timeout_ms=self.wiz.test_timeout_ms,
            latest="connection-test",
        )


class AddBrandWizard(QWizard):
    """Add a brand in three steps.

    Signals:
        added(str): the new brand's slug, once stored.
    """

    added = Signal(str)
    #: After this long, the connector page says that a plugin may be stuck loading.
    discovery_slow_ms = 10_000
    #: How long the connection test waits for the connector and the vendor.
    test_timeout_ms = 30_000

    def __init__(self, services: Services, runner: Runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.runner = services, runner
        self.plugins = PluginCalls(self)
        self.setWindowTitle("Add a brand")
        self.who = WhoPage(self)
        self.how = HowPage(self)
        self.check = CheckPage(self)
        for page in (self.who, self.how, self.check):
            self.addPage(page)
        self.error = ""
        self.added_name = ""
        self.resize(640, 480)
        # Finding connectors imports their plugins: in the background, while the first page
        # is filled in.
        self.plugins.run(
            lambda: connector_choices(services),
            self.how.fill,
            self.how.failed,
            timeout_ms=self.discovery_slow_ms,
            on_slow=self.how.slow,
        )

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
            brand = services.brands.add_brand(
                name, connector=connector, connector_config=config, secrets=secrets, **fields
            )
            problem = ""
            if apply_terms:
                try:
                    services.preferences.apply_policy([brand.slug])
                except Exception as exc:  # the brand is stored; say what is missing
                    problem = f"My Terms could not be applied to it ({exc}); apply them later."
            return brand.slug, problem

        def stored(result: tuple[str, str]) -> None:
            slug, problem = result
            self.error = problem
            self.added_name = name  # the status bar says "Added <name>", never the id
            self.added.emit(slug)
            super(AddBrandWizard, self).accept()

        def failed(error: Exception) -> None:
            self.error = str(error)
            self.check.result.setText(f"Not added: {error}")
            self.button(QWizard.WizardButton.FinishButton).setEnabled(True)

        self.button(QWizard.WizardButton.FinishButton).setEnabled(False)
        self.runner.run(store, stored, failed, write=True)


def secret_fields(services: Services, connector: str) -> tuple[ConfigField, ...]:
    """The connector's secret settings (may import its plugin: off the GUI thread)."""
    return tuple(
        f for f in services.connections.connector_class(connector).config_fields if f.secret
    )


class SignInDialog(QDialog):
    """Enter a brand's secrets again (the vendor refused the stored ones).

    The connector's fields are read, and the new secrets tried, off the GUI thread.

    Signals:
        saved(str): the brand's slug, once the secrets are stored.
    """

    saved = Signal(str)
    #: How long the check after storing waits for the connector and the vendor.
    check_timeout_ms = 30_000

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
        self.plugins = PluginCalls(self)
        self.setWindowTitle("Sign in again")
        layout = QVBoxLayout(self)
        self.heading = _plain("New secrets (kept in the system keyring):", self)
        layout.addWidget(self.heading)
        runner.run(
            lambda: services.brands.get_brand(slug).brand.name,
            self._show_name,
            lambda _error: None,
        )
        self.form = QFormLayout()
        self.edits: dict[str, QLineEdit] = {}
        layout.addLayout(self.form)
        self.note = _plain(LOOKING, self)
        layout.addWidget(self.note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setEnabled(False)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.plugins.run(
            lambda: secret_fields(services, connector),
            self._show_fields,
            lambda error: self.note.setText(f"This brand's connector cannot be used: {error}"),
            timeout_ms=AddBrandWizard.discovery_slow_ms,
            on_slow=lambda: self.note.setText(
                "Still looking for the connector: its plugin is taking long to load and may "
                "be stuck. You can cancel and try again later."
            ),
        )

    def _show_name(self, name: str) -> None:
        with contextlib.suppress(RuntimeError):  # the dialog was closed and deleted meanwhile
            self.heading.setText(f"New secrets for {name} (kept in the system keyring):")

    def _show_fields(self, fields: tuple[ConfigField, ...]) -> None:
        for f in fields:
            edit = QLineEdit(self)
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setAccessibleName(f.label)
            self.form.addRow(f.label, edit)
            self.edits[f.name] = edit
        self.note.setText("" if fields else "This brand has no secrets.")
        self.save_button.setEnabled(bool(fields))
        if fields:
            next(iter(self.edits.values())).setFocus()

    def save(self) -> None:
        values = {k: e.text() for k, e in self.edits.items() if e.text()}
        services, slug = self.services, self.slug

        def store() -> None:
            for field, value in values.items():
                services.connections.set_secret(slug, field, value)

        def stored(_: None) -> None:
            self.saved.emit(slug)
            self.note.setText("Stored. Asking the vendor…")
            # The check runs the connector's code: on a thread of its own, with a timeout.
            self.plugins.run(
                lambda: services.connections.check_connection(slug),
                lambda _text: self.accept(),
                checked_failed,
                timeout_ms=self.check_timeout_ms,
                latest="check",
            )

        def checked_failed(error: Exception) -> None:
            if isinstance(error, ConnectionFailed):
                self.note.setText(f"Stored, but the vendor still refuses: {error}")
            elif isinstance(error, PluginTimeout):
                seconds = self.check_timeout_ms / 1000
                self.note.setText(f"Stored, but the vendor did not answer within {seconds:g} s.")
            else:
                self.note.setText(f"Stored, but the connection could not be checked: {error}")

        def failed(error: Exception) -> None:
            self.note.setText(f"Not stored: {error}")

        self.runner.run(store, stored, failed, write=True)
