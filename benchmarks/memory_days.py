"""Peak memory of the demo against the number of simulated days, for one fixed small book.

The demo's memory must not grow with the days beyond what the book needs (its tables, its archive):
the local cloud keeps only what the summary and the checks read (localcloud.lean: consumed stream
records dropped, items past their DynamoDB TTL deleted; `keep_invocations=False`). Each length runs
the lean demo (`benchmarks.local_cloud`'s child: same book, seed and start) in a fresh interpreter,
one after the other; the figures are each run's peak RSS (from the kernel, summary and report
included), its CPU seconds, and their ratios to the first (shortest) run.

    python -m benchmarks.memory_days --loans 10 --days 40,80,120
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def run_days(days: int, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """One lean demo of `days` days in a new interpreter: its `total` (cpu_seconds, peak_rss_mib...)."""
    result = folder / f"{days}.json"
    command = [
        sys.executable,
        "-m",
        "benchmarks.local_cloud",
        "--child",
        "--config",
        "lean",
        "--child-out",
        str(folder / str(days)),
        "--loans",
        str(args.loans),
        "--days",
        str(days),
        "--seed",
        str(args.seed),
        "--start",
        args.start,
        "--checkpoints",
        str(days),  # none inside the run: only the total is read
        "--out",
        str(result),
    ]
    environment = {**os.environ, "PYTHONHASHSEED": str(args.seed)}
    subprocess.run(command, check=True, env=environment)  # noqa: S603 (this interpreter, fixed arguments)
    child: dict[str, Any] = json.loads(result.read_text())
    return {"total": child["total"], "ttl_expired": (child.get("local_cloud") or {}).get("ttl_expired")}


def memory_by_days(args: argparse.Namespace) -> dict[str, Any]:
    lengths = sorted(int(d) for d in args.days.split(","))
    with tempfile.TemporaryDirectory(prefix="arrears-memory-days-") as tmp:
        runs = {days: run_days(days, args, Path(tmp)) for days in lengths}
    first = runs[lengths[0]]["total"]
    return {
        "book": {"loans": args.loans, "seed": args.seed, "start": args.start},
        "by_days": {
            str(days): {
                "peak_rss_mib": run["total"]["peak_rss_mib"],
                "cpu_seconds": run["total"]["cpu_seconds"],
                "peak_rss_ratio": round(run["total"]["peak_rss_mib"] / first["peak_rss_mib"], 3),
                "cpu_ratio": round(run["total"]["cpu_seconds"] / first["cpu_seconds"], 3),
                "ttl_expired": run["ttl_expired"],
            }
            for days, run in runs.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arrears-bench-memory-days", description=__doc__)
    parser.add_argument("--loans", type=int, default=10)
    parser.add_argument("--days", default="40,80,120", help="run lengths, comma-separated")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", default="2026-03-01")
    parser.add_argument("--out", type=Path, help="also write the figures here (JSON)")
    args = parser.parse_args(argv)
    figures = memory_by_days(args)
    text = json.dumps(figures, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
