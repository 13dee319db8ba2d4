"""api: the HTTP API (API Gateway HTTP API, JWT authorizer) -> the borrower's, the staff's and the
unsubscribe link's routes (arrears.handlers.api_app). Every route but the signed unsubscribe link and
the docs needs a Cognito user pool token; the authorizer has checked it before this function runs.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.adapters.idempotency import OnceRunner
from arrears.handlers.api import resolve
from arrears.handlers.api_app import ApiProviders, api_app
from arrears.handlers.telemetry import Telemetry
from arrears.usecases.borrower_requests import BorrowerApiPorts
from arrears.usecases.desk import DeskPorts
from arrears.usecases.dispatch import DispatchPorts
from arrears.usecases.preferences import PreferencePorts

telemetry = Telemetry()
container = Container.from_environment()
playbooks = container.playbook_source()


def _borrower_ports() -> BorrowerApiPorts:
    return BorrowerApiPorts(
        loans=container.loans,
        loan_ids_for_borrower=container.loan_ids_for_borrower,
        borrowers=container.borrowers,
        contacts=container.contacts,
        requests=container.borrower_requests,
        store=container.archive_store,
        token_secret=container.token_secret.value,
        playbook=playbooks.current,
    )


@cache
def _once() -> OnceRunner:
    return OnceRunner(container.settings.idempotency_table)


@cache
def _dispatch_ports() -> DispatchPorts:
    """A desk call or visit is counted and judged through the dialer contract's use cases, with
    their ports (built on the first desk request, not at import)."""
    return DispatchPorts.from_container(container, _once())


def _desk_ports() -> DeskPorts:
    return DeskPorts(
        desk=container.desk,
        intake=container.task_intake,
        dispatch=_dispatch_ports,
        borrower_api=_borrower_ports,
        requests=container.borrower_requests,
        now=container.clock.now,
    )


app = api_app(
    ApiProviders(
        borrower_ports=_borrower_ports,
        preference_ports=lambda: PreferencePorts(
            container.borrowers, container.archive_store, container.token_secret.value
        ),
        requests=lambda: container.borrower_requests,
        link_secret=container.opt_out_link_secret.value,
        now=container.clock.now,
        desk_ports=_desk_ports,
    ),
    telemetry,
)


@telemetry.handler(correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if _once.cache_info().currsize:  # the desk's idempotency records expire with the invocation's time
        _once().register_lambda_context(context)
    return resolve(app, event, context, telemetry)
