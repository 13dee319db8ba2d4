"""The timer wheel's figures for summary.json: how the sweep reached the loans it read, and its due list.

Summed from the sweep worker's own "sweep shard segment done" log lines (one per task segment, with
`ShardSweep.counts()`): `from_index` loans came through ReviewIndex (new loans, or loans an event
wrote since their last sweep), `from_due_list` through the due list (loans the sweep parked);
`due_items_written` and `due_items_removed` are the due-list items the sweep wrote and deleted (the
review lister's are `lister_summary`);
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


LISTER_COUNTERS = ("batches", "requests", "listed", "due_items_written")
WHEEL_MESSAGES = ('"sweep shard segment done"', '"review listing batch done"', '"census shard segment done"')


def timer_wheel_summary(logs: Path) -> dict[str, Any]:
    """Totals of the sweep segments logged in `logs` (JSON lines), and the segment count; the review
    lister's batches (`review_lister`: requests read, loans listed, due-list items written), the
    loans the census found off the wheel and listed again (`census_overdue_reviews`) and the listing
    requests still open that it listed again in case the lister lost them (`census_requests_relisted`)."""
    totals = dict.fromkeys(COUNTERS, 0)
    segments = shards_completed = ledger_writes = overdue = relisted = 0
    lister = dict.fromkeys(LISTER_COUNTERS, 0)
    with logs.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.startswith("{") or not any(m in line for m in WHEEL_MESSAGES):
                continue
            record = json.loads(line)
            message = record.get("message")
            if message == "review listing batch done":
                lister["batches"] += 1
                for name in LISTER_COUNTERS[1:]:
                    lister[name] += int(record.get(name, 0))
                continue
            if message == "census shard segment done":
                overdue += int(record.get("overdue_reviews", 0))
                relisted += int(record.get("requests_relisted", 0))
                continue
            if message != "sweep shard segment done":
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
        "review_lister": lister,
        "census_overdue_reviews": overdue,
        "census_requests_relisted": relisted,
    }


def loans_off_the_wheel(loans: list[dict[str, Any]], due_items: list[dict[str, Any]]) -> int:
    """Open loans with a next review date that neither ReviewIndex (`review_on`, draining) nor the
    due list holds: loans no sweep would reach on time. A loan must be named by an entry of its next
    review date or of an earlier one (the review lister lists a batch under its earliest date; an
    event that moved the date later asked for no listing: that date's sweep lists it again under its
    new one, `arrears.usecases.sweep._postponed`). Run once the lister's windows are drained
    (`LocalCloud.drain_windows`): a request still in a window would count here."""
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
