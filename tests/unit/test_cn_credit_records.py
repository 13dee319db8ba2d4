"""CN credit-reporting records: which events a loan change triggers, and negative ones only once told."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime

from arrears.domain.actions import ActionStatus
from arrears.domain.bureau import Communication
from arrears.domain.cn_credit import CnCreditRecord, CnEvent, cn_records
from arrears.domain.credit_facts import CreditFacts, advance_facts
from arrears.domain.delinquency import loan_dpd
from arrears.domain.ledger import LedgerEntry, receive, reverse
from arrears.domain.loans import Loan, build_schedule
from arrears.domain.payments import Payment
from arrears.domain.strategy import Channel
from arrears.domain.transitions import Transition
from arrears.usecases.credit_facts import record_bureau_facts

DISBURSED = date(2026, 1, 5)


def cn_loan() -> Loan:
    """Three instalments of 1,000.00 CNY due 5 Feb, 5 Mar, 5 Apr 2026."""
    schedule = build_schedule(300_000, disbursed_on=DISBURSED, instalments=3, monthly_interest_bps=0)
    return Loan("L-CN", "B-CN", "CN", "CNY", 300_000, DISBURSED, schedule, 0, 0)


def assessed(loan: Loan, on: date) -> Loan:
    return loan.with_changes(dpd=loan_dpd(loan, on), evaluated_on=on, version=loan.version + 1)


def events(records: Sequence[CnCreditRecord]) -> list[str]:
    return [r.event.value for r in records]


def test_a_change_reports_its_events_with_the_status_code_and_the_class() -> None:
    opened = assessed(cn_loan(), date(2026, 2, 1))
    first = advance_facts(None, opened)
    records = cn_records(None, opened, None, first)
    assert events(records) == ["NEW_ACCOUNT"]
    assert (records[0].repayment_status, records[0].loan_class.value) == ("N", "正常")
    first = replace(first, cn_opened=True)  # as record_bureau_facts keeps it once written
    late = assessed(opened, date(2026, 3, 10))  # 33 days past the 5 Feb instalment
    facts = advance_facts(first, late)
    records = cn_records(opened, late, first, facts)
    assert events(records) == ["OVERDUE_CHANGE", "CLASS_CHANGE"]
    assert (records[0].repayment_status, records[0].loan_class.value, records[0].dpd) == ("2", "关注", 33)
    assert all(r.negative for r in records)
    paid = assessed(
        receive(late, Payment("P-1", "L-CN", 200_000, "CNY", date(2026, 3, 11))).loan, date(2026, 3, 11)
    )
    after = advance_facts(facts, paid)
    records = cn_records(late, paid, facts, after)
    assert events(records) == ["DUE_SETTLED", "DUE_SETTLED", "PAYMENT", "OVERDUE_CHANGE", "CLASS_CHANGE"]
    assert [r.instalment for r in records[:2]] == [1, 2]
    assert records[2].amount_minor == 200_000
    assert {r.repayment_status for r in records} == {"N"}
    assert len({r.record_id for r in records}) == len(records)


def test_a_reversed_payment_is_a_negative_payment_record() -> None:
    loan = assessed(cn_loan(), date(2026, 3, 10))
    payment = Payment("P-2", "L-CN", 200_000, "CNY", date(2026, 3, 11))
    paid = assessed(receive(loan, payment).loan, date(2026, 3, 11))
    returned = assessed(reverse(paid, "P-2", [LedgerEntry.of(payment)]), date(2026, 3, 12))
    facts = replace(advance_facts(advance_facts(None, loan), paid), cn_opened=True)
    records = cn_records(paid, returned, facts, advance_facts(facts, returned))
    payment_record = next(r for r in records if r.event is CnEvent.PAYMENT)
    assert payment_record.amount_minor == -200_000


class Store:
    def __init__(self) -> None:
        self.saved: dict[str, CreditFacts] = {}

    def facts(self, loan_id: str) -> CreditFacts | None:
        return self.saved.get(loan_id)

    def save(
        self,
        facts: CreditFacts,
        *,
        loan: Loan | None = None,
        transition: Transition | None = None,
        token: str | None = None,
    ) -> bool:
        self.saved[facts.loan_id] = facts
        return True

    def append(self, loan: Loan, transition: Transition, *, token: str | None = None) -> bool:
        return True


class Writer:
    def __init__(self) -> None:
        self.records: list[CnCreditRecord] = []

    def write(self, records: Sequence[CnCreditRecord]) -> None:
        self.records += records


def test_negative_records_wait_for_the_prior_notice_and_the_account_opens_when_told() -> None:
    store, writer = Store(), Writer()
    at = datetime(2026, 3, 10, 4, tzinfo=UTC)
    late = assessed(cn_loan(), date(2026, 3, 10))  # registered already overdue, nobody told yet
    report = record_bureau_facts(None, late, at, store=store, cn_writer=writer, communications=lambda _: [])
    assert report is not None
    assert (events(report.written), events(report.held)) == ([], ["NEW_ACCOUNT"])
    assert writer.records == []  # 征信业管理条例 art. 15: nothing negative before the notice
    notice = Communication(
        Channel.SMS, "sms_overdue", ActionStatus.SENT, datetime(2026, 3, 11, 2, tzinfo=UTC)
    )
    later = assessed(late, date(2026, 4, 10))  # 64 days past due: band 3
    report = record_bureau_facts(
        late,
        later,
        datetime(2026, 4, 10, 4, tzinfo=UTC),
        store=store,
        cn_writer=writer,
        communications=lambda _: [notice],
    )
    assert report is not None
    assert events(report.written) == ["NEW_ACCOUNT", "OVERDUE_CHANGE"]
    assert writer.records[0].repayment_status == "3"
    # A replayed stream record of the same version writes nothing more.
    again = record_bureau_facts(
        late,
        later,
        datetime(2026, 4, 10, 4, tzinfo=UTC),
        store=store,
        cn_writer=writer,
        communications=lambda _: [],
    )
    assert again is None
    assert len(writer.records) == 2


def test_a_us_loan_writes_no_cn_record() -> None:
    store, writer = Store(), Writer()
    us = cn_loan().with_changes(jurisdiction="US-REGF", currency="USD")
    report = record_bureau_facts(
        None,
        assessed(us, date(2026, 2, 1)),
        datetime(2026, 2, 1, tzinfo=UTC),
        store=store,
        cn_writer=writer,
        communications=lambda _: [],
    )
    assert report is None
    assert writer.records == []
    assert "L-CN" in store.saved  # the facts are kept all the same
