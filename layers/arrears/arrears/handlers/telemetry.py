"""A function's Powertools logger, metrics and tracer, and the one decorator that puts them around its
handler.

Every handler module makes one `Telemetry` at import (its service is `POWERTOOLS_SERVICE_NAME`) and
decorates its handler with `telemetry.handler(...)`: an X-Ray subsegment around the invocation
(`Tracing: Active` in template.yaml; `POWERTOOLS_TRACE_DISABLED` turns it off locally), the Lambda
context and a correlation id on every log line, and the metrics flushed as EMF when it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


class Telemetry:
    """The logger, metrics and tracer of one function.

    `metrics_service` sets the metrics' `service` dimension where it is not the function's own service:
    the functions of one service (the dispatcher's) count into the same metrics, which alarms and the
    dashboard read by service.
    """

    def __init__(self, *, metrics_service: str | None = None) -> None:
        self.logger = Logger()
        self.metrics = Metrics(service=metrics_service)
        self.tracer = Tracer()

    def handler(self, correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
        """Trace, log (with the correlation id found at `correlation_id_path` in the event; batches set
        theirs per record) and flush the metrics of a Lambda handler. The event itself is never logged."""

        def decorate(handler: Handler) -> Handler:
            flushed = self.metrics.log_metrics(handler)
            logged = self.logger.inject_lambda_context(
                flushed, log_event=False, correlation_id_path=correlation_id_path
            )
            traced: Handler = self.tracer.capture_lambda_handler(logged)
            return traced

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
