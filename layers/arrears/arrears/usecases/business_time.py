"""Business dates per jurisdiction, from the event's time (never the wall clock)."""

from __future__ import annotations

from datetime import date, datetime

from arrears.domain.calendar import local_date
from arrears.domain.compliance import RULE_PACKS, rule_pack_for


def business_date(at: datetime, jurisdiction: str) -> date:
    return local_date(at, rule_pack_for(jurisdiction).business_timezone)


def latest_business_date(at: datetime) -> date:
    """The latest calendar date any known jurisdiction has reached at `at`."""
    return max(local_date(at, pack.business_timezone) for pack in RULE_PACKS.values())
