"""The inbound models of `arrears.events`: every sample under events/ parses with its function's model;
the wire rules of each event; errors that name fields and problems, never values."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model
from pydantic import ValidationError

from arrears.domain.holds import HoldChange, HoldKind, InvalidHoldChange
from arrears.events.book_file import BookObjectCreated
from arrears.events.bus import (
    CallOutcomeEvent,
    ErasureRequestedEvent,
    HoldChangedEvent,
    PaymentReceivedEvent,
    PaymentReversedEvent,
    hold_change_from_detail,
)
from arrears.events.dialer import CallAttemptedEvent, FieldVisitReportedEvent
from arrears.events.inbound import InboundSmsEvent
from arrears.events.legal import LegalReferralRecord
from arrears.events.onboarding import BorrowerUpdatedEvent, LoanDisbursedEvent
from arrears.events.queues import SweepTaskRecord
from arrears.events.reporting import ReportingSegmentRecord
from arrears.events.schedules import ScheduledEvent, SchedulerInvocation
from arrears.events.streams import ActionRecord, ContactRecord, LoanChangeRecord, LoanListingRecord
from arrears.usecases.census import CensusTask
from arrears.usecases.sweep import SweepTask

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
# The model each function reads its events with, by the function's code directory (events/<dir>/).
MODELS: dict[str, Any] = {
    "sweep": SchedulerInvocation,
    "sweep_deadline": SchedulerInvocation,
    "sweep_worker": SweepTaskRecord,
    "planner": LoanChangeRecord,
    "review_lister": LoanListingRecord,
    "dispatcher": ActionRecord,
    "deferred_release": ScheduledEvent,
    "call_outcomes": CallOutcomeEvent,
    "archiver": ContactRecord,
    "payments": PaymentReceivedEvent,
    "erasure": ErasureRequestedEvent,
    "holds": HoldChangedEvent,
    "inbound_sms": InboundSmsEvent,
    # Routed by Powertools' event handler (arrears.handlers.api_app), which reads this model's shape.
    "api": APIGatewayProxyEventV2Model,
    "retention": SchedulerInvocation,
    "bureau_file": SchedulerInvocation,
    "complaint_deadlines": SchedulerInvocation,
    "reporting_export": SchedulerInvocation,
    "reporting_segment": ReportingSegmentRecord,
    "book_import": BookObjectCreated,
    "case_file": LegalReferralRecord,
}
# Models of the whole event (an SNS event is one notification), not of each of its records.
WHOLE_EVENT_MODELS = {"inbound_sms"}
# A function that reads two detail-types from one rule picks the model by the event's detail-type.
BY_DETAIL_TYPE: dict[str, dict[str, Any]] = {
    "payments": {"PaymentReceived": PaymentReceivedEvent, "PaymentReversed": PaymentReversedEvent},
    "book_import": {"LoanDisbursed": LoanDisbursedEvent, "BorrowerUpdated": BorrowerUpdatedEvent},
    "call_outcomes": {
        "CallOutcome": CallOutcomeEvent,
        "CallAttempted": CallAttemptedEvent,
        "FieldVisitReported": FieldVisitReportedEvent,
    },
}
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai, 2 March
UNTIL = datetime(2026, 3, 6, tzinfo=UTC).date()


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def record(name: str) -> dict[str, Any]:
    first: dict[str, Any] = sample(name)["Records"][0]
    return first


# -- every sample, every function --------------------------------------------------------------------


def test_every_function_has_its_model() -> None:
    functions = {path.parent.name for path in (ROOT / "functions").glob("*/app.py")}
    assert set(MODELS) == functions
    assert {path.parent.name for path in EVENTS.rglob("*.json")} == functions


@pytest.mark.parametrize(
    "path", sorted(EVENTS.rglob("*.json")), ids=lambda p: p.relative_to(EVENTS).as_posix()
)
def test_every_sample_parses_with_its_functions_model(path: Path) -> None:
    event = json.loads(path.read_text())
    model = BY_DETAIL_TYPE.get(path.parent.name, {}).get(event.get("detail-type"), MODELS[path.parent.name])
    whole = path.parent.name in WHOLE_EVENT_MODELS
    for raw in [event] if whole else event.get("Records", [event]):
        parsed = parse(event=raw, model=model)
        assert (parsed.unwrap() if hasattr(parsed, "unwrap") else parsed) is not None


# -- schedules -----------------------------------------------------------------------------------------


def test_a_scheduled_event_needs_no_version_and_gives_its_time() -> None:
    event = sample("deferred_release/scheduled.json")
    del event["version"]
    assert parse(event=event, model=ScheduledEvent).unwrap() == datetime(2026, 3, 3, 0, 15, tzinfo=UTC)


def test_a_scheduled_event_is_a_scheduled_event() -> None:
    event = {**sample("deferred_release/scheduled.json"), "detail-type": "PaymentReceived"}
    with pytest.raises(ValidationError, match="detail-type"):
        parse(event=event, model=ScheduledEvent)


def test_a_scheduler_invocation_is_its_scheduled_time_in_utc() -> None:
    assert parse(event={"time": "2026-03-02T00:30:00+08:00"}, model=SchedulerInvocation).unwrap() == datetime(
        2026, 3, 1, 16, 30, tzinfo=UTC
    )
    for bad in ({}, {"time": "2026-03-02T00:30:00"}, {"time": 1772382600}):
        with pytest.raises(ValidationError, match="time"):
            parse(event=bad, model=SchedulerInvocation)


@pytest.mark.parametrize(
    "time",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T05:00:00+05:00",
        "9999-12-31T23:59:59Z",
        "9999-12-31T12:00:00-13:00",
    ],
)
def test_a_time_without_a_date_in_every_zone_is_refused(time: str) -> None:
    # A sweep schedule of 0001-01-01T00:00:00Z has no business date in New York: it was an
    # OverflowError out of the handler, without the log line that names the reason.
    with pytest.raises(ValidationError, match="a date in every time zone"):
        parse(event={"time": time}, model=SchedulerInvocation)
    assert parse(event={"time": "0001-01-02T00:00:00Z"}, model=SchedulerInvocation).unwrap().year == 1


# -- the loan-events bus ---------------------------------------------------------------------------------


def test_a_payment_is_valued_at_its_own_time_or_the_events() -> None:
    event = sample("payments/payment-received.json")
    payment = parse(event=event, model=PaymentReceivedEvent).unwrap()
    assert (payment.amount_minor, payment.paid_at) == (50_000, datetime(2026, 3, 5, 3, 12, 40, tzinfo=UTC))
    for absent in ({}, {"paid_at": ""}, {"paid_at": None}):
        detail = {k: v for k, v in event["detail"].items() if k != "paid_at"} | absent
        undated = parse(event={**event, "detail": detail}, model=PaymentReceivedEvent).unwrap()
        assert undated.paid_at == datetime.fromisoformat(event["time"])


def test_a_reversal_is_dated_at_its_own_time_or_the_events_and_has_a_reason_code() -> None:
    event = sample("payments/payment-reversed.json")
    reversal = parse(event=event, model=PaymentReversedEvent).unwrap()
    assert (reversal.payment_id, reversal.loan_id, reversal.reason) == (
        "PAY-20260305-000001",
        "L-SAMPLE-0001",
        "RETURNED",
    )
    assert reversal.reversed_at == datetime(2026, 3, 8, 2, 0, tzinfo=UTC)
    bare = {k: v for k, v in event["detail"].items() if k not in ("reversed_at", "reason")}
    undated = parse(event={**event, "detail": bare}, model=PaymentReversedEvent).unwrap()
    assert (undated.reversed_at, undated.reason) == (datetime(2026, 3, 8, 2, 0, 10, tzinfo=UTC), "RETURNED")
    with pytest.raises(ValidationError, match=r"detail\.reason") as raised:
        parse(
            event={**event, "detail": {**event["detail"], "reason": "bounced, sorry"}},
            model=PaymentReversedEvent,
        )
    assert "sorry" not in str(raised.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount_minor": "12.50"}, "detail.amount_minor"),
        ({"amount_minor": 0}, "detail.amount_minor"),
        ({"currency": "yuan"}, "detail.currency"),
        ({"loan_id": ""}, "detail.loan_id"),
        ({"paid_at": "5 March"}, "detail.paid_at"),
    ],
)
def test_a_malformed_payment_names_the_field_never_the_value(changes: dict[str, Any], field: str) -> None:
    event = sample("payments/payment-received.json")
    with pytest.raises(ValidationError) as error:
        parse(event={**event, "detail": {**event["detail"], **changes}}, model=PaymentReceivedEvent)
    assert field in str(error.value)
    for value in changes.values():
        if value not in ("", 0):
            assert str(value) not in str(error.value)


def test_an_erasure_request_without_its_time_takes_the_events() -> None:
    event = sample("erasure/requested.json")
    request, at = parse(event=event, model=ErasureRequestedEvent).unwrap()
    assert at == datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
    assert request.requested_at == datetime(2026, 3, 6, 8, 59, tzinfo=UTC)
    del event["detail"]["requested_at"]
    request, at = parse(event=event, model=ErasureRequestedEvent).unwrap()
    assert request.requested_at == at


def test_a_conversation_is_a_connected_call() -> None:
    event = sample("call_outcomes/call-outcome.json")
    event["detail"]["connected"] = False
    report = parse(event=event, model=CallOutcomeEvent).unwrap()
    assert (report.connected, report.conversation) == (True, True)
    del event["detail"]["conversation"]
    assert parse(event=event, model=CallOutcomeEvent).unwrap().conversation is False


@pytest.mark.parametrize(
    "changes",
    [
        {"call_id": ""},
        {"borrower_id": 7},
        {"connected": "yes"},
        {"connected": None},
        {"occurred_at": "today"},
    ],
)
def test_a_malformed_call_outcome_is_refused(changes: dict[str, Any]) -> None:
    event = sample("call_outcomes/call-outcome.json")
    with pytest.raises(ValidationError, match=f"detail.{next(iter(changes))}"):
        parse(event={**event, "detail": {**event["detail"], **changes}}, model=CallOutcomeEvent)


def test_a_hold_change_comes_from_its_detail_and_the_events_time() -> None:
    event = sample("holds/hold-changed.json")
    change = parse(event=event, model=HoldChangedEvent).unwrap()
    assert (change.hold, change.until) == (HoldKind.PROMISE_TO_PAY, datetime(2026, 3, 6, tzinfo=UTC).date())
    future = {**event, "detail": {**event["detail"], "occurred_at": "2026-03-03T06:15:00Z"}}
    with pytest.raises(InvalidHoldChange, match="later than the event itself"):
        parse(event=future, model=HoldChangedEvent).unwrap()


# -- the HoldChanged detail (also checked by arrears-ops before it sends one) ------------------------------


def detail(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "request_id": "HOLD-1",
        "loan_id": "L-7",
        "hold": "promise_to_pay",
        "active": True,
        "until": "2026-03-06",
        "occurred_at": "2026-03-02T06:00:00Z",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def test_a_valid_detail_is_parsed() -> None:
    parsed = hold_change_from_detail(detail(), received_at=T0)
    assert parsed == HoldChange("HOLD-1", "L-7", HoldKind.PROMISE_TO_PAY, True, T0, UNTIL)
    lift = hold_change_from_detail(detail(hold="cease_contact", active=False, until=None))
    assert (lift.hold, lift.active, lift.until) == (HoldKind.CEASE_CONTACT, False, None)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (detail(request_id=None), r"^request_id: Field required"),
        (detail(occurred_at=None), r"^occurred_at: Field required"),
        (detail(untill="2026-03-06"), r"untill: Extra inputs are not permitted"),
        (detail(hold="vacation"), r"^hold: Input should be 'promise_to_pay'"),
        (detail(active="true"), r"^active: Input should be a valid boolean"),
        (detail(until="06/03/2026"), r"^until: String should match pattern"),
        (detail(until="2026-02-30"), r"^until: Value error"),
        (detail(occurred_at="2026-03-02T14:00:00+08:00"), r"^occurred_at: String should match pattern"),
        (detail(occurred_at="2026-03-02T06:00:00"), r"^occurred_at: String should match pattern"),
        (detail(loan_id="Wang Xiaoming"), r"^loan_id: String should match pattern"),
        (detail(request_id=""), r"^request_id: String should match pattern"),
        (detail(request_id=17), r"^request_id: Input should be a valid string"),
        (detail(until=None), r"^until: required to set promise_to_pay"),
        (detail(hold="hardship", until=None), r"^until: required to set hardship"),
        (detail(hold="cease_contact"), r"^until: cease_contact takes no date"),
        (detail(active=False), r"^until: lifting promise_to_pay takes no date"),
    ],
)
def test_a_malformed_detail_is_refused_naming_the_field(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidHoldChange, match=message):
        hold_change_from_detail(bad, received_at=T0)


def test_a_detail_must_be_an_object_and_may_not_come_from_the_future() -> None:
    with pytest.raises(InvalidHoldChange, match=r"^detail: must be an object"):
        hold_change_from_detail(["promise_to_pay"])
    with pytest.raises(InvalidHoldChange, match=r"^occurred_at: .* later than the event itself"):
        hold_change_from_detail(detail(occurred_at="2026-03-02T07:00:00Z"), received_at=T0)
    # a little clock skew between the producer and EventBridge is tolerated
    skewed = hold_change_from_detail(detail(occurred_at="2026-03-02T06:04:00Z"), received_at=T0)
    assert skewed.occurred_at == T0 + timedelta(minutes=4)


def test_errors_never_echo_the_values() -> None:
    with pytest.raises(InvalidHoldChange) as error:
        hold_change_from_detail(detail(loan_id="Wang Xiaoming +8613800138000"), received_at=T0)
    assert "Wang" not in str(error.value)
    assert "138" not in str(error.value)


# -- stream records ----------------------------------------------------------------------------------------


def test_a_loan_record_carries_both_loans_and_the_streams_time() -> None:
    change = parse(event=record("planner/loan-overdue.json"), model=LoanChangeRecord).unwrap()
    assert change is not None
    assert change.before is not None
    assert change.after.loan_id == change.before.loan_id == "L-SAMPLE-0001"
    assert change.at == datetime(2026, 3, 2, 16, 30, 5, tzinfo=UTC)
    assert change.at.tzinfo is UTC


def test_a_record_without_a_new_loan_plans_nothing() -> None:
    removed = record("planner/loan-overdue.json")
    removed["eventName"] = "REMOVE"
    del removed["dynamodb"]["NewImage"]
    assert parse(event=removed, model=LoanChangeRecord).unwrap() is None


@pytest.mark.parametrize(
    ("name", "model", "damage", "problem"),
    [
        (
            "planner/loan-overdue.json",
            LoanChangeRecord,
            ("NewImage", "principal_minor", {"S": "lots"}),
            "principal_minor",
        ),
        (
            "planner/loan-overdue.json",
            LoanChangeRecord,
            (None, "ApproximateCreationDateTime", None),
            "ApproximateCreationDateTime",
        ),
        ("dispatcher/action-planned.json", ActionRecord, ("NewImage", "action_id", None), "action_id"),
        (  # the dispatcher logs the action id with its outcome: an address there is personal data
            "dispatcher/action-planned.json",
            ActionRecord,
            ("NewImage", "action_id", {"S": "someone@example.com"}),
            "action_id does not have an id's shape",
        ),
        ("archiver/contact-recorded.json", ContactRecord, ("NewImage", "jurisdiction", {"S": "XX"}), "XX"),
        (
            "archiver/contact-recorded.json",
            ContactRecord,
            ("NewImage", "contact_id", None),
            "missing contact_id",
        ),
    ],
)
def test_a_malformed_stream_record_is_refused_naming_the_problem(
    name: str, model: Any, damage: tuple[str | None, str, Any], problem: str
) -> None:
    raw = copy.deepcopy(record(name))
    image, key, value = damage
    target = raw["dynamodb"][image] if image else raw["dynamodb"]
    if value is None:
        del target[key]
    else:
        target[key] = value
    with pytest.raises(ValidationError, match=problem):
        parse(event=raw, model=model).unwrap()


def test_a_record_names_itself_in_the_logs_by_its_id() -> None:
    assert ActionRecord.reference(record("dispatcher/action-planned.json")) == {
        "event_id": "c4ca4238a0b923820dcc509a6f75849b"
    }
    contact = record("archiver/contact-recorded.json")
    assert ContactRecord.reference(contact) == {"sequence_number": contact["dynamodb"]["SequenceNumber"]}
    task = record("sweep_worker/task.json")
    assert SweepTaskRecord.reference(task) == {"message_id": task["messageId"]}
    assert PaymentReceivedEvent.reference({}) == {"event_id": None}


# -- queue records -----------------------------------------------------------------------------------------


def test_a_sweep_tasks_message_is_a_sweep_or_a_census_task() -> None:
    assert isinstance(
        parse(event=record("sweep_worker/task.json"), model=SweepTaskRecord).unwrap(), SweepTask
    )
    census = parse(event=record("sweep_worker/census.json"), model=SweepTaskRecord).unwrap()
    assert isinstance(census, CensusTask)
    for body, problem in (("not json", "not JSON"), ('{"kind": "census"}', "not a census task")):
        with pytest.raises(ValidationError, match=problem):
            parse(event={**record("sweep_worker/task.json"), "body": body}, model=SweepTaskRecord)


# -- text replies (AWS End User Messaging two-way SMS through SNS) -------------------------------------


def test_a_text_reply_gives_the_sender_the_words_and_the_message_id() -> None:
    reply, published = parse(event=sample("inbound_sms/stop-reply.json"), model=InboundSmsEvent).unwrap()

    assert (reply.origination_number, reply.message_body) == ("+14255550182", "STOP")
    assert reply.inbound_message_id == "cae173d2-66b9-564c-8309-21f858e9fb84"
    assert published == datetime(2026, 3, 10, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ("not json", "Sns.Message: not JSON"),
        (
            '{"originationNumber": "4255550182", "messageBody": "STOP", "inboundMessageId": "m"}',
            "originationNumber",
        ),
        ('{"originationNumber": "+14255550182", "messageBody": "STOP"}', "inboundMessageId: Field required"),
    ],
)
def test_a_malformed_text_reply_names_the_field_never_the_number(message: str, problem: str) -> None:
    event = sample("inbound_sms/stop-reply.json")
    event["Records"][0]["Sns"]["Message"] = message

    with pytest.raises(ValueError, match=problem) as raised:
        parse(event=event, model=InboundSmsEvent).unwrap()
    assert "4255550182" not in str(raised.value)


# -- the case-file queue ------------------------------------------------------------------------------


def test_a_legal_referral_is_read_from_its_sns_notification() -> None:
    referral = parse(event=record("case_file/referral.json"), model=LegalReferralRecord).unwrap()
    assert referral.loan_id == "L-SAMPLE-0001"
    assert referral.at == datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps({"Type": "Notification"}),  # no Message
        json.dumps({"Message": json.dumps({"type": "BUREAU_REPORT", "loan_id": "L1"})}),
        json.dumps({"Message": json.dumps({"type": "LEGAL_REFERRAL", "action_id": "A", "loan_id": "L 1"})}),
    ],
)
def test_a_malformed_referral_is_refused(body: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (a ValidationError or the JSON decoder's error)
        parse(event={**record("case_file/referral.json"), "body": body}, model=LegalReferralRecord)


# -- found by fuzzing the inbound SMS and book import handlers ----------------------------------------
@pytest.mark.parametrize(
    ("key", "bucket"),
    [
        ("", None),
        ("reports/x.csv", None),
        ("../../etc/passwd", None),
        ("imports/" + "x" * 1100, None),
        ("imports/book.csv", ""),
        ("imports/book.csv", "Not_A_Bucket"),
    ],
)
def test_an_object_created_event_names_a_key_under_imports_in_a_real_bucket(
    key: str, bucket: str | None
) -> None:
    # an empty key reached S3 as a ParamValidationError, without the log line naming the reason
    event = copy.deepcopy(sample("book_import/object-created.json"))
    event["detail"]["object"]["key"] = key
    if bucket is not None:
        event["detail"]["bucket"]["name"] = bucket
    with pytest.raises(ValueError, match="detail"):
        parse(event=event, model=BookObjectCreated).unwrap()


def test_an_inbound_message_id_is_an_id_and_the_logged_sns_id_is_never_input() -> None:
    # the reply's id is logged with its outcome: an address there was logged as is
    event = copy.deepcopy(sample("inbound_sms/stop-reply.json"))
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    event["Records"][0]["Sns"]["Message"] = json.dumps({**message, "inboundMessageId": "someone@example.com"})
    with pytest.raises(ValueError, match="inboundMessageId"):
        parse(event=event, model=InboundSmsEvent).unwrap()
    event["Records"][0]["Sns"]["MessageId"] = {"someone@example.com": 1}
    assert InboundSmsEvent.reference(event) == {"sns_message_id": "<malformed id>"}
