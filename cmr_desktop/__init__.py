"""CMR Desktop: Customer Managed Relationships on your own desktop."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cmr-desktop")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
