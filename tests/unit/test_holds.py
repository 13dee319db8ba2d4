"""Recording holds: the pure rule (set, lift, order, redelivery) and the use case."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.adapters.items import loan_from_item, loan_to_item
from arrears.config.playbook import bundled_playbook
from arrears.domain.assessment import assess
from arrears.domain.holds import (
    HoldChange,
    HoldChangeStatus,
    HoldKind,
    InvalidHoldChange,
    apply_hold_change,
    stamp_of,
)
from arrears.domain.loans import Holds, HoldStamp, Instalment, Loan, LoanStatus
from arrears.usecases.holds import UnknownLoan, record_hold
from tests.unit.memory_loans import MemoryLoans

DUE = date(2026, 3, 1)
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai, 2 March
TODAY = date(2026, 3, 2)
UNTIL = date(2026, 3, 6)


def cash_loan(**changes: Any) -> Loan:
    loan = Loan(
        "L-7",
        "B-7",
        "CN",
        "CNY",
        100_000,
        date(2026, 1, 30),
        (Instalment(1, DUE, 100_000, 1_500),),
        500,
        2400,
    )
    return assess(loan, TODAY, bundled_playbook()).with_changes(**changes)


def change(
    hold: HoldKind,
    active: bool = True,
    *,
    at: datetime = T0,
    request_id: str = "H-1",
    until: date | None = None,
) -> HoldChange:
    if until is None and active and hold.dated:
        until = UNTIL
    return HoldChange(request_id, "L-7", hold, active, at, until)


def applied(loan: Loan, hold_change: HoldChange) -> Loan:
    outcome = apply_hold_change(loan, hold_change, TODAY)
    assert outcome.status is HoldChangeStatus.APPLIED
    return outcome.loan


# -- each kind, set and lifted ---------------------------------------------------------------------

SET = {
    HoldKind.PROMISE_TO_PAY: Holds(promise_to_pay_until=UNTIL),
    HoldKind.HARDSHIP: Holds(hardship_until=UNTIL),
    HoldKind.DISPUTE: Holds(dispute_open=True),
    HoldKind.CEASE_CONTACT: Holds(cease_contact=True),
    HoldKind.BANKRUPTCY: Holds(bankruptcy=True),
    HoldKind.DECEASED: Holds(deceased=True),
    HoldKind.PLAN: Holds(plan_until=UNTIL),
}


@pytest.mark.parametrize("hold", list(HoldKind))
def test_each_hold_is_set_and_lifted_with_its_stamp(hold: HoldKind) -> None:
    loan = cash_loan()

    held = apply_hold_change(loan, change(hold), TODAY)
    assert (held.status, held.changed, held.loan.holds) == (HoldChangeStatus.APPLIED, True, SET[hold])
    assert stamp_of(held.loan, hold) == change(hold).stamp

    later = T0 + timedelta(hours=2)
    lifted = apply_hold_change(held.loan, change(hold, False, at=later, request_id="H-2"), TODAY)
    assert (lifted.status, lifted.changed, lifted.loan.holds) == (HoldChangeStatus.APPLIED, True, Holds())
    stamp = stamp_of(lifted.loan, hold)
    assert stamp is not None
    assert (stamp.occurred_at, stamp.request_id) == (later, "H-2")


def test_kinds_are_independent() -> None:
    loan = applied(cash_loan(), change(HoldKind.DISPUTE))
    loan = applied(loan, change(HoldKind.PROMISE_TO_PAY, request_id="H-2"))

    lifted = applied(loan, change(HoldKind.DISPUTE, False, at=T0 + timedelta(hours=1), request_id="H-3"))

    assert lifted.holds == Holds(promise_to_pay_until=UNTIL)
    assert [s.hold for s in lifted.hold_stamps] == [HoldKind.PROMISE_TO_PAY, HoldKind.DISPUTE]


def test_a_new_promise_replaces_the_old_one() -> None:
    loan = applied(cash_loan(), change(HoldKind.PROMISE_TO_PAY))
    later = change(
        HoldKind.PROMISE_TO_PAY, at=T0 + timedelta(days=1), request_id="H-2", until=date(2026, 3, 9)
    )
    assert applied(loan, later).holds.promise_to_pay_until == date(2026, 3, 9)


def test_setting_a_hold_already_in_force_moves_only_its_stamp() -> None:
    loan = applied(cash_loan(), change(HoldKind.CEASE_CONTACT))
    again = apply_hold_change(
        loan, change(HoldKind.CEASE_CONTACT, at=T0 + timedelta(hours=3), request_id="H-2"), TODAY
    )
    assert (again.status, again.changed) == (HoldChangeStatus.APPLIED, False)
    assert again.loan.holds == loan.holds
    later = HoldStamp(HoldKind.CEASE_CONTACT, T0 + timedelta(hours=3), "H-2")
    assert stamp_of(again.loan, HoldKind.CEASE_CONTACT) == later


def test_a_closed_loan_holds_nothing() -> None:
    closed = cash_loan(status=LoanStatus.CLOSED)
    outcome = apply_hold_change(closed, change(HoldKind.BANKRUPTCY), TODAY)
    assert (outcome.status, outcome.loan) == (HoldChangeStatus.LOAN_CLOSED, closed)


def test_a_promise_cannot_end_before_the_day_it_was_made() -> None:
    with pytest.raises(InvalidHoldChange, match=r"^until: 2026-03-01 is before 2026-03-02"):
        apply_hold_change(cash_loan(), change(HoldKind.PROMISE_TO_PAY, until=date(2026, 3, 1)), TODAY)
    # the day itself is fine: "I pay today"
    assert applied(cash_loan(), change(HoldKind.HARDSHIP, until=TODAY)).holds.hardship_until == TODAY


# -- redelivery and order ----------------------------------------------------------------------------


def test_a_redelivered_change_is_a_duplicate_and_changes_nothing() -> None:
    loan = applied(cash_loan(), change(HoldKind.DISPUTE))
    again = apply_hold_change(loan, change(HoldKind.DISPUTE), TODAY)
    assert (again.status, again.loan) == (HoldChangeStatus.DUPLICATE, loan)


def test_an_older_change_arriving_late_does_not_undo_a_newer_one() -> None:
    # The dispute was opened at 09:00 and closed at 10:00; the lift arrives first
    opened = change(HoldKind.DISPUTE, True, at=T0, request_id="H-OPEN")
    closed = change(HoldKind.DISPUTE, False, at=T0 + timedelta(hours=1), request_id="H-CLOSE")
    loan = applied(cash_loan(), closed)

    late = apply_hold_change(loan, opened, TODAY)

    assert (late.status, late.loan) == (HoldChangeStatus.SUPERSEDED, loan)
    assert not late.loan.holds.dispute_open


def test_a_lift_older_than_a_repeated_set_does_not_undo_it() -> None:
    # set at t0, lift at t1, set again at t2: delivered t0, t2, t1 -> still set
    loan = applied(cash_loan(), change(HoldKind.CEASE_CONTACT, at=T0, request_id="A"))
    loan = applied(loan, change(HoldKind.CEASE_CONTACT, at=T0 + timedelta(hours=2), request_id="C"))
    late = apply_hold_change(
        loan, change(HoldKind.CEASE_CONTACT, False, at=T0 + timedelta(hours=1), request_id="B"), TODAY
    )
    assert late.status is HoldChangeStatus.SUPERSEDED
    assert late.loan.holds.cease_contact


def run(loan: Loan, changes: list[HoldChange]) -> Loan:
    for hold_change in changes:
        loan = apply_hold_change(loan, hold_change, TODAY).loan
    return loan


ANY_CHANGE = st.builds(
    lambda hold, active, minutes, n: change(
        hold, active, at=T0 + timedelta(minutes=minutes), request_id=f"H-{n}"
    ),
    st.sampled_from(list(HoldKind)),
    st.booleans(),
    st.integers(0, 5),  # few distinct times: ties are common and broken by request id
    st.integers(0, 9),
)


@given(st.lists(ANY_CHANGE, max_size=8), st.randoms(use_true_random=False))
def test_every_delivery_order_and_any_redelivery_ends_in_the_same_state(
    changes: list[HoldChange], random: Any
) -> None:
    # request ids identify a change: one change per id
    unique = list({c.request_id: c for c in changes}.values())
    in_order = run(cash_loan(), sorted(unique, key=lambda c: (c.occurred_at, c.request_id)))
    shuffled = list(unique) + random.sample(unique, k=len(unique) // 2)  # some delivered twice
    random.shuffle(shuffled)
    assert run(cash_loan(), shuffled) == in_order


# -- storage -----------------------------------------------------------------------------------------


def test_hold_stamps_survive_the_item_round_trip() -> None:
    loan = applied(cash_loan(), change(HoldKind.DISPUTE, at=T0 + timedelta(hours=1), request_id="H-9"))
    loan = applied(loan, change(HoldKind.PROMISE_TO_PAY))
    item = loan_to_item(loan, shard_count=16)
    assert item["hold_stamps"] == {
        "promise_to_pay": {"occurred_at": "2026-03-02T06:00:00Z", "request_id": "H-1"},
        "dispute": {"occurred_at": "2026-03-02T07:00:00Z", "request_id": "H-9"},
    }
    assert loan_from_item(item) == loan
    assert "hold_stamps" not in loan_to_item(cash_loan(), shard_count=16)


def test_a_loan_keeps_one_stamp_per_kind() -> None:
    stamp = change(HoldKind.DISPUTE).stamp
    with pytest.raises(ValueError, match="more than one stamp"):
        cash_loan(hold_stamps=(stamp, replace(stamp, request_id="H-2")))


# -- the use case, on an in-memory table -------------------------------------------------------------


def record(loans: MemoryLoans, hold_change: HoldChange) -> Any:
    return record_hold(hold_change, loans=loans, playbook=bundled_playbook())


def test_a_promise_puts_the_day_after_it_in_the_review_index() -> None:
    on = date(2026, 3, 12)
    loans = MemoryLoans(assess(cash_loan(), on, bundled_playbook()))
    assert loans.items["L-7"].next_review_on == date(2026, 3, 16)  # the next step of its strategy

    promise = change(HoldKind.PROMISE_TO_PAY, at=T0 + timedelta(days=10), until=date(2026, 3, 13))
    result = record(loans, promise)

    assert (result.status, result.changed, result.assessed_on) == (HoldChangeStatus.APPLIED, True, on)
    assert result.loan.next_review_on == date(2026, 3, 14)  # the day after the promise
    assert loans.items["L-7"] == result.loan
    assert result.loan.version == 1


def test_a_redelivered_change_writes_nothing() -> None:
    loans = MemoryLoans(cash_loan())
    record(loans, change(HoldKind.CEASE_CONTACT))
    again = record(loans, change(HoldKind.CEASE_CONTACT))
    assert (again.status, again.assessed_on, loans.saves) == (HoldChangeStatus.DUPLICATE, None, 1)


def test_a_late_event_never_moves_the_loan_back_in_time() -> None:
    # The sweep assessed the loan on 9 March; a dispute made on 2 March arrives now
    loans = MemoryLoans(assess(cash_loan(), date(2026, 3, 9), bundled_playbook()))
    result = record(loans, change(HoldKind.DISPUTE))
    assert result.assessed_on == date(2026, 3, 9)
    assert (result.loan.evaluated_on, result.loan.dpd) == (date(2026, 3, 9), 8)


def test_a_passed_promise_is_judged_before_a_new_one_replaces_it() -> None:
    # Promised for 2 March, not paid; on 5 March (before any sweep judged it) a new promise comes in
    loans = MemoryLoans(cash_loan(holds=Holds(promise_to_pay_until=TODAY)))
    later = T0 + timedelta(days=3)
    result = record(loans, change(HoldKind.PROMISE_TO_PAY, at=later, until=date(2026, 3, 8)))
    assert (result.loan.broken_promises, result.loan.last_broken_promise) == (1, TODAY)
    assert result.loan.holds.promise_to_pay_until == date(2026, 3, 8)


def test_a_concurrent_write_is_reread_and_both_changes_are_kept() -> None:
    loans = MemoryLoans(cash_loan())

    def payment_lands() -> None:
        loan = loans.items["L-7"]
        loans.items["L-7"] = loan.with_changes(last_payment_id="PAY-1", version=loan.version + 1)

    loans.race.append(payment_lands)
    result = record(loans, change(HoldKind.BANKRUPTCY))

    assert result.loan.holds.bankruptcy
    assert result.loan.last_payment_id == "PAY-1"
    assert result.loan.version == 2


def test_closed_and_unknown_loans() -> None:
    closed = MemoryLoans(cash_loan(status=LoanStatus.CLOSED))
    assert record(closed, change(HoldKind.DISPUTE)).status is HoldChangeStatus.LOAN_CLOSED
    assert closed.saves == 0
    with pytest.raises(UnknownLoan, match="loan L-7 not found"):
        record(MemoryLoans(), change(HoldKind.DISPUTE))
