"""The ids the simulator knows (ARCHITECTURE 3.3), as the wire spells them."""

from __future__ import annotations

import re

from cmr_desktop.domain.vocabulary import Channel, DataCategory, Frequency, Purpose

CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)
FREQUENCIES: tuple[str, ...] = tuple(f.value for f in Frequency)
CATEGORIES: tuple[str, ...] = tuple(c.value for c in DataCategory)
PURPOSES: tuple[str, ...] = tuple(p.value for p in Purpose)
CHANNEL_ORDER = {c: i for i, c in enumerate(CHANNELS)}
FREQUENCY_RANK = {f.value: f.rank for f in Frequency}

ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
"""A vendor or topic id."""
