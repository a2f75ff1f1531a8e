"""Use cases shared by the CLI and the desktop app: :class:`Services` and what its use cases
take and return. The CLI and the UI import them from here only (import-linter checks it)."""

from cmr_desktop.services.base import BrandView
from cmr_desktop.services.brands import RemovedBrand
from cmr_desktop.services.composition import Services
from cmr_desktop.services.directory import DirectoryImportResult
from cmr_desktop.services.discovery import (
    FoundBrand,
    IgnoredUnsubscribe,
    Measured,
    ScanProgress,
    ScanReport,
)
from cmr_desktop.services.errors import (
    BrandNotFound,
    ConnectionFailed,
    InputError,
    ServiceError,
    SettingRefused,
)
from cmr_desktop.services.preferences import DriftItem, PolicyChange
from cmr_desktop.services.sync import (
    BUSY,
    BrandOutcome,
    Result,
    SyncBusy,
    SyncCancel,
    SyncReport,
)
from cmr_desktop.services.transfer import ImportResult
from cmr_desktop.storage import StoreError

__all__ = [
    "BUSY",
    "BrandNotFound",
    "BrandOutcome",
    "BrandView",
    "ConnectionFailed",
    "DirectoryImportResult",
    "DriftItem",
    "FoundBrand",
    "IgnoredUnsubscribe",
    "ImportResult",
    "InputError",
    "Measured",
    "PolicyChange",
    "RemovedBrand",
    "Result",
    "ScanProgress",
    "ScanReport",
    "ServiceError",
    "Services",
    "SettingRefused",
    "StoreError",
    "SyncBusy",
    "SyncCancel",
    "SyncReport",
]
