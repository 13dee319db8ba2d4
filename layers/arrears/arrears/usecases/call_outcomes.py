"""The dialer's report of a call (`CallOutcome`): the loan's unanswered-contacts counter, then the caps.

A report is applied once per call id (one idempotency record around both writes): first to the loan
of the call's action (`unanswered_contacts` + 1, or 0 once a call connects), then to the borrower's
call ledger, which feeds the connected-calls and quiet-days caps the dispatcher checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from arrears.domain.behaviour import record_call
from arrears.domain.loans import Loan
from arrears.usecases.dispatch import DispatchPorts


@dataclass(frozen=True, slots=True)
class CallOutcomeReport:
    """The dialer's report of one call (`CallOutcome` on LoanEventsBus, source `arrears.dialer`)."""

    call_id: str
    action_id: str
    borrower_id: str
    occurred_at: datetime
    connected: bool
    conversation: bool


@dataclass(frozen=True)
class CallOutcomeResult:
    """What one report did: `new` is False for a call id seen before (then nothing else happened)."""

    new: bool
    loan_id: str | None = None  # the loan of the action, when it was found
    unanswered_contacts: int | None = None  # the loan's counter after the report
    loan_changed: bool = False


def _count_on_loan(report: CallOutcomeReport, ports: DispatchPorts) -> CallOutcomeResult:
    """Apply the call to the loan of its action: `unanswered_contacts` + 1, or 0 once connected.

    A conditional write on the loan's `version` (`LoanRepository.update`): a payment or the sweep
    writing the loan in between makes it fail, and the loan is re-read and the call applied again
    to the fresh state. The write is idempotent by itself (the loan remembers the call ids it
    counted). Only the counter changes, never the stored risk score: the planner sees no new step
    in it (docs/decisions.md). Raises `VersionConflict` when the loan kept changing.
    """
    action = ports.actions.get(report.action_id)
    if action is None or action.borrower_id != report.borrower_id:
        return CallOutcomeResult(new=True)  # not one of our calls to this borrower: caps only

    def count(loan: Loan) -> Loan | None:
        counted = record_call(loan, report.call_id, connected=report.connected)
        return None if counted == loan else counted

    update = ports.loans.update(action.loan_id, count)
    if update.loan is None:
        return CallOutcomeResult(new=True)
    return CallOutcomeResult(
        True, update.loan.loan_id, update.loan.unanswered_contacts, loan_changed=update.written
    )


def report_call_outcome(report: CallOutcomeReport, ports: DispatchPorts) -> CallOutcomeResult:
    """Apply a dialer report once per call id: the loan's `unanswered_contacts`, then the call ledger.

    Both run inside one idempotency record (`call-outcome#<call_id>`), so a redelivered report
    changes nothing. If either write fails the record is released and the whole report is retried:
    the loan write goes first because it is idempotent by itself (a retry after it succeeded finds
    the call id on the loan), the ledger write last. Raises `VersionConflict` when the loan kept
    changing, `LedgerContention` when the ledger did.
    """
    caps = ports.call_ledger
    applied: list[CallOutcomeResult] = []

    def apply() -> str:
        result = _count_on_loan(report, ports)
        caps.record_call_outcome(
            report.borrower_id,
            report.occurred_at,
            connected=report.connected,
            conversation=report.conversation,
        )
        applied.append(result)
        return f"call-outcome:{report.call_id}"

    ports.once(f"call-outcome#{report.call_id}", apply)
    return applied[0] if applied else CallOutcomeResult(new=False)
