"""sweep-worker: sweep-tasks (SQS) -> sweep one shard, re-enqueue its continuation, count it done;
or count a shard's open loans before its sweep on a census day (`kind` "census") and reconcile the
stock from flows with the census of the whole book."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.handlers.telemetry import Telemetry

if TYPE_CHECKING:
    from arrears.config.playbook import PlaybookSource
    from arrears.usecases.census import CensusTask
    from arrears.usecases.sweep import SweepTask

telemetry = Telemetry()
container = Container.from_environment()  # the environment only: see the container's docstring


@cache
def playbooks() -> PlaybookSource:
    """The SSM collection policy (the planner reports an invalid document; here it is logged), read
    by the first invocation that needs it."""
    return container.playbook_source()


@telemetry.handler()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts").
    from arrears.events.queues import SweepTaskRecord
    from arrears.handlers.lambda_events import ahead_of_clock, process_batch, time_left
    from arrears.handlers.reporting import SweepWorkReport
    from arrears.usecases.sweep_tasks import work_on

    settings, report = container.settings, SweepWorkReport(telemetry)
    has_time_left = time_left(context, settings.sweep_safety_margin_ms, settings.sweep_time_budget_ms)

    def work(task: SweepTask | CensusTask) -> None:
        work_on(
            task,
            loans=container.loans,
            playbook=playbooks().current(),
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
