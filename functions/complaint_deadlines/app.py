"""complaint-deadlines: daily schedule -> how many open complaints are about to miss their deadline.

See `arrears.usecases.complaints.complaints_at_risk`: the open complaints (OpenComplaintIndex) whose
close-by date falls within `COMPLAINT_WARN_DAYS` of the scheduled day, and those already past it. It
emits `ComplaintsNearDeadline` and `ComplaintsOverdue` (the `complaint-deadline` alarm watches the
sum); the log line has the counts only, never a complaint's text or a borrower.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.events.correlation import SCHEDULED_TIME
from arrears.handlers.telemetry import Telemetry

telemetry = Telemetry()
container = Container.from_environment()  # the environment only: see the container's docstring


@telemetry.handler(SCHEDULED_TIME)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts").
    from arrears.events.schedules import SchedulerInvocation
    from arrears.handlers.lambda_events import receive_scheduled
    from arrears.usecases.complaints import complaints_at_risk

    at = receive_scheduled(event, SchedulerInvocation, telemetry.logger, container.clock.now())
    warn_days = container.settings.complaint_warn_days
    risk = complaints_at_risk(container.borrower_requests, at.date(), warn_days)
    telemetry.count("ComplaintsNearDeadline", risk.due_soon)
    telemetry.count("ComplaintsOverdue", risk.overdue)
    summary = {
        "checked_on": risk.today.isoformat(),
        "warn_days": warn_days,
        "due_soon": risk.due_soon,
        "overdue": risk.overdue,
    }
    telemetry.logger.info("complaint deadlines checked", extra=summary)
    return summary
