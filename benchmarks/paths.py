"""`make bench` (the two paths): loan-days per CPU second of the moto path and of the fast path.

One book (`--loans`, `--days`, `--seed`) runs through the core loop (`localcloud.memory.run.CoreRun`)
twice in this process, one path after the other: on the moto local cloud, then on the in-memory
one (localcloud/memory). Each run's simulated days are timed in CPU seconds of this process (what a
loaded machine moves least); loading the book is timed apart. Both runs must end with the same
figures (`identical`; tests/integration/test_fast_path.py compares every table and the archive).

Writes `--out` (benchmarks/results-paths.json): per path, CPU seconds and loan-days per CPU second,
and the speed-up of the fast path.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

START = date(2026, 3, 1)


def measure(loans: int, days: int, seed: int) -> dict[str, Any]:
    from localcloud.aws_env import LOCAL_AWS_ENV, use_local_aws

    use_local_aws(LOCAL_AWS_ENV)
    from moto import mock_aws

    from localcloud.book import generate_book
    from localcloud.memory.run import CoreRun, in_memory, on_moto
    from localcloud.simulation import template_path
    from localcloud.stack import deploy

    paths: dict[str, Any] = {}
    figures: dict[str, Any] = {}
    with mock_aws():
        stack = deploy(template_path())
        for path in ("moto", "fast"):
            cloud, container = on_moto(stack, START) if path == "moto" else in_memory(stack, START, seed)
            run = CoreRun(cloud, container, generate_book(loans, seed, START), START)
            began = time.process_time()
            run.load()
            loaded = time.process_time()
            run.run(days)
            cpu = time.process_time() - loaded
            paths[path] = {
                "load_cpu_seconds": round(loaded - began, 2),
                "days_cpu_seconds": round(cpu, 2),
                "loan_days_per_cpu_second": round(loans * days / cpu, 1),
                "invocations": sum(cloud.counts.values()),
            }
            figures[path] = run.figures()
    return {
        "book": {"loans": loans, "days": days, "seed": seed, "start": START.isoformat()},
        "paths": paths,
        "fast_path_speedup": round(paths["moto"]["days_cpu_seconds"] / paths["fast"]["days_cpu_seconds"], 1),
        "identical": figures["moto"] == figures["fast"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.paths", description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, default=40)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results-paths.json"))
    args = parser.parse_args(argv)
    results = measure(args.loans, args.days, args.seed)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(json.dumps(results, indent=2, sort_keys=True))
    return 0 if results["identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
