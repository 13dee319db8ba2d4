"""reporting_export: weekly schedule -> a snapshot of the `loans` and `transitions` rows for Athena.

See `arrears.usecases.reporting_export`: every loan and every bucket transition, as the outcome
report's SQL reads them (docs/reporting.md), written to the reporting bucket as gzipped JSON Lines
under `loans/snapshot=<date>/` and `transitions/snapshot=<date>/`, then the snapshot's completion
marker. The snapshot's date is the latest business date of any jurisdiction at the scheduled time;
a retried invocation rewrites the same snapshot. Rows, logs and metrics carry no borrower id and no
personal data.
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
    from arrears.usecases.reporting_export import export_reporting

    # A time ahead of the clock is refused: no schedule fires before its time.
    at = receive_scheduled(event, SchedulerInvocation, telemetry.logger, container.clock.now())
    history = bundled_rule_packs()
    snapshot = latest_business_date(at, [history.in_force(jurisdiction) for jurisdiction in history])
    source = container.reporting_source
    outcome = export_reporting(snapshot, source.loans(), source.histories(), container.reporting_store)
    summary = {
        "snapshot": outcome.snapshot.isoformat(),
        "rows": outcome.rows,
        "parts": outcome.parts,
        "stale_parts_removed": outcome.stale_parts_removed,
    }
    telemetry.logger.info("reporting snapshot exported", extra=summary)
    return summary
