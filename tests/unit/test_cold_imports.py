"""What a handler's cold import leaves out: libraries and other handlers' use cases it does not need
at import (not timed; `benchmarks/cold_import.py` measures the time against the floor).

Each handler module is imported in a new interpreter with its environment, as Lambda's init phase
does, and the modules it loaded and the boto3 sessions and clients it built are listed. A handler
module's import is its telemetry and its container (the environment copied, nothing validated);
the settings' validation, the models, the rule packs and the playbook, Powertools' parser, batch
and event handler, the use cases and every client come with the first invocation, which pays for
them once per container.
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
import boto3.session, botocore.session
built = []
create_client, new_session = botocore.session.Session.create_client, boto3.session.Session.__init__
def counted_client(self, service_name, *args, **kwargs):
    built.append("client " + service_name)
    return create_client(self, service_name, *args, **kwargs)
def counted_session(self, *args, **kwargs):
    built.append("session")
    new_session(self, *args, **kwargs)
botocore.session.Session.create_client = counted_client
boto3.session.Session.__init__ = counted_session
before = set(sys.modules)
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps({{"modules": sorted(set(sys.modules) - before), "built": built}}))
"""

NEVER_AT_IMPORT = ("phonenumbers",)
"""Imported by no handler at import: parsed numbers come with the first contact or message."""

DEFERRED_TO_THE_FIRST_INVOCATION = (
    "pydantic",  # every model: the events', the settings', the rule packs' and the playbook's
    "pydantic_settings",  # the environment's validation (arrears.config.settings)
    "yaml",  # the bundled rule packs, playbook and money rules
    "arrears.config",  # the settings, the rule packs, the playbook, the money rules
    "arrears.domain",
    "arrears.usecases",
    "arrears.handlers.lambda_events",
    "arrears.handlers.reporting",
    "aws_lambda_powertools.utilities.parser",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.event_handler",
)
"""What a handler module's import leaves to its first invocation (modules, and their submodules)."""

ALLOWED_EVENTS_AT_IMPORT = {"arrears.events", "arrears.events.correlation"}
"""The events' package and the correlation-id paths, which name no model."""

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


def loaded_by(name: str) -> dict[str, list[str]]:
    """What importing functions/<name>/app.py loads: `modules` (beyond what `import boto3` loads) and
    the boto3 sessions and botocore clients it `built`."""
    env = {**os.environ, **ENVIRONMENT, "PYTHONPATH": f"{ROOT / 'layers' / 'arrears'}:{ROOT}"}
    out = subprocess.run(  # noqa: S603 (this interpreter, with code written here)
        [sys.executable, "-c", PROBE.format(path=str(FUNCTIONS / name / "app.py"))],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    loaded: dict[str, list[str]] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def imported_by(name: str) -> set[str]:
    return set(loaded_by(name)["modules"])


def deferred_but_imported(modules: set[str]) -> set[str]:
    """The modules of `modules` that a handler module must leave to its first invocation."""
    heavy = {
        m for m in modules if any(m == p or m.startswith(p + ".") for p in DEFERRED_TO_THE_FIRST_INVOCATION)
    }
    events = {m for m in modules if m.startswith("arrears.events.") and m not in ALLOWED_EVENTS_AT_IMPORT}
    return heavy | events


@pytest.mark.parametrize("name", handlers())
def test_no_handler_imports_the_phone_number_library_at_import(name: str) -> None:
    assert set(NEVER_AT_IMPORT) & imported_by(name) == set()


def test_the_dispatcher_imports_no_other_functions_use_cases_or_the_playbook() -> None:
    assert set(NOT_IN_THE_DISPATCHER) & imported_by("dispatcher") == set()


@pytest.mark.parametrize("name", handlers())
def test_a_handler_import_validates_nothing_and_builds_no_client(name: str) -> None:
    loaded = loaded_by(name)
    assert deferred_but_imported(set(loaded["modules"])) == set()
    assert loaded["built"] == []


def test_the_check_names_a_deferred_module_a_handler_imports() -> None:
    # What the test above would report of a handler that validated its settings at import.
    assert deferred_but_imported(
        {"arrears.adapters.container", "pydantic_settings.main", "arrears.events.streams", "arrears.events"}
    ) == {"pydantic_settings.main", "arrears.events.streams"}
