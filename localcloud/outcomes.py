"""After a run: export its reporting data, compute the outcome figures and write `report.html`.

Called by `simulation.run_demo` inside moto, once the archive is exported: it reads the Loans and
DelinquencyHistory tables (`localcloud.export`), runs the report's SQL on DuckDB over
`out/data/` and `out/archive/` (`arrears_report`), and writes `out/report.html`. What it returns is
summary.json's `outcomes` section: the per-jurisdiction, per-arm figures and the cost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import boto3

from arrears.adapters.items import plain
from arrears.adapters.tables import all_items
from arrears_report.report import build_figures, write_report
from localcloud.export import export_reporting_data


def _scan(table: str) -> list[dict[str, Any]]:
    return [plain(item) for item in all_items(boto3.resource("dynamodb").Table(table).scan)]


def write_outcomes(
    *,
    loans_table: str,
    history_table: str,
    out: Path,
    as_of: date,
    counted: Mapping[str, Any],
    invocations: int,
    run: Mapping[str, Any],
    behaviour: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Any]:
    """Export, compute, write `out/report.html`; the figures for summary.json (`report`: the file name).

    `behaviour`: per loan id, the reacting borrowers' counts (`ReactingBorrowers.per_loan`), summed
    here per jurisdiction and strategy arm for the report's contact-outcome rates."""
    loans = _scan(loans_table)
    exported = export_reporting_data(loans, _scan(history_table), out / "data", as_of)
    by_arm: dict[tuple[str, str], Counter[str]] = {}
    if behaviour is not None:
        for loan in loans:
            key = (str(loan["jurisdiction"]), str(loan.get("strategy_arm", "champion")))
            by_arm.setdefault(key, Counter()).update(behaviour.get(str(loan["loan_id"]), {}))
    figures = build_figures(
        out / "data",
        out / "archive",
        as_of=as_of,
        counted=counted,
        invocations=invocations,
        behaviour=by_arm if behaviour is not None else None,
    )
    write_report(figures, out / "report.html", run)
    per_jurisdiction = {
        jurisdiction: {
            "arms": {
                arm: {k: v for k, v in values.items() if k != "cure_curve"}
                for arm, values in block["arms"].items()
            },
            "cure_rate_against_champion": block["cure_rate_against_champion"],
            "roll_rate_m1_m2_against_champion": block["roll_rate_m1_m2_against_champion"],
            "roll_rates": block["roll_rates"]["rates"],
        }
        for jurisdiction, block in figures["per_jurisdiction"].items()
    }
    return {
        "report": "report.html",
        "exported_rows": exported,
        "as_of": figures["as_of"],
        "per_jurisdiction": per_jurisdiction,
        "recoveries": figures["recoveries"],
        "not_measured": figures["not_measured"],
        "cost": {
            k: figures["cost"][k] for k in ("total_usd", "usd_per_1000_loans", "usd_by_price", "not_priced")
        },
        "aws_requests": dict(counted),
    }


__all__ = ["write_outcomes"]
