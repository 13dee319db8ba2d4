"""api: the HTTP API (API Gateway HTTP API, JWT authorizer) -> the borrower's, the staff's and the
unsubscribe link's routes (arrears.handlers.api_app). Every route but the signed unsubscribe link and
the docs needs a Cognito user pool token; the authorizer has checked it before this function runs.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.handlers.telemetry import Telemetry

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    from arrears.adapters.idempotency import OnceRunner
    from arrears.config.playbook import PlaybookSource
    from arrears.usecases.borrower_requests import BorrowerApiPorts
    from arrears.usecases.desk import DeskPorts
    from arrears.usecases.dispatch import DispatchPorts

telemetry = Telemetry()
container = Container.from_environment()  # the environment only: see the container's docstring


@cache
def playbooks() -> PlaybookSource:
    """The SSM collection policy (cached by its source), read by the first request that needs it."""
    return container.playbook_source()


def _borrower_ports() -> BorrowerApiPorts:
    from arrears.usecases.borrower_requests import BorrowerApiPorts

    return BorrowerApiPorts.wired(container, playbooks().current)


@cache
def _once() -> OnceRunner:
    from arrears.adapters.idempotency import OnceRunner

    return OnceRunner(container.settings.idempotency_table)


@cache
def _dispatch_ports() -> DispatchPorts:
    """A desk call or visit is counted and judged through the dialer contract's use cases, with
    their ports (built on the first desk request, not at import)."""
    from arrears.usecases.dispatch import DispatchPorts

    return DispatchPorts.from_container(container, _once())


def _desk_ports() -> DeskPorts:
    from arrears.usecases.desk import DeskPorts

    return DeskPorts(
        desk=container.desk,
        intake=container.task_intake,
        dispatch=_dispatch_ports,
        borrower_api=_borrower_ports,
        requests=container.borrower_requests,
        now=container.clock.now,
    )


@cache
def app() -> APIGatewayHttpResolver:
    """The resolver and its routes (their models validated by Powertools), built by the first request,
    not at import (docs/architecture.md, "Cold starts")."""
    from arrears.handlers.api_app import ApiProviders, api_app
    from arrears.usecases.preferences import PreferencePorts

    return api_app(
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
    from arrears.handlers.api import resolve

    if _once.cache_info().currsize:  # the desk's idempotency records expire with the invocation's time
        _once().register_lambda_context(context)
    return resolve(app(), event, context, telemetry)
