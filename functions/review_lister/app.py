"""review-lister: Loans stream (writes with `list_on`) -> the sweep's due list, a batch in a few items."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.handlers.telemetry import Telemetry

telemetry = Telemetry()
container = Container.from_environment()  # the environment only: see the container's docstring


@telemetry.handler()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """List the batch's loans up to its first malformed record (`list_for_review`).

    That record is reported in batchItemFailures: Lambda retries from it, and after bisecting and
    retrying sends it to the on-failure destination; the loans listed before it are listed again by
    the retry in the same items (the same ids, the same keys) or, split differently, in others
    (harmless: the sweep reads a loan once however many entries name it).
    """
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts").
    from arrears.events.streams import LoanListingRecord
    from arrears.handlers.lambda_events import receive_until_malformed
    from arrears.usecases.review_listing import list_for_review

    records, failures = receive_until_malformed(event, LoanListingRecord, telemetry.logger)
    requests = [request for request in records if request is not None]
    outcome = list_for_review(requests, container.due_list, container.settings.shard_count)
    telemetry.logger.info(
        "review listing batch done",
        extra={
            "records": len(records),
            "requests": outcome.requests,
            "listed": outcome.listed,
            "due_items_written": outcome.items,
            "earliest": outcome.earliest.isoformat() if outcome.earliest else None,
            "malformed": len(failures),
        },
    )
    return {"batchItemFailures": failures}
