"""The default demo's faults: only throttles, only on sends, only in the functions that contact
borrowers; and what the summary says became of each refused send."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.faults import FaultInjector, refused_sends_outcome, send_throttles

AT = datetime(2026, 3, 2, 1, 45, tzinfo=UTC)  # 20:45 in New York


def test_the_demo_plan_throttles_only_the_sends_of_the_contacting_functions() -> None:
    plan = send_throttles()
    assert plan.kinds == ("before",)
    assert plan.throttles_only
    assert plan.applies("DispatcherFunction", "sns", "Publish")
    assert plan.applies("DeferredReleaseFunction", "sqs", "SendMessage")
    assert not plan.applies("DispatcherFunction", "dynamodb", "PutItem")
    assert not plan.applies("PlannerFunction", "sqs", "SendMessage")
    assert not plan.applies("SweepFunction", "sqs", "SendMessage")


def test_a_throttled_send_is_the_services_own_throttling_code_before_the_call() -> None:
    injector = FaultInjector(send_throttles(rate=0.999))
    error = injector._before("sns", "Publish", "https://sns", throttles_only=True)
    assert isinstance(error, ClientError)
    assert error.response["Error"]["Code"] == "Throttled"
    assert injector.injected[("before", "sns", "Throttled")] == 1


def _record(action_id: str, status: str, at: str, reason: str = "") -> dict[str, Any]:
    return {"action_id": action_id, "status": status, "occurred_at": at, "reason": reason}


def test_a_refused_send_is_reported_by_what_its_retry_was_judged_to() -> None:
    contacts = [
        _record("A-1", "SENT", "2026-03-02T01:00:00Z"),  # an earlier contact of the same action
        _record("A-1", "DEFERRED", "2026-03-02T02:00:00Z", "outside contact hours (US-REGF)"),
        _record("A-2", "SENT", "2026-03-02T01:45:00Z"),  # the stream's retry, the same instant
    ]
    outcome = refused_sends_outcome([("A-1", AT), ("A-2", AT), ("A-3", AT)], contacts)
    assert outcome["refused"] == 3
    assert outcome["then"] == {"DEFERRED": 1, "SENT": 1, "no record yet": 1}
    assert outcome["judged_at_a_later_instant"] == 1
    assert outcome["deferred_at_retry"] == [
        {
            "refused_at": "2026-03-02T01:45:00Z",
            "judged_at": "2026-03-02T02:00:00Z",
            "reason": "outside contact hours (US-REGF)",
        }
    ]


@pytest.mark.parametrize("rate", [1.0, -0.1])
def test_a_rate_outside_zero_to_one_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="fault rate"):
        send_throttles(rate)


def test_the_refused_send_is_named_by_the_claim_of_its_own_outbox_transaction() -> None:
    """The dispatcher claims its send in a transaction (typed items): the key must come from there, not
    from an earlier PutItem of another action in the same batch."""
    from localcloud.faults import _outbox_claim

    transaction = {
        "TransactItems": [
            {"ConditionCheck": {"Key": {"action_id": {"S": "A-9"}}}},
            {"Put": {"Item": {"id": {"S": "outbox#A-9"}, "token": {"S": "t"}}}},
        ]
    }
    assert _outbox_claim("TransactWriteItems", transaction) == "A-9"
    assert _outbox_claim("PutItem", {"Item": {"id": "outbox#A-1"}}) == "A-1"
    assert _outbox_claim("PutItem", {"Item": {"id": "once#X"}}) is None
    assert _outbox_claim("GetItem", {"Key": {"id": "outbox#A-1"}}) is None


def test_a_refused_validation_notice_is_followed_to_the_notices_own_record() -> None:
    notice = {
        "action_id": "A-7",
        "loan_id": "L-7",
        "template_id": "validation_notice",
        "status": "SENT",
        "occurred_at": "2026-03-05T10:00:00Z",
    }
    outcome = refused_sends_outcome([("validation-notice#L-7", AT)], [notice])
    assert outcome["then"] == {"SENT": 1}
