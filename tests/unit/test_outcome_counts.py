"""The counts behind the contact-outcome rates, per jurisdiction and arm, from an exported archive alone
(arrears_report/sql/outcomes.sql: the query Athena runs on a deployed stack)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from arrears_report.tables import open_local, run


def _contact(n: int, loan_id: str, token: str, channel: str, result: str | None, at: str) -> str:
    record = {"contact_id": f"c{n}", "loan_id": loan_id, "borrower_token": token, "channel": channel}
    return json.dumps(record | {"status": "SENT", "result": result, "occurred_at": at})


def _write(folder: Path, name: str, record: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(record))


def test_calls_promises_complaints_and_opt_outs_per_arm(tmp_path: Path) -> None:
    data, archive = tmp_path / "data", tmp_path / "archive"
    data.mkdir()
    loans = [("L1", "champion"), ("L2", "champion"), ("L3", "challenger"), ("L4", "challenger")]
    (data / "loans.jsonl").write_text(
        "".join(json.dumps({"loan_id": i, "jurisdiction": "CN", "strategy_arm": a}) + "\n" for i, a in loans)
    )
    (data / "transitions.jsonl").write_text("")
    day = archive / "contacts" / "jurisdiction=CN" / "dt=2026-03-05"
    day.mkdir(parents=True)
    lines = [
        _contact(1, "L2", "t1", "SMS", None, "2026-03-05T01:00:00Z"),  # t1's first contact: on L2
        _contact(2, "L1", "t1", "CALL_TASK", None, "2026-03-05T02:00:00Z"),  # the task itself: no attempt
        _contact(3, "L1", "t1", "CALL_TASK", "no_answer", "2026-03-05T03:00:00Z"),
        _contact(4, "L1", "t1", "CALL_TASK", "connected_borrower", "2026-03-05T04:00:00Z"),
        _contact(5, "L2", "t1", "CALL_TASK", "connected_other", "2026-03-05T05:00:00Z"),
        _contact(6, "L3", "t3", "CALL_TASK", "connected_borrower", "2026-03-05T06:00:00Z"),  # a desk call
        _contact(6, "L3", "t3", "CALL_TASK", "connected_borrower", "2026-03-05T06:00:00Z"),  # archived twice
        _contact(7, "L4", "t4", "EMAIL", None, "2026-03-05T07:00:00Z"),
    ]
    with gzip.open(day / "part-1.jsonl.gz", "wt", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    changes = [
        {"change_id": "p1", "borrower_token": "t1", "record_type": "OPT_OUT", "applied": True},
        {"change_id": "p2", "borrower_token": "t4", "record_type": "OPT_OUT", "applied": False},  # no change
        {"change_id": "p3", "borrower_token": "t4", "record_type": "OPT_IN", "applied": True},
        {
            "change_id": "p4",
            "borrower_token": "t9",
            "record_type": "OPT_OUT",
            "applied": True,
        },  # never contacted
    ]
    for change in changes:
        _write(archive / "preferences" / "dt=2026-03-06", f"{change['change_id']}.json", change)
    complaints = archive / "borrower-requests" / "complaint" / "dt=2026-03-07"
    _write(complaints, "r1.json", {"request_id": "r1", "loan_id": "L3", "details": {"category": "conduct"}})
    _write(complaints, "r2.json", {"request_id": "r2", "loan_id": None, "details": {}})  # no loan
    for loan_id, name, event in (
        ("L1", "2026-03-06-made", "made"),
        ("L1", "2026-03-06-kept", "kept"),
        ("L2", "2026-03-08-broken", "broken"),
        ("L3", "2026-03-09-made", "made"),  # not judged yet
    ):
        _write(
            archive / "promises" / "dt=2026-03-05" / loan_id,
            f"{name}.json",
            {"loan_id": loan_id, "event": event},
        )

    rows = run(open_local(data, archive), "outcomes")

    counts = {
        (r["jurisdiction"], r["strategy_arm"]): {
            k: int(v) for k, v in r.items() if k not in ("jurisdiction", "strategy_arm")
        }
        for r in rows
    }
    # champion: 3 attempts (L1's two, L2's one), 1 right party, 2 promises judged (1 kept), t1's opt-out
    assert counts[("CN", "champion")] == {
        "call_attempts": 3,
        "right_party_contacts": 1,
        "promises": 2,
        "promises_kept": 1,
        "complaints": 0,
        "opt_outs": 1,
    }
    # challenger: the desk call counted once, the complaint; t4's refused opt-out and opt-in are none
    assert counts[("CN", "challenger")] == {
        "call_attempts": 1,
        "right_party_contacts": 1,
        "promises": 0,
        "promises_kept": 0,
        "complaints": 1,
        "opt_outs": 0,
    }
