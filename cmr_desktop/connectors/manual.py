"""The built-in ``manual`` connector: a brand with no API behind it.

The customer records their choices and carries them out by hand (unsubscribe links,
letters, phone calls); CMR Desktop keeps the record. It takes every value of the vocabulary
and has nothing to read or write.
"""

from __future__ import annotations

from cmr_desktop import __version__
from cmr_desktop.connectors.api import (
    API_VERSION,
    Catalog,
    Channel,
    Connector,
    ConnectorInfo,
    DataCategory,
    Frequency,
    PermanentError,
    PreferenceSet,
    Purpose,
    RemoteState,
)


class ManualConnector(Connector):
    """Choices the customer carries out by hand."""

    info = ConnectorInfo(
        id="manual",
        name="By hand",
        version=__version__,
        api_version=API_VERSION,
        description="No vendor API: you record your choices and handle them yourself.",
    )
    remote = False

    def catalog(self) -> Catalog:
        return Catalog(
            channels=frozenset(Channel),
            frequencies=frozenset(Frequency),
            data_uses=frozenset((c, p) for c in DataCategory for p in Purpose),
            supports_quiet_hours=True,
        )

    def read(self) -> RemoteState:
        raise PermanentError("this brand is handled by hand: there is no vendor API to read")

    def write(
        self, desired: PreferenceSet, *, base_version: str, idempotency_key: str
    ) -> RemoteState:
        raise PermanentError("this brand is handled by hand: there is no vendor API to write")

    def check(self) -> str:
        return "handled by hand: nothing to connect to"
