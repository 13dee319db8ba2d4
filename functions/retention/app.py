"""retention: daily schedule -> extend the archive's retention while a debt is collected, expire after.

See `arrears.usecases.retention`: objects whose lock ends within the horizon are reviewed; US objects
are kept 3 years after the last collection activity of every debt in them (12 CFR 1006.100(a)), CN
objects 5 years after their records' day; an object past retention is tagged for the lifecycle rule
that deletes it; an object whose review met a transient error is reviewed again the next day
(`deferred`). Logs and metrics carry counts and object keys, never a borrower or loan id.
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
    from arrears.domain.calendar import format_utc
    from arrears.events.schedules import SchedulerInvocation
    from arrears.handlers.lambda_events import receive_scheduled
    from arrears.usecases.retention import review_retention

    # A time ahead of the clock is refused: no schedule fires before its time.
    at = receive_scheduled(event, SchedulerInvocation, telemetry.logger, container.clock.now())
    history = bundled_rule_packs()
    packs = {jurisdiction: history.in_force(jurisdiction) for jurisdiction in history}
    review = review_retention(
        at,
        packs,
        chain=container.archive_chain,
        loans=container.loans,
        store=container.archive_store,
        horizon_days=container.settings.retention_horizon_days,
    )
    telemetry.count("ArchiveRetentionExtended", len(review.extended))
    telemetry.count("ArchiveObjectsExpired", len(review.expired))
    telemetry.count("ArchiveRetentionReviewsDeferred", len(review.deferred))
    if review.deferred:  # a transient error on these objects: the next day's review takes them again
        telemetry.logger.warning(
            "archive retention reviews deferred to the next day after a transient error",
            extra={"deferred": len(review.deferred), "object_keys": review.deferred[:20]},
        )
    summary = {
        "reviewed_at": format_utc(at),
        "reviewed": review.reviewed,
        "extended": [
            {"object_key": e.object_key, "from": e.previous.isoformat(), "to": e.until.isoformat()}
            for e in review.extended
        ],
        "expired": review.expired,
        "deferred": review.deferred,
    }
    telemetry.logger.info(
        "archive retention reviewed",
        extra={
            "reviewed": review.reviewed,
            "extended": len(review.extended),
            "expired": len(review.expired),
            "deferred": len(review.deferred),
        },
    )
    return summary
