"""The send outbox under faults: a contact is handed over at most once, whatever fails around it.

The outbox runs on the idempotency table in moto; the send is a function that counts its calls and
fails the way botocore reports a fault (an error answer, a connection never opened, an answer lost).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from arrears.adapters.clock import FixedClock
from arrears.adapters.container import Container
from arrears.adapters.outbox import SendInProgress, SendOutbox, SendUnconfirmed
from tests.integration.conftest import utc

NOON = utc(2026, 3, 2, 4)


def _sender(*faults: BaseException) -> tuple[list[int], Callable[[], str]]:
    """A send that raises `faults` in turn (the call reached the channel for an ambiguous one)."""
    made: list[int] = []
    pending = list(faults)

    def send() -> str:
        made.append(1)
        if pending:
            raise pending.pop(0)
        return f"m-{len(made)}"

    return made, send


def _outbox(container: Container, at: object = NOON) -> SendOutbox:
    return SendOutbox(container.outbox._table, FixedClock(at))  # type: ignore[arg-type]


def test_a_send_whose_answer_was_lost_is_never_made_again(container: Container) -> None:
    made, send = _sender(ReadTimeoutError(endpoint_url="https://sns"))
    outbox = _outbox(container)
    with pytest.raises(SendUnconfirmed, match="ReadTimeoutError"):
        outbox("A-1", send)
    with pytest.raises(SendUnconfirmed, match="ReadTimeoutError"):
        outbox("A-1", send)
    assert len(made) == 1


def _answer(code: str, status: int) -> ClientError:
    response: Any = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "Publish")


@pytest.mark.parametrize(
    "refusal",
    [
        _answer("Throttled", 400),
        _answer("ServiceUnavailable", 503),
        EndpointConnectionError(endpoint_url="https://sns"),
    ],
)
def test_a_send_refused_before_the_service_took_it_is_retried_once(
    container: Container, refusal: Exception
) -> None:
    made, send = _sender(refusal)
    outbox = _outbox(container)
    with pytest.raises(type(refusal)):
        outbox("A-2", send)
    assert outbox("A-2", send) == "m-2"
    assert outbox("A-2", send) == "m-2"  # replayed, not sent again
    assert len(made) == 2


def test_a_claim_held_by_a_live_invocation_makes_others_wait(container: Container) -> None:
    outbox = _outbox(container)
    _, send = _sender()

    def overlapping() -> str:
        with pytest.raises(SendInProgress):
            outbox("A-3", send)
        return "m-first"

    assert outbox("A-3", overlapping) == "m-first"


def test_a_claim_left_by_a_dead_invocation_is_recorded_unconfirmed_not_sent_again(
    container: Container,
) -> None:
    class Killed(BaseException):
        pass

    made, send = _sender(Killed())
    with pytest.raises(Killed):
        _outbox(container)("A-4", send)
    with pytest.raises(SendInProgress):  # before the dead invocation's deadline: it may be sending
        _outbox(container, NOON + timedelta(seconds=30))("A-4", send)
    later = _outbox(container, NOON + timedelta(minutes=2))
    with pytest.raises(SendUnconfirmed, match="InvocationEnded"):
        later("A-4", send)
    with pytest.raises(SendUnconfirmed, match="InvocationEnded"):
        later("A-4", send)
    assert len(made) == 1


def test_a_deduplicated_send_is_retried_after_a_lost_answer(container: Container) -> None:
    made, send = _sender(ReadTimeoutError(endpoint_url="https://sqs"))
    outbox = _outbox(container)
    with pytest.raises(ReadTimeoutError):
        outbox("A-5", send, retry_safe=True)
    assert outbox("A-5", send, retry_safe=True) == "m-2"
    assert len(made) == 2  # the FIFO queue's deduplication id absorbs the repeat


def test_a_lost_claim_answer_is_read_back_as_ours(container: Container) -> None:
    outbox = _outbox(container)
    table: Any = container.outbox._table
    original = table.put_item

    def put_then_lose(**request: Any) -> Any:
        original(**request)
        raise ReadTimeoutError(endpoint_url="https://dynamodb")

    table.put_item = put_then_lose
    made, send = _sender()
    try:
        assert outbox("A-6", send) == "m-1"
    finally:
        table.put_item = original
    assert outbox("A-6", send) == "m-1"
    assert len(made) == 1


def test_a_send_recorded_by_its_caller_writes_no_completion(container: Container) -> None:
    outbox = _outbox(container)
    made, send = _sender()
    recorded: list[int] = []

    assert outbox("A-7", send, recorded=lambda: recorded.append(1)) == "m-1"

    table: Any = container.outbox._table
    item = table.get_item(Key={"id": "outbox#A-7"}, ConsistentRead=True)["Item"]
    assert (item["status"], len(made), len(recorded)) == ("INTENT", 1, 1)


def test_a_send_its_caller_failed_to_record_is_replayed_not_sent_again(container: Container) -> None:
    outbox = _outbox(container)
    made, send = _sender()

    def throttled() -> None:
        raise _answer("ProvisionedThroughputExceededException", 400)

    with pytest.raises(ClientError):
        outbox("A-8", send, recorded=throttled)
    replayed: list[int] = []

    assert outbox("A-8", send, recorded=lambda: replayed.append(1)) == "m-1"
    assert (len(made), len(replayed)) == (1, 0)  # the replay's caller records it (the dispatcher does)
