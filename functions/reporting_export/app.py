"""reporting_export: weekly schedule -> the plan of a snapshot of the `loans` and `transitions` rows.

See `arrears.usecases.reporting_export`: the export is split by Scan segment. This invocation sizes
it from the book (the loans the BookStock counters hold), writes the plan under
`exports/snapshot=<date>/plan.json` of the reporting bucket and sends one message per (table,
segment) to the reporting-segments queue, which ReportingSegmentFunction reads; the segment that
finishes last writes the snapshot's completion marker (docs/reporting.md). The snapshot's date is
the latest business date of any jurisdiction at the scheduled time; a retried invocation (the same
scheduled time) finds its plan and sends its tasks again. Logs carry no borrower id and no personal
data.
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
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts"); the rule
    # packs are parsed once per container, on that invocation.
    from arrears.config.rulepacks import bundled_rule_packs
    from arrears.domain.business_time import latest_business_date
    from arrears.events.schedules import SchedulerInvocation
    from arrears.handlers.lambda_events import receive_scheduled
    from arrears.usecases.reporting_export import plan_export

    # A time ahead of the clock is refused: no schedule fires before its time.
    at = receive_scheduled(event, SchedulerInvocation, telemetry.logger, container.clock.now())
    history = bundled_rule_packs()
    snapshot = latest_business_date(at, [history.in_force(jurisdiction) for jurisdiction in history])
    stock = container.book_stock
    book_loans = sum(stock.stock().values()) if stock is not None else 0  # open, closed, charged off
    outcome = plan_export(
        snapshot,
        at,
        book_loans,
        container.reporting_store,
        container.reporting_segments,
        container.settings.reporting_loans_per_segment,
    )
    summary = {
        "snapshot": snapshot.isoformat(),
        "run": outcome.plan.run,
        "segments": outcome.plan.segments,
        "book_loans": outcome.plan.book_loans,
        "new_run": outcome.new_run,
        "tasks_sent": outcome.tasks_sent,
        "stale_parts_removed": outcome.stale_parts_removed,
    }
    telemetry.logger.info("reporting snapshot planned", extra=summary)
    return summary
