"""sweep-worker: sweep-tasks (SQS) -> sweep one shard, re-enqueue its continuation, count it done;
or count a shard's open loans before its sweep on a census day (`kind` "census") and reconcile the
stock from flows with the census of the whole book."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.events.queues import SweepTaskRecord
from arrears.handlers.lambda_events import ahead_of_clock, process_batch, time_left
from arrears.handlers.reporting import SweepWorkReport
from arrears.handlers.telemetry import Telemetry
from arrears.usecases.census import CensusTask
from arrears.usecases.sweep import SweepTask
from arrears.usecases.sweep_tasks import work_on

telemetry = Telemetry()
container = Container.from_environment()
# The SSM collection policy (the planner reports an invalid document; here it is logged).
playbooks = container.playbook_source()


@telemetry.handler()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, report = container.settings, SweepWorkReport(telemetry)
    has_time_left = time_left(context, settings.sweep_safety_margin_ms, settings.sweep_time_budget_ms)

    def work(task: SweepTask | CensusTask) -> None:
        work_on(
            task,
            loans=container.loans,
            playbook=playbooks.current(),
            queue=container.sweep_tasks,
            runs=container.sweep_runs,
            has_time_left=has_time_left,
            page_size=settings.sweep_page_size,
            census_enabled=settings.census_enabled,
            stock=container.book_stock,
            loans_per_task=settings.sweep_loans_per_task,
            observer=report,
        )

    def refuse(task: SweepTask | CensusTask) -> str | None:
        # A task is sent by the sweep at its scheduled time: one from the future is refused.
        return ahead_of_clock("business_time", task.business_time, container.clock.now())

    return report.answer(process_batch(event, context, SweepTaskRecord, work, telemetry.logger, refuse))
