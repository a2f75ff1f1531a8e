"""Use cases shared by the CLI and the desktop app."""

from cmr_desktop.services.base import BrandView
from cmr_desktop.services.brands import RemovedBrand
from cmr_desktop.services.core import (
    DirectoryImportResult,
    ImportResult,
    Services,
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
from cmr_desktop.storage import StoreError

__all__ = [
    "BUSY",
    "BrandNotFound",
    "BrandOutcome",
    "BrandView",
    "ConnectionFailed",
    "DirectoryImportResult",
    "DriftItem",
    "ImportResult",
    "InputError",
    "PolicyChange",
    "RemovedBrand",
    "Result",
    "ServiceError",
    "Services",
    "SettingRefused",
    "StoreError",
    "SyncBusy",
    "SyncCancel",
    "SyncReport",
]
