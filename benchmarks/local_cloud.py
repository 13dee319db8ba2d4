"""`make bench` (the local cloud): CPU and peak memory of the demo, baseline against the lean local cloud.

The demo (`localcloud.simulation.run_demo`: the same book, seed and days) runs once per configuration,
each in a fresh interpreter started by this one, one after the other in the same bench run:

* `baseline`: moto's generic response serialiser and every stream record kept (`lean=False`);
* `lean`: moto's DynamoDB results written by `json.dumps` (localcloud.fast_responses) and the
  stream records every consumer has read dropped (localcloud.lean).

Each child reports its CPU seconds (user + system, its own and its subprocesses') and its resident
memory (current and peak, from the kernel) at checkpoint days (default 10, 20 and 30 of 40) and at
the end of the run (summary, invariants, report included). The figures that matter are the ratios and the
growth between checkpoints measured in the same bench run (the machine's load moves absolute
seconds, not much their ratio), never a timed test. Both runs' summary.json must be identical but for
the timings, and their archives hold the same objects with the same records (`identical`).

Also reports the lean run's AWS requests per loan-day, by service and by handler
(`aws_requests_per_loan_day`: `localcloud.requests.per_loan_day` over the requests the handlers made).

Writes `--out` (benchmarks/results-local-cloud.json). `--profile FILE` profiles the lean child with
cProfile (process CPU time) instead of comparing.

A large book's pair (the default demo: `--loans 200 --days 60`, some six minutes of CPU a run) need
not be run whole each time: `--baseline FILE` takes the baseline run from an earlier results file of
the same book, seed and days (its `runs.baseline`, summary and archive included) and runs only the
lean child, so a change to the lean local cloud is measured at that size for half the CPU (the ratio
then spans two bench runs: read it with the machine's load in mind). `--parallel` runs the two
children at once (the same CPU, half the wall time, on a machine with two idle cores).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from localcloud.lean import archive_layout, differences, without_timings

CONFIGS = {"baseline": False, "lean": True}
"""Configuration name -> `run_demo(lean=...)`."""


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_s() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def child(args: argparse.Namespace) -> dict[str, Any]:
    """One demo run in this process; returns its checkpoints, totals, summary and archive digest."""
    from localcloud.aws_env import use_local_aws

    use_local_aws()
    from localcloud.simulation import run_demo

    start = date.fromisoformat(args.start)
    begin = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    # Checkpoints inside the simulated days only; `total` is read after the summary, report and checks.
    pending = sorted(int(d) for d in args.checkpoints.split(",") if int(d) < args.days)
    checkpoints: list[dict[str, Any]] = []
    cpu0 = _cpu_s()

    def progress(moment: datetime) -> None:
        while pending and moment >= begin + timedelta(days=pending[0]):
            checkpoints.append(
                {
                    "day": pending.pop(0),
                    "cpu_seconds": round(_cpu_s() - cpu0, 2),
                    "rss_mib": round(_rss_mib(), 1),
                    "peak_rss_mib": round(_peak_mib(), 1),
                }
            )

    out = Path(args.child_out)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    summary = run_demo(
        out=out,
        loans=args.loans,
        days=args.days,
        seed=args.seed,
        start=start,
        progress=progress,
        lean=CONFIGS[args.config],
    )
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    return {
        "config": args.config,
        "checkpoints": checkpoints,
        "total": {
            "cpu_seconds": round(_cpu_s() - cpu0, 2),
            "rss_mib": round(_rss_mib(), 1),
            "peak_rss_mib": round(_peak_mib(), 1),
        },
        "summary": without_timings(summary),
        "local_cloud": summary.get("local_cloud"),
        "archive_layout": archive_layout(out / "archive"),
    }


def _spawn(config: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    result = folder / f"{config}.json"
    command = [
        sys.executable,
        "-m",
        "benchmarks.local_cloud",
        "--child",
        "--config",
        config,
        "--child-out",
        str(folder / config),
        "--loans",
        str(args.loans),
        "--days",
        str(args.days),
        "--seed",
        str(args.seed),
        "--start",
        args.start,
        "--checkpoints",
        args.checkpoints,
        "--out",
        str(result),
    ]
    if args.profile:
        command += ["--profile", args.profile]
    # One hash seed for both children: iteration orders of sets of strings (and what a run batches
    # together) then match, so a difference between the runs is the configuration's.
    environment = {**os.environ, "PYTHONHASHSEED": str(args.seed)}
    subprocess.run(command, check=True, env=environment)  # noqa: S603 (this module, fixed arguments)
    loaded: dict[str, Any] = json.loads(result.read_text())
    return loaded


def earlier_baseline(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The baseline run of an earlier results file (`--baseline`); refused unless it is the same book,
    seed, start and days as this run and holds the run's summary and archive (a results file written
    since the option exists)."""
    earlier = json.loads(path.read_text())
    book = {"loans": args.loans, "days": args.days, "seed": args.seed, "start": args.start}
    if earlier.get("book") != book:
        raise SystemExit(f"{path}: its book {earlier.get('book')} is not this run's {book}")
    run: dict[str, Any] = earlier["runs"]["baseline"]
    if "summary" not in run:
        raise SystemExit(f"{path}: no baseline summary to compare with (written before --baseline existed)")
    return run


def _runs(args: argparse.Namespace, folder: Path) -> dict[str, dict[str, Any]]:
    """Both configurations' runs: spawned one after the other, at once (`--parallel`), or the lean
    one only with the baseline taken from an earlier results file (`--baseline`)."""
    if args.baseline:
        return {"baseline": earlier_baseline(args.baseline, args), "lean": _spawn("lean", args, folder)}
    if not args.parallel:
        return {config: _spawn(config, args, folder) for config in CONFIGS}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(CONFIGS)) as pool:
        futures = {config: pool.submit(_spawn, config, args, folder) for config in CONFIGS}
        return {config: future.result() for config, future in futures.items()}


def requests_per_loan_day(summary: dict[str, Any], days: int) -> dict[str, Any]:
    """AWS requests per loan-day of a run's summary, by service and by handler (`localcloud.requests`);
    the loans are every loan the run ended with (the book's and those disbursed during it)."""
    from localcloud.requests import per_loan_day

    loans = sum(int(n) for n in summary["loans_by_bucket"].values())
    return per_loan_day(summary["outcomes"]["aws_requests"], loans, days)


def compare(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """CPU ratio lean/baseline per checkpoint and in total; memory growth between checkpoints."""
    base, lean = runs["baseline"], runs["lean"]
    by_day = {c["day"]: c for c in base["checkpoints"]}
    ratios = {
        str(c["day"]): round(c["cpu_seconds"] / by_day[c["day"]]["cpu_seconds"], 3)
        for c in lean["checkpoints"]
        if c["day"] in by_day and by_day[c["day"]]["cpu_seconds"]
    }

    def growth(run: dict[str, Any]) -> float | None:
        points = run["checkpoints"]
        if len(points) < 2 or points[-1]["day"] == points[0]["day"]:
            return None
        first, last = points[0], points[-1]
        grown = float(last["peak_rss_mib"]) - float(first["peak_rss_mib"])
        return round(grown / (int(last["day"]) - int(first["day"])), 2)

    return {
        "cpu_ratio_lean_to_baseline_by_day": ratios,
        "cpu_ratio_lean_to_baseline_total": round(
            lean["total"]["cpu_seconds"] / base["total"]["cpu_seconds"], 3
        ),
        "peak_rss_growth_mib_per_day": {"baseline": growth(base), "lean": growth(lean)},
        "identical": {
            "summary": base["summary"] == lean["summary"],
            "archive": base["archive_layout"] == lean["archive_layout"],
        },
        "summary_differs_in": differences(base["summary"], lean["summary"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arrears-bench-local-cloud", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results-local-cloud.json"))
    parser.add_argument("--loans", type=int, default=40)
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", default="2026-03-01")
    parser.add_argument(
        "--checkpoints", default="10,20,30", help="days before --days to read CPU and memory at"
    )
    parser.add_argument("--profile", help="cProfile the lean run into this file (no comparison)")
    parser.add_argument(
        "--baseline", type=Path, help="take the baseline run from this earlier results file (same book)"
    )
    parser.add_argument("--parallel", action="store_true", help="run both configurations at once")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="lean", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.out.write_text(json.dumps(child(args), indent=2) + "\n")
        return 0
    with tempfile.TemporaryDirectory(prefix="arrears-local-cloud-") as tmp:
        folder = Path(tmp)
        if args.profile:
            run = _spawn("lean", args, folder)
            print(json.dumps(run["total"]))
            return 0
        runs = _runs(args, folder)
    figures = {
        "book": {"loans": args.loans, "days": args.days, "seed": args.seed, "start": args.start},
        # The lean run's counted requests per loan-day (both runs make the same ones: `identical`).
        "aws_requests_per_loan_day": requests_per_loan_day(runs["lean"]["summary"], args.days),
        "runs": {
            name: {
                "checkpoints": run["checkpoints"],
                "total": run["total"],
                "local_cloud": run.get("local_cloud"),
                # what a later `--baseline` run compares its summary and archive with
                **(
                    {"summary": run["summary"], "archive_layout": run["archive_layout"]}
                    if name == "baseline"
                    else {}
                ),
            }
            for name, run in runs.items()
        },
        "baseline_from": str(args.baseline) if args.baseline else None,
        **compare(runs),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps({k: v for k, v in figures.items() if k != "runs"}, indent=2))
    rates = figures["aws_requests_per_loan_day"]
    print(
        f"AWS requests per loan-day: {rates['total']} ({rates['by_service']}); "
        f"by handler {rates['by_handler']}"
    )
    return 0 if all(figures["identical"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
