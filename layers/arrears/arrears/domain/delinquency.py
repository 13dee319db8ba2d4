"""Days past due and delinquency buckets, derived from dates alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from arrears.domain.loans import Instalment, Loan, LoanStatus


@dataclass(frozen=True, slots=True)
class DelinquencyBuckets:
    """Delinquency buckets by DPD: `(name, lowest DPD)` in ascending order, plus the charge-off DPD.

    Default: M0 = current, M1 = 1-30, M2 = 31-60, M3 = 61-90, M4+ = 91+; charge-off at 180 DPD.
    """

    buckets: tuple[tuple[str, int], ...] = (("M0", 0), ("M1", 1), ("M2", 31), ("M3", 61), ("M4+", 91))
    charge_off_dpd: int = 180

    def __post_init__(self) -> None:
        lows = [low for _, low in self.buckets]
        if not lows or lows[0] != 0 or lows != sorted(set(lows)):
            raise ValueError("bucket lower bounds must start at 0 and strictly increase")
        if self.charge_off_dpd <= 0:
            raise ValueError("charge_off_dpd must be positive")

    def bucket_for(self, dpd: int) -> str:
        name = self.buckets[0][0]
        for candidate, low in self.buckets:
            if dpd >= low:
                name = candidate
        return name

    @property
    def names(self) -> tuple[str, ...]:
        """The bucket names, lowest DPD first (M0, M1, ... M4+ by default)."""
        return tuple(name for name, _ in self.buckets)

    @property
    def boundaries(self) -> tuple[int, ...]:
        """DPD values at which a loan enters a new bucket (M1's 1 included)."""
        return tuple(low for _, low in self.buckets if low > 0)


DEFAULT_BUCKETS = DelinquencyBuckets()


def arrears_anchor(loan: Loan) -> Instalment | None:
    """The instalment collection is about: the first whose unpaid remainder, added to those of the
    instalments before it, is more than the product's arrears tolerance (None: nothing beyond it).

    With no tolerance it is the oldest unsettled instalment. With one, a small remainder left on an
    old instalment (one fen, a rounding) does not make the loan overdue or age it: the loan is judged
    from the instalment at which what is unpaid first exceeds the tolerance, in due-date order, which
    is the day the unpaid remainder as it stands would first have made the loan overdue.
    """
    tolerance = loan.terms.tolerance_minor
    unpaid = 0
    for instalment in loan.instalments:
        unpaid += instalment.outstanding
        if unpaid > tolerance:
            return instalment
    return None


def instalment_dpd(instalment: Instalment, on: date) -> int:
    """Days past due of one instalment on `on` (0 when settled or not yet late)."""
    if instalment.is_settled:
        return 0
    return max(0, (on - instalment.effective_due).days)


def loan_dpd(loan: Loan, on: date) -> int:
    """DPD of the loan on `on`: days since the arrears anchor's last on-time day (0 before it).

    A charged-off loan keeps the DPD it was charged off at.
    """
    if loan.status is LoanStatus.CHARGED_OFF and loan.charged_off_on is not None and on > loan.charged_off_on:
        on = loan.charged_off_on
    anchor = arrears_anchor(loan)
    return 0 if anchor is None else max(0, (on - anchor.effective_due).days)


def due_offset(loan: Loan, on: date) -> int | None:
    """Signed days from the arrears anchor's last on-time day (negative before it; None when none)."""
    anchor = arrears_anchor(loan)
    return None if anchor is None else (on - anchor.effective_due).days


def collection_instalment_of(loan: Loan) -> int:
    """The instalment in collection: the sequence number of the arrears anchor (0 when none).

    Its last on-time day anchors the strategy's offsets. Actions are keyed by it, so a cure followed by a
    new missed instalment starts over and its reminders are planned again; a partial payment keeps it.
    """
    anchor = arrears_anchor(loan)
    return 0 if anchor is None else anchor.seq


def charge_off_day(loan: Loan) -> date | None:
    """The day the loan reaches its product's charge-off DPD if nothing more is paid (None: never)."""
    anchor = arrears_anchor(loan)
    if anchor is None:
        return None
    return anchor.effective_due + timedelta(days=loan.terms.charge_off_dpd)
