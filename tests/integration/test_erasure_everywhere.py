"""Erasure on moto, table by table: the borrower id is pseudonymised wherever it was, resumably.

A borrower with a loan, its actions, hot contacts, a call ledger and a borrower-API request with free
text is erased; afterwards no DynamoDB item, archive object, S3 key or log line holds their id, nor the
request id a caller supplied (an e-mail address), and a later registration cannot bring them back.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from arrears.adapters.container import Container
from arrears.adapters.dynamodb import ContactRepository
from arrears.config.settings import load_settings
from arrears.domain.actions import ContactRecord
from arrears.domain.loans import LoanStatus
from arrears.domain.strategy import Channel
from arrears.domain.tokens import borrower_token, pseudonym
from arrears.usecases.erasure import ErasurePorts, ErasureRequest, erase_borrower
from arrears.usecases.onboarding import BorrowerOutcome, onboard_borrower
from localcloud.erasures import id_pattern, where_they_remain
from localcloud.stack import LocalStack
from tests.integration.archive_support import bucket_objects, contacts
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, utc
from tests.integration.test_dispatch import plan

AT = utc(2026, 3, 6, 9, 0)


@pytest.fixture
def container(stack: LocalStack) -> Container:
    """The sweep's and the erasure function's settings (the BorrowerRequests table is the erasure's)."""
    functions = stack.functions
    environment = {**functions["SweepFunction"].environment, **functions["ErasureFunction"].environment}
    return Container(load_settings(environment), boto3.session.Session())


PRIVACY_TICKET = "jane.doe.privacy@example.com"  # a request id a privacy desk could well use


def seed(container: Container, *, closed: bool = False) -> None:
    """B-L-1 (loans L-1 and L-2, L-2 closed) with actions, contacts, a call ledger and a request;
    B-L-3 (L-3), a neighbour with the same records."""
    for loan_id, borrower_id in (("L-1", "B-L-1"), ("L-2", "B-L-1"), ("L-3", "B-L-3")):
        loan = cn_cash_loan(loan_id).with_changes(borrower_id=borrower_id)
        if loan_id == "L-2" or (closed and loan_id == "L-1"):
            loan = loan.with_changes(status=LoanStatus.CLOSED)
        if loan_id == "L-2":
            assert container.loans.create(loan)
        else:
            register(container, loan, borrower_for(loan), utc(2026, 2, 20))
        stored = container.loans.get(loan_id)
        assert stored is not None
        plan(container, stored, Channel.SMS, "sms_overdue", step="sms-d3")
        plan(container, stored, Channel.BUREAU, "bureau_report", step="bureau-d90")
    for n, contact in enumerate(c for c in contacts(12) if c.jurisdiction == "CN"):
        loan_id = ("L-1", "L-2", "L-3")[n % 3]
        fields = {name: getattr(contact, name) for name in ContactRecord.__dataclass_fields__}
        borrower_id = "B-L-3" if loan_id == "L-3" else "B-L-1"
        record = ContactRecord(**{**fields, "loan_id": loan_id, "borrower_id": borrower_id})
        assert container.contacts.record(record)
    caps = boto3.resource("dynamodb").Table(container.settings.contact_caps_table)
    for borrower_id in ("B-L-1", "B-L-3"):
        caps.put_item(
            Item={
                "borrower_id": borrower_id,
                "cap_key": "CALL",
                "version": 3,
                "attempts": [["2026-03-05T02:00:00Z", "A-1", "CALL_TASK", "L-1"]],
            }
        )
        assert container.borrower_requests.create(
            {
                "request_id": f"R-000{borrower_id[-1]}",  # a hash of caller, route and key in the API
                "kind": "HARDSHIP",
                "borrower_id": borrower_id,
                "loan_id": "L-1" if borrower_id == "B-L-1" else "L-3",
                "at": "2026-03-04T10:00:00+00:00",
                "details": {"reason": "job_loss"},
                "text": "I lost my job at the Example Co. plant",
            }
        )


def pool_call_task(container: Container, loan_id: str) -> str:
    """Pool a call task of the loan's first action at the collectors' desk, as the desk's intake does
    (the task keyed by its action id, the queue's message kept whole, its `borrower_id` included)."""
    (action, *_) = container.actions.for_loan(loan_id)
    message = {"type": "CALL_TASK", "action_id": action.action_id, "loan_id": loan_id}
    item = {"kind": "CALL", "pool": "CALL#Shanghai", "region": "Shanghai", "state": "OPEN"}
    assert container.desk.add_task(
        action.action_id,
        {
            **item,
            "available_at": "2026-03-05T01:00:00Z",
            "message": {**message, "borrower_id": action.borrower_id},
        },
    )
    return action.action_id


def ports(container: Container) -> ErasurePorts:
    return ErasurePorts.from_container(container)


def remaining(value: str, tmp_path: Path, stack: LocalStack, log: str = "") -> dict[str, Any]:
    """Where `value` is still found: tables, archive objects (bodies and keys), the log."""
    archive = tmp_path / "archive"
    for key, body in bucket_objects(stack, "").items():
        target = archive / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
    logs = tmp_path / "log.jsonl"
    logs.write_text(log)
    found: dict[str, Any] = dict(where_they_remain(id_pattern([value]), archive, logs))
    keys = [key for key in bucket_objects(stack, "") if value in key]
    if keys:
        found["keys"] = keys
    return found


def test_the_borrower_id_is_pseudonymised_in_every_table_and_the_request_id_is_nowhere(
    make_cloud: CloudFactory, container: Container, stack: LocalStack, tmp_path: Path
) -> None:
    cloud = make_cloud(AT)
    seed(container)
    cloud.settle()
    task, neighbours_task = pool_call_task(container, "L-1"), pool_call_task(container, "L-3")
    assert remaining("B-L-1", tmp_path, stack)  # the check can fail: the id is there before
    hot = len(container.contacts.for_loan("L-1") + container.contacts.for_loan("L-2"))

    (response,) = cloud.put_event(
        "LoanEventsBus",
        "arrears.privacy",
        "ErasureRequested",
        {"request_id": PRIVACY_TICKET, "borrower_id": "B-L-1", "requested_at": "2026-03-06T08:59:00Z"},
    )
    cloud.settle()

    assert response["pseudonymised"] == {
        "actions": 4,
        "borrower_requests": 1,
        "borrowers": 1,
        "call_ledger": 1,
        "contacts": hot,
        "desk_tasks": 1,
        "loans": 2,
    }
    log = cloud.log.getvalue()  # type: ignore[attr-defined]
    assert remaining("B-L-1", tmp_path, stack) == {}
    assert remaining(PRIVACY_TICKET, tmp_path, stack, log) == {}
    assert response["request_sha256"] == hashlib.sha256(PRIVACY_TICKET.encode()).hexdigest()
    # Each record lives on under the pseudonym, the neighbour's under their id.
    alias = pseudonym(borrower_token(container.token_secret.value(), "B-L-1"))
    ledger = container.call_ledger.ledger(alias)
    assert ledger.version == 3
    assert len(ledger.attempts) == 1
    assert container.call_ledger.ledger("B-L-3").version == 3
    request = container.borrower_requests.get("R-0001")
    assert request is not None
    assert request["borrower_id"] == alias
    assert "text" not in request  # the borrower's own words go
    assert request["details"] == {"reason": "job_loss"}  # the request itself stays (a record)
    neighbour = container.borrower_requests.get("R-0003")
    assert neighbour is not None
    assert neighbour["text"]
    actions = container.actions.for_loan("L-1") + container.actions.for_loan("L-2")
    assert {a.borrower_id for a in actions} == {alias}
    assert {a.borrower_id for a in container.actions.for_loan("L-3")} == {"B-L-3"}
    # The call task pooled at the desk names the pseudonym; the neighbour's still names them.
    for task_id, borrower_id in ((task, alias), (neighbours_task, "B-L-3")):
        pooled = container.desk.task(task_id)
        assert pooled is not None
        assert pooled["message"]["borrower_id"] == borrower_id
        assert pooled["state"] == "OPEN"


def test_an_interrupted_erasure_completes_on_retry_and_a_third_run_changes_nothing(
    make_cloud: CloudFactory,
    container: Container,
    stack: LocalStack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cloud = make_cloud(AT)
    seed(container)
    cloud.settle()
    request = ErasureRequest("ER-9", "B-L-1", AT)
    real = ContactRepository.pseudonymise_borrower
    calls: list[str] = []

    def dies_on_the_second_loan(self: ContactRepository, loan_id: str, borrower_id: str, alias: str) -> int:
        calls.append(loan_id)
        if len(calls) == 2:
            raise RuntimeError("the function timed out")
        return real(self, loan_id, borrower_id, alias)

    monkeypatch.setattr(ContactRepository, "pseudonymise_borrower", dies_on_the_second_loan)
    with pytest.raises(RuntimeError):
        erase_borrower(request, at=AT, ports=ports(container))
    # Half done: L-1 re-keyed, the tombstone copied, the original kept until the end.
    alias = pseudonym(borrower_token(container.token_secret.value(), "B-L-1"))
    loan = container.loans.get("L-1")
    assert loan is not None
    assert loan.borrower_id == alias
    assert container.borrowers.get(alias) is not None
    assert container.borrowers.get("B-L-1") is not None
    assert remaining("B-L-1", tmp_path, stack)

    again = erase_borrower(request, at=AT + timedelta(minutes=1), ports=ports(container))

    assert again.loans == 2  # L-1 found under the pseudonym, L-2 under the id
    assert again.pseudonymised["loans"] == 1
    assert again.pseudonymised["borrowers"] == 0  # copied by the first run
    assert again.audit_written
    assert remaining("B-L-1", tmp_path, stack) == {}
    third = erase_borrower(request, at=AT + timedelta(minutes=2), ports=ports(container))
    assert not any(third.pseudonymised.values())
    assert third.fields_erased == []
    assert not third.audit_written


def test_a_closed_debt_erases_everything_and_a_later_registration_does_not_bring_it_back(
    make_cloud: CloudFactory, container: Container, stack: LocalStack
) -> None:
    cloud = make_cloud(AT)
    seed(container, closed=True)
    cloud.settle()
    person = borrower_for(cn_cash_loan("L-1").with_changes(borrower_id="B-L-1"))

    outcome = erase_borrower(ErasureRequest("ER-10", "B-L-1", AT), at=AT, ports=ports(container))

    assert outcome.open_debt is False
    assert outcome.fields_erased == ["name", "phone", "email", "address"]
    assert outcome.identity_kept == []
    alias = pseudonym(borrower_token(container.token_secret.value(), "B-L-1"))
    tombstone = container.borrowers.get(alias)
    assert tombstone is not None
    assert (tombstone.name, tombstone.phone, tombstone.email, tombstone.address) == ("", "", "", "")
    # The lending core sends the borrower again: refused (ERASED), nothing under the id.
    assert onboard_borrower(person, container.borrowers) == (BorrowerOutcome.ERASED, [])
    container.borrowers.put(person)  # the registration that keeps opt-outs: writes nothing either
    assert container.borrowers.get("B-L-1") is None


def test_an_open_debt_erased_once_then_closed_is_erased_fully_by_a_second_request(
    make_cloud: CloudFactory, container: Container
) -> None:
    cloud = make_cloud(AT)
    seed(container)
    cloud.settle()
    first = erase_borrower(ErasureRequest("ER-11", "B-L-1", AT), at=AT, ports=ports(container))
    assert first.identity_kept == ["name", "address"]
    container.loans.update("L-1", lambda loan: loan.with_changes(status=LoanStatus.CLOSED))

    later = AT + timedelta(days=30)
    second = erase_borrower(ErasureRequest("ER-12", "B-L-1", later), at=later, ports=ports(container))

    assert second.open_debt is False
    assert second.fields_erased == ["name", "address"]
    assert second.audit_written
    alias = pseudonym(borrower_token(container.token_secret.value(), "B-L-1"))
    tombstone = container.borrowers.get(alias)
    assert tombstone is not None
    assert (tombstone.name, tombstone.address) == ("", "")


def _tables(container: Container) -> dict[str, list[dict[str, Any]]]:
    settings = container.settings
    names = (
        settings.borrowers_table,
        settings.loans_table,
        settings.actions_table,
        settings.contacts_table,
        settings.contact_caps_table,
        settings.borrower_requests_table,
    )
    dynamodb = boto3.resource("dynamodb")
    return {name: sorted(dynamodb.Table(name).scan()["Items"], key=repr) for name in names}


def test_a_request_naming_the_pseudonym_is_answered_done_and_re_keys_nothing(
    make_cloud: CloudFactory, container: Container, stack: LocalStack
) -> None:
    # The erased borrower has a call ledger under the pseudonym: re-keying it onto itself was one
    # TransactWriteItems with two operations on one item, refused every time, to the failure queue.
    cloud = make_cloud(AT)
    seed(container)
    cloud.settle()
    erase_borrower(ErasureRequest("ER-20", "B-L-1", AT), at=AT, ports=ports(container))
    alias = pseudonym(borrower_token(container.token_secret.value(), "B-L-1"))
    assert container.call_ledger.ledger(alias).version == 3
    before = _tables(container)
    audits = bucket_objects(stack, "erasures/")

    (response,) = cloud.put_event(
        "LoanEventsBus",
        "arrears.privacy",
        "ErasureRequested",
        {"request_id": "ER-21", "borrower_id": alias, "requested_at": "2026-03-06T08:59:00Z"},
    )

    assert response["already_erased"] is True
    assert response["borrower_found"] is True
    assert response["fields_erased"] == []  # phone and e-mail went with the first request
    assert not any(response["pseudonymised"].values())
    assert _tables(container) == before  # the tombstone, the ledger, every record as they were
    assert container.borrowers.get(alias) is not None
    # Audited like any request (the request's own record), under the same borrower token.
    assert len(bucket_objects(stack, "erasures/")) == len(audits) + 1
    assert (
        boto3.client("sqs").get_queue_attributes(
            QueueUrl=stack.physical["AsyncFailureQueue"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        == "0"
    )
    log = cloud.log.getvalue()  # type: ignore[attr-defined]
    assert "erasure request names an erased borrower's pseudonym: nothing to re-key" in log
    assert alias not in log


def test_a_pseudonym_without_a_call_ledger_keeps_its_tombstone_and_a_closed_debt_is_erased_fully(
    make_cloud: CloudFactory, container: Container
) -> None:
    # Without a ledger to refuse it, the request named by the pseudonym reached `drop_erased` and
    # deleted the tombstone itself: the borrower's opt-outs and erasure stamp gone with it.
    cloud = make_cloud(AT)
    seed(container)
    cloud.settle()
    boto3.resource("dynamodb").Table(container.settings.contact_caps_table).delete_item(
        Key={"borrower_id": "B-L-1", "cap_key": "CALL"}
    )
    erase_borrower(ErasureRequest("ER-22", "B-L-1", AT), at=AT, ports=ports(container))
    alias = pseudonym(borrower_token(container.token_secret.value(), "B-L-1"))
    container.loans.update("L-1", lambda loan: loan.with_changes(status=LoanStatus.CLOSED))

    later = AT + timedelta(days=30)
    outcome = erase_borrower(ErasureRequest("ER-23", alias, later), at=later, ports=ports(container))

    assert outcome.already_erased
    assert outcome.open_debt is False
    assert outcome.fields_erased == ["name", "address"]  # the identity kept for the open debt goes now
    tombstone = container.borrowers.get(alias)
    assert tombstone is not None
    assert (tombstone.name, tombstone.address) == ("", "")
    assert outcome.audit_written
    loan = container.loans.get("L-1")
    assert loan is not None
    assert loan.borrower_id == alias


def test_an_action_planned_from_a_loan_image_older_than_the_erasure_follows_the_loan_to_the_pseudonym(
    make_cloud: CloudFactory, container: Container, stack: LocalStack, tmp_path: Path
) -> None:
    """A planner's stream batch retried after the erasure plans under the id the erasure replaced:
    judged under that id it failed "borrower not found" and its action and contact record brought
    the erased id back (found by the fault runs)."""
    cloud = make_cloud(AT)
    seed(container)
    cloud.settle()
    before = container.loans.get("L-1")
    assert before is not None
    cloud.put_event(
        "LoanEventsBus",
        "arrears.privacy",
        "ErasureRequested",
        {"request_id": "ER-9", "borrower_id": "B-L-1", "requested_at": "2026-03-06T08:59:00Z"},
    )
    cloud.settle()
    assert remaining("B-L-1", tmp_path, stack) == {}

    stale = plan(container, before, Channel.SMS, "sms_overdue", step="sms-d7", at=AT + timedelta(hours=1))
    assert stale.borrower_id == "B-L-1"
    cloud.settle()  # the dispatcher runs on the new action's stream record

    alias = pseudonym(borrower_token(container.token_secret.value(), "B-L-1"))
    settled = container.actions.get(stale.action_id)
    assert settled is not None
    assert settled.borrower_id == alias
    assert settled.status.value == "SUPPRESSED"  # the tombstone is opted out of every channel
    records = [c for c in container.contacts.for_loan("L-1") if c["action_id"] == stale.action_id]
    assert [r["borrower_id"] for r in records] == [alias]
    assert remaining("B-L-1", tmp_path, stack) == {}
