"""Days past due and delinquency buckets, derived from dates alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from arrears.domain.loans import Instalment, Loan


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


def instalment_dpd(instalment: Instalment, on: date) -> int:
    """Days past due of one instalment on `on` (0 when settled or not yet due)."""
    if instalment.is_settled:
        return 0
    return max(0, (on - instalment.due_on).days)


def loan_dpd(loan: Loan, on: date) -> int:
    """DPD of the loan: that of its oldest unsettled instalment."""
    oldest = loan.oldest_unsettled
    return 0 if oldest is None else instalment_dpd(oldest, on)


def due_offset(loan: Loan, on: date) -> int | None:
    """Signed days from the oldest unsettled instalment's due date (negative before it)."""
    oldest = loan.oldest_unsettled
    return None if oldest is None else (on - oldest.due_on).days


def collection_instalment_of(loan: Loan) -> int:
    """The instalment in collection: the sequence number of the oldest unsettled instalment (0 when none).

    Its due date anchors the strategy's offsets. Actions are keyed by it, so a cure followed by a
    new missed instalment starts over and its reminders are planned again; a partial payment keeps it.
    """
    oldest = loan.oldest_unsettled
    return 0 if oldest is None else oldest.seq
