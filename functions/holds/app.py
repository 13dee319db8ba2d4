"""holds: HoldChanged on the loan-events bus -> the hold set or lifted on the loan, re-assessed."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.adapters.items import MalformedItem
from arrears.adapters.lambda_events import event_time
from arrears.domain.holds import HoldChange, HoldChangeStatus, InvalidHoldChange
from arrears.usecases.holds import UnknownLoan, record_hold

logger = Logger()
metrics = Metrics()
container = Container.from_environment()
# The SSM collection policy (the planner reports an invalid document; here it is logged).
policies = container.playbook_source()


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        change = HoldChange.from_detail(event.get("detail"), received_at=event_time(event))
    except (InvalidHoldChange, MalformedItem) as error:
        # Raising sends the event, after the async retries, to the on-failure destination. The
        # reason names fields and problems, never their values.
        logger.error("malformed HoldChanged event", extra={"reason": str(error), "event_id": event.get("id")})
        raise
    ids = {"request_id": change.request_id, "loan_id": change.loan_id, "hold": change.hold.value}
    try:
        result = record_hold(
            change,
            loans=container.loans,
            policy=policies.current(),
        )
    except (UnknownLoan, InvalidHoldChange) as error:
        logger.error("hold change not applied", extra={**ids, "reason": str(error)})
        raise
    applied = result.status is HoldChangeStatus.APPLIED
    if applied:
        with single_metric(
            name="HoldsChanged", unit=MetricUnit.Count, value=1, namespace=metrics.namespace
        ) as metric:
            metric.add_dimension(name="hold", value=change.hold.value)
            metric.add_dimension(name="change", value="set" if change.active else "lift")
    else:
        metrics.add_metric(name="HoldChangesIgnored", unit=MetricUnit.Count, value=1)
    answer = {
        **ids,
        "active": change.active,
        "outcome": result.status.value,
        "changed": result.changed,
        "next_review_on": result.loan.next_review_on.isoformat() if result.loan.next_review_on else None,
    }
    if result.status is HoldChangeStatus.LOAN_CLOSED:
        logger.warning(
            "hold change for a closed loan ignored", extra={**answer, "status": result.loan.status.value}
        )
    else:
        logger.info("hold change recorded" if applied else "hold change ignored", extra=answer)
    return answer
