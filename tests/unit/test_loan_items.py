"""The loan item mapping: every field round-trips, and items written before a field existed still load."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from arrears.adapters.items import loan_from_item, loan_to_item
from arrears.domain.loans import Holds, Instalment, Loan


def _as_stored(value: Any) -> Any:
    """What DynamoDB gives back: numbers as Decimal."""
    if isinstance(value, bool) or not isinstance(value, int | dict | list):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, dict):
        return {k: _as_stored(v) for k, v in value.items()}
    return [_as_stored(v) for v in value]


def _loan(**changes: Any) -> Loan:
    loan = Loan(
        "L-1",
        "B-1",
        "CN",
        "CNY",
        10_000,
        date(2026, 2, 1),
        (Instalment(1, date(2026, 3, 1), 10_000, 300),),
        500,
        3600,
        dpd=9,
        evaluated_on=date(2026, 3, 10),
        holds=Holds(promise_to_pay_until=date(2026, 3, 8)),
    )
    return loan.with_changes(**changes)


def test_the_behaviour_counters_and_their_guards_round_trip() -> None:
    loan = _loan(
        broken_promises=2,
        unanswered_contacts=3,
        last_broken_promise=date(2026, 3, 8),
        last_kept_promise=date(2026, 2, 20),
        applied_call_ids=("CALL-1", "CALL-2"),
        risk_score=55,
        risk_band="HIGH",
        risk_features=(("broken_promises", 2, 30), ("unanswered_contacts", 3, 5)),
    )
    item = loan_to_item(loan)
    assert item["last_broken_promise"] == "2026-03-08"
    assert item["last_kept_promise"] == "2026-02-20"
    assert item["applied_call_ids"] == ["CALL-1", "CALL-2"]
    assert loan_from_item(_as_stored(item)) == loan


def test_an_item_without_the_new_fields_loads_with_none_counted() -> None:
    item = loan_to_item(_loan())
    for absent in ("broken_promises", "unanswered_contacts", "last_broken_promise", "last_kept_promise"):
        assert absent not in item  # zero / none is not written: older items look the same
    assert "applied_call_ids" not in item
    loan = loan_from_item(_as_stored(item))
    assert (loan.broken_promises, loan.unanswered_contacts) == (0, 0)
    assert (loan.last_broken_promise, loan.last_kept_promise, loan.applied_call_ids) == (None, None, ())
