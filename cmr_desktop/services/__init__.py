"""Use cases shared by the CLI and the desktop app."""

from cmr_desktop.services.core import KNOWN_CONNECTORS, BrandView, ImportResult, Services
from cmr_desktop.services.errors import BrandNotFound, InputError, ServiceError
from cmr_desktop.storage import StoreError

__all__ = [
    "KNOWN_CONNECTORS",
    "BrandNotFound",
    "BrandView",
    "ImportResult",
    "InputError",
    "ServiceError",
    "Services",
    "StoreError",
]
