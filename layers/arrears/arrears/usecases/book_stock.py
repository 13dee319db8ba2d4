"""The open-loan stock from flows: the daily `OpenLoans` from the transition counters, and the periodic
reconciliation that checks them against a census of the Loans table.

The planner counts every bucket transition as it records it (`record_transition`; the counters are
`arrears.adapters.book_stock`), so the stock per (jurisdiction, bucket) costs two small writes per
change of state and nothing per day: the sweep's start (`arrears.usecases.sweep_start`) reads the
stock items (one Query), emits one `OpenLoans` per jurisdiction and bucket (the stock at the close of
the previous business date), and sizes the day's fan-out from the open loans.

Every `census_interval_days` (the template's CensusIntervalDays; 7 by default, 0 never) the sweep's
start also keeps that stock in the date's run record and counts each shard before sweeping it
(`arrears.usecases.census`); the worker whose census completes the date's last shard compares the
census (open loans per jurisdiction and bucket, summed over the shards) with the kept stock, reports
each difference (`StockDrift`, a log line of jurisdictions, buckets and counts) and ADDs it to the
stock, so a count lost between a history append and its counter write (a crash in between) is
corrected. A loan event that lands between the stock's read and its shard's count (a payment at
00:30) can show as a difference of one, which the next reconciliation undoes; the demo has none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from arrears.domain.transitions import is_open_state
from arrears.usecases.census import CensusRow

Counts = dict[tuple[str, str], int]


class StockReader(Protocol):
    def stock(self) -> Counts: ...


class StockStore(Protocol):
    def add_stock(self, deltas: Mapping[tuple[str, str], int]) -> None: ...


def is_census_day(run_date: date, interval_days: int) -> bool:
    """Whether the sweep of `run_date` is followed by the reconciliation census: every
    `interval_days` days counted from 0001-01-01 (a fixed weekday when 7), never when 0."""
    return interval_days > 0 and run_date.toordinal() % interval_days == 0


def open_stock(stock: Mapping[tuple[str, str], int]) -> Counts:
    """The open buckets of a stock (CLOSED and CHARGED_OFF, the loans that left, are dropped)."""
    return {key: n for key, n in stock.items() if is_open_state(key[1])}


def open_loan_rows(stock: Mapping[tuple[str, str], int]) -> list[CensusRow]:
    """The `OpenLoans` rows of a stock: one per open (jurisdiction, bucket) it has ever counted, 0
    included (a bucket every loan has left), sorted."""
    return [CensusRow(j, b, int(n)) for (j, b), n in sorted(open_stock(stock).items())]


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """A census against the stock: `drift` is census minus stock per (jurisdiction, bucket), only the
    pairs that differ; `corrected` when the differences were added to the stock."""

    business_date: date
    census_total: int
    stock_total: int
    drift: Mapping[tuple[str, str], int]
    corrected: bool

    @property
    def absolute_drift(self) -> int:
        """Σ |census - stock| over the pairs (0: the stock from flows is exact)."""
        return sum(abs(n) for n in self.drift.values())


def reconcile(
    business_date: date,
    census: Mapping[tuple[str, str], int],
    snapshot: Mapping[tuple[str, str], int],
    stock: StockStore,
    *,
    correct: bool = True,
) -> Reconciliation:
    """Compare the census of the whole book with `snapshot`, the stock from flows read when the
    date's sweep started (before any shard was counted or swept); ADD the differences to the stock
    when `correct` (the census, a read of the table itself, is the truth; a delta is right whatever
    the stock counted since the snapshot)."""
    counted = open_stock(snapshot)
    pairs: Iterable[tuple[str, str]] = sorted({*census, *counted})
    drift = {p: int(census.get(p, 0)) - counted.get(p, 0) for p in pairs}
    drift = {p: n for p, n in drift.items() if n}
    if drift and correct:
        stock.add_stock(drift)
    return Reconciliation(
        business_date,
        census_total=sum(census.values()),
        stock_total=sum(counted.values()),
        drift=drift,
        corrected=bool(drift) and correct,
    )


__all__ = [
    "Reconciliation",
    "StockReader",
    "StockStore",
    "is_census_day",
    "open_loan_rows",
    "open_stock",
    "reconcile",
]
