"""Cold import of every Lambda handler against the floor, measured in fresh interpreters.

The floor is what any Python function on Lambda with this stack pays before its own code runs:
`import boto3` and a Powertools `Logger`. Each handler's cold import is the time to import its
`functions/<name>/app.py` (module-level code included: settings, telemetry, the container) in a
new interpreter with the layer on `sys.path`, as Lambda's init phase does. Runs are paired: every
round measures the floor and then each handler, in new processes, one after another in the same
session, so a busy machine slows both sides of a ratio alike; the ratio reported is the median of
the per-round ratios (and the medians of the times, for reference). Times are the interpreter's CPU
time for the import (`PROBE`), which a shared machine's load moves far less than wall-clock time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"

# What every function's environment holds (template.yaml Globals and the per-function variables);
# names only, nothing is called at import.
ENVIRONMENT = {
    "LOANS_TABLE": "loans",
    "BORROWERS_TABLE": "borrowers",
    "ACTIONS_TABLE": "actions",
    "CONTACTS_TABLE": "contacts",
    "IDEMPOTENCY_TABLE": "idempotency",
    "ARCHIVE_CHAIN_TABLE": "archive-chain",
    "PAYMENTS_TABLE": "payments",
    "REMINDERS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:reminders",
    "FIELD_VISIT_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/field",
    "ARCHIVE_BUCKET": "archive",
    "ARCHIVE_KMS_KEY_ID": "alias/archive",
    "TOKEN_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:token",
    "SWEEP_TASKS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/sweep",
    "SWEEP_RUNS_TABLE": "sweep-runs",
    "CONTACT_CAPS_TABLE": "caps",
    "CALL_TASK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/calls",
    "OPT_OUT_LINK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:opt-out-link",
    "EMAIL_OPT_OUT_URL": "https://example.lambda-url.us-east-1.on.aws/",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Arrears",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_EC2_METADATA_DISABLED": "true",
}

FLOOR = "import boto3\nfrom aws_lambda_powertools import Logger\nLogger(service='bench')\n"

PROBE = """
import sys, time
began = time.process_time()
{code}
print(time.process_time() - began)
"""
"""The import's CPU time (user + system of the interpreter): an import is CPU-bound once its files are
in the page cache, and CPU time is not inflated by other processes' load as wall-clock time is."""


def _handler_code(name: str) -> str:
    path = FUNCTIONS / name / "app.py"
    return (
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('app', {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
    )


def _seconds(code: str) -> float:
    env = {**os.environ, **ENVIRONMENT, "PYTHONPATH": f"{ROOT / 'layers' / 'arrears'}:{ROOT}"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # byte code cached, as in a deployed layer
    out = subprocess.run(  # noqa: S603 (this interpreter, with code written here)
        [sys.executable, "-c", PROBE.format(code=code)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return float(out.stdout.strip().splitlines()[-1])


def handlers() -> list[str]:
    return sorted(p.parent.name for p in FUNCTIONS.glob("*/app.py"))


def cold_import_section(rounds: int = 5, names: list[str] | None = None) -> dict[str, Any]:
    """Per handler: median cold import (ms), median floor (ms) and the median of paired ratios."""
    names = names or handlers()
    for name in names:  # compile every module once, so no round pays for byte-compiling
        _seconds(_handler_code(name))
    floors: list[float] = []
    times: dict[str, list[float]] = {n: [] for n in names}
    ratios: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(rounds):
        floor = _seconds(FLOOR)
        floors.append(floor)
        for name in names:
            took = _seconds(_handler_code(name))
            times[name].append(took)
            ratios[name].append(took / floor)
    return {
        "rounds": rounds,
        "floor_ms": round(median(floors) * 1000, 1),
        "floor": "import boto3 + Powertools Logger, in a new interpreter",
        "handlers": {
            name: {
                "ms": round(median(times[name]) * 1000, 1),
                "ratio_to_floor": round(median(ratios[name]), 3),
            }
            for name in names
        },
        "max_ratio": round(max(median(ratios[n]) for n in names), 3) if names else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arrears-bench-cold-import", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("names", nargs="*", help="handlers (default: all of functions/)")
    args = parser.parse_args(argv)
    print(json.dumps(cold_import_section(args.rounds, args.names or None), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
