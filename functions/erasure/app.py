"""erasure: ErasureRequested on the lending-core bus -> PII erased, archive kept, erasure audited."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arrears.adapters.container import Container
from arrears.adapters.lambda_events import event_time
from arrears.domain.calendar import parse_utc
from arrears.usecases.erasure import ErasureRequest, erase_borrower

logger = Logger()
metrics = Metrics()
container = Container.from_environment()


class ErasureDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    request_id: str = Field(min_length=1, max_length=128)
    borrower_id: str = Field(min_length=1, max_length=128)
    requested_at: str | None = None


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        detail = ErasureDetail.model_validate(event.get("detail"))
        at = event_time(event)
        requested_at = parse_utc(detail.requested_at) if detail.requested_at else at
    except (ValidationError, ValueError) as error:
        reasons = error.errors(include_input=False) if isinstance(error, ValidationError) else str(error)
        logger.error(
            "malformed ErasureRequested event", extra={"reason": reasons, "event_id": event.get("id")}
        )
        raise
    outcome = erase_borrower(
        ErasureRequest(detail.request_id, detail.borrower_id, requested_at),
        at=at,
        borrowers=container.borrowers,
        loan_ids_for=container.loan_ids_for_borrower,
        contacts=container.contacts,
        store=container.archive_store,
        token_secret=container.token_secret.value,
    )
    metrics.add_metric(name="ErasuresCompleted", unit=MetricUnit.Count, value=1)
    # Counts and the request id only: never the borrower id, nor any erased value.
    summary = {
        "request_id": outcome.request_id,
        "borrower_found": outcome.borrower_found,
        "fields_erased": outcome.fields_erased,
        "loans": outcome.loans,
        "contacts_pseudonymised": outcome.contacts_pseudonymised,
        "audit_key": outcome.audit_key,
    }
    logger.info("erasure completed", extra={**summary, "audit_written": outcome.audit_written})
    return summary
