"""``Services``: the use cases shared by the CLI and the desktop app, put together.

Each use-case service is its own module (``services.brands``, ``.preferences``,
``.connections``, ``.sync``, ``.transfer``, ``.directory``, ``.journal``), and each public
method of theirs is one unit of work: it opens its own transaction, and either all of its
changes are stored or none are. They share only the plumbing of :class:`Context`, which this
object is; it adds no use case of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cmr_desktop.connectors.http import ConnectorSession
from cmr_desktop.connectors.registry import Registry
from cmr_desktop.domain.clock import Clock
from cmr_desktop.secrets import SecretStore
from cmr_desktop.services.base import Context
from cmr_desktop.services.brands import BrandService
from cmr_desktop.services.connections import ConnectionService
from cmr_desktop.services.directory import DirectoryService
from cmr_desktop.services.discovery import DiscoveryService
from cmr_desktop.services.journal import JournalService
from cmr_desktop.services.mail_accounts import MailAccountService
from cmr_desktop.services.preferences import PreferenceService
from cmr_desktop.services.sync import SyncService
from cmr_desktop.services.transfer import TransferService
from cmr_desktop.services.unsubscribe import UnsubscribeService
from cmr_desktop.storage import Store


class Services(Context):
    """Every use case, by concern: ``services.brands.add_brand(...)``,
    ``services.sync.run(...)`` ... The shared plumbing (``store``, ``secrets``, ``clock``,
    ``registry``, ``now()``, ``today()``) is :class:`Context`'s.

    Args:
        store: the home's database.
        secrets: where brand secrets are kept.
        clock: tells the time (injected so expiry can be tested).
        app_version: written into exports.
        registry: the installed connectors (default: discovered on first use).
        session_factory: makes the HTTP session connectors talk through.
    """

    def __init__(
        self,
        store: Store,
        secrets: SecretStore,
        clock: Clock | None = None,
        app_version: str = "0",
        registry: Registry | None = None,
        session_factory: Callable[[], ConnectorSession] | None = None,
    ) -> None:
        super().__init__(store, secrets, clock, app_version, registry, session_factory)
        self.brands = BrandService(self)
        self.preferences = PreferenceService(self)
        self.connections = ConnectionService(self)
        self.sync = SyncService(self)
        self.transfer = TransferService(self)
        self.directory = DirectoryService(self)
        self.journal = JournalService(self)
        self.mail_accounts = MailAccountService(self)
        self.unsubscribe = UnsubscribeService(self, self.mail_accounts)
        self.discovery = DiscoveryService(self)

    @classmethod
    def open(cls, home: Path, *, clock: Clock | None = None, app_version: str = "0") -> Services:
        """The use cases over the home folder ``home`` (created and migrated as needed),
        keeping secrets in the system keyring."""
        return cls(Store(home), SecretStore(), clock=clock, app_version=app_version)

    def close(self) -> None:
        """Close the home's database (the object is not used afterwards)."""
        self.store.close()
