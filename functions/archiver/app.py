"""archiver: Contacts stream -> pseudonymised, hash-chained, write-once JSON Lines in S3."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.handlers.telemetry import Telemetry

telemetry = Telemetry()
container = Container.from_environment()  # the environment only: see the container's docstring


@telemetry.handler()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Archive the batch as a whole (one object per partition) up to its first malformed record.

    That record is reported in batchItemFailures: Lambda retries from it, and after bisecting and
    retrying sends it to the on-failure destination; the good records archived before it are
    recognised by their batch manifest and not written twice.
    """
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts").
    from arrears.events.streams import ContactRecord
    from arrears.handlers.lambda_events import receive_until_malformed
    from arrears.handlers.reporting import archived
    from arrears.usecases.archiving import archive_records

    records, failures = receive_until_malformed(event, ContactRecord, telemetry.logger)
    if records:
        result = archive_records(
            [record for record, _ in records],
            store=container.archive_store,
            chain=container.archive_chain,
            token_secret=container.token_secret.value,
            contacts=container.contacts,
            ttl_days=container.settings.contact_ttl_days,
        )
        archived(telemetry, result, records)
    return {"batchItemFailures": failures}
