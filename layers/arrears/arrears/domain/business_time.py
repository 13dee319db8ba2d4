"""Business dates per jurisdiction, from the event's time (never the wall clock).

A jurisdiction's business date is the calendar date in its rule pack's `business_timezone` at the
event's instant: the sweep, payments, holds and onboarding all date a loan's events this way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from arrears.domain.calendar import local_date
from arrears.domain.rulepacks import RulePack


def business_date(at: datetime, pack: RulePack) -> date:
    """The calendar date in `pack.business_timezone` at the aware instant `at`."""
    return local_date(at, pack.business_timezone)


def latest_business_date(at: datetime, packs: Iterable[RulePack]) -> date:
    """The latest calendar date any of `packs`' jurisdictions has reached at `at` (ValueError if none)."""
    return max(local_date(at, pack.business_timezone) for pack in packs)
