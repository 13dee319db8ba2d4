"""The Metro 2 monthly file: what each account reports, cycle after cycle, checked by the validator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest

from arrears.domain.actions import ActionStatus
from arrears.domain.borrowers import Borrower
from arrears.domain.bureau import Communication
from arrears.domain.credit_facts import CreditFacts, MonthEnd, advance_facts
from arrears.domain.delinquency import loan_dpd
from arrears.domain.ledger import LedgerEntry, receive, reverse
from arrears.domain.loans import Holds, Loan, LoanStatus, build_schedule
from arrears.domain.metro2 import BASE, field_value
from arrears.domain.payments import Payment
from arrears.domain.strategy import Channel
from arrears.usecases.bureau_file import (
    Metro2Cycle,
    build_metro2_cycle,
    cycle_bounds,
    previous_period,
    report_standing,
)
from tests.unit.metro2_validator import validate

DISBURSED = date(2026, 1, 5)
NOTICE = Communication(Channel.SMS, "sms_overdue", ActionStatus.SENT, datetime(2026, 3, 1, 15, tzinfo=UTC))


def overdue_loan(loan_id: str) -> Loan:
    """Three instalments of 100.00 due 5 Feb, 5 Mar, 5 Apr 2026; nothing paid."""
    schedule = build_schedule(30_000, disbursed_on=DISBURSED, instalments=3, monthly_interest_bps=0)
    return Loan(loan_id, "B-" + loan_id, "US-REGF", "USD", 30_000, DISBURSED, schedule, 0, 0)


def assessed(loan: Loan, on: date) -> Loan:
    return loan.with_changes(dpd=loan_dpd(loan, on), evaluated_on=on, version=loan.version + 1)


@dataclass
class Book:
    """The loans, borrowers, contacts and the facts store of one test, in memory."""

    loans: dict[str, Loan] = field(default_factory=dict)
    told: set[str] = field(default_factory=set)
    stored: dict[str, CreditFacts] = field(default_factory=dict)
    snapshots: dict[str, dict[str, MonthEnd]] = field(default_factory=dict)
    first: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    erased: set[str] = field(default_factory=set)  # borrowers whose identity was erased

    def put_loan(self, loan: Loan, *, told: bool = True) -> None:
        """A new version of the loan, its facts advanced as the planner does from the stream."""
        self.loans[loan.loan_id] = loan
        self.stored[loan.loan_id] = advance_facts(self.stored.get(loan.loan_id), loan)
        if told:
            self.told.add(loan.loan_id)

    # CreditFactsStore
    def facts(self, loan_id: str) -> CreditFacts | None:
        return self.stored.get(loan_id)

    def months(self, loan_id: str) -> tuple[dict[str, MonthEnd], str | None]:
        return dict(self.snapshots.get(loan_id, {})), self.first.get(loan_id)

    def record_month(self, loan_id: str, snapshot: MonthEnd, *, first_reported: str) -> MonthEnd:
        self.first.setdefault(loan_id, first_reported)
        return self.snapshots.setdefault(loan_id, {}).setdefault(snapshot.period, snapshot)

    def loan_ids(self, jurisdiction_prefix: str) -> Iterator[str]:
        return iter([k for k, v in self.loans.items() if v.jurisdiction.startswith(jurisdiction_prefix)])

    # readers
    def get(self, key: str) -> Loan | None:
        return self.loans.get(key)

    def borrower(self, borrower_id: str) -> Borrower | None:
        if borrower_id in self.erased:  # the tombstone of a closed debt's erasure: no name, no address
            return Borrower(borrower_id, "America/New_York", region="NY")
        return Borrower(
            borrower_id,
            "America/New_York",
            name="Ada Q Lovelace",
            phone="+12125550100",
            address="12 Example Road, Albany",
            region="NY",
        )

    def put(self, key: str, body: bytes, *, content_type: str) -> None:
        self.files[key] = body

    def run(
        self, period: str, complete_erasure: Callable[[str], bool] | None = None
    ) -> tuple[Metro2Cycle, dict[str, str]]:
        book = self

        class Borrowers:
            def get(self, borrower_id: str) -> Borrower | None:
                return book.borrower(borrower_id)

        cycle = build_metro2_cycle(
            period,
            created_at=datetime.combine(cycle_bounds(period)[1], datetime.min.time(), tzinfo=UTC),
            facts=self,
            loans=self,
            borrowers=Borrowers(),
            communications=lambda loan_id: [NOTICE] if loan_id in self.told else [],
            files=self,
            furnisher_id="ARREARSTEST",
            reporter_name="Arrears test lender",
            complete_erasure=complete_erasure,
        )
        text = self.files[cycle.key].decode("ascii")
        assert validate(text) == []
        bases = text.rstrip("\n").split("\n")[1:-1]
        return cycle, {field_value(BASE, b, "consumer_account_number").strip(): b for b in bases}


def f(base: str, name: str) -> str:
    return field_value(BASE, base, name)


def pay(loan: Loan, amount: int, on: date, payment_id: str) -> Loan:
    return assessed(receive(loan, Payment(payment_id, loan.loan_id, amount, "USD", on)).loan, on)


def test_each_account_reports_its_status_and_the_trailer_counts_them() -> None:
    book = Book()
    book.put_loan(assessed(overdue_loan("L-71"), date(2026, 3, 31)))
    book.put_loan(assessed(overdue_loan("L-HELD"), date(2026, 3, 31)), told=False)
    charged = assessed(overdue_loan("L-97"), date(2026, 3, 31)).with_changes(
        status=LoanStatus.CHARGED_OFF, charged_off_on=date(2026, 3, 30)
    )
    book.put_loan(charged)
    paid = pay(assessed(overdue_loan("L-13"), date(2026, 3, 20)), 30_000, date(2026, 3, 21), "P-13")
    book.put_loan(assessed(overdue_loan("L-13"), date(2026, 3, 20)))  # delinquent first
    book.put_loan(paid.with_changes(version=5))
    cycle, bases = book.run("2026-03")
    assert dict(cycle.by_status) == {"71": 1, "97": 1, "13": 1}
    assert cycle.held == 1  # no notice delivered: no bureau record (12 CFR 1006.30(a)(1))
    assert "L-HELD" not in bases
    late = bases["L-71"]
    assert (f(late, "amount_past_due"), f(late, "current_balance")) == ("000000200", "000000300")
    assert f(late, "date_of_first_delinquency") == "02062026"
    # February and January (opened) were not reported by Arrears: D, no history; B before opening.
    assert f(late, "payment_history_profile") == "DD" + "B" * 22
    assert f(bases["L-97"], "original_charge_off_amount") == "000000300"
    assert f(bases["L-13"], "payment_rating") == "1"  # paid in full at 43 days past due: 30-59
    assert f(bases["L-13"], "current_balance") == "000000000"
    assert f(bases["L-13"], "date_closed") != "00000000"


def test_no_bureau_record_before_the_precondition_then_the_account_stays_in_every_file() -> None:
    book = Book()
    book.put_loan(assessed(overdue_loan("L-1"), date(2026, 3, 31)), told=False)
    march, bases = book.run("2026-03")
    assert (march.accounts, march.held, bases) == (0, 1, {})
    book.told.add("L-1")
    april, bases = book.run("2026-04")
    assert (april.accounts, f(bases["L-1"], "account_status")) == (1, "78")


def test_a_disputed_account_is_flagged_xb_not_dropped_and_xh_once_resolved() -> None:
    book = Book()
    loan = assessed(overdue_loan("L-D"), date(2026, 3, 20))
    book.put_loan(loan.with_changes(holds=Holds(dispute_open=True)))
    _, bases = book.run("2026-03")
    assert (f(bases["L-D"], "compliance_condition_code"), f(bases["L-D"], "account_status")) == ("XB", "71")
    book.put_loan(assessed(loan.with_changes(version=7), date(2026, 4, 10)))  # the dispute hold lifted
    april, bases = book.run("2026-04")
    assert f(bases["L-D"], "compliance_condition_code") == "XH"
    assert (april.disputed, april.resolved) == (0, 1)
    _, bases = book.run("2026-05")
    assert f(bases["L-D"], "compliance_condition_code") == "  "


def test_a_reversed_payment_is_corrected_in_the_next_cycle_and_the_dofd_is_the_original() -> None:
    book = Book()
    loan = assessed(overdue_loan("L-R"), date(2026, 3, 20))
    book.put_loan(loan)
    payment = Payment("P-R", "L-R", 20_000, "USD", date(2026, 3, 21))
    cured = assessed(receive(loan, payment).loan, date(2026, 3, 21))
    book.put_loan(cured)
    _, bases = book.run("2026-03")
    assert (f(bases["L-R"], "account_status"), f(bases["L-R"], "amount_past_due")) == ("11", "000000000")
    assert f(bases["L-R"], "actual_payment_amount") == "000000000"  # no earlier snapshot to compare
    # The payment is returned on 3 April: the loan is as if never paid.
    returned = reverse(cured, "P-R", [LedgerEntry.of(payment)])
    book.put_loan(assessed(returned.with_changes(version=cured.version + 1), date(2026, 4, 3)))
    _, bases = book.run("2026-04")
    corrected = bases["L-R"]
    assert f(corrected, "account_status") == "78"  # 84 days past the 5 Feb instalment on 30 April
    assert f(corrected, "amount_past_due") == "000000300"
    assert f(corrected, "date_of_first_delinquency") == "02062026"
    assert f(corrected, "payment_history_profile")[0] == "0"  # March as it was reported


def test_a_payment_plan_reports_its_special_comment_and_keeps_the_dofd() -> None:
    @dataclass(frozen=True)
    class PlanHolds(Holds):
        plan: bool = False

    book = Book()
    loan = assessed(overdue_loan("L-P"), date(2026, 3, 20))
    book.put_loan(loan)
    book.put_loan(loan.with_changes(holds=PlanHolds(plan=True), version=loan.version + 1))
    cycle, bases = book.run("2026-03")
    assert f(bases["L-P"], "special_comment") == "AC"
    assert f(bases["L-P"], "date_of_first_delinquency") == "02062026"
    assert cycle.plans == 1


def test_a_rerun_of_a_cycle_writes_the_same_file() -> None:
    book = Book()
    book.put_loan(assessed(overdue_loan("L-1"), date(2026, 3, 31)))
    first, _ = book.run("2026-03")
    once = book.files[first.key]
    book.put_loan(pay(book.loans["L-1"], 30_000, date(2026, 4, 2), "P-late"))
    book.run("2026-03")
    assert book.files[first.key] == once  # the stored March snapshot, not April's state


def test_the_cycle_is_the_month_before_the_schedule() -> None:
    assert previous_period(datetime(2026, 4, 1, 6, tzinfo=UTC)) == "2026-03"
    assert previous_period(datetime(2026, 1, 1, 6, tzinfo=UTC)) == "2025-12"
    with pytest.raises(ValueError, match="month must be in"):
        cycle_bounds("2026-13")


def test_the_validator_catches_a_miscounted_trailer_a_bad_code_and_a_short_record() -> None:
    book = Book()
    book.put_loan(assessed(overdue_loan("L-1"), date(2026, 3, 31)))
    cycle, _ = book.run("2026-03")
    head, base, tail = book.files[cycle.key].decode("ascii").rstrip("\n").split("\n")
    assert validate("\n".join([head, base, tail])) == []
    wrong_total = tail[:11] + "000000002" + tail[20:]
    assert any("base records" in p for p in validate("\n".join([head, base, wrong_total])))
    bad_status = base[:123] + "12" + base[125:]
    assert any("account status" in p for p in validate("\n".join([head, bad_status, tail])))
    assert any("not 426" in p for p in validate("\n".join([head, base[:-1], tail])))
    no_dofd = base[:189] + "00000000" + base[197:]
    assert any("date of first delinquency" in p for p in validate("\n".join([head, no_dofd, tail])))


def test_a_paid_account_is_reported_once_then_left_out_and_one_never_reported_is_not_held() -> None:
    book = Book()
    loan = assessed(overdue_loan("L-P13"), date(2026, 3, 20))
    book.put_loan(loan)
    book.put_loan(pay(loan, 30_000, date(2026, 3, 21), "P-all").with_changes(closed_on=date(2026, 3, 21)))
    early = assessed(overdue_loan("L-EARLY"), date(2026, 2, 1))
    book.put_loan(
        pay(early, 30_000, date(2026, 2, 2), "P-early").with_changes(closed_on=date(2026, 2, 2)), told=False
    )
    march, bases = book.run("2026-03")
    assert (f(bases["L-P13"], "account_status"), "L-EARLY" in bases) == ("13", False)
    assert (march.held, march.closed_before) == (0, 1)
    april, bases = book.run("2026-04")
    assert (april.accounts, april.closed_before) == (0, 2)


def test_an_account_that_breaks_the_layout_is_rejected_with_its_reason_and_the_file_still_goes() -> None:
    book = Book()
    book.put_loan(assessed(overdue_loan("L-OK"), date(2026, 3, 31)))
    schedule = build_schedule(3 * 10**12, disbursed_on=DISBURSED, instalments=3, monthly_interest_bps=0)
    huge = Loan("L-HUGE", "B-HUGE", "US-REGF", "USD", 3 * 10**12, DISBURSED, schedule, 0, 0)
    book.put_loan(assessed(huge, date(2026, 3, 31)))  # 30 billion dollars: 11 digits in a 9-digit field
    cycle, bases = book.run("2026-03")
    assert set(bases) == {"L-OK"}
    (rejected,) = cycle.rejected
    assert rejected["loan_id"] == "L-HUGE"
    assert "highest_credit" in rejected["reason"]


def test_an_account_whose_borrower_was_erased_is_left_out_and_counted_not_sent_without_a_name() -> None:
    # The demo's March file carried a paid account of a borrower erased on 2 March with a blank name
    # and address: no bureau can match it, and the validator refuses a blank surname.
    book = Book()
    book.put_loan(assessed(overdue_loan("L-OK"), date(2026, 3, 31)))
    loan = assessed(overdue_loan("L-GONE"), date(2026, 3, 20))
    book.put_loan(loan)
    book.put_loan(pay(loan, 30_000, date(2026, 3, 21), "P-gone").with_changes(closed_on=date(2026, 3, 21)))
    book.erased.add("B-L-GONE")
    cycle, bases = book.run("2026-03")
    assert set(bases) == {"L-OK"}
    assert (cycle.no_identity, cycle.as_json()["no_identity"], cycle.held, cycle.rejected) == (1, 1, 0, [])


def test_an_erased_borrowers_standing_account_is_reported_paid_before_the_kept_identity_goes() -> None:
    # A borrower erased after March's file reported their account 30 days late, then paid in April:
    # the erasure kept name and address (arrears.usecases.erasure), so April's file reports the
    # account paid under them, and May's cycle lets them go (a retried April schedule must write the
    # same file, name included). Without it the bureau would go on showing the debt delinquent.
    book = Book()
    alias = "erased:" + "ab" * 32
    loan = assessed(overdue_loan("L-KEPT"), date(2026, 3, 31)).with_changes(borrower_id=alias)
    book.put_loan(loan)
    book.put_loan(assessed(overdue_loan("L-OK"), date(2026, 3, 31)))
    assert report_standing(book, "L-KEPT") is False  # never reported: nothing stands
    _, march = book.run("2026-03")
    assert f(march["L-KEPT"], "account_status") == "71"
    assert report_standing(book, "L-KEPT") is True
    paid = pay(loan, 30_000, date(2026, 4, 10), "P-kept").with_changes(closed_on=date(2026, 4, 10))
    book.put_loan(paid)
    asked: list[tuple[str, bool]] = []

    def complete(borrower_id: str) -> bool:
        asked.append((borrower_id, any(key.endswith("2026-05.txt") for key in book.files)))
        return True

    april, bases = book.run("2026-04", complete_erasure=complete)
    assert f(bases["L-KEPT"], "account_status") == "13"
    assert f(bases["L-KEPT"], "surname").strip()  # reported under the identity the erasure kept
    assert (asked, april.identities_erased) == ([], 0)  # not in the cycle carrying the closing report
    assert report_standing(book, "L-KEPT") is False
    assert report_standing(book, "L-OK") is True
    _, bases_again = book.run("2026-04", complete_erasure=complete)  # a retried schedule
    assert bases_again == bases
    may, bases = book.run("2026-05", complete_erasure=complete)
    assert "L-KEPT" not in bases
    assert asked == [(alias, True)]  # once, for the pseudonym, after May's file was written
    assert may.identities_erased == may.as_json()["identities_erased_after_closing_report"] == 1
