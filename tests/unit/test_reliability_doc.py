"""docs/reliability.md's measured fault runs are generated from the bench's figures file
(benchmarks/reliability_doc.py): every kind and service counted, a broken invariant shown as such."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.reliability_doc import BEGIN, END, main, render, rewrite

pytestmark = pytest.mark.unit


def run(injected: dict[str, dict[str, dict[str, int]]], *, ok: bool = True) -> dict[str, Any]:
    return {
        "invariants_ok": ok,
        "broken": [] if ok else ["duplicate_effects"],
        "faults": {
            "injected_total": sum(n for s in injected.values() for d in s.values() for n in d.values()),
            "injected": injected,
        },
        "effects": {
            "duplicates": 0 if ok else 2,
            "sent_without_effect": 0,
            "sent_unconfirmed_delivered": 3,
            "sent_unconfirmed_not_delivered": 1,
        },
        "archive": {
            "records_archived": 40,
            "contact_records": 40,
            "archived_more_than_once": 0,
            "missing": 0,
            "verifies": ok,
        },
        "failure_queues_after_redrive": {"AsyncFailureQueue": 0},
        "cpu_seconds": 12.5,
        "wall_seconds": 30.0,
    }


RESULTS: dict[str, Any] = {
    "book": {"loans": 1000, "days": 30, "seed": 7, "fault_seed": 1, "rates": "0.05,0.1"},
    "runs": {
        "0": run({}),
        "0.05": {
            **run(
                {
                    "before": {"sns": {"Throttled": 4}, "dynamodb": {"ThrottlingException": 6}},
                    "lost": {"sqs": {"ReadTimeoutError": 5}},
                }
            ),
            "against_fault_free": {
                "money_paid_in_identical": True,
                "loans_by_bucket_identical": True,
                "contact_outcome_differences": {"SMS:SENT": 1},
            },
        },
        "0.1": {
            **run({"kill": {"s3": {"killed": 7}}}, ok=False),
            "against_fault_free": {
                "money_paid_in_identical": True,
                "loans_by_bucket_identical": False,
                "contact_outcome_differences": {},
            },
        },
    },
}


def test_each_run_is_a_row_with_its_faults_by_kind() -> None:
    text = render(RESULTS)
    assert text.startswith(BEGIN)
    assert text.endswith(END)
    assert "--loans 1000 --days 30 --seed 7 --fault-seed 1 --rates 0.05,0.1" in text
    assert "| 5% of each kind | 15 (10 / 0 / 0 / 5) | 0 |" in text
    assert "SMS:SENT +1" in text
    assert "| 10% of each kind | 7 (0 / 0 / 7 / 0) | 2 |" in text
    assert "**broken**: duplicate_effects" in text
    assert "| **no** |" in text
    assert "money paid in identical" in text
    # by kind and service, one cell per rate
    assert "| before | 6 / 0 | 4 / 0 | 0 / 0 | 0 / 0 | 0 / 0 |" in text
    assert "| lost | 0 / 0 | 0 / 0 | 5 / 0 | 0 / 0 | 0 / 0 |" in text
    assert "| kill | 0 / 0 | 0 / 0 | 0 / 0 | 0 / 7 | 0 / 0 |" in text


def test_the_doc_is_rewritten_between_its_markers_and_checked(tmp_path: Path) -> None:
    import json

    doc = tmp_path / "reliability.md"
    doc.write_text(f"before\n{BEGIN}\nold figures\n{END}\nafter\n")
    results = tmp_path / "results-faults.json"
    results.write_text(json.dumps(RESULTS))
    assert main(["--results", str(results), "--doc", str(doc), "--check"]) == 1
    assert main(["--results", str(results), "--doc", str(doc)]) == 0
    assert main(["--results", str(results), "--doc", str(doc), "--check"]) == 0
    text = doc.read_text()
    assert text.startswith("before\n")
    assert text.endswith("\nafter\n")
    assert "old figures" not in text
    assert rewrite(text, render(RESULTS)) == text


def test_a_run_that_did_not_finish_is_named() -> None:
    partial = {"book": {**RESULTS["book"], "rates": "0.05,0.10"}, "runs": {"0": RESULTS["runs"]["0"]}}
    assert "Not measured: the run stopped before 5% of each kind, 10% of each kind." in render(partial)
    assert "Not measured" not in render(RESULTS)
