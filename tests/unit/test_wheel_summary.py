"""The demo's timer-wheel figures: the sweep's segments summed from its log lines, and the loans
neither ReviewIndex nor the due list holds (an invariant of every run)."""

from __future__ import annotations

import json
from pathlib import Path

from localcloud.wheel import loans_off_the_wheel, timer_wheel_summary


def test_loans_off_the_wheel_counts_only_parked_loans_missing_from_the_due_list() -> None:
    loans = [
        {"loan_id": "indexed", "next_review_on": "2026-03-03", "review_on": "2026-03-03"},
        {"loan_id": "listed", "next_review_on": "2026-03-03"},
        {"loan_id": "postponed", "next_review_on": "2026-03-04"},  # listed earlier: relisted then
        {"loan_id": "listed-too-late", "next_review_on": "2026-03-02"},
        {"loan_id": "lost", "next_review_on": "2026-03-03"},
        {"loan_id": "closed"},
    ]
    due = [{"due_key": "2026-03-03#ab", "loan_ids": {"listed", "postponed", "listed-too-late"}}]
    assert loans_off_the_wheel(loans, due) == 2  # "listed-too-late" and "lost"


def test_the_summary_sums_the_sweep_segments_logged(tmp_path: Path) -> None:
    logs = tmp_path / "logs.jsonl"
    lines = [
        {"message": "sweep shard segment done", "from_index": 2, "from_due_list": 5, "writes": 6},
        {
            "message": "sweep shard segment done",
            "from_index": 1,
            "due_items_written": 3,
            "shards_completed": 0,
        },
        {"message": "sweep shard segment done", "shards_completed": 16},
        {"message": "census shard segment done", "items_read": 40},
    ]
    logs.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n", encoding="utf-8")
    summary = timer_wheel_summary(logs)
    assert (summary["segments"], summary["from_index"], summary["from_due_list"]) == (3, 3, 5)
    # a task's shards recorded in one ledger write; a segment that completed none wrote nothing
    assert (summary["shards_completed"], summary["ledger_writes"]) == (16, 1)
    assert (summary["writes"], summary["due_items_written"], summary["items_read"]) == (6, 3, 0)
