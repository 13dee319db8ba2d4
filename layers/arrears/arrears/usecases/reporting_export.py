"""The reporting export: the `loans` and `transitions` rows the outcome report's SQL reads.

One export is a **snapshot** named by its business date: every loan of the Loans table as a `loans`
row, and every bucket transition of the DelinquencyHistory table as a `transitions` row, written as
gzipped JSON Lines parts (`ReportingSink`), then a completion marker with the row counts. The same
rows feed DuckDB locally (the demo downloads the snapshot into `out/data/`) and Athena in AWS
(`infrastructure/athena/reporting.sql` reads the latest complete snapshot), so the report's queries
(`tools/arrears_report/sql/`) run unchanged on both (docs/reporting.md).

Rows carry no borrower id and no personal data: reporting dimensions (jurisdiction, strategy arm,
disbursement date, currency), state (status, bucket, DPD) and money in integer minor units.
`balance_minor` is what the loan owes on the snapshot's date (`total_outstanding`: principal,
interest and penalty due, after every payment applied).

Re-running a snapshot rewrites the same parts (part names are positional) and the sink removes the
parts a previous run of the same snapshot wrote beyond this run's count, so a retried export leaves
exactly one copy of each row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial
from itertools import islice
from typing import Any, Protocol

from arrears.adapters.retrying import retry_transient
from arrears.domain.loans import Loan
from arrears.domain.penalties import total_outstanding

__all__ = [
    "PART_ROWS",
    "ExportOutcome",
    "ReportingSink",
    "export_reporting",
    "loan_row",
    "transition_rows",
]

PART_ROWS = 50_000
"""Rows per part: about 10 MB of JSON before compression, well inside a function's memory."""

Row = dict[str, Any]


class ReportingSink(Protocol):
    """Where a snapshot's parts go (adapters.reporting_store.ReportingStore in AWS)."""

    def write_part(self, table: str, snapshot: date, number: int, rows: list[Row]) -> None:
        """Write part `number` (0, 1, ...) of `table`'s rows for `snapshot`, replacing one of that name."""
        ...

    def drop_parts_from(self, table: str, snapshot: date, number: int) -> int:
        """Remove `table`'s parts of `snapshot` numbered `number` and above; how many were removed."""
        ...

    def complete(self, snapshot: date, counts: Mapping[str, int]) -> None:
        """Write the snapshot's completion marker (rows per table); readers take completed snapshots only."""
        ...


@dataclass(frozen=True, slots=True)
class ExportOutcome:
    """What an export wrote: rows and parts per table, and stale parts removed."""

    snapshot: date
    rows: dict[str, int]
    parts: dict[str, int]
    stale_parts_removed: int


def loan_row(loan: Loan, on: date) -> Row:
    """A loan as a `loans` row; `balance_minor` is what is owed on `on` (minor units)."""
    return {
        "loan_id": loan.loan_id,
        "jurisdiction": loan.jurisdiction,
        "strategy_arm": loan.strategy_arm,
        "disbursed_on": loan.disbursed_on.isoformat(),
        "currency": loan.currency,
        "principal_minor": loan.principal_minor,
        "status": loan.status.value,
        "bucket": loan.bucket,
        "dpd": loan.dpd,
        "charged_off_on": loan.charged_off_on.isoformat() if loan.charged_off_on else None,
        "recovered_minor": loan.recovered_minor,
        "balance_minor": total_outstanding(loan, on),
    }


def transition_rows(history_item: Mapping[str, Any]) -> list[Row]:
    """One DelinquencyHistory item's transitions (plain values) as `transitions` rows, in version order."""
    rows = [
        {
            "loan_id": history_item["loan_id"],
            "jurisdiction": history_item["jurisdiction"],
            "strategy_arm": history_item["strategy_arm"],
            "disbursed_on": history_item["disbursed_on"],
            "changed_on": raw["on"],
            "from_state": raw.get("from_state"),
            "to_state": raw["to_state"],
            "dpd": int(raw["dpd"]),
            "version": int(raw["version"]),
        }
        for raw in history_item.get("transitions", [])
    ]
    return sorted(rows, key=lambda row: row["version"])


def _parts(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while part := list(islice(iterator, size)):
        yield part


def export_reporting(
    snapshot: date,
    loans: Iterable[Loan],
    histories: Iterable[Mapping[str, Any]],
    sink: ReportingSink,
    part_rows: int = PART_ROWS,
) -> ExportOutcome:
    """Write the `loans` and `transitions` rows of `snapshot` to `sink`, then its completion marker.

    `loans`: every loan (open and closed); `histories`: every DelinquencyHistory item, plain values.
    Both are streamed: memory holds one part at a time. Raises whatever the sink raises (the
    snapshot then has no marker and readers keep the previous one)."""
    tables: dict[str, Iterable[Row]] = {
        "loans": (loan_row(loan, snapshot) for loan in loans),
        "transitions": (row for item in histories for row in transition_rows(item)),
    }
    rows: dict[str, int] = {}
    parts: dict[str, int] = {}
    stale = 0
    for table, table_rows in tables.items():
        rows[table] = parts[table] = 0
        for number, part in enumerate(_parts(table_rows, part_rows)):
            # Each write is idempotent (the same key and bytes), so a transient error retries it alone.
            retry_transient(partial(sink.write_part, table, snapshot, number, part))
            rows[table] += len(part)
            parts[table] = number + 1
        stale += retry_transient(partial(sink.drop_parts_from, table, snapshot, parts[table]))
    retry_transient(partial(sink.complete, snapshot, rows))
    return ExportOutcome(snapshot=snapshot, rows=rows, parts=parts, stale_parts_removed=stale)
