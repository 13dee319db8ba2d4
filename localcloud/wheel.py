"""The timer wheel's figures for summary.json: how the sweep reached the loans it read, and its due list.

Summed from the sweep worker's own "sweep shard segment done" log lines (one per task segment, with
`ShardSweep.counts()`): `from_index` loans came through ReviewIndex (new loans, or loans an event
wrote since their last sweep), `from_due_list` through the due list (loans the sweep parked);
`due_items_written` and `due_items_removed` are the due-list items the sweep wrote and deleted;
`shards_completed` the shards the segments completed and `ledger_writes` the run-ledger writes that
recorded them (one per segment that completed any: `SweepRunRepository.shards_done`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from arrears.usecases.sweep import ShardSweep

# The sweep segment's own counters (one list, `ShardSweep.COUNTERS`), but the milestones it hit.
COUNTERS = tuple(name for name in ShardSweep.COUNTERS if name != "milestones_hit")


def timer_wheel_summary(logs: Path) -> dict[str, Any]:
    """Totals of the sweep segments logged in `logs` (JSON lines), and the segment count."""
    totals = dict.fromkeys(COUNTERS, 0)
    segments = shards_completed = ledger_writes = 0
    with logs.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.startswith("{") or '"sweep shard segment done"' not in line:
                continue
            record = json.loads(line)
            if record.get("message") != "sweep shard segment done":
                continue
            segments += 1
            for name in COUNTERS:
                totals[name] += int(record.get(name, 0))
            completed = int(record.get("shards_completed", 0))
            shards_completed += completed
            ledger_writes += int(completed > 0)
    return {
        "segments": segments,
        **totals,
        "shards_completed": shards_completed,
        "ledger_writes": ledger_writes,
    }


def loans_off_the_wheel(loans: list[dict[str, Any]], due_items: list[dict[str, Any]]) -> int:
    """Open loans with a next review date that neither ReviewIndex (`review_on`) nor the due list
    holds: loans no sweep would reach on time. A parked loan must be named by an entry of its next
    review date or of an earlier one (an event that moved the date later left it parked: that
    date's sweep lists it again under its new one, `arrears.usecases.sweep._postponed`)."""
    earliest: dict[str, str] = {}
    for item in due_items:
        listed_on = str(item["due_key"])[:10]
        for loan_id in item.get("loan_ids", ()):
            key = str(loan_id)
            if key not in earliest or listed_on < earliest[key]:
                earliest[key] = listed_on
    off = 0
    for loan in loans:
        if not loan.get("next_review_on") or loan.get("review_on"):
            continue  # closed, or in ReviewIndex
        first_listed = earliest.get(str(loan["loan_id"]))
        if first_listed is None or first_listed > str(loan["next_review_on"]):
            off += 1
    return off
