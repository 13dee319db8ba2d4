"""A function's Powertools logger, metrics and tracer, and the one decorator that puts them around its
handler.

Every handler module makes one `Telemetry` at import (its service is `POWERTOOLS_SERVICE_NAME`) and
decorates its handler with `telemetry.handler(...)`: an X-Ray subsegment around the invocation
(`Tracing: Active` in template.yaml; `POWERTOOLS_TRACE_DISABLED` turns it off locally), the Lambda
context and a correlation id on every log line, and the metrics flushed as EMF when it returns.

The tracer is built at the first invocation, and only when tracing is on: importing the X-Ray SDK
(which Powertools' Tracer does even to switch itself off) is most of a disabled tracer's cost, and
a handler module's import is the part of a cold start every invocation of a new container waits for.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.jmespath_utils import query
from aws_lambda_powertools.utilities.typing import LambdaContext

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
TRACE_DISABLED = "POWERTOOLS_TRACE_DISABLED"


def tracing_enabled() -> bool:
    """Whether the function traces: in Lambda (`LAMBDA_TASK_ROOT`) unless `POWERTOOLS_TRACE_DISABLED`
    is true, which is Powertools' own rule for switching its Tracer off."""
    disabled = os.environ.get(TRACE_DISABLED, "false").strip().lower() in ("1", "true", "yes", "on")
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not disabled


class Telemetry:
    """The logger, metrics and tracer of one function.

    `metrics_service` sets the metrics' `service` dimension where it is not the function's own service:
    the functions of one service (the dispatcher's) count into the same metrics, which alarms and the
    dashboard read by service.
    """

    def __init__(self, *, metrics_service: str | None = None) -> None:
        self.logger = Logger()
        self.metrics = Metrics(service=metrics_service)
        self._tracer: Tracer | None = None

    @property
    def tracer(self) -> Tracer:
        """The Powertools tracer, built on first use (see the module's docstring)."""
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer()
        return self._tracer

    def handler(self, correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
        """Trace, log (with the correlation id found at `correlation_id_path` in the event; batches set
        theirs per record) and flush the metrics of a Lambda handler. The event itself is never logged."""

        def decorate(handler: Handler) -> Handler:
            flushed = self.metrics.log_metrics(handler)
            logged = self.logger.inject_lambda_context(flushed, log_event=False)
            traced: Handler | None = None

            @functools.wraps(handler)
            def invoke(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
                nonlocal traced
                if correlation_id_path:
                    from arrears.events.base import safe_reference  # with the events' models

                    # The id at the path is input: logged only when it has an id's shape
                    found = query(envelope=correlation_id_path, data=event)
                    self.logger.set_correlation_id(str(safe_reference(found)) if found is not None else None)
                if traced is None:
                    traced = self.tracer.capture_lambda_handler(logged) if tracing_enabled() else logged
                return traced(event, context)

            return invoke

        return decorate

    def count(
        self, name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count, **dimensions: str
    ) -> None:
        """Add `value` to metric `name`: with the invocation's metrics, or, with `dimensions`, as a
        metric of its own (the service dimension last, as Powertools adds it)."""
        if not dimensions:
            self.metrics.add_metric(name=name, unit=unit, value=value)
            return
        with single_metric(name=name, unit=unit, value=value, namespace=self.metrics.namespace) as metric:
            for dimension, dimension_value in dimensions.items():
                metric.add_dimension(name=dimension, value=dimension_value)
            if self.metrics.service:
                metric.add_dimension(name="service", value=str(self.metrics.service))

    @contextmanager
    def failure_logged(self, message: str, *errors: type[Exception], **ids: object) -> Iterator[None]:
        """Log `message` with `ids` and the reason when the block raises one of `errors`, and raise on: the
        invocation fails, is retried and lands in its on-failure destination."""
        try:
            yield
        except errors as error:
            self.logger.error(message, extra={**ids, "reason": str(error)})
            raise
