"""The whole HTTP API, one app: what functions/api serves and what scripts/openapi.py documents.

`api_app(providers, telemetry)` mounts the borrower's routes (`/me/...`), the staff's (`/staff/...`) and
the unsubscribe link (`/preferences/unsubscribe`) on `arrears.handlers.api.build_api`; the collector's
desk (`arrears.handlers.desk_api`) is part of the staff's. `providers` are
called on a request only, so `openapi_document()` needs no AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from arrears.adapters.borrower_requests import BorrowerRequestRepository
from arrears.handlers.api import API_TITLE, API_VERSION, build_api
from arrears.handlers.borrower_api import borrower_router
from arrears.handlers.desk_api import desk_router
from arrears.handlers.plans_api import plans_router
from arrears.handlers.preferences import unsubscribe_router
from arrears.handlers.staff_api import staff_router
from arrears.handlers.telemetry import Telemetry
from arrears.usecases.borrower_requests import BorrowerApiPorts
from arrears.usecases.desk import DeskPorts
from arrears.usecases.preferences import PreferencePorts, Secret


def _unavailable() -> Any:
    raise RuntimeError("the OpenAPI document's app serves no requests")


@dataclass(frozen=True)
class ApiProviders:
    borrower_ports: Callable[[], BorrowerApiPorts]
    preference_ports: Callable[[], PreferencePorts]
    requests: Callable[[], BorrowerRequestRepository]
    link_secret: Secret
    now: Callable[[], datetime]
    desk_ports: Callable[[], DeskPorts] = _unavailable


def api_app(providers: ApiProviders, telemetry: Telemetry) -> APIGatewayHttpResolver:
    def mount(app: APIGatewayHttpResolver) -> None:
        app.include_router(borrower_router(providers.borrower_ports, providers.now, telemetry))
        app.include_router(staff_router(providers.requests, providers.now))
        app.include_router(plans_router(providers.borrower_ports, providers.now, telemetry))
        app.include_router(desk_router(providers.desk_ports, telemetry))
        app.include_router(
            unsubscribe_router(providers.preference_ports, providers.link_secret, providers.now, telemetry),
            prefix="/preferences",
        )

    return build_api(mount, telemetry)


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, as served at `/docs?format=json` (stable key order)."""
    providers = ApiProviders(
        _unavailable, _unavailable, _unavailable, _unavailable, lambda: datetime.now(UTC)
    )
    app = api_app(providers, Telemetry())
    schema = app.get_openapi_schema(title=API_TITLE, version=API_VERSION)
    document: dict[str, Any] = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
    return document
