"""After a run: export its reporting data, compute the outcome figures and write `report.html`.

Called by `simulation.run_demo` inside moto, once the archive is exported: it has the stack's
reporting export function write a snapshot of the Loans and DelinquencyHistory tables and downloads
it into `out/data/` (`localcloud.export`), runs the report's SQL on DuckDB over `out/data/` and
`out/archive/` (`arrears_report`), and writes `out/report.html`. What it returns is
summary.json's `outcomes` section: the per-jurisdiction, per-arm figures and the cost.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from arrears_report.report import build_figures, write_report
from localcloud.cloud import LocalCloud
from localcloud.export import export_snapshot


def promise_summary(archive: Path) -> dict[str, int]:
    """summary.json's `promises`: the promise records Arrears archived (`promises/`, one per promise
    made, kept or broken, per loan): made, kept, broken, and made but not judged by the end."""
    counts: Counter[str] = Counter()
    for path in archive.glob("promises/**/*.json"):
        counts[str(json.loads(path.read_text())["event"])] += 1
    made, kept, broken = counts["made"], counts["kept"], counts["broken"]
    return {"made": made, "kept": kept, "broken": broken, "not_judged": max(0, made - kept - broken)}


def report_run(summary: Mapping[str, Any]) -> dict[str, Any]:
    """What report.html states beside its figures, from summary.json's sections: the run, its legal
    and bureau-file sections where the summary has them, and the compliance recount
    (`report_compliance`)."""
    run = {**summary["run"], **{key: summary[key] for key in ("legal", "bureau_files") if key in summary}}
    return {**run, "compliance": report_compliance(summary)}


def report_compliance(summary: Mapping[str, Any]) -> dict[str, Any]:
    """What report.html's "held back" section states beside its table, from summary.json's sections:
    the archive's recount of the call caps and the frequency limits (`dialer.*_from_archive`) and
    the figures the sends stated (`stated_figures`)."""
    caps = summary["dialer"]["call_caps_from_archive"]
    limits = summary["dialer"]["contact_limits_from_archive"]
    return {
        "call_attempts": caps["attempts"],
        "call_cap_violations": caps["violations_total"],
        "contacts_judged_by_limits": limits["contacts_judged"],
        "limit_violations": limits["violations_total"],
        "highest_count_by_rule": limits["highest_count_by_rule"],
        "stated": summary["stated_figures"],
    }


def write_outcomes(
    *,
    cloud: LocalCloud,
    out: Path,
    as_of: date,
    counted: Mapping[str, Any],
    invocations: int,
    run: Mapping[str, Any],
    s3: Any = None,
) -> dict[str, Any]:
    """Export, compute, write `out/report.html`; the figures for summary.json (`report`: the file name).
    `s3`: the client the reporting snapshot is read with (None: moto's). Every figure, the
    contact-outcome rates included, is read from the snapshot and the archive, as Athena reads
    them on a deployed stack."""
    exported = export_snapshot(cloud, as_of, out / "data", s3)
    return report_outcomes(
        out=out,
        as_of=as_of,
        exported=exported,
        counted=counted,
        invocations=invocations,
        run=run,
    )


def report_outcomes(
    *,
    out: Path,
    as_of: date,
    exported: Mapping[str, Any],
    counted: Mapping[str, Any],
    invocations: int,
    run: Mapping[str, Any],
    behaviour: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Any]:
    """`write_outcomes` after the export: the figures of `out/data/` and `out/archive/`, `report.html`,
    and summary.json's `outcomes` (`exported`: what `export_snapshot` answered). `behaviour`: per
    loan id, acts of modelled borrowers that never reached Arrears (the fast path's promises,
    complaints and opt-outs: `ReactingBorrowers.per_loan`), added per arm to the archive's counts."""
    with (out / "data" / "loans.jsonl").open() as lines:
        loans = [json.loads(line) for line in lines]
    by_arm: dict[tuple[str, str], Counter[str]] = {}
    for loan in loans:
        modelled = (behaviour or {}).get(str(loan["loan_id"]))
        if modelled:
            key = (str(loan["jurisdiction"]), str(loan.get("strategy_arm", "champion")))
            by_arm.setdefault(key, Counter()).update(modelled)
    figures = build_figures(
        out / "data",
        out / "archive",
        as_of=as_of,
        counted=counted,
        invocations=invocations,
        behaviour=by_arm,
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
        "exported_rows": exported["downloaded"],
        # The stack's reporting export wrote the snapshot the report reads (the same files Athena reads).
        # Split by Scan segment: the segments per table, their invocations and continuations.
        "reporting_snapshot": {
            k: exported[k] for k in ("snapshot", "rows", "parts", "stale_parts_removed", "segments")
        },
        "as_of": figures["as_of"],
        "per_jurisdiction": per_jurisdiction,
        "recoveries": figures["recoveries"],
        # Why borrowers said they were late: hardship and dispute reasons per arm (report.html).
        "reasons_given": figures["reasons"],
        "cost": {
            k: figures["cost"][k] for k in ("total_usd", "usd_per_1000_loans", "usd_by_price", "not_priced")
        },
        "aws_requests": dict(counted),
    }


__all__ = ["promise_summary", "report_outcomes", "write_outcomes"]
