"""Acme Loyalty Club connector for CMR Desktop (an example third-party plugin)."""

from acme_loyalty.connector import AcmeLoyaltyConnector, __version__

__all__ = ["AcmeLoyaltyConnector", "__version__"]
