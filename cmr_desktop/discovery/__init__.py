"""Discovery: from the headers of the mail in a mailbox to the brands that write to the
customer, how often they really do, and whether they kept writing after an unsubscribe.

Pure Python over :mod:`cmr_desktop.mail.headers` (no Qt, no SQL, no network): grouping
(:mod:`.grouping`), matching to the company directory and to tracked brands
(:mod:`.matching`), and measuring frequencies and deadlines (:mod:`.measuring`). Everything
measured here is the *vendor's* behaviour; none of it is ever a decision of the customer's.
"""

from cmr_desktop.discovery.grouping import Observation, domain_of, observe, registrable
from cmr_desktop.discovery.matching import DirectoryIndex, TrackedBrand, TrackedIndex
from cmr_desktop.discovery.measuring import (
    TOLERANCE,
    allowed_per_week,
    deadline_after,
    over_limit,
    suggest_frequency,
)

__all__ = [
    "TOLERANCE",
    "DirectoryIndex",
    "Observation",
    "TrackedBrand",
    "TrackedIndex",
    "allowed_per_week",
    "deadline_after",
    "domain_of",
    "observe",
    "over_limit",
    "registrable",
    "suggest_frequency",
]
