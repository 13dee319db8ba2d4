"""The demo's archive retention figures for summary.json (`arrears.usecases.retention`).

Read from the archive chain table's claims, one per archived batch: `retain_until` is the object's
lock now, `retain_until_at_write` the date the archiver set (present once the review extended it),
`retention_ended_on` the day the review tagged the object for the lifecycle rule that deletes it.
From the review's own log lines (`archive retention reviewed`): the runs, and the objects whose review
met a transient error and was deferred to the next run (a fault run's; 0 without faults).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def review_runs(logs: Path | None) -> dict[str, int]:
    """The retention review's completed runs and the object reviews they deferred, from `logs`."""
    runs = deferred = 0
    if logs is None or not logs.is_file():
        return {"runs": 0, "reviews_deferred": 0}
    with logs.open(encoding="utf-8") as lines:
        for line in lines:
            if '"archive retention reviewed"' not in line or not line.startswith("{"):
                continue
            record = json.loads(line)
            if record.get("message") == "archive retention reviewed":
                runs += 1
                deferred += int(record.get("deferred", 0))
    return {"runs": runs, "reviews_deferred": deferred}


def retention_summary(claims: Iterable[Mapping[str, Any]], logs: Path | None = None) -> dict[str, Any]:
    """Per jurisdiction: objects archived, objects whose retention the review extended (with the
    latest date reached), objects past retention and tagged expired; a few examples of each; and
    the review's runs and deferrals (`review_runs`, from the run's `logs`)."""
    batches = [c for c in claims if "#batch#" in str(c.get("jurisdiction", ""))]
    archived: Counter[str] = Counter()
    extended: Counter[str] = Counter()
    expired: Counter[str] = Counter()
    latest: dict[str, str] = {}
    examples: list[dict[str, str]] = []
    for claim in sorted(batches, key=lambda c: str(c["jurisdiction"])):
        jurisdiction = str(claim["jurisdiction"]).split("#", 1)[0]
        archived[jurisdiction] += 1
        if claim.get("retain_until_at_write"):
            extended[jurisdiction] += 1
            latest[jurisdiction] = max(latest.get(jurisdiction, ""), str(claim["retain_until"]))
            if len(examples) < 5:
                examples.append(
                    {
                        "jurisdiction": jurisdiction,
                        "locked_at_write_until": str(claim["retain_until_at_write"]),
                        "now_locked_until": str(claim["retain_until"]),
                        "expired_on": str(claim.get("retention_ended_on") or ""),
                    }
                )
        if claim.get("retention_ended_on"):
            expired[jurisdiction] += 1
    return {
        "objects_archived": dict(sorted(archived.items())),
        "objects_extended": dict(sorted(extended.items())),
        "latest_retain_until": dict(sorted(latest.items())),
        "objects_expired": dict(sorted(expired.items())),
        "examples": examples,
        **review_runs(logs),
    }
