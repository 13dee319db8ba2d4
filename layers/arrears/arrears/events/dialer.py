"""The dialer contract's messages: the call task handed to the dialer, and what the dialer and the
field collectors report back on LoanEventsBus (`CallAttempted`, `FieldVisitReported`).

These pydantic models are the contract: docs/contracts.md ("The dialer contract") carries their JSON
Schemas, generated from them (`contract_schemas`; tests/unit/test_dialer_contract.py fails when the doc
is stale). The call task is written by the dispatcher (`arrears.usecases.dispatch.call_task_message`)
and must validate against `CallTask`; the two events are read by `call-outcomes` and `field-visits`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from arrears.domain.call_attempts import CallAttempt, CallResult
from arrears.domain.field_visits import FieldVisit, VisitOutcome
from arrears.events.base import UtcTime
from arrears.events.bus import BusEvent, not_later_than_event

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,127}$"
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"
_UTC = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"

DIALER_SOURCE = "arrears.dialer"
FIELD_SOURCE = "arrears.field"


class CallTask(BaseModel):
    """A call task on `CallTaskQueue` (dispatcher → dialer): the borrower's one open task.

    At most one open task per borrower at a time; until it expires (`expires_at`) or the dialer has
    reported it done, further calls for the borrower's other loans wait. The task states what
    remains allowed: `attempts_left_today` and `connected_left_today` (null = no such limit in the
    jurisdiction), the borrower's contact window `call_window_local` (local to `timezone`). The dialer
    resolves the number from the Borrowers table by `borrower_id` (never in the queue) and reports
    every attempt as `CallAttempted` with `task_id`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["CALL_TASK"]
    task_id: str = Field(pattern=_ID, description="the task's id (the call action's id)")
    action_id: str = Field(pattern=_ID, description="the same as task_id (the consumer's dedup key)")
    loan_ids: list[str] = Field(min_length=1, description="the borrower's loans the task covers")
    loan_id: str = Field(pattern=_ID)
    borrower_id: str = Field(pattern=_ID)
    borrower_token: str
    jurisdiction: str
    rule_pack: str = Field(description="`<pack id>@<version>` in force when the task was queued")
    language: str
    timezone: str = Field(description="the borrower's IANA zone")
    call_window_local: tuple[str, str] = Field(description='["08:00", "22:00"]: the window, local time')
    call_before: str = Field(
        pattern=_UTC, description="the window closes here first where the phone may be: no attempt after"
    )
    attempts_left_today: int | None = Field(ge=0, description="null: no attempt limit")
    connected_left_today: int | None = Field(ge=0, description="null: no connected-call limit")
    amount_due_minor: int = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    dpd: int
    bucket: str
    script_template: str
    queued_at: str = Field(pattern=_UTC)
    expires_at: str = Field(pattern=_UTC, description="no attempt at or after this instant")
    deadline: str = Field(pattern=_UTC, description="the same as expires_at (earlier consumers)")


class CallTaskWithdrawal(BaseModel):
    """`CANCEL_CALL_TASK` on `CallTaskQueue` (planner → dialer): drop the task if no call was made yet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["CANCEL_CALL_TASK"]
    action_id: str = Field(pattern=_ID)
    loan_id: str = Field(pattern=_ID)
    reason: str


class CallAttemptedDetail(BaseModel):
    """`CallAttempted` (source `arrears.dialer`): one attempt on a call task, reported once it ended.

    `conversation`: a telephone conversation with the borrower (Reg F 12 CFR 1006.14(b)(2)(i)(B));
    only with `connected_borrower`. `task_done`: the dialer makes no more attempts on this task.
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True, extra="forbid")

    call_id: str = Field(pattern=_ID, description="unique per attempt: the idempotency key")
    task_id: str = Field(pattern=_ID)
    attempt: int = Field(ge=1, le=100, strict=True, description="the attempt's number on its task, from 1")
    started_at: UtcTime = Field(json_schema_extra={"type": "string", "format": "date-time"})
    result: CallResult
    conversation: bool = Field(default=False, strict=True)
    task_done: bool = Field(default=False, strict=True)


class CallAttemptedEvent(BusEvent):
    """The dialer's report of one attempt (`CallAttempted`, source `arrears.dialer`)."""

    MALFORMED: ClassVar[str] = "malformed CallAttempted event"
    detail: CallAttemptedDetail

    def unwrap(self) -> CallAttempt:
        """The attempt; ValueError when `started_at` is later than the event (beyond the clock skew)
        or a conversation is claimed on a call that did not reach the borrower."""
        d = self.detail
        not_later_than_event("detail.started_at", d.started_at, self.time)
        return CallAttempt(
            d.call_id, d.task_id, d.attempt, d.started_at, CallResult(d.result), d.conversation, d.task_done
        )


class FieldVisitReportedDetail(BaseModel):
    """`FieldVisitReported` (source `arrears.field`): one visit on a field-visit task.

    Collectors by id only (never names); `recording_ref` the recording's id in the recording store
    (null when the visit was not recorded). Checked against the pack in force at `visited_at`.
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True, extra="forbid")

    visit_id: str = Field(pattern=_ID, description="unique per visit: the idempotency key")
    task_id: str = Field(pattern=_ID, description="the FIELD_VISIT task's action_id")
    visited_at: UtcTime = Field(json_schema_extra={"type": "string", "format": "date-time"})
    collector_ids: list[Annotated[str, Field(pattern=_ID)]] = Field(
        max_length=10, description="ids of the collectors present"
    )
    recording_ref: str | None = Field(default=None, pattern=_ID)
    outcome: VisitOutcome


class FieldVisitReportedEvent(BusEvent):
    """The collectors' report of one visit (`FieldVisitReported`, source `arrears.field`)."""

    MALFORMED: ClassVar[str] = "malformed FieldVisitReported event"
    detail: FieldVisitReportedDetail

    def unwrap(self) -> FieldVisit:
        """The visit; ValueError when `visited_at` is later than the event (beyond the clock skew)."""
        d = self.detail
        not_later_than_event("detail.visited_at", d.visited_at, self.time)
        return FieldVisit(
            d.visit_id,
            d.task_id,
            d.visited_at,
            tuple(d.collector_ids),
            d.recording_ref,
            VisitOutcome(d.outcome),
        )


CONTRACT_MODELS: dict[str, type[BaseModel]] = {
    "CallTask": CallTask,
    "CallTaskWithdrawal": CallTaskWithdrawal,
    "CallAttempted": CallAttemptedDetail,
    "FieldVisitReported": FieldVisitReportedDetail,
}


def contract_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema (draft 2020-12, pydantic's) of each message of the dialer contract."""
    return {name: model.model_json_schema(mode="validation") for name, model in CONTRACT_MODELS.items()}


def schema_block(name: str) -> str:
    """The fenced JSON block docs/contracts.md holds for `name` (sorted keys, 2-space indent)."""
    return "```json\n" + json.dumps(contract_schemas()[name], indent=2, sort_keys=True) + "\n```"
