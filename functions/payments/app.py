"""payments: PaymentReceived and PaymentReversed on the lending-core bus -> the payment ledger, the
waterfall on each payment's own value date, re-assessment, cure."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arrears.adapters.container import Container
from arrears.adapters.lambda_events import event_time
from arrears.domain.calendar import parse_utc
from arrears.domain.payments import PaymentError
from arrears.usecases.payments import (
    PaymentReceived,
    PaymentReversed,
    ReversalVerdict,
    UnknownLoan,
    receive_payment,
    reverse_payment,
)

logger = Logger()
metrics = Metrics()
container = Container.from_environment()
# The SSM collection policy (the planner reports an invalid document; here it is logged).
policies = container.policy_source()

RECEIVED, REVERSED = "PaymentReceived", "PaymentReversed"


class PaymentDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    payment_id: str = Field(min_length=1, max_length=128)
    loan_id: str = Field(min_length=1, max_length=128)
    amount_minor: int = Field(gt=0, strict=True)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    paid_at: str | None = None


class ReversalDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    payment_id: str = Field(min_length=1, max_length=128)
    loan_id: str = Field(min_length=1, max_length=128)
    reversed_at: str | None = None
    reason: str = Field(default="RETURNED", pattern=r"^[A-Z_]{1,32}$")


def _malformed(kind: str, event: dict[str, Any], error: ValidationError | ValueError) -> None:
    # Raising sends the event, after the async retries, to the on-failure destination.
    reasons = error.errors(include_input=False) if isinstance(error, ValidationError) else str(error)
    logger.error(f"malformed {kind} event", extra={"reason": reasons, "event_id": event.get("id")})


def _received(event: dict[str, Any]) -> dict[str, Any]:
    try:
        detail = PaymentDetail.model_validate(event.get("detail"))
        paid_at = parse_utc(detail.paid_at) if detail.paid_at else event_time(event)
    except (ValidationError, ValueError) as error:
        _malformed(RECEIVED, event, error)
        raise
    try:
        outcome = receive_payment(
            PaymentReceived(detail.payment_id, detail.loan_id, detail.amount_minor, detail.currency, paid_at),
            loans=container.loans,
            ledger=container.payments,
            policy=policies.current(),
            shard_count=container.settings.shard_count,
        )
    except (UnknownLoan, PaymentError, ValueError) as error:
        logger.error("payment not applied", extra={"reason": str(error), "payment_id": detail.payment_id})
        raise
    metrics.add_metric(name="PaymentsApplied", unit=MetricUnit.Count, value=0 if outcome.duplicate else 1)
    metrics.add_metric(name="PaymentsReplayed", unit=MetricUnit.Count, value=int(outcome.replayed))
    metrics.add_metric(name="Recoveries", unit=MetricUnit.Count, value=int(outcome.recovered_minor > 0))
    metrics.add_metric(name="Cures", unit=MetricUnit.Count, value=int(outcome.cured))
    logger.info(
        "payment applied",
        extra={
            "payment_id": detail.payment_id,
            "loan_id": detail.loan_id,
            "duplicate": outcome.duplicate,
            "replayed": outcome.replayed,
            "applied_minor": outcome.applied_minor,
            "unapplied_minor": outcome.unapplied_minor,
            "prepaid_minor": outcome.prepaid_minor,
            "rebate_minor": outcome.rebate_minor,
            "recovered_minor": outcome.recovered_minor,
            "cured": outcome.cured,
            "closed": outcome.closed,
        },
    )
    return {
        "loan_id": detail.loan_id,
        "duplicate": outcome.duplicate,
        "replayed": outcome.replayed,
        "cured": outcome.cured,
        "closed": outcome.closed,
        "recovered_minor": outcome.recovered_minor,
    }


def _reversed(event: dict[str, Any]) -> dict[str, Any]:
    try:
        detail = ReversalDetail.model_validate(event.get("detail"))
        reversed_at = parse_utc(detail.reversed_at) if detail.reversed_at else event_time(event)
    except (ValidationError, ValueError) as error:
        _malformed(REVERSED, event, error)
        raise
    result = reverse_payment(
        PaymentReversed(detail.payment_id, detail.loan_id, reversed_at, detail.reason),
        loans=container.loans,
        ledger=container.payments,
        policy=policies.current(),
        shard_count=container.settings.shard_count,
    )
    applied = result.verdict is ReversalVerdict.REVERSED
    metrics.add_metric(name="PaymentsReversed", unit=MetricUnit.Count, value=int(applied))
    metrics.add_metric(name="ReversalsIgnored", unit=MetricUnit.Count, value=int(not applied))
    extra = {
        "payment_id": detail.payment_id,
        "loan_id": detail.loan_id,
        "verdict": result.verdict.value,
        "reason": detail.reason,
        "rebuilt": result.rebuilt,
    }
    if applied:
        logger.info("payment reversed", extra=extra)
    else:
        # Unknown loan or payment, or reversed before: nothing to undo (a clear no-op, not an error).
        logger.warning("payment reversal ignored", extra=extra)
    return {
        "loan_id": detail.loan_id,
        "payment_id": detail.payment_id,
        "verdict": result.verdict.value,
        "rebuilt": result.rebuilt,
    }


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    kind = event.get("detail-type")
    if kind == REVERSED:
        return _reversed(event)
    if kind in (RECEIVED, None):
        return _received(event)
    logger.error("unexpected detail-type", extra={"detail_type": kind, "event_id": event.get("id")})
    raise ValueError(f"payments: unexpected detail-type {kind!r}")
