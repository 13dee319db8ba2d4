"""The collector's desk (`/staff/tasks/...`, `/staff/members/...`) and compliance's answers to
complaints (`/staff/complaints/{id}/...`), by role from the token's `cognito:groups`.

| route | roles | use case |
|---|---|---|
| `POST /staff/tasks/claim` | `agent` (kind `call`), `field` (kind `visit`) | `claim_task` |
| `POST /staff/tasks/{task_id}/attempts` | `agent` | `report_desk_attempt` |
| `POST /staff/tasks/{task_id}/visit` | `field` | `report_desk_visit` |
| `GET /staff/tasks/{task_id}/talk-track` | `agent` | `desk_talk_track` |
| `PUT /staff/members/{staff_id}/certifications/{kind}` | `supervisor` | `record_certification` |
| `POST /staff/complaints/{request_id}/response` | `compliance` | `answer_complaint` |
| `POST /staff/complaints/{request_id}/extension` | `compliance` | `extend_complaint` |

The caller's staff id is the token's subject (`sub`), never a name. POST and PUT need an
`Idempotency-Key`: a retried claim answers the same task, a retried report counts the call once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from arrears.domain.borrower_requests import HardshipReason, RequestRefused, request_id
from arrears.domain.desk import TaskKind, TrackReason
from arrears.domain.field_visits import VisitOutcome
from arrears.handlers.api import (
    IDEMPOTENCY_KEY_PATTERN,
    ApiError,
    Caller,
    Role,
    caller_of,
    claims_of,
    error_responses,
    ok,
    require,
)
from arrears.handlers.telemetry import Telemetry
from arrears.usecases import complaints as complaints_uc
from arrears.usecases import desk as desk_uc
from arrears.usecases.borrower_requests import IdempotencyKeyReused, NotYours
from arrears.usecases.call_outcomes import RejectedAttempt
from arrears.usecases.complaints import ComplaintNotOpen, ComplaintOutcome, ExtensionReason, ExtensionRefused
from arrears.usecases.desk import DeskPorts, DeskRefused
from arrears.usecases.field_visits import RejectedVisit

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,127}$"
_PATH_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"  # a task id (the action's) or a staff id (token subject)
_REGION = r"^[A-Za-z0-9_-]{1,32}$"
TEXT_MAX = 2000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Disposition(StrEnum):
    """What a call achieved (the dialer contract's results, and what the borrower said)."""

    RIGHT_PARTY = "right_party"
    PROMISE_TO_PAY = "promise_to_pay"
    DISPUTE = "dispute"
    HARDSHIP = "hardship"
    WRONG_PARTY = "wrong_party"
    WRONG_NUMBER = "wrong_number"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    REFUSED = "refused"


class DisputeReason(StrEnum):
    NOT_MY_DEBT = "not_my_debt"
    WRONG_AMOUNT = "wrong_amount"
    ALREADY_PAID = "already_paid"
    IDENTITY_THEFT = "identity_theft"
    OTHER = "other"


class ClaimIn(_In):
    kind: TaskKind = Field(description="call (role agent) or visit (role field)")
    region: str = Field(pattern=_REGION, description="the pool: the borrower's region (e.g. NY, 310000)")


class AttemptIn(_In):
    disposition: Disposition
    task_done: bool = Field(default=False, description="no further attempt on this task")
    pay_on: date | None = Field(default=None, description="promise_to_pay: the borrower's own date")
    amount_minor: int | None = Field(default=None, gt=0, le=10**12, description="promise_to_pay: minor units")
    dispute_reason: DisputeReason | None = None
    hardship_reason: HardshipReason | None = None

    @model_validator(mode="after")
    def _what_was_said(self) -> AttemptIn:
        needs = {
            Disposition.PROMISE_TO_PAY: ("pay_on", "amount_minor"),
            Disposition.DISPUTE: ("dispute_reason",),
            Disposition.HARDSHIP: ("hardship_reason",),
        }.get(self.disposition, ())
        for name in needs:
            if getattr(self, name) is None:
                raise ValueError(f"{self.disposition.value} needs {name}")
        return self


class VisitIn(_In):
    outcome: VisitOutcome
    collector_ids: list[Annotated[str, Field(pattern=_ID)]] = Field(
        default_factory=list, max_length=10, description="the other collectors present (staff ids)"
    )
    recording_ref: str | None = Field(default=None, pattern=_ID, description="the recording's id")


class CertificationIn(_In):
    certified_on: date
    expires_on: date | None = Field(default=None, description="default: a year after certified_on")


class ComplaintAnswerIn(_In):
    outcome: ComplaintOutcome
    text: str = Field(
        default="", max_length=TEXT_MAX, description="stored encrypted; never logged or archived"
    )


class ExtensionIn(_In):
    reason: ExtensionReason


class TaskOut(BaseModel):
    task_id: str
    kind: str
    region: str
    step: str
    leased_until: str | None
    reclaimed: bool = Field(description="a lease on this task had run out before this claim")
    replayed: bool
    loan_id: str
    jurisdiction: str
    language: str
    timezone: str
    amount_due_minor: int
    currency: str
    dpd: int
    bucket: str
    expires_at: str
    call_window_local: list[str] | None = None
    call_before: str | None = None
    attempts_left_today: int | None = None
    connected_left_today: int | None = None
    phone: str | None = Field(default=None, description="agent only: the number to call")
    visit_windows_local: list[list[str]] | None = None
    requirements: dict[str, int | bool] | None = None
    address: str | None = Field(default=None, description="field only: where to visit")


class AttemptOut(BaseModel):
    call_id: str
    replayed: bool
    counted: bool = Field(description="false: this call was counted by an earlier request")
    result: str
    breach: str = Field(description="empty when the call kept the rules; else the rule it broke")
    lease: str = Field(description="closed (the task is done) or released (back in the pool)")
    request: dict[str, Any] | None = Field(description="the promise, dispute or hardship recorded")


class VisitOut(BaseModel):
    task_id: str
    counted: bool
    breaches: list[str]


class CertificationOut(BaseModel):
    staff_id: str
    kind: str
    certified_on: date
    expires_on: date


class ComplaintAnswerOut(BaseModel):
    request_id: str
    replayed: bool
    details: dict[str, str | bool]


class Line(BaseModel):
    layer: str
    text: str
    source: str


class TalkTrackOut(BaseModel):
    track_id: str
    version: str
    step: str
    reason: str
    language: str
    rule_pack: str
    opening: list[Line]
    script: list[str]
    closing: list[Line]
    source: str


IdempotencyKey = Annotated[
    str,
    Header(alias="idempotency-key", pattern=IDEMPOTENCY_KEY_PATTERN, description="retry-safe request key"),
]


def desk_router(ports: Callable[[], DeskPorts], telemetry: Telemetry) -> Router:
    router = Router()  # type: ignore[no-untyped-call]

    def caller(*roles: Role) -> Caller:
        return require(caller_of(claims_of(router.current_event)), *roles)

    def refused(error: DeskRefused) -> ApiError:
        return ApiError(error.status, error.code, str(error), error.field)

    @router.post(
        "/staff/tasks/claim",
        summary="Claim the next task of my pool (leased)",
        responses={**ok(TaskOut), **error_responses(401, 403, 404, 413)},
    )
    def claim(body: Annotated[ClaimIn, Body()], key: IdempotencyKey) -> TaskOut:
        role = Role.AGENT if body.kind is TaskKind.CALL else Role.FIELD
        who = caller(role)
        rid = request_id(who.subject, f"claim:{body.kind.value}", key)
        try:
            claimed = desk_uc.claim_task(ports(), who.subject, body.kind, body.region, rid)
        except DeskRefused as error:
            telemetry.count("DeskClaims", kind=body.kind.value, outcome=error.code)
            raise refused(error) from None
        outcome = "replayed" if claimed.replayed else "reclaimed" if claimed.reclaimed else "leased"
        telemetry.count("DeskClaims", kind=body.kind.value, outcome=outcome)
        telemetry.logger.info(
            "desk task claimed", extra={"task_id": claimed.task["task_id"], "outcome": outcome}
        )
        return TaskOut.model_validate(
            {**claimed.task, "reclaimed": claimed.reclaimed, "replayed": claimed.replayed}
        )

    @router.post(
        "/staff/tasks/<task_id>/attempts",
        summary="Report a call attempt and what it achieved",
        responses={**ok(AttemptOut), **error_responses(400, 401, 403, 404, 409, 413)},
    )
    def attempt(
        task_id: Annotated[str, Path(pattern=_PATH_ID)],
        body: Annotated[AttemptIn, Body()],
        key: IdempotencyKey,
    ) -> AttemptOut:
        who = caller(Role.AGENT)
        rid = request_id(who.subject, f"attempt:{task_id}", key)
        report = desk_uc.DeskAttempt(
            body.disposition.value,
            body.task_done,
            body.pay_on,
            body.amount_minor,
            body.dispute_reason.value if body.dispute_reason else None,
            body.hardship_reason,
        )
        try:
            done = desk_uc.report_desk_attempt(ports(), who.subject, task_id, report, rid)
        except DeskRefused as error:
            raise refused(error) from None
        except RequestRefused as error:
            raise ApiError(400, error.code, str(error), error.field) from None
        except (RejectedAttempt, NotYours) as error:
            raise ApiError(409, "attempt_rejected", "the attempt cannot be counted on this task") from error
        except IdempotencyKeyReused as error:
            raise ApiError(409, "idempotency_key_reused", str(error), "idempotency-key") from None
        telemetry.count("DeskAttempts", disposition=body.disposition.value)
        telemetry.logger.info(
            "desk attempt recorded",
            extra={"task_id": task_id, "call_id": done.call_id, "disposition": body.disposition.value},
        )
        request = None
        if done.request is not None:
            request = {"request_id": done.request.request_id, **done.request.answer}
        return AttemptOut(
            call_id=done.call_id,
            replayed=done.replayed,
            counted=done.outcome.new,
            result=desk_uc.DISPOSITION_RESULTS[body.disposition.value][0].value,
            breach=done.outcome.breach,
            lease=done.lease,
            request=request,
        )

    @router.post(
        "/staff/tasks/<task_id>/visit",
        summary="Report a field visit",
        responses={**ok(VisitOut), **error_responses(401, 403, 404, 409, 413)},
    )
    def visit(
        task_id: Annotated[str, Path(pattern=_PATH_ID)], body: Annotated[VisitIn, Body()], key: IdempotencyKey
    ) -> VisitOut:
        who = caller(Role.FIELD)
        rid = request_id(who.subject, f"visit:{task_id}", key)
        try:
            result = desk_uc.report_desk_visit(
                ports(),
                who.subject,
                task_id,
                collector_ids=tuple(body.collector_ids),
                recording_ref=body.recording_ref,
                outcome=body.outcome,
                request_id=rid,
            )
        except DeskRefused as error:
            raise refused(error) from None
        except RejectedVisit as error:
            raise ApiError(409, "visit_rejected", "the visit cannot be recorded on this task") from error
        telemetry.count("DeskVisits", outcome=body.outcome.value, flagged=str(bool(result.breaches)).lower())
        telemetry.logger.info(
            "desk visit recorded", extra={"task_id": task_id, "breaches": list(result.breaches)}
        )
        return VisitOut(task_id=task_id, counted=result.new, breaches=list(result.breaches))

    @router.get(
        "/staff/tasks/<task_id>/talk-track",
        summary="The talk track of my leased call task",
        responses={**ok(TalkTrackOut), **error_responses(401, 403, 404, 409)},
    )
    def talk_track(
        task_id: Annotated[str, Path(pattern=_PATH_ID)], reason: Annotated[TrackReason | None, Query()] = None
    ) -> TalkTrackOut:
        who = caller(Role.AGENT)
        try:
            return TalkTrackOut.model_validate(desk_uc.desk_talk_track(ports(), who.subject, task_id, reason))
        except DeskRefused as error:
            raise refused(error) from None

    @router.put(
        "/staff/members/<staff_id>/certifications/<kind>",
        summary="Record a staff member's training for a task kind",
        responses={**ok(CertificationOut), **error_responses(400, 401, 403, 413)},
    )
    def certify(
        staff_id: Annotated[str, Path(pattern=_PATH_ID)],
        kind: Annotated[TaskKind, Path()],
        body: Annotated[CertificationIn, Body()],
        key: IdempotencyKey,
    ) -> CertificationOut:
        who = caller(Role.SUPERVISOR)
        try:
            cert = desk_uc.record_certification(
                ports(),
                staff_id,
                kind,
                certified_on=body.certified_on,
                expires_on=body.expires_on,
                recorded_by=who.subject,
            )
        except DeskRefused as error:
            raise refused(error) from None
        telemetry.count("StaffCertifications", kind=kind.value)
        return CertificationOut(
            staff_id=cert.staff_id,
            kind=cert.kind.value,
            certified_on=cert.certified_on,
            expires_on=cert.expires_on,
        )

    @router.post(
        "/staff/complaints/<complaint_id>/response",
        summary="Answer a complaint (closes it)",
        responses={**ok(ComplaintAnswerOut), **error_responses(401, 403, 404, 413)},
    )
    def answer(
        complaint_id: Annotated[str, Path(pattern=r"^[a-f0-9]{32}$")],
        body: Annotated[ComplaintAnswerIn, Body()],
        key: IdempotencyKey,
    ) -> ComplaintAnswerOut:
        who = caller(Role.COMPLIANCE)
        desk = ports()
        try:
            done = complaints_uc.answer_complaint(
                desk.requests,
                desk.borrower_api().store,
                complaint_id,
                outcome=body.outcome,
                text=body.text,
                staff_id=who.subject,
                at=desk.now(),
            )
        except ComplaintNotOpen as error:
            raise ApiError(404, "not_found", str(error)) from None
        telemetry.count("ComplaintsAnswered", on_time=str(done.details.get("on_time")).lower())
        telemetry.logger.info("complaint answered", extra={"request_id": complaint_id})
        return ComplaintAnswerOut(request_id=complaint_id, replayed=not done.created, details=done.details)

    @router.post(
        "/staff/complaints/<complaint_id>/extension",
        summary="Extend a complaint's deadline, with the reason",
        responses={**ok(ComplaintAnswerOut), **error_responses(400, 401, 403, 404, 413)},
    )
    def extend(
        complaint_id: Annotated[str, Path(pattern=r"^[a-f0-9]{32}$")],
        body: Annotated[ExtensionIn, Body()],
        key: IdempotencyKey,
    ) -> ComplaintAnswerOut:
        who = caller(Role.COMPLIANCE)
        desk = ports()
        try:
            done = complaints_uc.extend_complaint(
                desk.requests,
                desk.borrower_api().store,
                complaint_id,
                reason=body.reason,
                staff_id=who.subject,
                at=desk.now(),
            )
        except ComplaintNotOpen as error:
            raise ApiError(404, "not_found", str(error)) from None
        except ExtensionRefused as error:
            raise ApiError(400, error.code, str(error), "reason") from None
        telemetry.logger.info("complaint extended", extra={"request_id": complaint_id})
        return ComplaintAnswerOut(request_id=complaint_id, replayed=False, details=done.details)

    return router
