"""How long an archived object is kept: from the record's day, or from the last collection activity.

A jurisdiction's pack says which (`RulePack.retention_from`):

- `record` (CN: the lender's 5-year record-keeping policy): `retention_years` after the day of the
  object's records; the retain-until date set at the write is final.
- `last_activity` (US, 12 CFR 1006.100(a): records kept 3 years after the last collection activity
  on the debt): an object holds records of many debts (one batch per jurisdiction and day), so it is
  kept `retention_years` after the **latest** last activity of any debt in it. While a debt is still
  being collected (loan OPEN or CHARGED_OFF) its last activity is not known yet and counts as today;
  once the loan is CLOSED (repaid) no collection follows, and its last activity is `closed_on`. A loan
  no longer on file counts by its records in the object.

The archiver locks each object at the write for the minimum (`ArchiveLock.until` of the records' day);
the retention review (`arrears.usecases.retention`) moves the date forward before it passes, as often
as needed (Object Lock retention can be extended, never shortened in COMPLIANCE mode), and marks the
object expired once the date passed with no debt in it still active: the bucket's lifecycle rule then
deletes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum

from arrears.domain.archive import ArchiveLock
from arrears.domain.loans import LoanStatus


class RetentionFrom(StrEnum):
    RECORD = "record"
    LAST_ACTIVITY = "last_activity"


def last_activity(status: LoanStatus | None, closed_on: date | None, records_day: date, today: date) -> date:
    """The last collection activity on one debt as known `today`: today while it is collected (OPEN,
    CHARGED_OFF), its closing day once CLOSED, the day of its records when the loan is not on file."""
    if status is None:
        return records_day
    if status is LoanStatus.CLOSED:
        return closed_on or records_day
    return today


def required_until(
    lock: ArchiveLock,
    years: int,
    retention_from: RetentionFrom,
    records_day: date,
    activities: Iterable[date],
) -> date:
    """The retain-until date an object must have: the stage's lock counted from the records' day
    (`record`), or from the latest last activity of its debts (`last_activity`; never earlier than
    the records' day). Under a dev stage's GOVERNANCE lock the period is its days from that day."""
    start = records_day
    if retention_from is RetentionFrom.LAST_ACTIVITY:
        start = max([records_day, *activities])
    return lock.until(start, years, start)
