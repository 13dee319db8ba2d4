"""Repayment-plan routes: the borrower asks (`/me/...`), a collector negotiates, a supervisor decides.

* `POST /me/loans/{loan_id}/plan-requests` (borrower): a plan of 2-6 instalments over the arrears;
  agreed at once inside the auto-approval limits (201, `status` active), else queued for a supervisor
  (201, `status` queued). Outside the policy: 400 with the refusal's `code` and the policy it cites.
* `GET /me/loans/{loan_id}/plans` (borrower): the loan's plan and the offers the policy allows today.
* `POST /staff/loans/{loan_id}/plans` (agent, supervisor): a plan negotiated on a call; an `agent`
  only inside the agent's limits (beyond them 403 `needs_supervisor`, or with `beyond_agent_limits`
  `refer`, 201 `status` queued for a supervisor).
* `POST /staff/plan-requests/{request_id}/decision` (supervisor): approve or decline a queued request.

A loan with a plan in force answers 409 `plan_active`. POSTs need an `Idempotency-Key` (a retry answers
the same, 200 instead of 201). Each route calls one use case of `arrears.usecases.plans`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import BaseModel, ConfigDict, Field

from arrears.domain.borrower_requests import RequestRefused, request_id
from arrears.handlers.api import ApiError, Caller, Role, caller_of, claims_of, error_responses, ok, require
from arrears.handlers.borrower_api import LOAN_ID, IdempotencyKey, LoanId, RequestOut
from arrears.handlers.telemetry import Telemetry
from arrears.usecases import plans as uc
from arrears.usecases.borrower_requests import (
    BorrowerApiPorts,
    IdempotencyKeyReused,
    NotYours,
    RequestOutcome,
)

REQUEST_ID = r"^[a-f0-9]{32}$"


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instalments: int = Field(ge=2, le=6, description="how many plan instalments", examples=[3])
    every_days: int | None = Field(
        default=None,
        ge=1,
        le=31,
        description="days between instalments (default: the widest the policy allows)",
    )


class StaffPlanIn(PlanIn):
    beyond_agent_limits: Literal["refuse", "refer"] = Field(
        default="refuse",
        description=(
            "a plan beyond the agent's limits: refuse (403 needs_supervisor) or refer it to a supervisor "
            "(201, status queued; decided on POST /staff/plan-requests/{request_id}/decision)"
        ),
    )


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool = Field(
        description="true approves the plan (agreed over today's arrears), false declines it"
    )


class PlanInstalmentOut(BaseModel):
    seq: int
    due_on: str
    amount_minor: int
    outcome: str = Field(description="due, kept or missed")


class PlanOut(BaseModel):
    plan_id: str
    status: str = Field(description="active, broken or completed")
    agreed_on: str
    ended_on: str | None
    currency: str
    arrears_minor: int = Field(description="the arrears the plan restructures (integer minor units)")
    approval: str = Field(description="auto, agent or supervisor")
    grace_days: int
    instalments: list[PlanInstalmentOut]


class OfferInstalment(BaseModel):
    due_on: str
    amount_minor: int


class OfferOut(BaseModel):
    instalments: int
    every_days: int
    approval: str = Field(description="who may agree it: auto (at once), agent, supervisor")
    schedule: list[OfferInstalment]


class LoanPlansOut(BaseModel):
    loan_id: str
    as_of: str
    arrears_minor: int
    plan: PlanOut | None
    offers: list[OfferOut]


_RECORDED: dict[int, Any] = {
    201: {"description": "Recorded", "content": {content_types.APPLICATION_JSON: {"model": RequestOut}}},
    200: {
        "description": "A retry (same Idempotency-Key): the same answer",
        "content": {content_types.APPLICATION_JSON: {"model": RequestOut}},
    },
}
RequestId = Annotated[str, Path(pattern=REQUEST_ID)]
StaffLoanId = Annotated[str, Path(pattern=LOAN_ID)]


def plans_router(
    ports: Callable[[], BorrowerApiPorts], now: Callable[[], datetime], telemetry: Telemetry
) -> Router:
    router = Router()  # type: ignore[no-untyped-call]

    def caller(*roles: Role) -> Caller:
        return require(caller_of(claims_of(router.current_event)), *roles)

    def run(route: str, call: Callable[[], RequestOutcome]) -> Response[RequestOut]:
        try:
            outcome = call()
        except NotYours as missing:
            raise ApiError(404, "not_found", str(missing)) from None
        except uc.PlanActive as active:
            raise ApiError(409, active.code, str(active), active.field) from None
        except RequestRefused as refused:
            raise ApiError(400, refused.code, str(refused), refused.field) from None
        except uc.NeedsSupervisor as needs:
            raise ApiError(403, "needs_supervisor", str(needs), "instalments") from None
        except uc.AlreadyDecided as decided:
            raise ApiError(409, "already_decided", str(decided)) from None
        except IdempotencyKeyReused as reused:
            raise ApiError(409, "idempotency_key_reused", str(reused), "idempotency-key") from None
        status = str(outcome.answer.get("status", ""))
        telemetry.count("PlanRequests", route=route, status=status, replayed=str(not outcome.created).lower())
        telemetry.logger.info(
            "plan request", extra={"route": route, "request_id": outcome.request_id, "status": status}
        )
        body = RequestOut(request_id=outcome.request_id, replayed=not outcome.created, details=outcome.answer)
        return Response(201 if outcome.created else 200, content_types.APPLICATION_JSON, body)

    @router.post(
        "/me/loans/<loan_id>/plan-requests",
        summary="Ask for a repayment plan",
        responses={**_RECORDED, **error_responses(400, 401, 403, 404, 409, 413)},
    )
    def plan_request(
        loan_id: LoanId, body: Annotated[PlanIn, Body()], key: IdempotencyKey
    ) -> Response[RequestOut]:
        who = caller(Role.BORROWER)
        rid = request_id(who.subject, "plan-request", key)
        terms = uc.PlanTerms(body.instalments, body.every_days)
        return run(
            "plan-request",
            lambda: uc.request_plan(ports(), who.borrower_id or "", loan_id, rid, terms, now()),
        )

    @router.get(
        "/me/loans/<loan_id>/plans",
        summary="My loan's repayment plan and the plans on offer",
        responses={**ok(LoanPlansOut), **error_responses(401, 403, 404)},
    )
    def my_plans(loan_id: LoanId) -> LoanPlansOut:
        who = caller(Role.BORROWER)
        try:
            view = uc.loan_plans(ports(), who.borrower_id or "", loan_id, now())
        except NotYours:
            raise ApiError(404, "not_found", "no such loan") from None
        return LoanPlansOut.model_validate(view)

    @router.post(
        "/staff/loans/<loan_id>/plans",
        summary="Agree a repayment plan negotiated with the borrower",
        responses={**_RECORDED, **error_responses(400, 401, 403, 404, 409, 413)},
    )
    def negotiate(
        loan_id: StaffLoanId, body: Annotated[StaffPlanIn, Body()], key: IdempotencyKey
    ) -> Response[RequestOut]:
        who = caller(Role.AGENT, Role.SUPERVISOR)
        rid = request_id(who.subject, "staff-plan", key)
        terms = uc.PlanTerms(body.instalments, body.every_days)
        supervisor = Role.SUPERVISOR in who.roles
        refer = body.beyond_agent_limits == "refer"
        return run(
            "staff-plan",
            lambda: uc.negotiate_plan(
                ports(), who.subject, supervisor, loan_id, rid, terms, now(), refer=refer
            ),
        )

    @router.post(
        "/staff/plan-requests/<request_id>/decision",
        summary="Approve or decline a queued plan request",
        responses={**_RECORDED, **error_responses(400, 401, 403, 404, 409, 413)},
    )
    def decide(
        request_id: RequestId, body: Annotated[DecisionIn, Body()], key: IdempotencyKey
    ) -> Response[RequestOut]:
        who = caller(Role.SUPERVISOR)
        del key  # required like on every POST; a decision is idempotent by the request's own id
        return run(
            "plan-decision",
            lambda: uc.decide_plan_request(ports(), who.subject, request_id, approve=body.approve, at=now()),
        )

    return router
