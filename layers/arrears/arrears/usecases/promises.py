"""Archiving promises to pay: one write-once record per promise made, kept or broken.

The planner calls `archive_promise_events` for every loan change (the Loans stream); the events come
from `arrears.domain.behaviour.promise_events`. The records let the report measure the promise-kept
rate from the archive alone, on any stack (report.html "Contact outcomes").
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial

from arrears.adapters.archive_store import ArchiveStore
from arrears.adapters.retrying import retry_transient
from arrears.config.rulepacks import rule_pack_for
from arrears.domain.behaviour import promise_events, promise_record, promise_record_key
from arrears.domain.loans import Loan


def archive_promise_events(before: Loan | None, after: Loan, at: datetime, store: ArchiveStore) -> int:
    """Archive each promise event the change `before` -> `after` made (at the change's instant `at`);
    returns how many. Key and bytes depend on the change only: a replayed stream record writes the
    same objects again (an identical locked version). Kept for the jurisdiction's retention years."""
    events = promise_events(before, after)
    years = rule_pack_for(after.jurisdiction).retention_years
    for event, promised in events:
        record = promise_record(after, event, promised, at)
        retry_transient(
            partial(
                store.put,
                promise_record_key(after.loan_id, event, promised, at),
                json.dumps(record, sort_keys=True).encode(),
                content_type="application/json",
                retain_until=store.retain_until(at.date(), years),
            )
        )
    return len(events)


__all__ = ["archive_promise_events"]
