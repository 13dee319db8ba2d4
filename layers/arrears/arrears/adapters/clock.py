"""The clock port: the instant a contact is really made.

Business time (dates, DPD, idempotency keys) comes from the triggering event, so runs can be
replayed. A contact is different: the gate, the call limits and the contact record must judge the
moment the message or task actually leaves, which for a stream record retried hours later, or an
operator's replay, is not the record's creation time. That moment comes from a `Clock`: the wall
clock in Lambda (`WallClock`, built by the `Container`), the simulated clock in the local cloud.
`WallClock.now` is the only place in the code that reads the system clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the current instant, as an aware UTC datetime."""

    def now(self) -> datetime: ...


class WallClock:
    """The system clock (Lambda's clock is NTP-synchronised)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock stopped at one instant (tests, and one-off judgements at a given instant)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a clock tells aware instants")
        self.at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self.at
