"""The HTTP API's frame: who is calling, what an error looks like, and the app that mounts every audience.

`build_api(deps)` returns Powertools' `APIGatewayHttpResolver` with request/response validation from
the pydantic models of the routes (`enable_validation=True`), Swagger UI at `/docs` (the OpenAPI JSON
at `/docs?format=json`, also written to docs/openapi.json by scripts/openapi.py), and the routers of
each audience: the borrower's (`arrears.handlers.borrower_api`, `/me/...`), the staff's
(`arrears.handlers.staff_api`, `/staff/...`) and the unsubscribe link (`arrears.handlers.preferences`,
`/preferences/unsubscribe`, the one route without a token: the link is signed). `deps` is called on
the first request only, so the OpenAPI document is built without AWS.

Identity (`caller_of`): the claims API Gateway's JWT authorizer puts in
`requestContext.authorizer.jwt.claims` (Cognito user pool tokens). A borrower's token carries
`custom:borrower_id`; staff roles are `cognito:groups` (`agent`, `field`, `supervisor`, `compliance`),
which API Gateway hands over as one string (`"[agent supervisor]"`) or a list.

Errors (`ApiError`) answer `{"error": {"code", "message", "field"}}` with a 4xx status; the message
names the rule broken, never a value sent (the request may carry personal data). A request body over
`MAX_BODY_BYTES` answers 413 (`resolve`, before the body is parsed). Validation errors answer 422 in
the same shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from pydantic import BaseModel, Field

from arrears.handlers.telemetry import Telemetry

MAX_BODY_BYTES = 8 * 1024  # the largest request body any route takes (free text is at most 2,000 characters)
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
API_TITLE = "Arrears borrower and staff API"
API_VERSION = "1.0.0"
_NO_STORE = {"Cache-Control": "no-store"}


class Role(StrEnum):
    BORROWER = "borrower"
    AGENT = "agent"
    FIELD = "field"
    SUPERVISOR = "supervisor"
    COMPLIANCE = "compliance"


STAFF_ROLES = frozenset({Role.AGENT, Role.FIELD, Role.SUPERVISOR, Role.COMPLIANCE})


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller: `subject` (the token's `sub`), their roles, and their borrower id
    (borrowers only)."""

    subject: str
    roles: frozenset[Role]
    borrower_id: str | None = None


class ApiError(Exception):
    """A 4xx answer: `status`, a machine-readable `code`, the `field` at fault if any, and a message
    that never repeats what was sent."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.field = field


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable error code", examples=["not_found"])
    message: str = Field(description="what rule was broken (never a value sent)")
    field: str | None = Field(default=None, description="the request field at fault, if any")


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int, Any]:
    """The OpenAPI `responses` of the given error statuses (all in `ErrorBody`'s shape)."""
    text = {
        400: "Bad request",
        401: "No valid token",
        403: "Not allowed for this caller's role",
        404: "Not found (or not the caller's)",
        409: "Idempotency-Key reused for another request",
        410: "Link expired",
        413: "Body too large",
    }
    return {
        status: {
            "description": text.get(status, "Error"),
            "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}},
        }
        for status in statuses
    }


def ok(model: type[BaseModel]) -> dict[int, Any]:
    """The OpenAPI `responses` entry of a 200 answering `model` (a route with its own `responses`
    documents its 200 itself)."""
    return {200: {"description": "OK", "content": {content_types.APPLICATION_JSON: {"model": model}}}}


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response[str]:
    body = {"error": {"code": code, "message": message, "field": field}}
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body), headers=dict(_NO_STORE))


_GROUPS_SPLIT = re.compile(r"[\s,\[\]\"']+")


def _groups(value: Any) -> set[str]:
    if isinstance(value, list | tuple):
        return {str(item) for item in value}
    return {part for part in _GROUPS_SPLIT.split(str(value or "")) if part}


def claims_of(event: BaseProxyEvent) -> Mapping[str, Any]:
    """The JWT claims API Gateway's authorizer put in the event (`requestContext.authorizer.jwt.claims`;
    empty on a route without an authorizer)."""
    context = event.raw_event.get("requestContext") or {}
    jwt = (context.get("authorizer") or {}).get("jwt") or {}
    claims = jwt.get("claims") or {}
    return claims if isinstance(claims, Mapping) else {}


def caller_of(claims: Mapping[str, Any]) -> Caller:
    """The caller of a request from its JWT claims; `ApiError` 401 without a subject."""
    subject = str(claims.get("sub") or "")
    if not subject:
        raise ApiError(401, "unauthenticated", "a valid bearer token is required")
    roles = {
        Role(group) for group in _groups(claims.get("cognito:groups")) if group in Role.__members__.values()
    }
    roles.discard(Role.BORROWER)  # a group cannot make someone a borrower: only the borrower id claim does
    borrower_id = str(claims.get("custom:borrower_id") or "") or None
    if borrower_id is not None:
        roles.add(Role.BORROWER)
    return Caller(subject, frozenset(roles), borrower_id)


def require(caller: Caller, *allowed: Role) -> Caller:
    """`ApiError` 403 unless the caller holds one of `allowed`."""
    if not caller.roles & set(allowed):
        raise ApiError(403, "forbidden", "this route is not open to the caller's role")
    return caller


def resolve(
    app: APIGatewayHttpResolver, event: dict[str, Any], context: Any, telemetry: Telemetry
) -> dict[str, Any]:
    """`app.resolve(event, context)`, after the body size check (before validation parses the body):
    a body over `MAX_BODY_BYTES` answers 413 and reaches no route."""
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(str(body).encode())
    if size > MAX_BODY_BYTES:
        telemetry.count("ApiErrors", code="body_too_large")
        telemetry.logger.info("api request refused", extra={"code": "body_too_large"})
        message = f"the request body may be at most {MAX_BODY_BYTES} bytes"
        response = error_response(413, "body_too_large", message)
        return {
            "statusCode": response.status_code,
            "headers": {"Content-Type": content_types.APPLICATION_JSON, **_NO_STORE},
            "body": response.body,
            "isBase64Encoded": False,
        }
    return app.resolve(event, context)


def build_api(
    mount: Callable[[APIGatewayHttpResolver], None], telemetry: Telemetry
) -> APIGatewayHttpResolver:
    """The resolver with validation, Swagger UI, the error shape and the body limit; `mount` includes
    the audiences' routers."""
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(ApiError)  # type: ignore[untyped-decorator]
    def api_error(error: ApiError) -> Response[str]:
        telemetry.count("ApiErrors", code=error.code)
        telemetry.logger.info("api request refused", extra={"code": error.code, "field": error.field})
        return error_response(error.status, error.code, str(error), error.field)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def invalid(error: RequestValidationError) -> Response[str]:
        first = error.errors()[0] if error.errors() else {}
        location = [
            str(part) for part in first.get("loc", ()) if part not in ("body", "path", "query", "header")
        ]
        field = ".".join(location) or None
        kind = str(first.get("type", "invalid"))
        telemetry.count("ApiErrors", code="invalid_request")
        # Name the field and the kind of problem only: pydantic's message may quote the value sent.
        telemetry.logger.info("api request invalid", extra={"field": field, "kind": kind})
        return error_response(422, "invalid_request", f"the request is not valid ({kind})", field)

    @app.not_found
    def not_found(_: Exception) -> Response[str]:
        return error_response(404, "no_route", "no such route")

    mount(app)
    app.enable_swagger(
        path="/docs",
        title=API_TITLE,
        version=API_VERSION,
        description=(
            "Borrowers read their own loans and ask for a promise to pay, a dispute, a hardship pause, "
            "channel preferences or a complaint; staff by role. Amounts are integer minor units. "
            "POST and PUT take an Idempotency-Key header: a retry with the same key answers the same."
        ),
        security_schemes={"jwt": HTTPBearer(bearerFormat="JWT", description="Cognito user pool token")},
    )
    return app
