"""bureau_file: monthly schedule -> the US Metro 2 file of the cycle that just ended, to the bureau bucket.

See `arrears.usecases.bureau_file`: one file per cycle (header, a 426-character base segment per
reportable account, trailer), accounts held until the pack's precondition is met, snapshots stored
once per (loan, period); an erased borrower's kept identity is let go the cycle after their last
standing account was reported paid or closed. The borrower's identity is read here and written only
to the file (SSE-KMS): logs, metrics and the returned summary carry the period, the key and counts,
never a name or a loan id.
"""

from __future__ import annotations

from functools import partial
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
    from arrears.domain.bureau import Communication
    from arrears.events.schedules import SchedulerInvocation
    from arrears.handlers.lambda_events import receive_scheduled
    from arrears.usecases.bureau_file import build_metro2_cycle, previous_period, report_standing
    from arrears.usecases.erasure import complete_erasure

    # Business time is the scheduled time: the cycle is the month before it, whenever it runs.
    at = receive_scheduled(event, SchedulerInvocation, telemetry.logger, container.clock.now())
    facts = container.credit_facts
    if facts is None:
        raise RuntimeError(
            "DELINQUENCY_HISTORY_TABLE is not set: the bureau file reads the loans' facts there"
        )
    cycle = build_metro2_cycle(
        previous_period(at),
        created_at=at,
        facts=facts,
        loans=container.loans,
        borrowers=container.borrowers,
        communications=lambda loan_id: Communication.of(container.actions.for_loan(loan_id)),
        files=container.bureau_files,
        furnisher_id=container.settings.bureau_furnisher_id,
        reporter_name=container.settings.bureau_reporter_name,
        # An erased borrower's kept name and address go the cycle after their last standing account
        # was reported paid or closed (arrears.usecases.erasure).
        complete_erasure=partial(
            complete_erasure,
            at=at,
            borrowers=container.borrowers,
            loans=container.loans,
            loan_ids_for=container.loan_ids_for_borrower,
            report_standing=partial(report_standing, facts),
        ),
    )
    telemetry.count("BureauAccountsReported", cycle.accounts)
    telemetry.count("BureauAccountsHeld", cycle.held)
    summary = cycle.as_json()
    if cycle.rejected:  # the reason names the field and the loan, never the borrower's data
        telemetry.logger.error("metro 2 accounts rejected", extra={"rejected": cycle.rejected})
    telemetry.logger.info("metro 2 file written", extra={k: v for k, v in summary.items() if k != "rejected"})
    return summary
