"""payments: PaymentReceived on the lending-core bus -> waterfall, re-assessment, cure."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arrears.adapters.container import Container
from arrears.adapters.lambda_events import event_time
from arrears.domain.calendar import parse_utc
from arrears.usecases.payments import PaymentReceived, UnknownLoan, receive_payment

logger = Logger()
metrics = Metrics()
container = Container.from_environment()
# The SSM collection policy (the planner reports an invalid document; here it is logged).
policies = container.playbook_source()


class PaymentDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    payment_id: str = Field(min_length=1, max_length=128)
    loan_id: str = Field(min_length=1, max_length=128)
    amount_minor: int = Field(gt=0, strict=True)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    paid_at: str | None = None


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        detail = PaymentDetail.model_validate(event.get("detail"))
        paid_at = parse_utc(detail.paid_at) if detail.paid_at else event_time(event)
    except (ValidationError, ValueError) as error:
        # Raising sends the event, after the async retries, to the on-failure destination.
        reasons = error.errors(include_input=False) if isinstance(error, ValidationError) else str(error)
        logger.error(
            "malformed PaymentReceived event", extra={"reason": reasons, "event_id": event.get("id")}
        )
        raise
    try:
        outcome = receive_payment(
            PaymentReceived(detail.payment_id, detail.loan_id, detail.amount_minor, detail.currency, paid_at),
            loans=container.loans,
            policy=policies.current(),
        )
    except (UnknownLoan, ValueError) as error:
        logger.error("payment not applied", extra={"reason": str(error), "payment_id": detail.payment_id})
        raise
    metrics.add_metric(name="PaymentsApplied", unit=MetricUnit.Count, value=0 if outcome.duplicate else 1)
    metrics.add_metric(name="Cures", unit=MetricUnit.Count, value=int(outcome.cured))
    logger.info(
        "payment applied",
        extra={
            "payment_id": detail.payment_id,
            "loan_id": detail.loan_id,
            "duplicate": outcome.duplicate,
            "applied_minor": outcome.applied_minor,
            "unapplied_minor": outcome.unapplied_minor,
            "cured": outcome.cured,
            "closed": outcome.closed,
        },
    )
    return {
        "loan_id": detail.loan_id,
        "duplicate": outcome.duplicate,
        "cured": outcome.cured,
        "closed": outcome.closed,
    }
