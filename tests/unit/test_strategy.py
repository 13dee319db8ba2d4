"""Which steps a change of state crosses."""

from __future__ import annotations

from datetime import date

import pytest

from arrears.domain.loans import Instalment, Loan, LoanStatus
from arrears.domain.strategy import DEFAULT_STRATEGY, Channel, Step, Strategy, steps_crossed


def _loan(offset: int | None, cycle: int = 1, status: LoanStatus = LoanStatus.OPEN) -> Loan:
    return Loan(
        "L",
        "B",
        "CN",
        "CNY",
        100,
        date(2026, 1, 1),
        (Instalment(1, date(2026, 2, 1), 100, 0),),
        0,
        0,
        status=status,
        due_offset=offset,
        dpd=max(0, offset or 0),
        cycle=cycle,
    )


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (0, 1, ["sms-d1"]),
        (1, 2, []),
        (59, 60, ["field-d60"]),
        (0, 70, ["sms-d1", "field-d60"]),  # a missed stretch catches up, once per channel
        (None, 5, ["sms-d1"]),
        (-3, 0, []),
    ],
)
def test_default_strategy_steps(before: int | None, after: int, expected: list[str]) -> None:
    previous = None if before is None else _loan(before)
    assert [s.step_id for s in steps_crossed(DEFAULT_STRATEGY, previous, _loan(after))] == expected


def test_catch_up_plans_only_the_latest_step_of_a_channel() -> None:
    strategy = Strategy("s", "1", (Step("a", 1, Channel.SMS, "t"), Step("b", 3, Channel.SMS, "t")))
    assert [s.step_id for s in steps_crossed(strategy, _loan(0), _loan(5))] == ["b"]


def test_a_new_cycle_starts_over_and_closed_loans_plan_nothing() -> None:
    assert [s.step_id for s in steps_crossed(DEFAULT_STRATEGY, _loan(40, cycle=1), _loan(1, cycle=2))] == [
        "sms-d1"
    ]
    assert steps_crossed(DEFAULT_STRATEGY, _loan(0), _loan(1, status=LoanStatus.CLOSED)) == ()


def test_strategy_rejects_unordered_or_duplicate_steps() -> None:
    with pytest.raises(ValueError, match="ordered"):
        Strategy("s", "1", (Step("a", 5, Channel.SMS, "t"), Step("b", 1, Channel.SMS, "t")))
    with pytest.raises(ValueError, match="duplicate"):
        Strategy("s", "1", (Step("a", 1, Channel.SMS, "t"), Step("a", 2, Channel.SMS, "t")))
