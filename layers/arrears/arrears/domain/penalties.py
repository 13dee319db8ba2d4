"""Daily penalty interest on overdue principal, capped by the loan's annualised cost cap.

The penalty charged on day D is

    min(penalty_accrued + accrual(penalty_through, D), cap(D))

where `accrual` sums, for every unsettled instalment, its outstanding principal times the days it
has been overdue inside (penalty_through, D], times the daily rate (parts per million), floored;
and `cap(D)` is what the annualised-cost cap still allows once the contract's own interest and
fees are counted: principal * cap * max(term, days since disbursement) / 365 - contractual cost.
Both terms only grow with D, so the penalty never falls and never exceeds the cap. A payment
crystallises the penalty to its date (`crystallise`), because it changes the principal outstanding.
"""

from __future__ import annotations

from datetime import date

from arrears.domain.loans import Loan

PPM = 1_000_000
BPS = 10_000
DAYS_PER_YEAR = 365


def penalty_allowed_by_cost_cap(loan: Loan, on: date) -> int:
    """The most penalty (minor units) the loan may carry on `on` under its cost cap.

    The cost cap is `loan.apr_cap_bps`, the annualised cost (interest, fees and penalty) the
    contract may reach, in basis points a year of the principal, over max(term, days since
    disbursement) / 365 years.
    """
    days = max(loan.term_days, (on - loan.disbursed_on).days)
    allowed_cost = loan.principal_minor * loan.apr_cap_bps * days // (BPS * DAYS_PER_YEAR)
    return max(0, allowed_cost - loan.contractual_cost)


def uncapped_accrual(loan: Loan, after: date | None, through: date) -> int:
    """Penalty accruing on days in (after, through] on the principal outstanding now."""
    weighted = 0
    for instalment in loan.instalments:
        outstanding = instalment.principal_outstanding
        if outstanding == 0:
            continue
        start = instalment.due_on if after is None or after < instalment.due_on else after
        days = (through - start).days
        if days > 0:
            weighted += outstanding * days
    return weighted * loan.penalty_daily_ppm // PPM


def penalty_charged(loan: Loan, on: date) -> int:
    """Total penalty charged up to and including `on` (paid or not)."""
    if loan.penalty_through is not None and on <= loan.penalty_through:
        return loan.penalty_accrued_minor
    accrued = loan.penalty_accrued_minor + uncapped_accrual(loan, loan.penalty_through, on)
    return max(loan.penalty_accrued_minor, min(accrued, penalty_allowed_by_cost_cap(loan, on)))


def penalty_outstanding(loan: Loan, on: date) -> int:
    return penalty_charged(loan, on) - loan.penalty_paid_minor


def crystallise(loan: Loan, on: date) -> Loan:
    """Fix the penalty charged up to `on` into the loan, so later accrual starts after `on`."""
    if loan.penalty_through is not None and on <= loan.penalty_through:
        return loan
    return loan.with_changes(penalty_accrued_minor=penalty_charged(loan, on), penalty_through=on)


def total_outstanding(loan: Loan, on: date) -> int:
    """Everything the borrower must pay on `on` to close the loan."""
    return loan.scheduled_outstanding + penalty_outstanding(loan, on)


def amount_due(loan: Loan, on: date) -> int:
    """What a collector asks for on `on`: overdue instalments plus penalty, or else the next instalment."""
    overdue = sum(i.outstanding for i in loan.instalments if i.due_on < on)
    if overdue:
        return overdue + penalty_outstanding(loan, on)
    oldest = loan.oldest_unsettled
    return 0 if oldest is None else oldest.outstanding + penalty_outstanding(loan, on)
