"""The money engine: accrual, the cost cap, penalty, charge-off, and applying one payment.

Everything here is a pure function of the loan and dates. Money owed is integer minor units; the
accruals behind it are exact fractions, rounded (down, in the borrower's favour) only where an
amount becomes owed. The conventions, and the law or practice behind each, are in
docs/decisions.md ("Money: ...").

Time. A loan's money state is as of the end of the day `loan.money_through`. `advance(loan, day)`
moves it to the end of `day`: the principal-days the cost cap allows for, the penalty, and
charge-off when the day comes. A payment valued on day D is applied after D has been accrued.

Interest and fees. Each instalment's interest and fees accrue evenly, day by day, over its period
(the day after the previous due date, or after disbursement, through its due date). They are
owed in full on the due date; a payoff or a charge-off before then owes what had accrued.

The cost cap. On every day the principal outstanding allows `apr_cap_bps / 10_000 / 365` of itself
as cost; the interest, fees and penalty charged to date may never exceed the sum of those
allowances to date. Principal of an instalment paid before its due date (a bill paid early) counts
as outstanding until that date, since the instalment's interest runs to it; principal taken off the
schedule by a prepayment stops counting at once, and its interest and fees stop accruing. A
contract is checked at onboarding (`arrears.domain.costcap`): the cost of each period, annualised
on the balance outstanding in it, must be within the cap, so its own interest and fees never use
more than a day's allowance, and the room the cap leaves (allowance minus cost to date) never falls.

Penalty. On each day the loan is overdue beyond the tolerance, the principal of every instalment
past its last on-time day accrues `penalty_daily_ppm` per million. The penalty charged grows day by
day by that accrual, but never beyond the room the cap leaves that day (what the cap cuts off is
not charged later); a charge-off freezes it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from fractions import Fraction

from arrears.domain.delinquency import arrears_anchor, charge_off_day, loan_dpd
from arrears.domain.loans import Instalment, Loan, LoanStatus
from arrears.domain.terms import Advance, Component, Prepayment, Waterfall

PPM = 1_000_000
BPS = 10_000
DAYS_PER_YEAR = 365
ONE_DAY = timedelta(days=1)

# --- interest and fee accrual ----------------------------------------------------------------------


def _line(owed: int, base: Fraction, start: date, end: date, on: date) -> Fraction:
    """Accrual from `base` at the end of `start` to `owed` at the end of `end`, evenly by day."""
    length = (end - start).days
    if length <= 0 or on >= end:
        return Fraction(owed)
    if on <= start:
        return base
    return base + (owed - base) * Fraction((on - start).days, length)


def accrued(loan: Loan, index: int, on: date) -> tuple[Fraction, Fraction]:
    """(interest, fees) of instalment `index` accrued by the end of `on`, exactly."""
    instalment = loan.instalments[index]
    if instalment.accrual_from is None:
        start = loan.period_start(index)
        zero = Fraction(0)
        return (
            _line(instalment.interest_owed, zero, start, instalment.due_on, on),
            _line(instalment.fee_owed, zero, start, instalment.due_on, on),
        )
    return (
        _line(
            instalment.interest_owed,
            instalment.interest_accrued_at,
            instalment.accrual_from,
            instalment.due_on,
            on,
        ),
        _line(instalment.fee_owed, instalment.fee_accrued_at, instalment.accrual_from, instalment.due_on, on),
    )


def cost_to_date(loan: Loan, on: date) -> Fraction:
    """Interest and fees charged by the end of `on` (penalty excluded), exactly."""
    total = Fraction(0)
    for index in range(len(loan.instalments)):
        interest, fee = accrued(loan, index, on)
        total += interest + fee
    return total


# --- the cost cap ---------------------------------------------------------------------------------


def cap_rate(loan: Loan) -> Fraction:
    """The cost the cap allows per minor unit of principal outstanding per day."""
    return Fraction(loan.apr_cap_bps, BPS * DAYS_PER_YEAR)


def _principal_for_cap(loan: Loan, day: date) -> int:
    """Principal outstanding during `day` (after `money_through`), as the cap counts it."""
    return sum(
        i.principal_outstanding + (i.principal_paid if i.due_on >= day else 0) for i in loan.instalments
    )


def _penalty_rate(loan: Loan, day: date) -> Fraction:
    """Penalty accruing on `day`: on the principal past its last on-time day, when beyond tolerance."""
    late = [i for i in loan.instalments if i.effective_due < day]
    if sum(i.outstanding for i in late) <= loan.terms.tolerance_minor:
        return Fraction(0)
    return Fraction(sum(i.principal_outstanding for i in late) * loan.penalty_daily_ppm, PPM)


def legacy_principal_days(loan: Loan, through: date) -> int:
    """Principal-days to the end of `through` counting each instalment's principal until its due date
    only: a lower bound of the cap's allowance, for loans stored before it was counted."""
    return sum(
        i.principal_due * max(0, (min(i.due_on, through) - loan.disbursed_on).days) for i in loan.instalments
    )


def _breakpoints(loan: Loan) -> set[date]:
    points = {loan.disbursed_on}
    for instalment in loan.instalments:
        points.add(instalment.due_on)
        points.add(instalment.effective_due)
        if instalment.accrual_from is not None:
            points.add(instalment.accrual_from)
    return points


@dataclass(frozen=True, slots=True)
class CapState:
    """The cost cap on a day: what it has allowed to date, what was charged, and the room left."""

    on: date
    allowed: Fraction
    interest_and_fees: Fraction
    penalty: Fraction

    @property
    def room(self) -> Fraction:
        """Room left for penalty: allowance minus interest and fees (the penalty takes from it)."""
        return self.allowed - self.interest_and_fees

    @property
    def charged(self) -> Fraction:
        return self.interest_and_fees + self.penalty


def advance(loan: Loan, to: date) -> Loan:
    """The loan's money state at the end of `to` (unchanged when `to` is not after `money_through`).

    Accrues principal-days and penalty; on the charge-off day (the arrears anchor's last on-time day
    plus the product's `charge_off_dpd`) the loan is charged off and stops accruing.
    """
    if loan.status is not LoanStatus.OPEN:
        return loan
    start = loan.money_through or loan.disbursed_on
    charge_off = charge_off_day(loan)
    if charge_off is not None:
        charge_off = max(charge_off, start)
    end = to if charge_off is None else min(to, charge_off)
    if end > start:
        rate = cap_rate(loan)
        penalty = loan.penalty_exact
        principal_days = loan.principal_days
        floor = Fraction(loan.penalty_paid_minor)
        points = sorted({p for p in _breakpoints(loan) if start < p < end} | {end})
        day = start
        for point in points:
            days = (point - day).days
            principal = _principal_for_cap(loan, point)
            accrual = _penalty_rate(loan, point)
            # The room is linear in the day inside a segment, so the day-by-day recursion
            # penalty(d) = min(penalty(d-1) + accrual, room(d)) has its minimum at an end.
            room_first = rate * (principal_days + principal) - cost_to_date(loan, day + ONE_DAY)
            room_last = rate * (principal_days + principal * days) - cost_to_date(loan, point)
            penalty = min(penalty + accrual * days, room_first + accrual * (days - 1), room_last)
            penalty = max(penalty, floor)
            principal_days += principal * days
            day = point
        loan = loan.with_changes(penalty_exact=penalty, principal_days=principal_days, money_through=end)
    elif loan.money_through is None:
        loan = loan.with_changes(money_through=start)
    if charge_off is not None and charge_off <= to:
        loan = _charge_off(loan, charge_off)
    return loan


def cap_state(loan: Loan, on: date) -> CapState:
    """The cost cap at the end of `on` (for an open loan; a closed or charged-off one as it stopped)."""
    advanced = advance(loan, on)
    through = advanced.money_through or on
    day = min(on, through)
    return CapState(
        on=day,
        allowed=cap_rate(advanced) * advanced.principal_days,
        interest_and_fees=cost_to_date(advanced, day),
        penalty=advanced.penalty_exact,
    )


# --- amounts owed ---------------------------------------------------------------------------------


def penalty_charged(loan: Loan, on: date) -> int:
    """Penalty charged up to and including `on` (paid or not), in minor units."""
    return advance(loan, on).penalty_accrued_minor


def penalty_outstanding(loan: Loan, on: date) -> int:
    return penalty_charged(loan, on) - loan.penalty_paid_minor


def balance(loan: Loan, on: date) -> int:
    """Everything owed on the schedule plus penalty, as the loan stands on `on` (no rebate)."""
    advanced = advance(loan, on)
    return advanced.scheduled_outstanding + advanced.penalty_accrued_minor - advanced.penalty_paid_minor


def amount_due(loan: Loan, on: date) -> int:
    """What a collector asks for on `on`, by construction the amount that brings the loan current.

    Open loan: every instalment due on or before `on` and the penalty (paid by the waterfall first,
    whatever its order, so paying exactly this settles them all); when nothing is due yet, the next
    instalment (what a pre-due reminder asks for). Charged-off loan: its whole balance.
    """
    advanced = advance(loan, on)
    if advanced.status is LoanStatus.CHARGED_OFF:
        return balance(advanced, on)
    if advanced.status is not LoanStatus.OPEN:
        return 0
    penalty = advanced.penalty_accrued_minor - advanced.penalty_paid_minor
    due = sum(i.outstanding for i in advanced.instalments if i.due_on <= on) + penalty
    if due:
        return due
    following = next((i for i in advanced.instalments if not i.is_settled), None)
    return 0 if following is None else following.outstanding


# --- waivers: prepayment, payoff, charge-off --------------------------------------------------------


def _balances(loan: Loan) -> list[int]:
    """Scheduled balance during each instalment's period: its principal owed and all later ones'."""
    running = 0
    out = [0] * len(loan.instalments)
    for index in range(len(loan.instalments) - 1, -1, -1):
        running += loan.instalments[index].principal_owed
        out[index] = running
    return out


def _rebated(loan: Loan, index: int, on: date, keep: Fraction) -> tuple[Instalment, int]:
    """Instalment `index` with what would accrue after `on` scaled by `keep` (0: nothing more accrues).

    Interest and fees accrued by `on` stay owed (rounded down); `keep` of the rest stays. What had been
    paid beyond the new amount owed is returned as credit (moved off interest and fees).
    """
    instalment = loan.instalments[index]
    interest_at, fee_at = accrued(loan, index, on)
    new: dict[str, object] = {}
    credit = 0
    for name, at in (("interest", interest_at), ("fee", fee_at)):
        owed = getattr(instalment, f"{name}_owed")
        target = at + (owed - at) * keep
        owed_after = min(owed, max(0, math.floor(target)))
        paid = getattr(instalment, f"{name}_paid")
        excess = max(0, paid - owed_after)
        credit += excess
        new[f"{name}_waived"] = getattr(instalment, f"{name}_waived") + owed - owed_after
        new[f"{name}_paid"] = paid - excess
        new[f"{name}_accrued_at"] = min(at, Fraction(owed_after))
    start = loan.period_start(index)
    if start < on < instalment.due_on:
        # Inside the period: accrual restarts here from what had accrued, towards the new amount.
        new["accrual_from"] = on
    else:
        # A period not begun yet accrues its (lower) amount over the whole period.
        new.pop("interest_accrued_at")
        new.pop("fee_accrued_at")
        new["accrual_from"] = None
    return replace(instalment, **new), credit  # type: ignore[arg-type]


def _place_credit(instalments: list[Instalment], indices: Iterable[int], credit: int) -> int:
    """Apply `credit` (money already received) to principal of `indices`, in order; what is left."""
    for index in indices:
        if credit == 0:
            break
        instalment = instalments[index]
        take = min(credit, instalment.principal_outstanding)
        if take:
            instalments[index] = replace(instalment, principal_paid=instalment.principal_paid + take)
            credit -= take
    return credit


def _restore(instalment: Instalment, credit: int) -> Instalment:
    """Put back credit that found no principal to pay: it stays paid as interest, then fees."""
    for name in ("interest", "fee"):
        if credit == 0:
            break
        waived = getattr(instalment, f"{name}_waived")
        back = min(credit, waived)
        instalment = replace(
            instalment,
            **{f"{name}_waived": waived - back, f"{name}_paid": getattr(instalment, f"{name}_paid") + back},
        )
        credit -= back
    return instalment


def _rebate_not_due(loan: Loan, on: date, keeps: dict[int, Fraction]) -> Loan:
    """Rebate interest and fees of the instalments not yet due by `keeps` (index -> share kept)."""
    instalments = list(loan.instalments)
    sources: list[tuple[int, int]] = []
    rebated = loan
    for index, keep in sorted(keeps.items()):
        if keep >= 1:
            continue
        instalments[index], credit = _rebated(rebated, index, on, keep)
        if credit:
            sources.append((index, credit))
    not_due = [n for n, i in enumerate(instalments) if i.due_on > on]
    for index, credit in sources:
        left = _place_credit(instalments, not_due, credit)
        if left:
            instalments[index] = _restore(instalments[index], left)
    return loan.with_changes(instalments=tuple(instalments))


def _settle_dates(loan: Loan, on: date) -> Loan:
    instalments = tuple(
        replace(i, settled_on=on) if i.is_settled and i.settled_on is None else i for i in loan.instalments
    )
    return loan.with_changes(instalments=instalments)


def _charge_off(loan: Loan, on: date) -> Loan:
    """Charged off at the end of `on`: nothing accrues any more; the balance is what had accrued."""
    keeps = {n: Fraction(0) for n, i in enumerate(loan.instalments) if i.due_on > on}
    frozen = _rebate_not_due(loan, on, keeps)
    frozen = _settle_dates(frozen, on)
    return frozen.with_changes(
        status=LoanStatus.CHARGED_OFF, charged_off_on=on, closed_on=on, money_through=on
    )


def _prepay(loan: Loan, on: date, amount: int) -> Loan:
    """Take `amount` of principal off the instalments not yet due (product setting decides which),
    and owe interest and fees on the lower balance from `on`."""
    not_due = [n for n, i in enumerate(loan.instalments) if i.due_on > on and i.principal_outstanding > 0]
    cuts = dict.fromkeys(not_due, 0)
    if loan.terms.prepayment is Prepayment.SHORTEN_TERM:
        left = amount
        for index in reversed(not_due):
            take = min(left, loan.instalments[index].principal_outstanding)
            cuts[index] = take
            left -= take
    else:
        total = sum(loan.instalments[n].principal_outstanding for n in not_due)
        shares = {n: loan.instalments[n].principal_outstanding * amount for n in not_due}
        for index in not_due:
            cuts[index] = shares[index] // total
        short = amount - sum(cuts.values())
        by_remainder = sorted(not_due, key=lambda n: (-(shares[n] % total), n))
        for index in by_remainder[:short]:
            cuts[index] += 1
    before = _balances(loan)
    instalments = list(loan.instalments)
    for index, cut in cuts.items():
        if cut:
            instalment = instalments[index]
            instalments[index] = replace(instalment, principal_prepaid=instalment.principal_prepaid + cut)
    cut_loan = loan.with_changes(instalments=tuple(instalments))
    after = _balances(cut_loan)
    keeps = {
        n: Fraction(after[n], before[n])
        for n, i in enumerate(loan.instalments)
        if i.due_on > on and before[n] > 0 and after[n] < before[n]
    }
    # Accrual to `on` does not depend on principal, so the cut schedule accrues as the old one did.
    return _rebate_not_due(cut_loan, on, keeps)


# --- payoff ---------------------------------------------------------------------------------------


def _paid_off(loan: Loan, on: date) -> Loan:
    """The loan as a payoff on `on` would leave it before paying: nothing accrues after `on`."""
    keeps = {n: Fraction(0) for n, i in enumerate(loan.instalments) if i.due_on > on}
    return _rebate_not_due(loan, on, keeps)


@dataclass(frozen=True, slots=True)
class PayoffQuote:
    """What closes the loan on `on`: principal, interest and fees accrued to that day, and penalty.

    `rebate_minor` is the interest and fees of the schedule not owed because the loan ends early.
    """

    loan_id: str
    on: date
    principal_minor: int
    interest_minor: int
    fee_minor: int
    penalty_minor: int
    rebate_minor: int

    @property
    def total_minor(self) -> int:
        return self.principal_minor + self.interest_minor + self.fee_minor + self.penalty_minor


def payoff_quote(loan: Loan, on: date) -> PayoffQuote:
    """The amount that closes the loan if paid on `on` (see `PayoffQuote`)."""
    advanced = advance(loan, on)
    penalty = advanced.penalty_accrued_minor - advanced.penalty_paid_minor
    if advanced.status is LoanStatus.OPEN:
        target = _paid_off(advanced, on)
    elif advanced.status is LoanStatus.CHARGED_OFF:
        target = advanced
    else:
        return PayoffQuote(loan.loan_id, on, 0, 0, 0, 0, 0)
    waived_before = sum(i.interest_waived + i.fee_waived for i in advanced.instalments)
    waived_after = sum(i.interest_waived + i.fee_waived for i in target.instalments)
    return PayoffQuote(
        loan_id=loan.loan_id,
        on=on,
        principal_minor=sum(i.principal_outstanding for i in target.instalments),
        interest_minor=sum(i.interest_outstanding for i in target.instalments),
        fee_minor=sum(i.fee_outstanding for i in target.instalments),
        penalty_minor=penalty,
        rebate_minor=waived_after - waived_before,
    )


# --- applying a payment ---------------------------------------------------------------------------


@dataclass
class _Purse:
    """A payment being spent: the instalments it pays, what is left, and where it went."""

    instalments: list[Instalment]
    penalty_left: int
    budget: int
    applied: dict[Component, int] = field(default_factory=lambda: dict.fromkeys(Component, 0))

    def pay(self, index: int, component: Component) -> None:
        if self.budget == 0:
            return
        if component is Component.PENALTY:
            take = min(self.penalty_left, self.budget)
            self.penalty_left -= take
        else:
            instalment = self.instalments[index]
            name = component.value
            take = min(getattr(instalment, f"{name}_outstanding"), self.budget)
            if take:
                self.instalments[index] = replace(
                    instalment, **{f"{name}_paid": getattr(instalment, f"{name}_paid") + take}
                )
        self.applied[component] += take
        self.budget -= take

    def pay_penalty(self) -> None:
        self.pay(-1, Component.PENALTY)

    def pay_instalments(self, indices: list[int], loan: Loan) -> None:
        """Pay `indices` (and the penalty) in the product's waterfall order."""
        order = loan.terms.order
        ids = [n for n in indices if not self.instalments[n].is_settled]
        if loan.terms.waterfall is Waterfall.INSTALMENT_MAJOR:
            if not ids:
                self.pay_penalty()
            for position, index in enumerate(ids):
                for component in order:
                    if component is Component.PENALTY:
                        if position == 0:
                            self.pay_penalty()
                    else:
                        self.pay(index, component)
        else:
            for component in order:
                if component is Component.PENALTY:
                    self.pay_penalty()
                else:
                    for index in ids:
                        self.pay(index, component)


@dataclass(frozen=True, slots=True)
class MoneyOutcome:
    loan: Loan
    applied: dict[Component, int]
    unapplied_minor: int
    prepaid_minor: int = 0  # principal taken off the schedule (part of `applied[PRINCIPAL]`)
    rebate_minor: int = 0  # interest and fees no longer owed because of this payment
    recovered_minor: int = 0  # applied to a charged-off loan

    @property
    def applied_minor(self) -> int:
        return sum(self.applied.values())


def _waived(loan: Loan) -> int:
    return sum(i.interest_waived + i.fee_waived for i in loan.instalments)


def apply_money(loan: Loan, amount: int, on: date) -> MoneyOutcome:
    """Spend `amount` paid on `on` on the loan (which must not already be advanced past `on`).

    Open loan: if the amount reaches the payoff quote, the loan is paid off (interest and fees to
    date only); else everything due on or before `on` in the product's waterfall order, then what is
    paid ahead (the next instalment as a whole, or principal), then principal prepayment.
    Charged-off loan: the frozen balance, oldest first (a recovery). What is left is unapplied.
    """
    if amount <= 0:
        raise ValueError("amount must be positive")
    loan = advance(loan, on)
    penalty_left = loan.penalty_accrued_minor - loan.penalty_paid_minor
    if loan.status is LoanStatus.CLOSED:
        return MoneyOutcome(loan, dict.fromkeys(Component, 0), amount)
    waived_before = _waived(loan)
    prepaid = 0
    charged_off = loan.status is LoanStatus.CHARGED_OFF
    if charged_off:
        purse = _Purse(list(loan.instalments), penalty_left, amount)
        purse.pay_instalments(list(range(len(loan.instalments))), loan)
    elif amount >= payoff_quote(loan, on).total_minor:
        loan = _paid_off(loan, on)
        purse = _Purse(list(loan.instalments), penalty_left, amount)
        purse.pay_instalments(list(range(len(loan.instalments))), loan)
    else:
        purse = _Purse(list(loan.instalments), penalty_left, amount)
        due = [n for n, i in enumerate(loan.instalments) if i.due_on <= on]
        purse.pay_instalments(due, loan)
        following = next(
            (n for n, i in enumerate(purse.instalments) if i.due_on > on and not i.is_settled), None
        )
        if (
            purse.budget
            and following is not None
            and loan.terms.advance is Advance.NEXT_INSTALMENT
            and loan.period_start(following) < on
        ):
            for component in loan.terms.order:
                if component is not Component.PENALTY:
                    purse.pay(following, component)
        principal_ahead = sum(i.principal_outstanding for i in purse.instalments if i.due_on > on)
        prepaid = min(purse.budget, principal_ahead)
        if prepaid:
            paid_so_far = loan.with_changes(instalments=tuple(purse.instalments))
            cut = _prepay(paid_so_far, on, prepaid)
            purse.instalments = list(cut.instalments)
            purse.applied[Component.PRINCIPAL] += prepaid
            purse.budget -= prepaid
        if purse.budget:
            ahead = [n for n, i in enumerate(purse.instalments) if i.due_on > on]
            for index in ahead:
                for component in loan.terms.order:
                    if component is not Component.PENALTY:
                        purse.pay(index, component)
    updated = loan.with_changes(
        instalments=tuple(purse.instalments),
        penalty_paid_minor=loan.penalty_paid_minor + purse.applied[Component.PENALTY],
    )
    updated = _settle_dates(updated, on)
    recovered = sum(purse.applied.values()) if charged_off else 0
    if recovered:
        updated = updated.with_changes(recovered_minor=updated.recovered_minor + recovered)
    if updated.scheduled_outstanding == 0 and updated.penalty_paid_minor == updated.penalty_accrued_minor:
        updated = updated.with_changes(status=LoanStatus.CLOSED, closed_on=on)
    return MoneyOutcome(
        loan=updated,
        applied=purse.applied,
        unapplied_minor=purse.budget,
        prepaid_minor=prepaid,
        rebate_minor=_waived(updated) - waived_before,
        recovered_minor=recovered,
    )


def is_current(loan: Loan, on: date) -> bool:
    """Whether the loan is not overdue on `on` (arrears within tolerance)."""
    return loan_dpd(advance(loan, on), on) == 0


__all__ = [
    "CapState",
    "MoneyOutcome",
    "PayoffQuote",
    "accrued",
    "advance",
    "amount_due",
    "apply_money",
    "arrears_anchor",
    "balance",
    "cap_rate",
    "cap_state",
    "cost_to_date",
    "is_current",
    "legacy_principal_days",
    "payoff_quote",
    "penalty_charged",
    "penalty_outstanding",
]
