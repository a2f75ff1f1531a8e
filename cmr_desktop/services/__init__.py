"""Use cases shared by the CLI and the desktop app."""

from cmr_desktop.services.core import (
    BrandView,
    DirectoryImportResult,
    DriftItem,
    ImportResult,
    PolicyChange,
    RemovedBrand,
    Services,
    SettingRefused,
)
from cmr_desktop.services.errors import BrandNotFound, ConnectionFailed, InputError, ServiceError
from cmr_desktop.storage import StoreError

__all__ = [
    "BrandNotFound",
    "BrandView",
    "ConnectionFailed",
    "DirectoryImportResult",
    "DriftItem",
    "ImportResult",
    "InputError",
    "PolicyChange",
    "RemovedBrand",
    "ServiceError",
    "Services",
    "SettingRefused",
    "StoreError",
]
