"""Call limits as pure arithmetic on a borrower's ledger: CN daily caps, US 7-in-7 and quiet days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from arrears.config.rulepacks import rule_pack_for
from arrears.domain.call_limits import CallLedger, check_call, with_attempt, with_outcome, without_attempt

CN_PACK, US_REGF_PACK = rule_pack_for("CN"), rule_pack_for("US-REGF")


def _utc(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def _ledger_with(attempts: list[datetime]) -> CallLedger:
    ledger = CallLedger("B")
    for i, at in enumerate(attempts):
        ledger = with_attempt(ledger, f"A{i}", at)
    return ledger


def test_cn_allows_six_attempts_a_local_day_then_defers_to_local_midnight() -> None:
    # Six attempts on 10 March, Shanghai time (02:00-07:00 UTC = 10:00-15:00 local)
    ledger = _ledger_with([_utc(10, h) for h in range(2, 8)])

    check = check_call(ledger, CN_PACK.call_limits, _utc(10, 9), "Asia/Shanghai")

    assert not check.allowed
    assert check.rule == "call_attempts_per_day"
    assert check.retry_at == _utc(10, 16)  # 00:00 on 11 March in Shanghai


def test_cn_counts_the_day_in_the_borrowers_zone_not_utc() -> None:
    # 15:00-20:00 UTC on 9 March is 23:00 (9th) .. 04:00 (10th) in Shanghai: only 5 fall on the 10th
    ledger = _ledger_with([_utc(9, h) for h in range(15, 21)])

    assert check_call(ledger, CN_PACK.call_limits, _utc(10, 2), "Asia/Shanghai").allowed


def test_cn_three_connected_calls_a_day() -> None:
    ledger = CallLedger("B")
    for minute in (0, 10, 20):
        ledger = with_outcome(ledger, _utc(10, 2, minute), connected=True, conversation=False)

    check = check_call(ledger, CN_PACK.call_limits, _utc(10, 3), "Asia/Shanghai")

    assert (check.allowed, check.rule) == (False, "call_connected_per_day")


def test_us_seven_attempts_in_seven_consecutive_days_is_a_rolling_window() -> None:
    ledger = _ledger_with([_utc(day, 15) for day in range(1, 8)])  # one a day, 1..7 March

    stopped = check_call(ledger, US_REGF_PACK.call_limits, _utc(7, 20), "America/New_York")
    freed = check_call(ledger, US_REGF_PACK.call_limits, _utc(8, 15), "America/New_York")

    assert (stopped.allowed, stopped.rule) == (False, "call_attempts_7_days")
    assert stopped.retry_at == _utc(8, 15)  # the 1 March attempt leaves the window
    assert freed.allowed


def test_us_no_call_within_seven_days_after_a_conversation() -> None:
    talked = _utc(3, 17)
    ledger = with_outcome(CallLedger("B"), talked, connected=True, conversation=True)

    check = check_call(ledger, US_REGF_PACK.call_limits, _utc(9, 17), "America/New_York")

    assert (check.allowed, check.rule, check.retry_at) == (
        False,
        "call_after_conversation",
        talked + timedelta(days=7),
    )
    assert check_call(
        ledger, US_REGF_PACK.call_limits, talked + timedelta(days=7), "America/New_York"
    ).allowed


def test_an_action_holds_at_most_one_slot_and_can_give_it_back() -> None:
    once = with_attempt(CallLedger("B"), "A", _utc(10))

    assert with_attempt(once, "A", _utc(10, 1)) == once
    assert without_attempt(once, "A").attempts == ()


@pytest.mark.parametrize("days_old", [32, 60])
def test_old_entries_are_pruned(days_old: int) -> None:
    # Kept 31 days: the longest contact limit (a visit in 30 days) must still see them.
    ledger = with_attempt(CallLedger("B"), "OLD", _utc(20) - timedelta(days=days_old))

    assert [a.action_id for a in with_attempt(ledger, "NEW", _utc(20)).attempts] == ["NEW"]
