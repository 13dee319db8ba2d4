"""Call attempts, right-party contacts, complaints and opt-outs per loan, from an exported archive alone."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from localcloud.outcomes import archive_outcome_counts


def _contact(loan_id: str, token: str, channel: str, attempt: int | None, result: str | None) -> str:
    return json.dumps(
        {
            "loan_id": loan_id,
            "borrower_token": token,
            "channel": channel,
            "attempt": attempt,
            "result": result,
        }
    )


def test_call_attempts_right_party_contacts_and_opt_outs_by_loan(tmp_path: Path) -> None:
    day = tmp_path / "contacts" / "jurisdiction=CN" / "date=2026-03-05"
    day.mkdir(parents=True)
    lines = [
        _contact("L1", "t1", "SMS", None, None),
        _contact("L1", "t1", "CALL_TASK", None, None),  # the task itself, not an attempt
        _contact("L1", "t1", "CALL_TASK", 0, None),  # the task as archived (ARCHIVE_DEFAULTS): not one
        _contact("L1", "t1", "CALL_TASK", 1, "no_answer"),
        _contact("L1", "t1", "CALL_TASK", 2, "connected_borrower"),
        _contact("L2", "t1", "CALL_TASK", 1, "connected_other"),
        _contact("L2", "t1", "CALL_TASK", 0, "connected_borrower"),  # a desk agent's call: an attempt
        _contact("L3", "t3", "EMAIL", None, None),
    ]
    with gzip.open(day / "part-1.jsonl.gz", "wt", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    prefs = tmp_path / "preferences" / "2026-03-06"
    prefs.mkdir(parents=True)
    changes = [
        {"borrower_token": "t1", "record_type": "OPT_OUT", "applied": True},
        {"borrower_token": "t3", "record_type": "OPT_OUT", "applied": False},  # changed nothing
        {"borrower_token": "t3", "record_type": "OPT_IN", "applied": True},
        {"borrower_token": "t9", "record_type": "OPT_OUT", "applied": True},  # never contacted
    ]
    for n, change in enumerate(changes):
        (prefs / f"{n}.json").write_text(json.dumps(change))

    complaints = tmp_path / "borrower-requests" / "complaint" / "dt=2026-03-07"
    complaints.mkdir(parents=True)
    (complaints / "r1.json").write_text(json.dumps({"loan_id": "L2", "kind": "complaint"}))
    (complaints / "r2.json").write_text(json.dumps({"loan_id": None, "kind": "complaint"}))  # no loan

    counts = archive_outcome_counts(tmp_path)

    assert counts["L1"] == {"call_attempts": 2, "right_party_contacts": 1, "opt_outs": 1}
    assert counts["L2"] == {"call_attempts": 2, "right_party_contacts": 1, "complaints": 1}
    assert "L3" not in counts
