"""What a handler's cold import leaves out: libraries and other handlers' use cases it does not need
at import (not timed; `benchmarks/cold_import.py` measures the time against the floor).

Each handler module is imported in a new interpreter with its environment, as Lambda's init phase
does, and the modules it loaded are listed. Whatever is imported on first use instead (the phone
number library, the collection playbook's models, other functions' use cases) must stay out, or
every cold start of that function pays for it again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from benchmarks.cold_import import ENVIRONMENT, FUNCTIONS, ROOT, handlers

PROBE = """
import importlib.util, json, sys
before = set(sys.modules)
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(set(sys.modules) - before)))
"""

NEVER_AT_IMPORT = ("phonenumbers",)
"""Imported by no handler at import: parsed numbers come with the first contact or message."""

NOT_IN_THE_DISPATCHER = (
    "arrears.config.playbook",  # the collection policy's pydantic models: the planner's
    "yaml",
    "arrears.usecases.census",
    "arrears.usecases.sweep",
    "arrears.usecases.planning",
    "arrears.usecases.payments",
    "arrears.usecases.archiving",
    "arrears.usecases.call_outcomes",
    "arrears.adapters.payments_ledger",
    "arrears.adapters.sweep_runs",
    "arrears.adapters.delinquency_history",
    "aws_lambda_powertools.utilities.idempotency",  # the send outbox is the dispatcher's own
)


def imported_by(name: str) -> set[str]:
    env = {**os.environ, **ENVIRONMENT, "PYTHONPATH": f"{ROOT / 'layers' / 'arrears'}:{ROOT}"}
    out = subprocess.run(  # noqa: S603 (this interpreter, with code written here)
        [sys.executable, "-c", PROBE.format(path=str(FUNCTIONS / name / "app.py"))],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("name", handlers())
def test_no_handler_imports_the_phone_number_library_at_import(name: str) -> None:
    assert set(NEVER_AT_IMPORT) & imported_by(name) == set()


def test_the_dispatcher_imports_no_other_functions_use_cases_or_the_playbook() -> None:
    assert set(NOT_IN_THE_DISPATCHER) & imported_by("dispatcher") == set()
