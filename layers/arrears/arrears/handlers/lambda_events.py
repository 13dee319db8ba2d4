"""Reading what Lambda delivers with the inbound models of `arrears.events`, and logging what does not
parse.

A malformed input is logged with the model's message, the reason (fields and problems, never values)
and the input's id, then raised: an asynchronous invocation is retried and then handed to its
on-failure destination; a record of a batch is reported in `batchItemFailures`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Protocol

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from arrears.domain.calendar import format_utc
from arrears.events.base import MAX_CLOCK_SKEW, problems

FAILED_RECORD = "record failed; reported for retry"
"""The log line of a well-formed record whose handling raised (it is reported in `batchItemFailures`)."""


class InboundModel[T](Protocol):
    """An inbound model of `arrears.events`: parsed from the raw input, unwrapped for its use case."""

    MALFORMED: ClassVar[str]

    @classmethod
    def reference(cls, raw: Mapping[str, Any]) -> dict[str, object]: ...

    def unwrap(self) -> T: ...


class MalformedInput(ValueError):
    """An input that could not even be decoded: a DynamoDB attribute of an unknown type or a number that
    is no number, an image that is not a map, an event that is not an object (each raised by the decoder
    as something other than a ValueError)."""


def receive[T](raw: Mapping[str, Any], model: type[InboundModel[T]], logger: Logger) -> T:
    """What `raw` (an event, or one record of a batch) says, for its use case; raises if it is malformed.

    Every malformed input is logged once, with the model's message, the reason and the input's id, and
    raises a ValueError: the model's own (a ValidationError, a rule applied when it unwraps, JSON,
    Unicode and base64 decoding errors), or `MalformedInput` for any other decoding error, whose
    reason names only its class (its text may quote the input).
    """
    try:
        return parse(event=dict(raw), model=model).unwrap()
    except ValueError as error:  # a ValidationError, or a rule the model applies when it unwraps
        reason = problems(error) if isinstance(error, ValidationError) else str(error)
        logger.error(model.MALFORMED, extra={"reason": reason, **model.reference(raw)})
        raise
    except Exception as error:  # a decoder's TypeError, decimal error, Powertools' model-type error
        reason = f"cannot be decoded ({type(error).__name__})"
        logger.error(model.MALFORMED, extra={"reason": reason, **model.reference(raw)})
        raise MalformedInput(reason) from error


def ahead_of_clock(name: str, moment: datetime, now: datetime) -> str | None:
    """Why `moment` cannot be acted on yet (it is later than `now`, the container's clock, by more than
    `MAX_CLOCK_SKEW`), or None. No schedule fires and no sweep task is sent ahead of its time: a sweep
    of a date to come would assess every due loan on that day (days past due, penalties, charge-off)
    and a deadline check of it would page on-call."""
    if moment <= now + MAX_CLOCK_SKEW:
        return None
    return (
        f"{name}: {format_utc(moment)} is later than the clock ({format_utc(now)}) by more than the "
        f"allowed clock skew of {int(MAX_CLOCK_SKEW.total_seconds())} s"
    )


def receive_scheduled(
    raw: Mapping[str, Any], model: type[InboundModel[datetime]], logger: Logger, now: datetime
) -> datetime:
    """The scheduled time of a schedule's event (`receive`), rejected like a malformed event (logged,
    ValueError) when it is ahead of `now` (`ahead_of_clock`)."""
    at = receive(raw, model, logger)
    reason = ahead_of_clock("time", at, now)
    if reason:
        logger.error(model.MALFORMED, extra={"reason": reason, **model.reference(raw)})
        raise ValueError(reason)
    return at


def process_batch[T](
    event: Mapping[str, Any],
    context: LambdaContext,
    model: type[InboundModel[T]],
    handle: Callable[[T], None],
    logger: Logger,
    refuse: Callable[[T], str | None] | None = None,
) -> dict[str, Any]:
    """Handle each record of an SQS or DynamoDB stream batch on its own (the record's id on its log lines);
    a record that is malformed, that `refuse` gives a reason against, or whose handling raises is
    reported in `batchItemFailures`, with a log line saying why. The batch processor logs with
    `logger` too."""
    event_type = EventType.SQS if issubclass(model, SqsRecordModel) else EventType.DynamoDBStreams

    def record_handler(record: Any) -> None:  # Powertools passes it by this name: `record`
        raw: Mapping[str, Any] = record.raw_event
        with logger.append_context_keys(**model.reference(raw)):
            received = receive(raw, model, logger)  # logs a malformed record itself
            reason = refuse(received) if refuse else None
            if reason:
                logger.error(model.MALFORMED, extra={"reason": reason})
                raise ValueError(reason)
            try:
                handle(received)
            except Exception as error:
                # The batch processor reports the record as failed but logs nothing of its own.
                logger.exception(FAILED_RECORD, extra={"error": type(error).__name__})
                raise

    response = process_partial_response(
        event=dict(event),
        record_handler=record_handler,
        # Every failed record is reported, even when all of a batch fail (no whole-batch error: each
        # record goes its own failure path); the processor's own warnings go to our logger.
        processor=BatchProcessor(
            event_type=event_type, raise_on_entire_batch_failure=False, logger=logger._logger
        ),
        context=context,
    )
    return dict(response)


def receive_until_malformed[T](
    event: Mapping[str, Any], model: type[InboundModel[T]], logger: Logger
) -> tuple[list[T], list[dict[str, str]]]:
    """The records of a stream batch before its first malformed one, and that one as the batch's item
    failure: in stream order, Lambda retries from it (and everything after it with it)."""
    received: list[T] = []
    for raw in event.get("Records", []):
        try:
            received.append(receive(raw, model, logger))
        except ValueError:
            sequence = str(raw.get("dynamodb", {}).get("SequenceNumber", ""))
            return received, [{"itemIdentifier": sequence}]
    return received, []


def time_left(context: LambdaContext, reserve_ms: int, budget_ms: int = 0) -> Callable[[], bool]:
    """True while the invocation has more than `reserve_ms` left (and, with a `budget_ms`, while less
    than that has passed since this call)."""
    started = time.monotonic()

    def has_time_left() -> bool:
        left = context.get_remaining_time_in_millis() - reserve_ms
        if budget_ms:
            left = min(left, int(budget_ms - (time.monotonic() - started) * 1000))
        return left > 0

    return has_time_left
