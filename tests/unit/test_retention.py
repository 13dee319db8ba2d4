"""How long an archived object is kept (arrears.domain.retention): per jurisdiction, with the right dates."""

from __future__ import annotations

from datetime import date

from arrears.config.rulepacks import bundled_rule_packs
from arrears.domain.archive import ArchiveLock
from arrears.domain.loans import LoanStatus
from arrears.domain.retention import RetentionFrom, last_activity, required_until

PROD = ArchiveLock("COMPLIANCE")
DEV = ArchiveLock("GOVERNANCE", 1)
RECORDS_DAY = date(2026, 3, 1)


def test_the_bundled_packs_count_us_retention_from_the_last_activity_and_cn_from_the_record() -> None:
    packs = bundled_rule_packs()
    assert packs.in_force("US-REGF").retention_from is RetentionFrom.LAST_ACTIVITY
    assert packs.in_force("CN").retention_from is RetentionFrom.RECORD


def test_a_debt_still_collected_counts_as_active_today_and_a_repaid_one_from_its_closing_day() -> None:
    today = date(2029, 2, 1)
    assert last_activity(LoanStatus.OPEN, None, RECORDS_DAY, today) == today
    assert last_activity(LoanStatus.CHARGED_OFF, None, RECORDS_DAY, today) == today
    assert last_activity(LoanStatus.CLOSED, date(2026, 4, 10), RECORDS_DAY, today) == date(2026, 4, 10)
    assert last_activity(None, None, RECORDS_DAY, today) == RECORDS_DAY  # no longer on file


def test_a_us_object_is_kept_three_years_after_the_latest_activity_of_any_debt_in_it() -> None:
    """Records of 1 March 2026; one debt repaid 10 April 2026, another 30 June 2029: until 30 June 2032
    (not 1 March 2029, the records' day plus 3 years)."""
    activities = [date(2026, 4, 10), date(2029, 6, 30)]
    until = required_until(PROD, 3, RetentionFrom.LAST_ACTIVITY, RECORDS_DAY, activities)
    assert until == date(2032, 6, 30)
    assert required_until(PROD, 3, RetentionFrom.LAST_ACTIVITY, RECORDS_DAY, []) == date(2029, 3, 1)


def test_a_cn_object_is_kept_five_years_after_its_records_whatever_the_debts_do() -> None:
    until = required_until(PROD, 5, RetentionFrom.RECORD, RECORDS_DAY, [date(2029, 6, 30)])
    assert until == date(2031, 3, 1)


def test_a_dev_stage_keeps_its_short_governance_period_from_the_last_activity() -> None:
    until = required_until(DEV, 3, RetentionFrom.LAST_ACTIVITY, RECORDS_DAY, [date(2026, 4, 10)])
    assert until == date(2026, 4, 11)
