"""Importing a lender's book: borrowers, loans and their payment history, row by row.

The rows come parsed and validated one by one (`arrears.events.book_file`: CSV or JSON Lines, a
versioned schema, docs/import.md); this use case checks the rows against each other and against
what is stored, and writes through onboarding (`arrears.usecases.onboarding`) and the payments use
case, the same code as every other way a loan comes in. A bad row is reported (line, record kind,
the lender's id, field, problem: never a personal value) and the rest loads.

Re-importing the same file changes nothing (every write is keyed by the lender's ids and
conditional). A changed row changes only what may change:

* a borrower row: the profile (time zone, region, name, phone, e-mail, address, language,
  preferred hours), as of the import's instant: a profile stored from a later instant (a newer
  `BorrowerUpdated`) stands (`borrower:STALE`); an erased borrower's personal data is never
  restored, the borrower's opt-outs are never touched. A move changes the borrower's contact hours
  and state overlay, not the loans' registered contract (business dates' zone, cost cap);
* a loan row: nothing. A registered contract is never changed by an import; a row that differs
  from it is refused, naming the first differing field;
* a payment row: a payment not yet in a registered loan's ledger is applied on its value date
  (`receive_payment`: replayed in value-date order when it is dated before others); one already
  in the ledger changes nothing. A reversal is not an import: it is a `PaymentReversed` event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from arrears.adapters.dynamodb import LoanRepository
from arrears.adapters.payments_ledger import PaymentLedger
from arrears.domain.borrowers import Borrower
from arrears.domain.costcap import ContractOverCap
from arrears.domain.ledger import LedgerEntry, contract_of
from arrears.domain.loans import Loan
from arrears.domain.moneyrules import NoCapKnown
from arrears.domain.payments import PaymentError
from arrears.domain.playbook import CollectionPlaybook
from arrears.usecases.onboarding import (
    BorrowerOutcome,
    Borrowers,
    onboard_borrower,
    register_contract,
    registered_contract,
)
from arrears.usecases.payments import PaymentReceived, UnknownLoan, receive_payment

SCHEMA_VERSIONS = ("1",)  # the file schema versions this importer reads (docs/import.md)
UNWRITTEN = (":UNCHANGED", ":STALE")  # outcomes that wrote nothing (STALE: a newer profile is stored)
PAYMENT_HOUR_LOCAL = 12  # a history payment's instant: noon of its value date, borrower's time


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why one row was not imported. `field` names the field; `problem` never quotes a personal value."""

    line: int
    record: str  # borrower, loan, payment, or "?" when the kind itself is unreadable
    id: str  # the lender's id of the row ("" when unreadable)
    field: str
    problem: str

    def as_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "record": self.record,
            "id": self.id,
            "field": self.field,
            "problem": self.problem,
        }


@dataclass(frozen=True, slots=True)
class BorrowerRecord:
    line: int
    borrower: Borrower


@dataclass(frozen=True, slots=True)
class LoanRecord:
    line: int
    loan: Loan  # the contract: schedule built, nothing paid, `terms.product` naming the product


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    line: int
    loan_id: str
    entry: LedgerEntry


@dataclass
class BookRecords:
    """A parsed file: the rows that passed their own validation, and the problems of the others."""

    rows_read: int = 0
    borrowers: list[BorrowerRecord] = field(default_factory=list)
    loans: list[LoanRecord] = field(default_factory=list)
    payments: list[PaymentRecord] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import did: rows read, what each kind of row did, and the rejected rows' problems."""

    rows_read: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # "loan:CREATED", "payment:APPLIED", ...
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({problem.line for problem in self.problems})

    @property
    def imported(self) -> int:
        """Rows that wrote something: created, updated, recorded or applied."""
        return sum(n for key, n in self.outcomes.items() if not key.endswith(UNWRITTEN))

    def as_json(self) -> dict[str, Any]:
        reasons: Counter[str] = Counter(f"{p.record}.{p.field}: {p.problem}" for p in self.problems)
        return {
            "rows_read": self.rows_read,
            "imported": self.imported,
            "unchanged": sum(n for key, n in self.outcomes.items() if key.endswith(UNWRITTEN)),
            "rejected": self.rejected,
            "by_record": dict(sorted(self.outcomes.items())),
            "rejected_by_reason": dict(sorted(reasons.items())),
        }


def _reject(report: ImportReport, line: int, record: str, id_: str, field_name: str, problem: str) -> None:
    report.problems.append(RowProblem(line, record, id_, field_name, problem))


def _first_difference(stored: Loan, incoming: Loan) -> str | None:
    """The first contract field on which `incoming` differs from the registered `stored` contract."""
    for name in (
        "borrower_id",
        "jurisdiction",
        "currency",
        "principal_minor",
        "disbursed_on",
        "penalty_daily_ppm",
        "original_default_on",
    ):
        if getattr(stored, name) != getattr(incoming, name):
            return name
    if stored.terms.product != incoming.terms.product:
        return "product"
    if len(stored.instalments) != len(incoming.instalments):
        return "instalments"
    for mine, theirs in zip(stored.instalments, incoming.instalments, strict=True):
        if (mine.due_on, mine.principal_due) != (theirs.due_on, theirs.principal_due):
            return "instalments"
        if mine.interest_due != theirs.interest_due:
            return "monthly_interest_bps"
        if mine.fee_due != theirs.fee_due:
            return "fee_minor"
    return None


def import_book(
    records: BookRecords,
    at: datetime,
    *,
    loans: LoanRepository,
    borrowers: Borrowers,
    ledger: PaymentLedger,
    playbook: CollectionPlaybook,
) -> ImportReport:
    """Import `records` as of the instant `at` (the registration instant of new loans).

    Order: borrowers, then loans (with the file's payments of a new loan as its history), then the
    payments of loans registered before. A loan whose borrower row was refused, or whose borrower is
    neither in the file nor stored, is refused; a payment of a refused loan is refused. Raises only
    on infrastructure errors (a failed AWS call): the import can then be run again as it is.
    """
    report = ImportReport(rows_read=records.rows_read, problems=list(records.problems))

    # -- borrowers ---------------------------------------------------------------------------
    file_borrowers: dict[str, BorrowerRecord] = {}
    refused_borrowers: dict[str, int] = {}
    for person in records.borrowers:
        borrower_id = person.borrower.borrower_id
        if borrower_id in file_borrowers or borrower_id in refused_borrowers:
            first = (
                file_borrowers[borrower_id].line
                if borrower_id in file_borrowers
                else refused_borrowers[borrower_id]
            )
            _reject(
                report,
                person.line,
                "borrower",
                borrower_id,
                "borrower_id",
                f"appears again (first on line {first})",
            )
            continue
        outcome, _ = onboard_borrower(person.borrower, borrowers, at)
        if outcome is BorrowerOutcome.STALE:
            # The stored profile is from a later instant (a newer BorrowerUpdated): it stands, and
            # this borrower's loans are registered against it.
            report.outcomes["borrower:STALE"] += 1
        elif outcome is BorrowerOutcome.ERASED:
            refused_borrowers[borrower_id] = person.line
            problem = "erased on request: personal data is not restored by an import"
            _reject(report, person.line, "borrower", borrower_id, "borrower_id", problem)
        else:
            file_borrowers[borrower_id] = person
            report.outcomes[f"borrower:{outcome.value}"] += 1

    # -- loans -------------------------------------------------------------------------------
    history: dict[str, list[PaymentRecord]] = {}
    for payment in records.payments:
        history.setdefault(payment.loan_id, []).append(payment)
    known_loans: dict[str, Loan] = {}  # registered before
    refused_loans: dict[str, int] = {}
    seen: dict[str, int] = {}
    for record in records.loans:
        loan = record.loan
        if loan.loan_id in seen:
            _reject(
                report,
                record.line,
                "loan",
                loan.loan_id,
                "loan_id",
                f"appears again (first on line {seen[loan.loan_id]})",
            )
            continue
        seen[loan.loan_id] = record.line
        if loan.terms.product not in playbook.products:
            refused_loans[loan.loan_id] = record.line
            problem = f"not a product of the collection policy ({', '.join(sorted(playbook.products))})"
            _reject(report, record.line, "loan", loan.loan_id, "product", problem)
            continue
        if loan.borrower_id in refused_borrowers:
            refused_loans[loan.loan_id] = record.line
            problem = f"the borrower's row (line {refused_borrowers[loan.borrower_id]}) was not imported"
            _reject(report, record.line, "loan", loan.loan_id, "borrower_id", problem)
            continue
        # A borrower row accepted above agrees with what is stored on every field a loan reads.
        in_file = file_borrowers.get(loan.borrower_id)
        borrower = in_file.borrower if in_file is not None else borrowers.get(loan.borrower_id)
        if borrower is None:
            refused_loans[loan.loan_id] = record.line
            _reject(
                report,
                record.line,
                "loan",
                loan.loan_id,
                "borrower_id",
                "no such borrower in the file or stored",
            )
            continue
        stored = loans.get(loan.loan_id)
        own = [] if stored is not None else _history_of(loan, history.pop(loan.loan_id, []), at, report)
        try:
            if stored is not None:
                incoming = registered_contract(loan, borrower, playbook)
                differs = _first_difference(contract_of(stored), incoming)
                if differs is not None:
                    refused_loans[loan.loan_id] = record.line
                    problem = "differs from the registered contract: a contract is not changed by an import"
                    _reject(report, record.line, "loan", loan.loan_id, differs, problem)
                    continue
                known_loans[loan.loan_id] = stored
                report.outcomes["loan:UNCHANGED"] += 1
                continue
            created = register_contract(
                loan,
                borrower,
                at,
                loans=loans,
                playbook=playbook,
                history=[p.entry for p in own],
                ledger=ledger,
            )
        except (ContractOverCap, NoCapKnown) as error:
            refused_loans[loan.loan_id] = record.line
            _reject(report, record.line, "loan", loan.loan_id, "monthly_interest_bps", str(error))
            for payment in own:
                _reject(
                    report,
                    payment.line,
                    "payment",
                    payment.entry.payment_id,
                    "loan_id",
                    f"the loan's row (line {record.line}) was not imported",
                )
            continue
        if created:
            report.outcomes["loan:CREATED"] += 1
            report.outcomes["payment:RECORDED"] += len(own)
        else:  # registered meanwhile by another writer: its payments are applied as to a known loan
            known_loans[loan.loan_id] = loan
            report.outcomes["loan:UNCHANGED"] += 1
            history[loan.loan_id] = own

    # -- payments of loans registered before --------------------------------------------------
    for loan_id, payments in history.items():
        if loan_id in refused_loans:
            for payment in payments:
                _reject(
                    report,
                    payment.line,
                    "payment",
                    payment.entry.payment_id,
                    "loan_id",
                    f"the loan's row (line {refused_loans[loan_id]}) was not imported",
                )
            continue
        loan_or_none = known_loans.get(loan_id) or loans.get(loan_id)
        if loan_or_none is None:
            for payment in payments:
                _reject(
                    report,
                    payment.line,
                    "payment",
                    payment.entry.payment_id,
                    "loan_id",
                    "no such loan in the file or stored",
                )
            continue
        for payment in _history_of(loan_or_none, payments, at, report):
            _apply_payment(payment, loan_or_none, report, loans=loans, ledger=ledger, playbook=playbook)
    return report


def _history_of(
    loan: Loan, payments: Sequence[PaymentRecord], at: datetime, report: ImportReport
) -> list[PaymentRecord]:
    """The payments that may be applied to `loan`; the others are reported (currency, dates, repeats)."""
    accepted: list[PaymentRecord] = []
    seen: dict[str, int] = {}
    for payment in payments:
        entry = payment.entry
        if entry.payment_id in seen:
            _reject(
                report,
                payment.line,
                "payment",
                entry.payment_id,
                "payment_id",
                f"appears again (first on line {seen[entry.payment_id]})",
            )
            continue
        seen[entry.payment_id] = payment.line
        if entry.currency != loan.currency:
            _reject(report, payment.line, "payment", entry.payment_id, "currency", "not the loan's currency")
        elif entry.value_date <= loan.disbursed_on:
            _reject(
                report,
                payment.line,
                "payment",
                entry.payment_id,
                "paid_on",
                "on or before the loan's disbursement",
            )
        elif entry.value_date > at.date():
            _reject(report, payment.line, "payment", entry.payment_id, "paid_on", "after the import's date")
        else:
            accepted.append(payment)
    return accepted


def _apply_payment(
    payment: PaymentRecord,
    loan: Loan,
    report: ImportReport,
    *,
    loans: LoanRepository,
    ledger: PaymentLedger,
    playbook: CollectionPlaybook,
) -> None:
    zone = ZoneInfo(loan.timezone or "UTC")
    paid_at = datetime.combine(
        payment.entry.value_date, clock_time(PAYMENT_HOUR_LOCAL), tzinfo=zone
    ).astimezone(UTC)
    event = PaymentReceived(
        payment.entry.payment_id, loan.loan_id, payment.entry.amount_minor, payment.entry.currency, paid_at
    )
    try:
        outcome = receive_payment(event, loans=loans, ledger=ledger, playbook=playbook)
    except (UnknownLoan, PaymentError) as error:
        _reject(report, payment.line, "payment", payment.entry.payment_id, "amount_minor", str(error))
        return
    report.outcomes["payment:UNCHANGED" if outcome.duplicate else "payment:APPLIED"] += 1
