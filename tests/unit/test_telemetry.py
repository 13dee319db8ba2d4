"""A handler's telemetry builds its X-Ray tracer only when tracing is on, and only at the first
invocation: a handler module's import does not pay for the X-Ray SDK."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from arrears.handlers import telemetry as telemetry_module
from arrears.handlers.telemetry import Telemetry, tracing_enabled

ROOT = Path(__file__).resolve().parents[2]


class Context:
    function_name = "fn"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    aws_request_id = "req-1"


@pytest.mark.parametrize(
    ("task_root", "disabled", "expected"),
    [(None, None, False), ("/var/task", "true", False), ("/var/task", "1", False), ("/var/task", None, True)],
)
def test_tracing_is_on_in_lambda_unless_disabled(
    monkeypatch: pytest.MonkeyPatch, task_root: str | None, disabled: str | None, expected: bool
) -> None:
    for name, value in (("LAMBDA_TASK_ROOT", task_root), ("POWERTOOLS_TRACE_DISABLED", disabled)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert tracing_enabled() is expected


def test_handler_runs_without_building_a_tracer_when_tracing_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    telemetry = Telemetry()
    seen: list[dict[str, Any]] = []

    @telemetry.handler()
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(event)
        return {"ok": event["n"]}

    context: Any = Context()
    assert handler({"n": 1}, context) == {"ok": 1}
    assert handler({"n": 2}, context) == {"ok": 2}
    assert [e["n"] for e in seen] == [1, 2]
    assert telemetry._tracer is None
    assert handler.__name__ == "handler"


def test_importing_telemetry_and_building_it_does_not_import_the_xray_sdk() -> None:
    code = (
        "import sys\n"
        "from arrears.handlers.telemetry import Telemetry\n"
        "Telemetry()\n"
        "print('aws_xray_sdk' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'layers' / 'arrears'}", "POWERTOOLS_SERVICE_NAME": "t"}
    out = subprocess.run(  # noqa: S603 (this interpreter, with code written here)
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
    assert telemetry_module.TRACE_DISABLED == "POWERTOOLS_TRACE_DISABLED"
