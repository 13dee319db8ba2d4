"""inbound_sms: a borrower's text reply (AWS End User Messaging two-way SMS -> SNS) -> opt-out/opt-in.

STOP, 退订 and the other reply keywords of the rule packs opt the sender out of texts at once (START,
UNSTOP back in); the change is archived. Any other reply, or a number nobody has, changes nothing
(logged without the number or the text). A malformed message fails the invocation: Lambda retries it
twice, then hands it to the on-failure destination (AsyncFailureQueue).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.handlers.telemetry import Telemetry

if TYPE_CHECKING:
    from arrears.usecases.preferences import PreferencePorts

telemetry = Telemetry()
container = Container.from_environment()  # the environment only: see the container's docstring


@cache
def ports() -> PreferencePorts:
    """The borrowers, the archive and the token secret, wired by the first invocation."""
    from arrears.usecases.preferences import PreferencePorts

    return PreferencePorts(container.borrowers, container.archive_store, container.token_secret.value)


@telemetry.handler()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts").
    from arrears.events.inbound import InboundSmsEvent
    from arrears.handlers.lambda_events import receive
    from arrears.handlers.preferences import preference_received
    from arrears.usecases.preferences import receive_text_reply

    reply, published_at = receive(event, InboundSmsEvent, telemetry.logger)
    ids = {"inbound_message_id": reply.inbound_message_id}
    with telemetry.failure_logged("text reply not recorded", ValueError, LookupError, **ids):
        outcome = receive_text_reply(reply, container.clock.now(), ports(), requested_at=published_at)
    return preference_received(telemetry, outcome, ids)
