"""Releasing deferred actions: every 15 minutes, dispatch the DEFERRED actions whose time has come."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Protocol

from arrears.usecases.dispatch import DispatchPorts, DispatchResult, dispatch


class ReleaseObserver(Protocol):
    """Told the backlog at the start of a run, then each action's result (or that it was not dispatched,
    while its error is being handled)."""

    def backlog(self, due: int) -> None: ...

    def dispatched(self, result: DispatchResult, at: datetime) -> None: ...

    def not_dispatched(self, action_id: str) -> None: ...


@dataclass(frozen=True)
class Release:
    due: int  # deferred actions already due at the start of the run (DeferredIndex)
    processed: int
    failed: int

    def answer(self) -> dict[str, int]:
        return {
            "deferred_due": self.due,
            "deferred_processed": self.processed,
            "deferred_failed": self.failed,
        }


def release_deferred(
    ports: DispatchPorts,
    *,
    limit: int,
    has_time_left: Callable[[], bool],
    observer: ReleaseObserver,
) -> Release:
    """Dispatch at most `limit` deferred actions due now, while there is time left.

    What is due, and each contact, is judged at the instant the run really makes it (`ports.clock`),
    not at the schedule's event time: a run retried after a failure, or started late, releases what
    is due by then and judges each contact then.

    One action's failure (throttling, an action another dispatcher holds) does not stop the run: the
    action stays DEFERRED and due, and the next run picks it up again. So do the actions this run had
    no time or room for.
    """
    at = ports.clock.now()
    due = ports.actions.deferred_due_count(at)
    observer.backlog(due)
    processed = failed = 0
    for action_id in islice(ports.actions.deferred_due(at), limit):
        if not has_time_left():
            break
        try:
            result = dispatch(action_id, ports)
            observer.dispatched(result, result.at or at)
        except Exception:  # isolate one action: it stays due for the next run
            failed += 1
            observer.not_dispatched(action_id)
        processed += 1
    return Release(due, processed, failed)
