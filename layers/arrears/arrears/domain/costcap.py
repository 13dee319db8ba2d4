"""The cost cap on a contract: checked when the loan is registered, with the figures in the error.

The cap (`apr_cap_bps` on the loan, from its jurisdiction's rule pack: for CN the judicial
protection ceiling, four times the one-year LPR at contract; for a US state its rate cap) bounds
interest + fees + penalty charged to date by the cap's daily allowance on the principal actually
outstanding to date (`arrears.domain.money`). A contract is within it when every period's own
cost, annualised on the balance outstanding during that period over the period's actual days,
is within the cap:

    (interest_i + fee_i) * 365 <= cap * balance_i * days_i

where balance_i is the scheduled principal still owed during period i. Checking each period (not
only the whole term) means the contract never uses more than a day's allowance on any day, so the
room left for penalty never shrinks, and a penalty once charged never has to be taken back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from arrears.domain.loans import Loan
from arrears.domain.money import BPS, DAYS_PER_YEAR


class ContractOverCap(ValueError):
    """A contract whose own interest and fees exceed the cost cap: it must not be registered."""


@dataclass(frozen=True, slots=True)
class PeriodCost:
    seq: int
    starts_after: date
    due_on: date
    days: int
    balance_minor: int
    interest_minor: int
    fee_minor: int

    @property
    def annual_rate(self) -> Fraction:
        """The period's cost as a yearly rate on its balance (1 = 100 %)."""
        if self.balance_minor == 0 or self.days == 0:
            return Fraction(0) if self.interest_minor + self.fee_minor == 0 else Fraction(10**9)
        return Fraction(
            (self.interest_minor + self.fee_minor) * DAYS_PER_YEAR, self.balance_minor * self.days
        )


def period_costs(loan: Loan) -> tuple[PeriodCost, ...]:
    balance = loan.principal_minor
    out = []
    for index, instalment in enumerate(loan.instalments):
        start = loan.period_start(index)
        out.append(
            PeriodCost(
                seq=instalment.seq,
                starts_after=start,
                due_on=instalment.due_on,
                days=(instalment.due_on - start).days,
                balance_minor=balance,
                interest_minor=instalment.interest_due,
                fee_minor=instalment.fee_due,
            )
        )
        balance -= instalment.principal_due
    return tuple(out)


def _percent(rate: Fraction) -> str:
    """`rate` as a percentage to two places, exactly (no binary float): 73/200 -> "36.50 %"."""
    hundredths = round(rate * 10_000)
    return f"{hundredths // 100}.{hundredths % 100:02d} %"


def breach(loan: Loan) -> PeriodCost | None:
    """The first period whose annualised cost is over the loan's cap (None: the contract is within)."""
    cap = Fraction(loan.apr_cap_bps, BPS)
    return next((p for p in period_costs(loan) if p.annual_rate > cap), None)


def check_contract(loan: Loan, cap_source: str = "") -> None:
    """Raise `ContractOverCap`, naming the figures, if the contract's own cost is over its cap."""
    period = breach(loan)
    if period is None:
        return
    cap = Fraction(loan.apr_cap_bps, BPS)
    source = f" ({cap_source})" if cap_source else ""
    raise ContractOverCap(
        f"loan {loan.loan_id}: instalment {period.seq} charges interest {period.interest_minor} + fees "
        f"{period.fee_minor} {loan.currency} minor units over {period.days} days "
        f"({period.starts_after} to {period.due_on}) on a balance of {period.balance_minor}: "
        f"{_percent(period.annual_rate)} a year, over the cost cap of {_percent(cap)} a year{source}"
    )
