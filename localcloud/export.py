"""Export a run's reporting data: the files the report's SQL reads (`arrears_report.tables`).

`out/data/loans.jsonl` (one line per loan: reporting dimensions, final state and money, no borrower
id and no personal data) and `out/data/transitions.jsonl` (one line per bucket transition, from the
DelinquencyHistory table); the contacts are the archive itself (`out/archive/contacts/...`, exported
by `simulation.export_archive`). In AWS the same files sit under the archive bucket's `reporting/`
prefix for Athena (infrastructure/athena/reporting.sql).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from arrears.adapters.items import loan_from_item
from arrears.domain.penalties import total_outstanding


def loan_row(item: Mapping[str, Any], on: date) -> dict[str, Any]:
    """A Loans table item (plain values) as a `loans` row; `balance_minor` is what is owed on `on`."""
    loan = loan_from_item(item)
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


def transition_rows(history_item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The transitions of one DelinquencyHistory item as `transitions` rows, in version order."""
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


def _write(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def export_reporting_data(
    loans: Iterable[Mapping[str, Any]], history: Iterable[Mapping[str, Any]], out: Path, on: date
) -> dict[str, int]:
    """Write `out/loans.jsonl` and `out/transitions.jsonl`; the number of rows of each."""
    loan_rows = sorted((loan_row(item, on) for item in loans), key=lambda row: row["loan_id"])
    transitions = [
        row for item in sorted(history, key=lambda i: str(i["loan_id"])) for row in transition_rows(item)
    ]
    return {
        "loans": _write(out / "loans.jsonl", loan_rows),
        "transitions": _write(out / "transitions.jsonl", transitions),
    }


__all__ = ["export_reporting_data", "loan_row", "transition_rows"]
