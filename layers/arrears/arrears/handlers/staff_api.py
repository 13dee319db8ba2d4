"""The staff's routes (`/staff/...`), by role from the token's `cognito:groups`.

So far: `GET /staff/complaints/due` (compliance, supervisor): the open complaints whose close-by date
falls within `warn_days` (ids and dates only; the borrower's text is not shown here). A borrower's
token answers 403 on every staff route. Collector routes (tasks, dispositions, plans) come later.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from arrears.adapters.borrower_requests import BorrowerRequestRepository
from arrears.handlers.api import Role, caller_of, claims_of, error_responses, ok, require
from arrears.usecases.borrower_requests import complaints_near_deadline


class ComplaintDue(BaseModel):
    request_id: str
    close_by: str
    jurisdiction: str | None


class ComplaintsDue(BaseModel):
    complaints: list[ComplaintDue]


def staff_router(requests: Callable[[], BorrowerRequestRepository], now: Callable[[], datetime]) -> Router:
    router = Router()  # type: ignore[no-untyped-call]

    @router.get(
        "/staff/complaints/due",
        summary="Open complaints near their deadline",
        responses={**ok(ComplaintsDue), **error_responses(401, 403)},
    )
    def complaints_due(warn_days: Annotated[int, Query(ge=0, le=60)] = 3) -> ComplaintsDue:
        require(
            caller_of(claims_of(router.current_event)),
            Role.COMPLIANCE,
            Role.SUPERVISOR,
        )
        due = complaints_near_deadline(requests(), now().date(), warn_days)
        return ComplaintsDue.model_validate({"complaints": due})

    return router
