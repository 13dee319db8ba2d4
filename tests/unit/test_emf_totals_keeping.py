"""`emf_totals_keeping`: the summary reads the run's log once, summing every metric as `emf_totals`
does and keeping only the points of the metrics it reads point by point (the census, the drift)."""

from __future__ import annotations

from localcloud.emf import emf_points, emf_totals, emf_totals_keeping


def _line(timestamp: int, name: str, value: float, **dims: str) -> str:
    import json

    return json.dumps(
        {
            "_aws": {
                "Timestamp": timestamp,
                "CloudWatchMetrics": [
                    {"Namespace": "Arrears", "Dimensions": [sorted(dims)], "Metrics": [{"Name": name}]}
                ],
            },
            **dims,
            name: value,
        }
    )


LINES = [
    _line(1, "OpenLoans", 4.0, jurisdiction="US", bucket="1-30"),
    '{"level":"INFO","message":"not a metric"}',
    _line(2, "Contacts", 1.0, service="dispatcher", outcome="SENT"),
    _line(3, "StockDrift", 2.0, jurisdiction="US"),
    _line(4, "Contacts", 1.0, service="dispatcher", outcome="DEFERRED"),
    _line(5, "OpenLoans", 3.0, jurisdiction="US", bucket="1-30"),
]


def test_one_pass_gives_the_totals_and_keeps_only_the_named_points() -> None:
    totals, kept = emf_totals_keeping(emf_points(LINES), ("OpenLoans", "StockDrift"))
    assert totals == emf_totals(emf_points(LINES))
    assert totals.sum("Contacts", service="dispatcher") == 2
    assert totals.sum("OpenLoans") == 7
    assert [(p.name, p.timestamp_ms, p.value) for p in kept] == [
        ("OpenLoans", 1, 4.0),
        ("StockDrift", 3, 2.0),
        ("OpenLoans", 5, 3.0),
    ]
    assert kept == [p for p in emf_points(LINES) if p.name in {"OpenLoans", "StockDrift"}]
