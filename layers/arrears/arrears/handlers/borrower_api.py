"""The borrower's routes (`/me/...`): their own loans, and what they may ask about them.

Every route takes the caller's borrower id from their token (`custom:borrower_id`), never from the
request; a loan that is not theirs answers 404 like one that does not exist. Staff tokens without a
borrower id answer 403. Each route calls one use case of `arrears.usecases.borrower_requests`; POST and
PUT need an `Idempotency-Key` header (8-64 of A-Z a-z 0-9 _ -): a retry with the same key answers the
same and records nothing twice (a key reused for another request answers 409).

Free text (hardship, complaint) is at most 2,000 characters, stored encrypted in the BorrowerRequests
table, and never logged, counted or archived.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path
from pydantic import BaseModel, ConfigDict, Field, model_validator

from arrears.domain.borrower_requests import ComplaintCategory, HardshipReason, RequestRefused, request_id
from arrears.domain.strategy import Channel
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
from arrears.usecases import borrower_requests as uc
from arrears.usecases.borrower_requests import (
    BorrowerApiPorts,
    IdempotencyKeyReused,
    NotYours,
    RequestOutcome,
)

LOAN_ID = r"^[A-Za-z0-9_-]{1,64}$"
TEXT_MAX = 2000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContactChannel(StrEnum):
    """The channels a borrower may opt out of (field visits, legal and bureau steps are not theirs to
    stop)."""

    SMS = "SMS"
    EMAIL = "EMAIL"
    CALL = "CALL_TASK"


class Language(StrEnum):
    EN = "en"
    ZH = "zh"


class DisputeReason(StrEnum):
    NOT_MY_DEBT = "not_my_debt"
    WRONG_AMOUNT = "wrong_amount"
    ALREADY_PAID = "already_paid"
    IDENTITY_THEFT = "identity_theft"
    OTHER = "other"


class PromiseIn(_In):
    pay_on: date = Field(
        description="the day the borrower will pay (their own date)", examples=["2026-12-04"]
    )
    amount_minor: int = Field(gt=0, le=10**12, description="integer minor units", examples=[25000])


class DisputeIn(_In):
    reason: DisputeReason


class HardshipIn(_In):
    reason: HardshipReason
    text: str = Field(
        default="", max_length=TEXT_MAX, description="stored encrypted; never logged or archived"
    )


class ComplaintIn(_In):
    category: ComplaintCategory
    text: str = Field(
        default="", max_length=TEXT_MAX, description="stored encrypted; never logged or archived"
    )


class Hours(_In):
    start: int = Field(ge=0, le=23, description="local hour the window opens")
    end: int = Field(ge=0, le=23, description="local hour it closes (may be past midnight: 19 to 1)")


class PreferencesIn(_In):
    opt_out: list[ContactChannel] = Field(default_factory=list, max_length=3)
    opt_in: list[ContactChannel] = Field(default_factory=list, max_length=3)
    preferred_hours: Hours | None = Field(
        default=None, description="narrows the legal window, never widens it"
    )
    language: Language | None = None

    @model_validator(mode="after")
    def _not_both(self) -> PreferencesIn:
        if set(self.opt_out) & set(self.opt_in):
            raise ValueError("a channel cannot be opted out of and into at once")
        return self


class Instalment(BaseModel):
    seq: int
    due_on: date
    due_minor: int
    outstanding_minor: int


class HoldsOut(BaseModel):
    promise_to_pay_until: date | None
    hardship_until: date | None
    dispute_open: bool


class ContactOut(BaseModel):
    channel: str
    at: str = Field(description="when it was sent (UTC, ISO 8601)")
    step: str
    status: str


class LoanOut(BaseModel):
    loan_id: str
    currency: str
    status: str
    as_of: date = Field(description="the borrower's business date the amounts are for")
    dpd: int = Field(description="days past due")
    bucket: str
    amount_due_minor: int = Field(description="what brings the loan current today")
    payoff_minor: int = Field(description="what closes the loan if paid today")
    schedule: list[Instalment]
    holds: HoldsOut
    contacts: list[ContactOut] = Field(description="what was sent about this loan, and when")


class LoansOut(BaseModel):
    loans: list[LoanOut]


class RequestOut(BaseModel):
    request_id: str
    replayed: bool = Field(description="true when this answers a retry of a stored request")
    details: dict[str, str | int | bool | dict[str, str] | list[int] | None]


_RECORDED: dict[int, Any] = {
    201: {"description": "Recorded", "content": {content_types.APPLICATION_JSON: {"model": RequestOut}}},
    200: {
        "description": "A retry (same Idempotency-Key) of a stored request: the same answer",
        "content": {content_types.APPLICATION_JSON: {"model": RequestOut}},
    },
}

IdempotencyKey = Annotated[
    str,
    Header(alias="idempotency-key", pattern=IDEMPOTENCY_KEY_PATTERN, description="retry-safe request key"),
]
LoanId = Annotated[str, Path(pattern=LOAN_ID)]


def borrower_router(
    ports: Callable[[], BorrowerApiPorts], now: Callable[[], datetime], telemetry: Telemetry
) -> Router:
    router = Router()  # type: ignore[no-untyped-call]

    def borrower() -> tuple[Caller, str]:
        caller = require(caller_of(claims_of(router.current_event)), Role.BORROWER)
        return caller, caller.borrower_id or ""  # a BORROWER role always has its borrower id

    def answered(route: str, outcome: RequestOutcome) -> Response[RequestOut]:
        telemetry.count("BorrowerRequests", route=route, replayed=str(not outcome.created).lower())
        telemetry.logger.info(
            "borrower request recorded", extra={"route": route, "request_id": outcome.request_id}
        )
        body = RequestOut(request_id=outcome.request_id, replayed=not outcome.created, details=outcome.answer)
        return Response(201 if outcome.created else 200, content_types.APPLICATION_JSON, body)

    def run(route: str, call: Callable[[], RequestOutcome]) -> Response[RequestOut]:
        try:
            return answered(route, call())
        except NotYours:
            raise ApiError(404, "not_found", "no such loan") from None
        except RequestRefused as refused:
            raise ApiError(400, refused.code, str(refused), refused.field) from None
        except IdempotencyKeyReused as reused:
            raise ApiError(409, "idempotency_key_reused", str(reused), "idempotency-key") from None

    def rid(caller: Caller, route: str, key: str) -> str:
        return request_id(caller.subject, route, key)

    @router.get("/me/loans", summary="My loans", responses={**ok(LoansOut), **error_responses(401, 403)})
    def my_loans() -> LoansOut:
        _, borrower_id = borrower()
        return LoansOut.model_validate({"loans": uc.my_loans(ports(), borrower_id, now())})

    @router.get(
        "/me/loans/<loan_id>",
        summary="One of my loans",
        responses={**ok(LoanOut), **error_responses(401, 403, 404)},
    )
    def my_loan(loan_id: LoanId) -> LoanOut:
        _, borrower_id = borrower()
        try:
            loan = uc.owned_loan(ports(), borrower_id, loan_id)
        except NotYours:
            raise ApiError(404, "not_found", "no such loan") from None
        return LoanOut.model_validate(uc.loan_view(ports(), loan, now()))

    @router.post(
        "/me/loans/<loan_id>/promises",
        summary="Promise to pay",
        responses={**_RECORDED, **error_responses(400, 401, 403, 404, 409, 413)},
    )
    def promise(
        loan_id: LoanId, body: Annotated[PromiseIn, Body()], key: IdempotencyKey
    ) -> Response[RequestOut]:
        caller, borrower_id = borrower()
        request = rid(caller, "promise", key)
        return run(
            "promise",
            lambda: uc.promise_to_pay(
                ports(),
                borrower_id,
                loan_id,
                request,
                pay_on=body.pay_on,
                amount_minor=body.amount_minor,
                at=now(),
            ),
        )

    @router.post(
        "/me/loans/<loan_id>/disputes",
        summary="Dispute the debt",
        responses={**_RECORDED, **error_responses(401, 403, 404, 409, 413)},
    )
    def dispute(
        loan_id: LoanId, body: Annotated[DisputeIn, Body()], key: IdempotencyKey
    ) -> Response[RequestOut]:
        caller, borrower_id = borrower()
        request = rid(caller, "dispute", key)
        return run(
            "dispute",
            lambda: uc.dispute(ports(), borrower_id, loan_id, request, reason=body.reason.value, at=now()),
        )

    @router.post(
        "/me/loans/<loan_id>/hardship",
        summary="Report hardship",
        responses={**_RECORDED, **error_responses(401, 403, 404, 409, 413)},
    )
    def hardship(
        loan_id: LoanId, body: Annotated[HardshipIn, Body()], key: IdempotencyKey
    ) -> Response[RequestOut]:
        caller, borrower_id = borrower()
        request = rid(caller, "hardship", key)
        return run(
            "hardship",
            lambda: uc.report_hardship(
                ports(), borrower_id, loan_id, request, reason=body.reason, text=body.text, at=now()
            ),
        )

    @router.post(
        "/me/loans/<loan_id>/complaints",
        summary="Complain",
        responses={**_RECORDED, **error_responses(401, 403, 404, 409, 413)},
    )
    def complaint(
        loan_id: LoanId, body: Annotated[ComplaintIn, Body()], key: IdempotencyKey
    ) -> Response[RequestOut]:
        caller, borrower_id = borrower()
        request = rid(caller, "complaint", key)
        return run(
            "complaint",
            lambda: uc.complain(
                ports(), borrower_id, loan_id, request, category=body.category, text=body.text, at=now()
            ),
        )

    @router.put(
        "/me/preferences",
        summary="My channel preferences",
        responses={**_RECORDED, **error_responses(400, 401, 403, 404, 413)},
    )
    def preferences(body: Annotated[PreferencesIn, Body()], key: IdempotencyKey) -> Response[RequestOut]:
        caller, borrower_id = borrower()
        request = rid(caller, "preferences", key)
        hours = (body.preferred_hours.start, body.preferred_hours.end) if body.preferred_hours else None
        return run(
            "preferences",
            lambda: uc.set_preferences(
                ports(),
                borrower_id,
                request,
                opt_out=[Channel(c.value) for c in body.opt_out],
                opt_in=[Channel(c.value) for c in body.opt_in],
                preferred_hours=hours,
                language=body.language.value if body.language else None,
                at=now(),
            ),
        )

    return router
