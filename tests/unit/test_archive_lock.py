"""The stage's Object Lock on archived objects: prod COMPLIANCE for the retention, dev GOVERNANCE briefly."""

from __future__ import annotations

from datetime import date

import pytest

from arrears.config.settings import ConfigurationError, load_settings
from arrears.domain.archive import ArchiveLock
from tests.unit.test_settings import REQUIRED

RECORD_DAY, WRITTEN_ON = date(2026, 3, 6), date(2026, 3, 7)


def test_prod_locks_in_compliance_until_the_jurisdictions_retention_after_the_records_day() -> None:
    lock = ArchiveLock()
    assert lock.mode == "COMPLIANCE"
    assert lock.until(RECORD_DAY, 5, WRITTEN_ON) == date(2031, 3, 6)  # CN: 5 years
    assert lock.until(RECORD_DAY, 3, WRITTEN_ON) == date(2029, 3, 6)  # US-REGF: 3 years


def test_dev_locks_in_governance_for_its_days_from_the_write() -> None:
    assert ArchiveLock("GOVERNANCE", 1).until(RECORD_DAY, 5, WRITTEN_ON) == date(2026, 3, 8)


@pytest.mark.parametrize(("mode", "days"), [("GOVERNANCE", 0), ("COMPLIANCE", 1)])
def test_a_lock_without_its_kind_of_period_is_refused(mode: str, days: int) -> None:
    with pytest.raises(ValueError, match="GOVERNANCE needs a period"):
        ArchiveLock(mode, days)  # type: ignore[arg-type]


def test_the_settings_read_the_stages_lock_and_refuse_a_mismatch() -> None:
    dev = load_settings({**REQUIRED, "ARCHIVE_LOCK_MODE": "GOVERNANCE", "ARCHIVE_LOCK_DAYS": "1"})
    assert (dev.archive_lock_mode, dev.archive_lock_days) == ("GOVERNANCE", 1)
    assert load_settings(REQUIRED).archive_lock_mode == "COMPLIANCE"  # the safe default
    with pytest.raises(ConfigurationError, match="archive_lock_days"):
        load_settings({**REQUIRED, "ARCHIVE_LOCK_MODE": "COMPLIANCE", "ARCHIVE_LOCK_DAYS": "1"})
