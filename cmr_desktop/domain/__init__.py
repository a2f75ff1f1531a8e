"""Pure-Python domain: vocabulary, brands, preference sets, My Terms, three-way merge.

Imports nothing else of the package and no Qt, SQLAlchemy or requests (checked in CI).
"""

from cmr_desktop.domain.brand import MANUAL_CONNECTOR, Brand, slugify
from cmr_desktop.domain.clock import Clock, FixedClock, SystemClock
from cmr_desktop.domain.errors import DomainError, VocabularyError
from cmr_desktop.domain.merge import MergeResult, Outcome, three_way_merge
from cmr_desktop.domain.policy import MyTerms, Violation
from cmr_desktop.domain.preferences import Grant, PreferenceSet, QuietHours
from cmr_desktop.domain.summary import BrandSummary, DataUse, Status, Tally, VendorOpen
from cmr_desktop.domain.vocabulary import (
    Channel,
    DataCategory,
    Decision,
    Frequency,
    Purpose,
    RelationshipStatus,
)

__all__ = [
    "MANUAL_CONNECTOR",
    "Brand",
    "BrandSummary",
    "Channel",
    "Clock",
    "DataCategory",
    "DataUse",
    "Decision",
    "DomainError",
    "FixedClock",
    "Frequency",
    "Grant",
    "MergeResult",
    "MyTerms",
    "Outcome",
    "PreferenceSet",
    "Purpose",
    "QuietHours",
    "RelationshipStatus",
    "Status",
    "SystemClock",
    "Tally",
    "VendorOpen",
    "Violation",
    "VocabularyError",
    "slugify",
    "three_way_merge",
]
