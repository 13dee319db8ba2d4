"""Every SEARCH of the operations dashboard names exactly the dimension set its metric is emitted
with: CloudWatch's SEARCH schema `{Namespace,dim,...}` matches only metrics with exactly those
dimensions, so a schema missing one (the `service` dimension every Arrears metric carries) draws
an empty panel while the metric is still billed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from arrears.handlers.telemetry import Telemetry
from localcloud.stack import load_template

pytestmark = pytest.mark.infrastructure

MONITORING = Path(__file__).resolve().parents[2] / "infrastructure" / "monitoring.yaml"
SEARCH = re.compile(r"SEARCH\('\{([^}]*)\} MetricName=\\?\"(\w+)\\?\"")

# One emission of each metric the dashboard searches, as its reporter emits it (handlers/reporting.py).
EMITTED = {
    "Contacts": ("dispatcher", {"channel": "SMS", "outcome": "SENT"}),
    "HoldsChanged": ("holds", {"hold": "PROMISE_TO_PAY", "change": "set"}),
    "OpenLoans": None,  # emitted by the census with its own dimensions, below
}


def searches() -> list[tuple[str, set[str], str]]:
    body = load_template(MONITORING)["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]
    text = body["Fn::Sub"]
    found = []
    for schema, metric in SEARCH.findall(text):
        namespace, *dimensions = [part.strip() for part in schema.split(",")]
        found.append((namespace, set(dimensions), metric))
    return found


def emitted_dimensions(metric: str, capsys: pytest.CaptureFixture[str]) -> set[str]:
    if metric == "OpenLoans":
        return {"service", "jurisdiction", "bucket"}  # reporting.CensusReport.emitted: its single_metric
    service, dimensions = EMITTED[metric]  # type: ignore[misc]
    telemetry = Telemetry(metrics_service=service)
    capsys.readouterr()
    telemetry.count(metric, **dimensions)
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    (dimension_set,) = line["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    return set(dimension_set)


def test_the_dashboard_searches_some_metrics() -> None:
    assert {metric for _, _, metric in searches()} >= {"Contacts", "HoldsChanged", "OpenLoans"}


@pytest.mark.parametrize("metric", ["Contacts", "HoldsChanged"])
def test_each_search_schema_is_the_dimension_set_the_metric_is_emitted_with(
    metric: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Arrears")
    emitted = emitted_dimensions(metric, capsys)
    schemas = [(namespace, dims) for namespace, dims, name in searches() if name == metric]
    assert schemas
    for namespace, dimensions in schemas:
        assert namespace == "Arrears"
        assert dimensions == emitted, f"{metric}: SEARCH on {sorted(dimensions)}, emitted {sorted(emitted)}"
