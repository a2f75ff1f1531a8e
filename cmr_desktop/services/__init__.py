"""Use cases shared by the CLI and the desktop app."""

from cmr_desktop.services.core import BrandView, DriftItem, ImportResult, Services
from cmr_desktop.services.errors import BrandNotFound, ConnectionFailed, InputError, ServiceError
from cmr_desktop.storage import StoreError

__all__ = [
    "BrandNotFound",
    "BrandView",
    "ConnectionFailed",
    "DriftItem",
    "ImportResult",
    "InputError",
    "ServiceError",
    "Services",
    "StoreError",
]
