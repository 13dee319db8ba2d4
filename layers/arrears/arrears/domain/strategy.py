"""Collection strategy: which contact, on which day of the collection cycle.

A strategy is versioned data: an ordered list of steps, each with an offset in days from the
oldest unsettled instalment's due date (negative = before it), a channel and a template.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from arrears.domain.loans import Loan


class Channel(StrEnum):
    SMS = "SMS"
    EMAIL = "EMAIL"
    CALL_TASK = "CALL_TASK"
    FIELD_VISIT = "FIELD_VISIT"
    LEGAL = "LEGAL"
    BUREAU = "BUREAU"


@dataclass(frozen=True, slots=True)
class Step:
    step_id: str
    offset: int
    channel: Channel
    template_id: str
    min_amount_minor: int = 0


@dataclass(frozen=True, slots=True)
class Strategy:
    strategy_id: str
    version: str
    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        ids = [s.step_id for s in self.steps]
        if len(ids) != len(set(ids)):
            raise ValueError(f"strategy {self.strategy_id}: duplicate step ids")
        if [s.offset for s in self.steps] != sorted(s.offset for s in self.steps):
            raise ValueError(f"strategy {self.strategy_id}: steps must be ordered by offset")

    @property
    def offsets(self) -> tuple[int, ...]:
        return tuple(s.offset for s in self.steps)


DEFAULT_STRATEGY = Strategy(
    strategy_id="default",
    version="1",
    steps=(
        Step("sms-d1", 1, Channel.SMS, "sms_overdue"),
        Step("field-d60", 60, Channel.FIELD_VISIT, "field_visit"),
    ),
)


def steps_crossed(strategy: Strategy, before: Loan | None, after: Loan) -> tuple[Step, ...]:
    """Steps whose day the loan reached between two assessments, latest per channel.

    A loan that skipped days (a missed sweep, a loan loaded late) catches up, but a borrower never
    gets three SMS at once: of the steps crossed on one channel only the latest is planned.
    """
    if not after.is_open or after.due_offset is None:
        return ()
    low: int | None = None
    if before is not None and before.is_open and before.cycle == after.cycle:
        low = before.due_offset
    latest: dict[Channel, Step] = {}
    for step in strategy.steps:
        if (low is None or step.offset > low) and step.offset <= after.due_offset:
            latest[step.channel] = step
    return tuple(sorted(latest.values(), key=lambda s: s.offset))
