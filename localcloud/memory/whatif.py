"""`arrears-whatif`: a large book through the core loop on the fast path, with the report.

    arrears-whatif --loans 20000 --days 180 --out what-if/

Runs `CoreRun` (localcloud.memory.run) over the in-memory cloud: the production handlers, use cases
and adapters over in-memory tables, queues, topics and bucket, routed with the moto path's own
semantics (tests/integration/test_fast_path.py holds the two paths equal on one book). Writes
`summary.json` (the run, its speed in loan-days per second, the figures, per jurisdiction and
strategy arm the cure and roll rates with 95 % Wilson intervals and the two-proportion z-test against
the champion) and `report.html` (tools/arrears_report, the demo's report), beside the exported
archive and reporting snapshot.

Not on the fast path (the full demo on moto has them): the dialer and the desk, replies by text, the
borrower API, erasure requests, the reacting borrowers' model (payments follow the book's fixed
schedule), injected faults, and the AWS request count behind the cost figures.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from moto import mock_aws

from localcloud.book import generate_book
from localcloud.memory.run import CoreRun, in_memory
from localcloud.simulation import template_path
from localcloud.stack import deploy


def export_archive(run: CoreRun, out: Path) -> int:
    """Every archive object written under `out/<key>` (the production key layout); how many."""
    objects = run.archive()
    for key, body in objects.items():
        target = out / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
    return len(objects)


def what_if(
    *, loans: int, days: int, seed: int, start: date, out: Path, progress: bool = True
) -> dict[str, Any]:
    """Run the book and write `out/summary.json` and `out/report.html`; returns the summary."""
    from localcloud.outcomes import write_outcomes

    out.mkdir(parents=True, exist_ok=True)
    with mock_aws():  # moto holds only the deployed names, the secrets and the parameters
        stack = deploy(template_path())
        cloud, container = in_memory(stack, start, seed, trim_streams=True)
        book = generate_book(loans, seed, start)
        began = time.perf_counter()
        run = CoreRun(cloud, container, book, start)
        run.load()
        loaded, cpu_loaded = time.perf_counter(), time.process_time()
        if progress:
            from localcloud.progress import DemoProgress

            with DemoProgress(start, days) as bar:
                run.run(days, bar)
        else:
            run.run(days)
        ran, cpu_ran = time.perf_counter(), time.process_time()
        archived = export_archive(run, out / "archive")
        end = start + timedelta(days=days - 1)
        summary_run = {
            "loans": len(book),
            "days": days,
            "seed": seed,
            "start": start.isoformat(),
            "end": (start + timedelta(days=days)).isoformat(),
            "path": "fast",
        }
        outcomes = write_outcomes(
            cloud=cloud,
            out=out,
            as_of=end,
            counted={},
            invocations=sum(cloud.counts.values()),
            run=summary_run,
            s3=container.client("s3"),
        )
        elapsed = time.perf_counter() - began
        simulated, cpu = ran - loaded, cpu_ran - cpu_loaded
        summary = {
            "run": summary_run,
            "speed": {
                "load_seconds": round(loaded - began, 1),
                "simulated_days_seconds": round(simulated, 1),
                "total_seconds": round(elapsed, 1),
                "loan_days_per_second": round(len(book) * days / simulated, 1) if simulated else None,
                # CPU time of this process: what a shared machine's load does not move.
                "simulated_days_cpu_seconds": round(cpu, 1),
                "loan_days_per_cpu_second": round(len(book) * days / cpu, 1) if cpu else None,
            },
            "figures": run.figures(),
            "archive_objects": archived,
            "outcomes": outcomes,
            "requests_served_in_memory": container.world.requests(),  # type: ignore[attr-defined]
            "not_on_the_fast_path": [
                "dialer and desk",
                "text replies",
                "borrower API",
                "erasure requests",
                "reacting borrowers",
                "fault injection",
                "AWS request count and cost",
            ],
        }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arrears-whatif", description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, default=2000, help="loans in the book (default: 2000)")
    parser.add_argument("--days", type=int, default=90, help="simulated days (default: 90)")
    parser.add_argument("--seed", type=int, default=7, help="the book's and the run's seed")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 3, 1), help="first day (ISO)")
    parser.add_argument("--out", type=Path, default=Path("whatif-out"), help="output folder")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    summary = what_if(
        loans=args.loans,
        days=args.days,
        seed=args.seed,
        start=args.start,
        out=args.out,
        progress=not args.no_progress,
    )
    speed = summary["speed"]
    print(
        f"arrears-whatif: {args.loans} loans x {args.days} days in {speed['total_seconds']} s "
        f"({speed['loan_days_per_cpu_second']} loan-days per CPU second); report: {args.out / 'report.html'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
