"""unsubscribe: the e-mail's signed unsubscribe link (Lambda function URL) -> opt-out recorded, archived.

AuthType NONE on the function URL is acceptable only because every request must carry a link signed
with the opt-out link key (HMAC-SHA256, Secrets Manager) that has not expired: an unsigned, tampered or
expired link answers 4xx and changes nothing. The routes live in `arrears.handlers.preferences`, so the
borrower API serves the same ones.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.handlers.preferences import unsubscribe_router
from arrears.handlers.telemetry import Telemetry
from arrears.usecases.preferences import PreferencePorts

telemetry = Telemetry()
container = Container.from_environment()
app = LambdaFunctionUrlResolver()
app.include_router(
    unsubscribe_router(
        PreferencePorts(container.borrowers, container.archive_store, container.token_secret.value),
        container.opt_out_link_secret.value,
        container.clock.now,
        telemetry,
    )
)


@telemetry.handler(correlation_paths.LAMBDA_FUNCTION_URL)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
