"""Read back the metrics the handlers printed in CloudWatch's embedded metric format (EMF).

In AWS, CloudWatch Logs turns each EMF line of a function's log into metric data points. The local
cloud keeps the same lines in its log (`out/logs.jsonl` for the demo); `emf_points` reads them back
one by one and `emf_totals` sums them the way CloudWatch would, so the demo can report what the
dashboard would show, from the handlers' own output rather than from counters of its own.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

MetricKey = tuple[str, tuple[tuple[str, str], ...]]  # (name, sorted (dimension, value) pairs)


@dataclass(frozen=True)
class MetricTotals:
    totals: dict[MetricKey, float] = field(default_factory=dict)

    def sum(self, name: str, **dimensions: str) -> float:
        """The sum of `name` over every series whose dimensions include `dimensions`."""
        wanted = set(dimensions.items())
        return sum(
            value for (metric, dims), value in self.totals.items() if metric == name and wanted <= set(dims)
        )


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One value of one metric as an EMF line carries it."""

    name: str
    dimensions: tuple[tuple[str, str], ...]  # sorted (dimension, value) pairs
    timestamp_ms: int
    value: float


def _values(value: Any) -> list[float]:
    values = value if isinstance(value, list) else [value]
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def emf_points(lines: Iterable[str]) -> Iterator[MetricPoint]:
    """Every metric value of every EMF line in `lines`, in order; other lines are ignored."""
    for line in lines:
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        try:
            document = json.loads(line)
        except ValueError:
            continue
        metadata = document.get("_aws", {})
        timestamp = int(metadata.get("Timestamp", 0))
        for directive in metadata.get("CloudWatchMetrics", []):
            for dimension_set in directive.get("Dimensions", []):
                dims = tuple(sorted((str(d), str(document.get(d, ""))) for d in dimension_set))
                for metric in directive.get("Metrics", []):
                    name = str(metric.get("Name", ""))
                    for value in _values(document.get(name)):
                        yield MetricPoint(name, dims, timestamp, value)


def emf_totals(points: Iterable[MetricPoint]) -> MetricTotals:
    """Sum metric points by name and dimension values, as CloudWatch's Sum over the whole run."""
    totals: defaultdict[MetricKey, float] = defaultdict(float)
    for point in points:
        totals[(point.name, point.dimensions)] += point.value
    return MetricTotals(dict(totals))


def emf_totals_keeping(
    points: Iterable[MetricPoint], names: Iterable[str]
) -> tuple[MetricTotals, list[MetricPoint]]:
    """`emf_totals` of `points` in one pass, with the points of the metrics `names` kept in order: a
    long run's log is read once and only the series a reader needs point by point stay in memory
    (the totals are a few hundred series whatever the days)."""
    wanted = frozenset(names)
    totals: defaultdict[MetricKey, float] = defaultdict(float)
    kept: list[MetricPoint] = []
    for point in points:
        totals[(point.name, point.dimensions)] += point.value
        if point.name in wanted:
            kept.append(point)
    return MetricTotals(dict(totals)), kept


__all__ = ["MetricPoint", "MetricTotals", "emf_points", "emf_totals", "emf_totals_keeping"]
