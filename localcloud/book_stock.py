"""The demo's view of the stock from flows: what the counters hold at the end of the run, against the
Loans table itself, and what the census days' reconciliations found (their `StockDrift` metrics)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import boto3

from arrears.adapters.book_stock import BookStockRepository
from arrears.usecases.book_stock import open_stock
from localcloud.emf import MetricPoint


def book_stock_summary(
    stock_table: str, loans: Iterable[Mapping[str, Any]], points: Iterable[MetricPoint]
) -> dict[str, Any]:
    """`open_loans` per jurisdiction and bucket from the counters, `matches_table` (the same counts
    as the open loans of the Loans table at the end of the run), and each reconciliation: its
    business time and drift (0 in a clean run)."""
    counted = open_stock(BookStockRepository(boto3.resource("dynamodb").Table(stock_table)).stock())
    table: Counter[tuple[str, str]] = Counter(
        (str(loan["jurisdiction"]), str(loan["bucket"])) for loan in loans if loan["status"] == "OPEN"
    )
    by_jurisdiction: dict[str, dict[str, int]] = {}
    for (jurisdiction, bucket), n in sorted(counted.items()):
        by_jurisdiction.setdefault(jurisdiction, {})[bucket] = n
    reconciliations = [
        {
            "business_time": datetime.fromtimestamp(p.timestamp_ms / 1000, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "drift": int(p.value),
        }
        for p in points
        if p.name == "StockDrift"
    ]
    return {
        "open_loans": by_jurisdiction,
        "total": sum(counted.values()),
        "matches_table": +Counter(counted) == +table,
        "reconciliations": reconciliations,
        "drift_total": sum(r["drift"] for r in reconciliations),
    }


def _utc(timestamp_ms: int) -> str:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["book_stock_summary"]
