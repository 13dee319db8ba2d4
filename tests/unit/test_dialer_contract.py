"""The dialer contract's messages: docs/contracts.md carries the models' current JSON Schemas, and the
models accept what the contract says and refuse the rest (by field name, never by value)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from arrears.domain.call_attempts import CallResult
from arrears.events.dialer import CallAttemptedEvent, FieldVisitReportedEvent
from scripts.contract_schemas import DOC, rendered


def test_docs_carry_the_current_json_schema_of_every_message() -> None:
    text = DOC.read_text(encoding="utf-8")

    assert rendered(text) == text, "docs/contracts.md is stale: run python scripts/contract_schemas.py"


def _event(detail_type: str, source: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "E-1",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-03-10T04:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


ATTEMPT = {
    "call_id": "C-1",
    "task_id": "T-1",
    "attempt": 2,
    "started_at": "2026-03-10T03:58:00Z",
    "result": "connected_borrower",
    "conversation": True,
}


def test_a_call_attempt_parses_into_the_domain_attempt() -> None:
    attempt = CallAttemptedEvent.model_validate(_event("CallAttempted", "arrears.dialer", ATTEMPT)).unwrap()

    assert (attempt.attempt, attempt.result, attempt.conversation, attempt.task_done) == (
        2,
        CallResult.CONNECTED_BORROWER,
        True,
        False,
    )
    assert attempt.started_at == datetime(2026, 3, 10, 3, 58, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"attempt": 0}, "attempt"),
        ({"attempt": "2"}, "attempt"),
        ({"result": "hung_up"}, "result"),
        ({"conversation": "yes"}, "conversation"),
        ({"phone": "+8613800138000"}, "phone"),  # no personal data rides along
        ({"task_id": "has space"}, "task_id"),
    ],
)
def test_a_bad_call_attempt_is_refused_by_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        CallAttemptedEvent.model_validate(_event("CallAttempted", "arrears.dialer", {**ATTEMPT, **change}))

    assert field in str(error.value)
    assert "+8613800138000" not in str(error.value)


def test_an_attempt_from_the_future_or_a_conversation_with_someone_else_is_refused() -> None:
    future = _event("CallAttempted", "arrears.dialer", {**ATTEMPT, "started_at": "2026-03-10T04:06:00Z"})
    other = _event("CallAttempted", "arrears.dialer", {**ATTEMPT, "result": "connected_other"})

    with pytest.raises(ValueError, match="later than the event"):
        CallAttemptedEvent.model_validate(future).unwrap()
    with pytest.raises(ValueError, match="conversation"):
        CallAttemptedEvent.model_validate(other).unwrap()


def test_a_field_visit_carries_collector_ids_and_an_optional_recording() -> None:
    detail = {
        "visit_id": "V-1",
        "task_id": "T-9",
        "visited_at": "2026-03-10T02:00:00Z",
        "collector_ids": ["COL-1", "COL-2"],
        "outcome": "not_home",
    }

    visit = FieldVisitReportedEvent.model_validate(
        _event("FieldVisitReported", "arrears.field", detail)
    ).unwrap()

    assert (visit.collector_ids, visit.recording_ref) == (("COL-1", "COL-2"), None)
    with pytest.raises(ValidationError, match="collector_ids"):
        FieldVisitReportedEvent.model_validate(
            _event("FieldVisitReported", "arrears.field", {**detail, "collector_ids": ["Wang Xiaoming"]})
        )
