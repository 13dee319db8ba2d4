"""summary.json's retention block counts the review's runs and deferred object reviews from its log lines."""

from __future__ import annotations

import json
from pathlib import Path

from localcloud.retention_report import retention_summary


def test_the_reviews_deferred_by_a_transient_error_are_counted_from_the_log_lines(tmp_path: Path) -> None:
    logs = tmp_path / "logs.jsonl"
    lines = [
        {"message": "archive retention reviewed", "reviewed": 4, "deferred": 1},
        {
            "message": "archive retention reviews deferred to the next day after a transient error",
            "deferred": 1,
        },
        {"message": "archive retention reviewed", "reviewed": 4, "deferred": 0},
        {"message": "action dispatched", "deferred": 7},
    ]
    logs.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n")

    summary = retention_summary([], logs)

    assert (summary["runs"], summary["reviews_deferred"]) == (2, 1)
    assert retention_summary([])["reviews_deferred"] == 0
