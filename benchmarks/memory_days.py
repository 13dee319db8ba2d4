"""Peak memory of the demo against the number of simulated days, for one fixed small book.

The demo's memory must not grow with the days beyond what the book needs (its tables, its archive):
the local cloud keeps only what the summary and the checks read (localcloud.lean: consumed stream
records dropped, items past their DynamoDB TTL deleted; `keep_invocations=False`). Each length runs
the lean demo (`benchmarks.local_cloud`'s child: same book, seed and start) in a fresh interpreter,
one after the other; the figures are each run's peak RSS (from the kernel, summary and report
included), its CPU seconds, and their ratios to the first (shortest) run.

    python -m benchmarks.memory_days --loans 10 --days 40,80,120

`--sites FROM,TO` instead runs one lean demo of TO + 1 days in this interpreter under `tracemalloc`
and lists the allocation sites whose live memory grew most between simulated days FROM and TO (each
with the first frame of the local cloud or Arrears that led to it), and the traced peak from day TO to
the end of the run (summary, report and checks): what grows with the days, by whom.
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


def _site(trace: Any) -> tuple[str, str]:
    """(innermost frame, first frame of this repository's code) of a traceback, as `file:line`."""
    frames = list(trace)  # most recent first (tracemalloc's order)
    inner = f"{frames[0].filename.split('site-packages/')[-1]}:{frames[0].lineno}"
    ours = next(
        (
            f"{f.filename.split('/wt/')[-1].split('/', 1)[-1]}:{f.lineno}"
            for f in frames
            if "site-packages" not in f.filename and "/lib/python" not in f.filename
        ),
        "",
    )
    return inner, ours


def growth_sites(args: argparse.Namespace) -> dict[str, Any]:
    """One lean demo under tracemalloc: the sites whose live memory grew most between two days."""
    import gc
    import tracemalloc
    from datetime import UTC, date, datetime, timedelta

    from localcloud.aws_env import use_local_aws

    use_local_aws()
    from localcloud.simulation import run_demo

    first, last = (int(d) for d in args.sites.split(","))
    start = date.fromisoformat(args.start)
    begin = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    pending = [first, last]
    snapshots: dict[int, Any] = {}
    traced: dict[str, float] = {}

    def progress(moment: datetime) -> None:
        if pending and moment >= begin + timedelta(days=pending[0]):
            day = pending.pop(0)
            gc.collect()
            snapshots[day] = tracemalloc.take_snapshot()
            traced[f"day_{day}_mib"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 1)
            tracemalloc.reset_peak()

    tracemalloc.start(args.frames)
    with tempfile.TemporaryDirectory(prefix="arrears-memory-sites-") as tmp:
        run_demo(
            out=Path(tmp), loans=args.loans, days=last + 1, seed=args.seed, start=start, progress=progress
        )
    traced["peak_after_last_day_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    tracemalloc.stop()
    grown: dict[tuple[str, str], int] = {}
    for stat in snapshots[last].compare_to(snapshots[first], "traceback"):
        if stat.size_diff:
            site = _site(stat.traceback)
            grown[site] = grown.get(site, 0) + stat.size_diff
    top = sorted(grown.items(), key=lambda kv: -kv[1])[: args.top]
    return {
        "book": {"loans": args.loans, "seed": args.seed, "start": args.start, "days": [first, last]},
        "traced": traced,
        "grown_kib_per_day_total": round(sum(grown.values()) / 1024 / (last - first), 1),
        "sites": [
            {"kib_per_day": round(size / 1024 / (last - first), 1), "at": inner, "from": ours}
            for (inner, ours), size in top
        ],
    }


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
    parser.add_argument("--sites", help="FROM,TO: the allocation sites that grew between these days")
    parser.add_argument("--frames", type=int, default=12, help="with --sites: frames kept per allocation")
    parser.add_argument("--top", type=int, default=30, help="with --sites: how many sites to list")
    args = parser.parse_args(argv)
    figures = growth_sites(args) if args.sites else memory_by_days(args)
    text = json.dumps(figures, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
