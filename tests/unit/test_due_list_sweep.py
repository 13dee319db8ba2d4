"""The sweep's parked loans and due list: what reaches a loan, in which order things are written,
and what a crash or a retry leaves behind (in memory: `tests.unit.memory_loans.WheelLoans`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from arrears.config.playbook import bundled_playbook
from arrears.domain.assessment import assess
from arrears.domain.loans import Loan, build_schedule
from arrears.domain.payments import Payment, apply_payment
from arrears.usecases.sweep import sweep_shard
from tests.unit.memory_loans import WheelLoans

SHARDS = 1
DUE = date(2026, 3, 2)


def sweep_time(on: date) -> datetime:
    """00:30 Asia/Shanghai on `on`, in UTC (the daily schedule)."""
    return datetime.combine(on - timedelta(days=1), time(16, 30), tzinfo=UTC)


def cash_loan(loan_id: str = "L-1") -> Loan:
    schedule = build_schedule(
        100_000,
        disbursed_on=DUE - timedelta(days=30),
        instalments=1,
        monthly_interest_bps=0,
        cash_loan_days=30,
    )
    loan = Loan(loan_id, "B-1", "CN", "CNY", 100_000, DUE - timedelta(days=30), schedule, 500, 2400)
    return assess(loan, DUE - timedelta(days=20), bundled_playbook())


def sweep(loans: WheelLoans, on: date):  # type: ignore[no-untyped-def]
    return sweep_shard(loans, 0, sweep_time(on), bundled_playbook())


def parked_loan() -> tuple[WheelLoans, date, date]:
    """A new loan swept on its first milestone: (the loans, that date, the next review date it was
    parked and listed under)."""
    loans = WheelLoans({"L-1": cash_loan()}, shard_count=SHARDS)
    on = loans.items["L-1"].next_review_on
    assert on is not None
    sweep(loans, on)
    assert "L-1" in loans.parked
    listed_on = loans.items["L-1"].next_review_on
    assert listed_on is not None
    assert listed_on > on
    return loans, on, listed_on


def test_a_swept_loan_is_parked_and_found_next_time_through_the_due_list() -> None:
    # Given a new loan whose milestone arrives on its due date (onboarding's write asked the review
    # lister to list it)
    loans = WheelLoans({"L-1": cash_loan()}, shard_count=SHARDS)
    first = loans.items["L-1"].next_review_on
    assert first is not None

    # When the sweep of that date runs
    result = sweep(loans, first)

    # Then the lister's item reached it, it was written parked and listed under its next date, and
    # the lister's item, settled, is gone
    assert loans.lister_items == 1
    assert (result.from_index, result.from_due_list, result.writes) == (0, 1, 1)
    stored = loans.items["L-1"]
    assert stored.next_review_on is not None
    assert stored.next_review_on > first
    assert "L-1" in loans.parked
    assert loans.due_list.dates_of("L-1") == {stored.next_review_on}
    assert (result.due_items_written, result.due_items_removed) == (1, 1)

    # When its next milestone arrives
    second = stored.next_review_on
    result = sweep(loans, second)

    # Then the due list reached it (the index holds nothing), and the swept entry is gone
    assert (result.from_index, result.from_due_list, result.writes) == (0, 1, 1)
    assert result.due_items_removed == 1
    following = loans.items["L-1"].next_review_on
    assert following is not None
    assert following > second
    assert loans.due_list.dates_of("L-1") == {following}
    assert loans.unreachable(second) == set()


def test_an_event_that_moves_a_parked_loan_later_leaves_it_parked_and_its_old_entry_relists_it() -> None:
    # Given a loan the sweep parked, listed under its next milestone
    loans, _, listed_on = parked_loan()

    # When a payment written by an event moves its next milestone later (an instalment plan paid
    # ahead: the next review is weeks away)
    later = listed_on + timedelta(days=20)
    loans.update("L-1", lambda current: current.with_changes(next_review_on=later))

    # Then the write left the loan parked (no index put now, no index delete at the next sweep),
    # still listed under the earlier date
    assert "L-1" in loans.parked
    assert loans.due_list.dates_of("L-1") == {listed_on}
    assert loans.unreachable(later) == set()

    # When the sweep of the earlier date reads that entry
    result = sweep(loans, listed_on)

    # Then it writes nothing, lists the loan again under its new date, and drops the old entry
    assert (result.from_index, result.from_due_list, result.writes) == (0, 1, 0)
    assert result.relisted == 1
    assert (result.due_items_written, result.due_items_removed) == (1, 1)
    assert loans.due_list.dates_of("L-1") == {later}

    # And on the new date the due list reaches it
    assert sweep(loans, later).from_due_list == 1


def test_an_event_that_moves_a_parked_loan_earlier_asks_the_lister_to_list_it() -> None:
    # Given a loan the sweep parked
    loans, _, listed_on = parked_loan()

    # When an event brings its next milestone forward (the entry under the later date would reach
    # it too late)
    sooner = listed_on - timedelta(days=1)
    loans.update("L-1", lambda current: current.with_changes(next_review_on=sooner))

    # Then the write asks the review lister to list it under the new date, and the sweep of that
    # date reaches it through the lister's item
    assert "L-1" not in loans.parked
    assert [(r.loan_id, r.list_on) for r in loans.requests] == [("L-1", sooner)]
    result = sweep(loans, sooner)
    assert (result.from_index, result.from_due_list, result.writes) == (0, 1, 1)
    assert loans.unreachable(sooner) == set()


def test_a_partial_payment_on_a_parked_loan_is_reached_on_its_next_milestone() -> None:
    # Given a loan the sweep parked
    loans, _, _ = parked_loan()

    # When a partial payment is written by the payments use case on the due date
    parked = loans.items["L-1"]
    paid = apply_payment(parked, Payment("P-1", "L-1", 10_000, "CNY", DUE)).loan
    assessed = assess(paid, DUE, bundled_playbook())
    loans.update("L-1", lambda current: assessed.with_changes(version=current.version))

    # Then the next sweep on its milestone reaches it, through the index or the due list
    later = assessed.next_review_on
    assert later is not None
    assert loans.unreachable(later) == set()
    result = sweep(loans, later)
    assert result.from_index + result.from_due_list >= 1
    assert result.writes == 1
    assert loans.unreachable(later) == set()


def test_a_crash_between_the_due_list_and_the_loan_leaves_the_loan_in_the_index() -> None:
    # Given a new loan and a sweep that crashes right after writing the due list
    loans = WheelLoans({"L-1": cash_loan()}, shard_count=SHARDS)
    on = loans.items["L-1"].next_review_on
    assert on is not None
    loans.due_list.fail_after_add = True
    with pytest.raises(RuntimeError, match="crashed"):
        sweep(loans, on)

    # Then the loan is unwritten and still in the index (an extra due-list entry is harmless)
    assert "L-1" not in loans.parked
    assert loans.items["L-1"].next_review_on == on
    assert loans.unreachable(on) == set()

    # When the task is retried
    result = sweep(loans, on)

    # Then the loan is swept once, parked, and listed under its next date exactly once
    assert result.writes == 1
    assert "L-1" in loans.parked
    stored = loans.items["L-1"].next_review_on
    assert stored is not None
    assert loans.due_list.dates_of("L-1") == {stored}
    assert len(loans.due_list.items) == 1  # the retry wrote the same item, not a second one


def test_a_payment_racing_the_parked_write_is_kept_and_the_loan_listed_under_its_new_date() -> None:
    # Given a parked loan whose next milestone arrives, and a payment landing before the sweep writes
    loans, _, second = parked_loan()

    def payment() -> None:
        current = loans.items["L-1"]
        paid = apply_payment(current, Payment("P-1", "L-1", 10_000, "CNY", second)).loan
        loans.write_by_event(paid.with_changes(version=current.version + 1))

    loans.race.append(payment)

    # When the sweep of that date runs
    result = sweep(loans, second)

    # Then the parked write lost, the loan was re-read and written once, still parked (its date moved
    # later) and listed under the date it was written with
    assert result.conflicts == 1
    assert result.writes == 1
    assert "L-1" in loans.parked
    written_on = loans.items["L-1"].next_review_on
    assert written_on is not None
    assert written_on > second
    assert written_on in loans.due_list.dates_of("L-1")
    paid = loans.items["L-1"].instalments[0]
    assert paid.principal_paid + paid.interest_paid + paid.fee_paid == 10_000  # the payment is kept
    assert loans.unreachable(second) == set()


def test_an_event_that_wins_the_race_and_postpones_the_loan_leaves_it_listed_under_its_new_date() -> None:
    # Given a loan due today, listed only by a lister item under an earlier date (its batch's
    # earliest), and a promise landing before the sweep writes it, moving its review two days on (a
    # write that asks for no listing: the entry names the loan)
    loans = WheelLoans({"L-1": cash_loan()}, shard_count=SHARDS)
    on = loans.items["L-1"].next_review_on
    assert on is not None
    loans.requests = []
    loans.parked.add("L-1")
    loans.due_list.add(0, {"L-1": on - timedelta(days=3)})
    promised = on + timedelta(days=2)

    def promise() -> None:
        current = loans.items["L-1"]
        loans.write_by_event(current.with_changes(version=current.version + 1, next_review_on=promised))

    loans.race.append(promise)

    # When the sweep of that date runs
    result = sweep(loans, on)

    # Then its write lost and wrote nothing on the re-read (nothing due), the loan is listed under the
    # promise's date (besides the date the sweep listed it under before its write, which a later
    # milestone may put after the promise's), and only then the lister's entry is gone
    assert (result.conflicts, result.writes) == (1, 0)
    assert "L-1" in loans.parked
    listed = loans.due_list.dates_of("L-1")
    assert promised in listed
    assert on - timedelta(days=3) not in listed
    assert loans.unreachable(on) == set()


def test_re_running_a_date_reads_and_writes_nothing() -> None:
    # Given a loan swept on its milestone date
    loans = WheelLoans({"L-1": cash_loan()}, shard_count=SHARDS)
    on = loans.items["L-1"].next_review_on
    assert on is not None
    sweep(loans, on)
    listed = dict(loans.due_list.items)

    # When the same date is swept again
    again = sweep(loans, on)

    # Then nothing is read or written, and the due list is unchanged
    assert (again.items_read, again.writes, again.due_items_written) == (0, 0, 0)
    assert loans.due_list.items == listed


def test_a_loan_behind_on_its_own_date_keeps_the_entry_the_run_has_just_written() -> None:
    # Given a US loan (its business date a day behind the run's, which is China's) whose milestone
    # arrives: the sweep writes it with a next date that is the run's date (today in China)
    schedule = build_schedule(
        100_000,
        disbursed_on=DUE - timedelta(days=30),
        instalments=1,
        monthly_interest_bps=0,
        cash_loan_days=30,
    )
    us = Loan("L-US", "B-2", "US-REGF", "USD", 100_000, DUE - timedelta(days=30), schedule, 0, 3600)
    loans = WheelLoans({"L-US": assess(us, DUE - timedelta(days=20), bundled_playbook())}, shard_count=SHARDS)
    day = loans.items["L-US"].next_review_on
    assert day is not None
    swept_days = 0
    for offset in range(60):
        on = day + timedelta(days=offset)
        # an event (say a hold recorded) writes the loan before each run: back into the index, so
        # the run reaches it there first and then reads the due list it has just written to
        loans.write_by_event(loans.items["L-US"])
        result = sweep(loans, on)
        swept_days += result.writes
        # Then after every run the loan is in the index or listed under its own next date
        assert loans.unreachable(on) == set(), on
    assert swept_days >= 3  # its milestones kept coming, through the due list


def test_an_event_that_keeps_the_next_review_date_leaves_the_loan_parked() -> None:
    # Given a loan the sweep parked, listed under its next review date
    loans = WheelLoans({"L-1": cash_loan()}, shard_count=SHARDS)
    on = loans.items["L-1"].next_review_on
    assert on is not None
    sweep(loans, on)
    parked = loans.items["L-1"]
    assert parked.next_review_on is not None

    # When an event writes it without moving that date (a partial payment, not re-assessed)
    paid = apply_payment(parked, Payment("P-1", "L-1", 10_000, "CNY", on)).loan
    assert paid.next_review_on == parked.next_review_on
    loans.update("L-1", lambda current: paid.with_changes(version=current.version))

    # Then it stays parked (no index entry put now and deleted at the next sweep), still listed
    assert "L-1" in loans.parked
    assert loans.unreachable(parked.next_review_on) == set()
    # and the next sweep reaches it through the due list
    result = sweep(loans, parked.next_review_on)
    assert (result.from_index, result.from_due_list, result.writes) == (0, 1, 1)


def test_loans_of_the_index_and_of_the_due_list_moving_to_one_date_share_one_entry() -> None:
    # Given two identical loans due today: L-1 in ReviewIndex (written before the review lister
    # existed), L-2 parked by an earlier sweep
    book = {"L-1": cash_loan("L-1"), "L-2": cash_loan("L-2")}
    loans = WheelLoans(book, shard_count=SHARDS, indexed=book)
    on = loans.items["L-1"].next_review_on
    assert on is not None
    loans.indexed.discard("L-2")
    loans.parked.add("L-2")
    loans.due_list.add(0, {"L-2": on})

    # When the sweep of that date reaches one through each page
    result = sweep(loans, on)

    # Then both are written under their common next date in one due-list item, not one per page
    assert (result.from_index, result.from_due_list, result.writes) == (1, 1, 2)
    assert result.due_items_written == 1
    following = loans.items["L-1"].next_review_on
    assert loans.due_list.dates_of("L-1") == loans.due_list.dates_of("L-2") == {following}
    # and L-2's old entry is deleted once L-2 is written
    assert result.due_items_removed == 1
    assert loans.unreachable(on) == set()
