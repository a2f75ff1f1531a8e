"""The sync engine: drains the outbox to every vendor, watches drift, keeps the journal."""

from cmr_desktop.sync.engine import BrandOutcome, SyncEngine, SyncReport

__all__ = ["BrandOutcome", "SyncEngine", "SyncReport"]
