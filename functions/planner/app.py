"""planner: Loans stream -> plan actions for the steps a loan reached; cancel them on cure."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.handlers.telemetry import Telemetry

if TYPE_CHECKING:
    from arrears.adapters.book_stock import StockTally
    from arrears.config.playbook import PlaybookSource
    from arrears.events.streams import LoanChange

telemetry = Telemetry()
container = Container.from_environment()  # the environment only: see the container's docstring


@cache
def playbooks() -> PlaybookSource:
    """The SSM collection policy (an invalid document is reported as a metric), read by the first
    invocation that needs it."""
    from arrears.handlers.reporting import invalid_policy_reporter

    return container.playbook_source(report=invalid_policy_reporter(telemetry))


def plan(change: LoanChange | None) -> None:
    from arrears.domain.bureau import Communication
    from arrears.handlers.reporting import planned
    from arrears.usecases.credit_facts import record_bureau_facts
    from arrears.usecases.planning import plan_for_change
    from arrears.usecases.plans import archive_plan_events
    from arrears.usecases.promises import archive_promise_events

    if change is None:
        return
    if change.after.plan is not None:
        # A repayment plan agreed, an instalment kept or missed, the plan broken or completed.
        archive_plan_events(change.before, change.after, change.at, container.archive_store)
    # A promise to pay made, kept or broken (the promise-kept rate is measured from these records).
    archive_promise_events(change.before, change.after, change.at, container.archive_store)
    if container.credit_facts is not None:
        # One write of the loan's history item: the bureau's facts (DOFD, ...) and the bucket transition
        # (counted in the stock once appended), after CN's records of the change.
        report = record_bureau_facts(
            change.before,
            change.after,
            change.at,
            store=container.credit_facts,
            cn_writer=container.cn_credit_writer,
            communications=lambda loan_id: Communication.of(container.actions.for_loan(loan_id)),
            history=True,
            stock=container.book_stock,
        )
        if report is not None:
            telemetry.count("CnCreditRecordsWritten", len(report.written))
            telemetry.count("CnCreditRecordsHeld", len(report.held))
    result = plan_for_change(
        change.before,
        change.after,
        change.at,
        actions=container.actions,
        contacts=container.contacts,
        borrowers=container.borrowers,
        field_visits=container.field_visits,
        call_tasks=container.call_tasks,
        call_ledger=container.call_ledger,
        playbook=playbooks().current(),
        unclaimed=container.outbox.unclaimed,
    )
    planned(telemetry, result)


def stock_not_counted(tally: StockTally, error: Exception) -> None:
    """The batch's stock counts could not be written: the appends are recorded, so a retry would count
    nothing; the reconciliation census corrects the stock (docs/operations.md, "Open loans by
    delinquency bucket")."""
    telemetry.logger.error(
        "stock counts of the batch not written; the reconciliation census corrects them",
        extra={"transitions": tally.transitions, "error": type(error).__name__},
    )


@telemetry.handler()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts").
    from arrears.events.streams import LoanChangeRecord
    from arrears.handlers.lambda_events import process_batch

    stock = container.book_stock
    if stock is None:
        return process_batch(event, context, LoanChangeRecord, plan, telemetry.logger)
    # The batch's bucket transitions are counted in a handful of counter writes at its end.
    with stock.batched(on_lost=stock_not_counted):
        return process_batch(event, context, LoanChangeRecord, plan, telemetry.logger)
