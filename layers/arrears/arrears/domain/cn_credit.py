"""CN credit-reporting records: one per triggering event of a loan, for the PBOC credit reference system.

The People's Bank of China's Credit Reference Center expects an information provider to report each
account event within a day of it (征信业管理条例 and the PBOC's 金融信用信息基础数据库 reporting rules);
the official data interface (its segments and codes) is distributed to certified providers only and
is not public. These records are Arrears' own mapping (docs/bureau.md), written behind a port
(`arrears.usecases.cn_credit_reports.CreditReportWriter`) so a lender swaps in its certified format.

Events (`CnEvent`), from two consecutive versions of a loan and its facts:

* NEW_ACCOUNT: the loan's first reported change (registration, or, when that record was held for
  the notice, the first change reported after it);
* DUE_SETTLED: an instalment settled (its sequence number in `instalment`);
* PAYMENT: money received (`amount_minor`, the difference in what was paid; a reversal is a
  negative amount);
* OVERDUE_CHANGE: the repayment status code changed (N, 1-7 by 30-day band, C);
* CLASS_CHANGE: the five-level class changed (`arrears.domain.credit_facts.cn_classification`);
* PLAN: a payment plan started or ended;
* CLOSURE: the loan was repaid in full (C) or charged off.

Each record carries the loan's repayment status code and five-level class after the event, its
balance and amount past due, the DPD and the business date. Negative information (an overdue status
or a class worse than normal) is reported only once the borrower was told (征信业管理条例 art. 15,
the CN pack's `bureau_precondition`): `negative` marks such records. Pure: no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from arrears.domain.credit_facts import (
    CreditFacts,
    LoanClass,
    amount_past_due,
    cn_repayment_status,
    paid_total,
)
from arrears.domain.loans import Loan, LoanStatus
from arrears.domain.money import balance


class CnEvent(StrEnum):
    NEW_ACCOUNT = "NEW_ACCOUNT"
    DUE_SETTLED = "DUE_SETTLED"
    PAYMENT = "PAYMENT"
    OVERDUE_CHANGE = "OVERDUE_CHANGE"
    CLASS_CHANGE = "CLASS_CHANGE"
    PLAN = "PLAN"
    CLOSURE = "CLOSURE"


@dataclass(frozen=True, slots=True)
class CnCreditRecord:
    """One reportable event of a loan (ids, dates, codes and minor units only: no personal data).

    `record_id` is `<loan_id>:<version>:<event>[:<instalment>]`, unique and stable (a replayed change
    makes the same record). `repayment_status` and `loan_class` are the loan's after the event.
    """

    record_id: str
    loan_id: str
    borrower_id: str
    event: CnEvent
    occurred_on: date
    version: int
    repayment_status: str
    loan_class: LoanClass
    class_since: date | None
    dpd: int
    balance_minor: int
    amount_past_due_minor: int
    currency: str
    amount_minor: int = 0
    instalment: int = 0

    @property
    def negative(self) -> bool:
        """Negative information (overdue, or a class worse than normal): told first (art. 15)."""
        return self.repayment_status not in ("N", "C") or self.loan_class is not LoanClass.NORMAL

    def as_json(self) -> dict[str, object]:
        return {
            "record_id": self.record_id,
            "loan_id": self.loan_id,
            "borrower_id": self.borrower_id,
            "event": self.event.value,
            "occurred_on": self.occurred_on.isoformat(),
            "loan_version": self.version,
            "repayment_status": self.repayment_status,
            "five_level_class": self.loan_class.value,
            "class_since": None if self.class_since is None else self.class_since.isoformat(),
            "dpd": self.dpd,
            "balance_minor": self.balance_minor,
            "amount_past_due_minor": self.amount_past_due_minor,
            "currency": self.currency,
            "amount_minor": self.amount_minor,
            "instalment": self.instalment,
        }


def _status(loan: Loan) -> str:
    return cn_repayment_status(loan, loan.dpd)


def cn_records(
    before: Loan | None, after: Loan, prior: CreditFacts | None, facts: CreditFacts
) -> list[CnCreditRecord]:
    """The records the change `before` -> `after` triggers (none: nothing reportable changed)."""
    on = after.evaluated_on or after.disbursed_on
    owed = 0 if after.status is LoanStatus.CLOSED else balance(after, on)
    past_due = amount_past_due(after, on)
    events: list[tuple[CnEvent, int, int]] = []
    if prior is None or not prior.cn_opened:
        events.append((CnEvent.NEW_ACCOUNT, 0, 0))
    if before is not None:
        settled_before = {i.seq for i in before.instalments if i.is_settled}
        events += [
            (CnEvent.DUE_SETTLED, 0, i.seq)
            for i in after.instalments
            if i.is_settled and i.seq not in settled_before
        ]
        paid = paid_total(after) - paid_total(before)
        if paid:
            events.append((CnEvent.PAYMENT, paid, 0))
        if _status(after) != _status(before) and after.status is LoanStatus.OPEN:
            events.append((CnEvent.OVERDUE_CHANGE, 0, 0))
        if after.status is not before.status and after.status is not LoanStatus.OPEN:
            events.append((CnEvent.CLOSURE, 0, 0))
    if prior is not None and facts.cn_class is not prior.cn_class:
        events.append((CnEvent.CLASS_CHANGE, 0, 0))
    if prior is not None and facts.plan != prior.plan:
        events.append((CnEvent.PLAN, 0, 0))
    return [
        CnCreditRecord(
            record_id=f"{after.loan_id}:{after.version}:{event.value}" + (f":{seq}" if seq else ""),
            loan_id=after.loan_id,
            borrower_id=after.borrower_id,
            event=event,
            occurred_on=on,
            version=after.version,
            repayment_status=_status(after),
            loan_class=facts.cn_class,
            class_since=facts.cn_class_since,
            dpd=after.dpd,
            balance_minor=owed,
            amount_past_due_minor=past_due,
            currency=after.currency,
            amount_minor=amount,
            instalment=seq,
        )
        for event, amount, seq in events
    ]


__all__ = ["CnCreditRecord", "CnEvent", "cn_records"]
