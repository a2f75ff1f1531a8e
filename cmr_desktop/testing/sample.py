"""Reproducible sample brands with full preferences, for tests, benchmarks and demos."""

from __future__ import annotations

import datetime as dt
import random

from cmr_desktop.domain.brand import Brand
from cmr_desktop.domain.preferences import Grant, PreferenceSet, QuietHours
from cmr_desktop.domain.vocabulary import (
    Channel,
    DataCategory,
    Decision,
    Frequency,
    Purpose,
    RelationshipStatus,
)

CATEGORIES = ("retail", "finance", "travel", "telecom", "media", "health", "utilities", "food")
TOPICS = ("offers", "newsletter", "order-updates", "events", "surveys", "product-news")
_WORDS = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Soylent",
    "Cyberdyne",
    "Wonka",
    "Gringotts",
    "Oceanic",
    "Monarch",
    "Aperture",
    "Nakatomi",
)
_KINDS = ("Outdoor", "Bank", "Travel", "Mobile", "News", "Pharmacy", "Energy", "Foods", "Books")


def sample_preferences(rng: random.Random, *, full: bool = True) -> PreferenceSet:
    """A preference set; ``full`` decides every channel and a dozen grants."""
    channels = {ch: rng.random() < 0.5 for ch in Channel if full or rng.random() < 0.4}
    frequencies = {ch: rng.choice(list(Frequency)) for ch, on in channels.items() if on}
    topics = {t: rng.random() < 0.5 for t in rng.sample(TOPICS, 4 if full else 2)}
    grants = {}
    for _ in range(12 if full else 3):
        key = (rng.choice(list(DataCategory)), rng.choice(list(Purpose)))
        if rng.random() < 0.5:
            grants[key] = Grant(Decision.DENY)
        else:
            expires = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(0, 1500))
            grants[key] = Grant(Decision.ALLOW, expires if rng.random() < 0.7 else None)
    quiet = QuietHours(dt.time(rng.choice((20, 21, 22)), 0), dt.time(rng.choice((7, 8)), 30))
    return PreferenceSet(channels, frequencies, topics, grants, quiet if full else None)


def sample_brand(i: int, rng: random.Random, *, full: bool = True) -> Brand:
    """Brand number ``i``: a readable name, relationship details and preferences."""
    name = f"{rng.choice(_WORDS)} {rng.choice(_KINDS)} {i}"
    slug = f"brand-{i:06d}"
    return Brand(
        slug=slug,
        name=name,
        account_id=f"customer-{rng.randrange(10**6, 10**7)}",
        status=rng.choice(list(RelationshipStatus)),
        category=rng.choice(CATEGORIES),
        website=f"https://{slug}.example",
        privacy_contact=f"privacy@{slug}.example",
        notes="Joined the loyalty programme." if rng.random() < 0.3 else "",
        tags=tuple(rng.sample(("loyalty", "family", "work", "online", "local"), 2)),
        preferences=sample_preferences(rng, full=full),
    )


def sample_brands(n: int, *, seed: int = 42, full: bool = True) -> list[Brand]:
    """``n`` sample brands, the same for the same seed."""
    rng = random.Random(seed)
    return [sample_brand(i, rng, full=full) for i in range(n)]
