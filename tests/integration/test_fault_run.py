"""A short demo run under faults: 5 % of the handlers' AWS calls fail before the request, 5 % after
it was applied, 5 % of invocations die mid-way, 5 % of HTTP answers are lost after the call was
applied (below botocore's retries); every invariant of the run must still hold.

`localcloud.faults` injects above botocore's retries and on the wire below them;
`localcloud.invariants` checks what moto really received after the operator's redrive. The larger
runs (1,000 loans x 30 days at 5 % and 10 %) are `make bench`'s.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from localcloud.faults import FaultPlan
from localcloud.simulation import run_demo

LOANS, DAYS, SEED, START = 8, 4, 7, date(2026, 3, 1)


def test_a_run_under_faults_of_every_kind_keeps_every_invariant(tmp_path: Path) -> None:
    summary = run_demo(
        out=tmp_path, loans=LOANS, days=DAYS, seed=SEED, start=START, faults=FaultPlan(0.05, seed=5)
    )

    faults = summary["faults"]
    assert set(faults["injected"]) == {"before", "after", "kill", "lost"}  # every kind happened
    # The operator answered the failure-queue alarms during the run, an hour after each, not only after it.
    assert sum(faults["redriven_during_run"].values()) > 0
    # Calls met a transient fault and were made again alone, inside their invocation.
    assert faults["calls_retried_alone"] > 0
    assert faults["reporting_copies_dropped"] >= 0
    invariants = summary["invariants"]
    assert invariants["broken"] == []
    assert invariants["ok"] is True
    effects = invariants["effects"]
    assert effects["duplicates"] == 0
    assert effects["sent_without_effect"] == 0
    assert invariants["archive"]["missing"] == 0
    assert invariants["archive"]["archived_more_than_once"] == 0
    assert invariants["archive"]["verifies"] is True
    assert invariants["archive"]["records_archived"] == summary["contact_records"]
    assert sum(invariants["failure_queues_after_redrive"].values()) == 0
    assert invariants["left_in_failure_queues"] == []
    assert invariants["money"]["loans_not_reflecting_their_ledger"] == 0
