"""The sweep-tasks queue and the sweep-run ledger in memory, for unit tests of `run_sweep_task`."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any


class ListQueue:
    """The sweep-tasks queue: bodies as SQS carries them (JSON), in the order sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def send(self, bodies: Sequence[Mapping[str, Any]]) -> int:
        self.bodies.extend(json.loads(json.dumps(dict(b))) for b in bodies)
        return len(bodies)


class MemoryRuns:
    """The run ledger's done shards and heartbeat claim (`SweepRunRepository`'s semantics); `writes`
    counts the done-shard writes (one UpdateItem each on the table)."""

    def __init__(self) -> None:
        self.done: dict[date, set[int]] = {}
        self.claimed: set[date] = set()
        self.heartbeats = 0
        self.writes: list[tuple[int, ...]] = []

    def shards_done(
        self, business_date: date, shards: Collection[int], shard_count: int, expires_at: int
    ) -> int:
        if not shards:
            raise ValueError("no shard to record as done")
        self.writes.append(tuple(sorted(shards)))
        done = self.done.setdefault(business_date, set())
        done.update(shards)
        return len({s for s in done if 0 <= s < shard_count})

    def claim_heartbeat(self, business_date: date, completed_at: str, token: str | None = None) -> bool:
        if business_date in self.claimed:
            return False
        self.claimed.add(business_date)
        self.heartbeats += 1
        return True
