"""The bench's AWS requests per loan-day: counted by handler and service, divided by the run's loan-days."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from benchmarks.local_cloud import requests_per_loan_day
from localcloud.requests import RequestCount, current_function, per_loan_day


def _call(counter: RequestCount, function: str | None, service: str, operation: str) -> None:
    token = current_function.set(function)
    try:
        model = SimpleNamespace(service_model=SimpleNamespace(service_name=service), name=operation)
        counter._after_call(model=model)
    finally:
        current_function.reset(token)


def test_requests_are_counted_by_handler_and_service_and_the_simulators_own_are_not() -> None:
    counter = RequestCount()
    _call(counter, "PlannerFunction", "dynamodb", "PutItem")
    _call(counter, "PlannerFunction", "dynamodb", "Query")
    _call(counter, "PlannerFunction", "sqs", "SendMessage")
    _call(counter, "DispatcherFunction", "sns", "Publish")
    _call(counter, None, "dynamodb", "Scan")  # the simulator's own read
    counted = counter.as_json()
    assert counted["requests_by_function_and_service"] == {
        "DispatcherFunction": {"sns": 1},
        "PlannerFunction": {"dynamodb": 2, "sqs": 1},
    }
    rates = per_loan_day(counted, loans=2, days=2)
    assert rates == {
        "loan_days": 4,
        "total": 1.0,
        "by_service": {"dynamodb": 0.5, "sns": 0.25, "sqs": 0.25},
        "by_handler": {"DispatcherFunction": 0.25, "PlannerFunction": 0.75},
        "by_handler_and_service": {
            "DispatcherFunction": {"sns": 0.25},
            "PlannerFunction": {"dynamodb": 0.5, "sqs": 0.25},
        },
    }


def test_the_bench_divides_by_every_loan_the_run_ended_with() -> None:
    counted = {
        "requests": {"dynamodb:GetItem": 30},
        "requests_by_function": {"PaymentsFunction": 30},
        "requests_by_function_and_service": {"PaymentsFunction": {"dynamodb": 30}},
    }
    summary = {"loans_by_bucket": {"M0": 4, "CLOSED": 1}, "outcomes": {"aws_requests": counted}}
    assert requests_per_loan_day(summary, days=3)["by_service"] == {"dynamodb": 2.0}
    with pytest.raises(ValueError, match="no loan-day"):
        per_loan_day(counted, loans=0, days=3)
