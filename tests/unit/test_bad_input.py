"""Bad input changes no state: times from the future are refused, every decoding error is logged.

A payment, a call outcome or a hold change carries its own time; none may be later than the event
that carries it beyond `MAX_CLOCK_SKEW`. A record that cannot even be decoded is logged with its
reason and id and raises a ValueError, which the failure path reports (never a crash of the batch).
"""

from __future__ import annotations

import copy
import io
import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from arrears.domain.calendar import format_utc
from arrears.events.base import MAX_CLOCK_SKEW
from arrears.events.bus import CallOutcomeEvent, PaymentReceivedEvent
from arrears.events.queues import SweepTaskRecord
from arrears.events.streams import ActionRecord, ContactRecord, LoanChangeRecord
from arrears.handlers.lambda_events import FAILED_RECORD, process_batch, receive

EVENTS = Path(__file__).resolve().parents[2] / "events"


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def logger() -> tuple[Logger, io.StringIO]:
    out = io.StringIO()  # a service of its own: Powertools keeps one handler per service name
    return Logger(service=f"test-{uuid.uuid4().hex}", stream=out), out


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


def shifted(event: dict[str, Any], field: str, by: timedelta) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    event_time = datetime.fromisoformat(changed["time"])
    changed["detail"][field] = format_utc(event_time + by)
    return changed


@pytest.mark.parametrize(
    ("name", "model", "field"),
    [
        ("payments/payment-received.json", PaymentReceivedEvent, "paid_at"),
        ("call_outcomes/call-outcome.json", CallOutcomeEvent, "occurred_at"),
    ],
)
def test_a_time_from_the_future_is_refused_with_its_field_and_reason(
    name: str, model: Any, field: str
) -> None:
    log, out = logger()
    a_year_ahead = shifted(sample(name), field, timedelta(days=365))

    with pytest.raises(ValueError, match=f"detail.{field}"):
        receive(a_year_ahead, model, log)

    (line,) = lines(out)
    assert line["level"] == "ERROR"
    assert line["message"] == model.MALFORMED
    assert f"detail.{field}" in line["reason"]
    assert "later than the event itself" in line["reason"]
    assert line["event_id"] == a_year_ahead["id"]
    for identifying in ("loan_id", "borrower_id"):
        if identifying in a_year_ahead["detail"]:
            assert a_year_ahead["detail"][identifying] not in json.dumps(line)


@pytest.mark.parametrize(
    ("name", "model", "field"),
    [
        ("payments/payment-received.json", PaymentReceivedEvent, "paid_at"),
        ("call_outcomes/call-outcome.json", CallOutcomeEvent, "occurred_at"),
    ],
)
def test_a_time_within_the_clock_skew_or_in_the_past_is_accepted(name: str, model: Any, field: str) -> None:
    log, _ = logger()
    for by in (MAX_CLOCK_SKEW, timedelta(0), -timedelta(days=3)):
        receive(shifted(sample(name), field, by), model, log)
    with pytest.raises(ValueError, match="clock skew"):
        receive(shifted(sample(name), field, MAX_CLOCK_SKEW + timedelta(seconds=1)), model, log)


def action_record(**image: Any) -> dict[str, Any]:
    record: dict[str, Any] = sample("dispatcher/action-planned.json")["Records"][0]
    record["dynamodb"]["NewImage"].update(image)
    return record


@pytest.mark.parametrize(
    ("raw", "model"),
    [
        (action_record(extra={"N": "not a number"}), ActionRecord),  # decimal.InvalidOperation
        (action_record(extra={"Q": "x"}), ActionRecord),  # TypeError: no such DynamoDB type
        (action_record(extra={"M": "not a map"}), ActionRecord),
        (action_record(extra={"N": "1e99999999"}), LoanChangeRecord),
        (action_record(extra={"B": "%%%"}), ContactRecord),
        ({**action_record(), "dynamodb": ["not", "a", "map"]}, ActionRecord),
        ({**sample("sweep_worker/task.json")["Records"][0], "body": "\udcff{"}, SweepTaskRecord),
        ({**sample("sweep_worker/task.json")["Records"][0], "body": "1" * 5000}, SweepTaskRecord),
    ],
)
def test_every_decoding_error_is_a_logged_value_error(raw: dict[str, Any], model: Any) -> None:
    log, out = logger()

    with pytest.raises(ValueError):  # noqa: PT011 - the model's own error, or MalformedInput
        receive(raw, model, log)

    (line,) = lines(out)
    assert line["message"] == model.MALFORMED
    assert line["reason"]


def test_an_undecodable_record_is_named_by_its_problem_only() -> None:
    log, out = logger()
    with pytest.raises(ValueError):  # noqa: PT011 - the model's own error
        receive(action_record(extra={"Q": "secret value"}), ActionRecord, log)
    assert "secret value" not in out.getvalue()
    assert "NewImage.extra: an attribute of an unknown type" in lines(out)[0]["reason"]


def contact_record(**image: Any) -> dict[str, Any]:
    record: dict[str, Any] = sample("archiver/contact-recorded.json")["Records"][0]
    record["dynamodb"]["NewImage"].update(image)
    return record


def loan_record(**image: Any) -> dict[str, Any]:
    record: dict[str, Any] = sample("planner/loan-overdue.json")["Records"][0]
    record["dynamodb"]["NewImage"].update(image)
    return record


@pytest.mark.parametrize(
    ("raw", "model", "reason"),
    [
        # Powertools' deserialiser reads the first key of any dict: each of these passed as a value.
        (action_record(action_id={"S": "a", "N": "1"}), ActionRecord, "exactly one type"),
        (action_record(action_id={"BOOL": "yes"}), ActionRecord, "BOOL attribute of the wrong type"),
        (action_record(action_id={"B": "!!! not base64 !!!"}), ActionRecord, "not base64"),
        (action_record(extra={"NULL": False}), ActionRecord, "NULL attribute that is not true"),
        (action_record(extra={"L": [{"SS": [1]}]}), ActionRecord, "not a list of strings"),
        # No UTF-8 encoder writes a lone surrogate: it failed the archiver's whole batch.
        (contact_record(step={"S": "sms\ud800"}), ContactRecord, "not valid Unicode"),
        # The Contacts table's key: what the archive marks archived; it failed the whole batch.
        (contact_record(contact_key={"NULL": True}), ContactRecord, "missing contact_key"),
        (loan_record(loan_id={"S": "../../../../etc/passwd"}), LoanChangeRecord, "id's shape"),
    ],
)
def test_a_stream_attribute_dynamodb_never_writes_is_refused(
    raw: dict[str, Any], model: Any, reason: str
) -> None:
    log, out = logger()
    with pytest.raises(ValueError):  # noqa: PT011 - the model's own error
        receive(raw, model, log)
    assert reason in lines(out)[0]["reason"]


def test_an_empty_loan_image_is_refused_not_skipped() -> None:
    raw = sample("planner/loan-overdue.json")["Records"][0]
    raw["dynamodb"]["NewImage"] = {}
    log, out = logger()
    with pytest.raises(ValueError, match="an empty image"):
        receive(raw, LoanChangeRecord, log)
    assert lines(out)[0]["message"] == LoanChangeRecord.MALFORMED


@pytest.mark.parametrize("created", [-1, 0, 1_000_000_000])
def test_a_stream_record_created_before_dynamodb_streams_existed_is_refused(created: int) -> None:
    raw = action_record()
    raw["dynamodb"]["ApproximateCreationDateTime"] = created
    log, out = logger()
    with pytest.raises(ValueError):  # noqa: PT011 - the model's own error
        receive(raw, ActionRecord, log)
    assert "before DynamoDB Streams existed" in lines(out)[0]["reason"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            {"business_time": "2026-03-01T00:00:00Z", "shard": 1, "shard_count": 10**30},
            "shard_count must be in",
        ),
        ({"business_time": "2026-03-01T00:00:00Z", "shard": 0, "shard_count": 0}, "shard_count must be in"),
        (
            {"business_time": "PII-CANARY +8613912345678", "shard": 1, "shard_count": 16},
            "business_time must be",
        ),
        ({"kind": "PII-CANARY +8613912345678"}, "unknown kind"),
        (
            {
                "kind": "census",
                "business_time": "2026-03-01T00:00:00Z",
                "shard": 1,
                "shard_count": 16,
                "counts": {"+8613912345678": {"M1": -1}},
            },
            "a count is not",
        ),
    ],
)
def test_a_bad_sweep_task_is_refused_without_quoting_its_values(body: dict[str, Any], reason: str) -> None:
    raw = {**sample("sweep_worker/task.json")["Records"][0], "body": json.dumps(body)}
    log, out = logger()
    with pytest.raises(ValueError):  # noqa: PT011 - the model's own error
        receive(raw, SweepTaskRecord, log)
    assert reason in lines(out)[0]["reason"]
    assert "+8613912345678" not in out.getvalue()
    assert "PII-CANARY" not in out.getvalue()


class Context:
    function_name = "test"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "req"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def test_a_batch_reports_and_logs_each_bad_record_and_handles_the_rest() -> None:
    log, out = logger()
    good = action_record()
    undecodable = action_record(extra={"N": "x"})
    undecodable["eventID"] = "undecodable"
    failing = action_record()
    failing["eventID"] = "failing"
    failing["dynamodb"]["SequenceNumber"] = "2"
    undecodable["dynamodb"]["SequenceNumber"] = "3"
    handled: list[str] = []

    def handle(action_id: Any) -> None:
        if len(handled) == 1:
            handled.append("boom")
            raise RuntimeError("the use case failed")
        handled.append(str(action_id))

    response = process_batch({"Records": [good, failing, undecodable]}, Context(), ActionRecord, handle, log)  # type: ignore[arg-type]

    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {"2", "3"}
    logged = lines(out)
    # ours, and the batch processor's own warning (it logs with the function's logger)
    processor = "Record processing exception; skipping this record"
    assert {line["message"] for line in logged} == {ActionRecord.MALFORMED, FAILED_RECORD, processor}
    failed = next(line for line in logged if line["message"] == FAILED_RECORD)
    assert failed["error"] == "RuntimeError"
    assert failed["event_id"] == "failing"
