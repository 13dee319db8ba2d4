"""`make bench` (fault runs): the demo's pipeline under injected faults, against the fault-free run.

For each rate in `--rates` (default 5 % and 10 %), the same book and seed run through the real
handlers on moto with that share of the handlers' AWS calls failing before the request, the same
share failing after the service applied it, and the same share of invocations killed mid-way
(`localcloud.faults`); then the operator's redrive and the invariants (`localcloud.invariants`).
The fault-free run of the same seed is the reference: the loan side (money paid in, loans by
bucket) must be identical; the contact side may differ only by what the faults legitimately delay
or leave unconfirmed.

The runs are independent: `--workers N` (default 3, one per run) runs them in separate processes
(spawned, so each has its own moto), and the figures are the same as in one process.

Writes `--out` (benchmarks/results-faults.json): per run, the faults injected by kind and service,
duplicates, sends without effect, unconfirmed sends, archive against records, CPU and wall time.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from localcloud.faults import FaultPlan
from localcloud.simulation import run_demo


def _figures(summary: dict[str, Any], wall_s: float, cpu_s: float) -> dict[str, Any]:
    invariants = summary["invariants"]
    return {
        "invariants_ok": invariants["ok"],
        "broken": invariants["broken"],
        "faults": summary["faults"],
        "effects": invariants["effects"],
        "actions": invariants["actions"],
        "archive": invariants["archive"],
        "failure_queues_after_redrive": invariants["failure_queues_after_redrive"],
        "money": invariants["money"],
        "loans_by_bucket": summary["loans_by_bucket"],
        "contacts_by_channel_and_outcome": summary["contacts_by_channel_and_outcome"],
        "wall_seconds": round(wall_s, 1),
        "cpu_seconds": round(cpu_s, 1),
    }


def _run(
    loans: int, days: int, seed: int, start: date, plan: FaultPlan | None, keep: Path | None = None
) -> dict[str, Any]:
    """One demo run's figures; its output folder (summary, archive, logs) is kept under `keep` when
    given (`keep/<rate>`, where a broken invariant's ids can be looked up), else thrown away."""
    with tempfile.TemporaryDirectory(prefix="arrears-faults-") as scratch:
        folder = Path(scratch) if keep is None else keep / f"{plan.rate if plan else 0:g}"
        wall, cpu = time.perf_counter(), time.process_time()
        summary = run_demo(out=folder, loans=loans, days=days, seed=seed, start=start, faults=plan)
        return _figures(summary, time.perf_counter() - wall, time.process_time() - cpu)


def compare(reference: dict[str, Any], faulted: dict[str, Any]) -> dict[str, Any]:
    """What the faulted run must share with the fault-free one, and how its contacts differ."""
    outcomes = set(reference["contacts_by_channel_and_outcome"]) | set(
        faulted["contacts_by_channel_and_outcome"]
    )
    return {
        "money_paid_in_identical": reference["money"]["paid_in_minor"] == faulted["money"]["paid_in_minor"],
        "loans_by_bucket_identical": reference["loans_by_bucket"] == faulted["loans_by_bucket"],
        "contact_outcome_differences": {
            key: faulted["contacts_by_channel_and_outcome"].get(key, 0)
            - reference["contacts_by_channel_and_outcome"].get(key, 0)
            for key in sorted(outcomes)
            if faulted["contacts_by_channel_and_outcome"].get(key, 0)
            != reference["contacts_by_channel_and_outcome"].get(key, 0)
        },
    }


def _write(out: Path, book: dict[str, Any], runs: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"book": book, "runs": runs}, indent=2, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fault-seed", type=int, default=1)
    parser.add_argument("--rates", default="0.05,0.10", help="comma-separated fault rates")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 3, 1))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results-faults.json"))
    parser.add_argument("--workers", type=int, default=3, help="runs in parallel processes")
    parser.add_argument("--keep", type=Path, help="keep each run's output folder here (KEEP/<rate>)")
    args = parser.parse_args(argv)
    book = {
        "loans": args.loans,
        "days": args.days,
        "seed": args.seed,
        "fault_seed": args.fault_seed,
        "rates": args.rates,
    }
    rates = [float(r) for r in args.rates.split(",") if r]
    plans: dict[str, FaultPlan | None] = {"0": None} | {
        f"{rate:g}": FaultPlan(rate, args.fault_seed) for rate in rates
    }
    runs: dict[str, Any] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, args.workers), mp_context=context) as pool:
        futures: dict[str, Future[dict[str, Any]]] = {
            key: pool.submit(_run, args.loans, args.days, args.seed, args.start, plan, args.keep)
            for key, plan in plans.items()
        }
        reference = futures["0"].result()
        runs["0"] = reference
        _write(args.out, book, runs)  # after each run: a long bench stopped early keeps what it measured
        print(f"fault-free: {reference['cpu_seconds']} s CPU, {reference['wall_seconds']} s wall", flush=True)
        for key in list(plans)[1:]:
            faulted = futures[key].result()
            verdict = "hold" if faulted["invariants_ok"] else "BROKEN " + ",".join(faulted["broken"])
            runs[key] = {**faulted, "against_fault_free": compare(reference, faulted)}
            _write(args.out, book, runs)
            print(
                f"faults {float(key):.0%}: {faulted['faults']['injected_total']} injected, "
                f"{faulted['effects']['duplicates']} duplicates, "
                f"{faulted['effects']['sent_without_effect']} sent without effect, "
                f"{faulted['effects']['sent_unconfirmed_not_delivered']} unconfirmed not delivered, "
                f"archive {faulted['archive']['records_archived']}/{faulted['archive']['contact_records']}, "
                f"invariants {verdict}, "
                f"{faulted['cpu_seconds']} s CPU",
                flush=True,
            )
    ok = all(run["invariants_ok"] for run in runs.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
