"""Erasure requests on moto: PII gone from Borrowers, hot contacts unlinked, archive kept, erasure audited."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date
from typing import Any

import boto3

from arrears.adapters.container import Container
from arrears.domain.actions import ContactRecord
from arrears_cli.audit import S3Source, verify
from localcloud.stack import LocalStack
from tests.integration.archive_support import bucket_objects, contacts
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, utc

ERASE = {"request_id": "ER-2026-0001", "borrower_id": "B-L-1", "requested_at": "2026-03-06T08:59:00Z"}


def hot(container: Container, loan_id: str) -> list[dict[str, Any]]:
    return container.contacts.for_loan(loan_id)


def seed(container: Container) -> list[ContactRecord]:
    """Borrower B-L-1 has loans L-1 and L-2; B-L-3 has L-3. Each loan has archived contacts."""
    for loan_id, borrower_id in (("L-1", "B-L-1"), ("L-2", "B-L-1"), ("L-3", "B-L-3")):
        loan = cn_cash_loan(loan_id).with_changes(borrower_id=borrower_id)
        if loan_id != "L-2":
            register(container, loan, borrower_for(loan), utc(2026, 2, 20))
        else:
            assert container.loans.create(loan)
    written = []
    for n, contact in enumerate(c for c in contacts(30) if c.jurisdiction == "CN"):
        loan_id = ("L-1", "L-2", "L-3")[n % 3]
        borrower_id = "B-L-3" if loan_id == "L-3" else "B-L-1"
        fixed = ContactRecord(**{**_fields(contact), "loan_id": loan_id, "borrower_id": borrower_id})
        assert container.contacts.record(fixed)
        written.append(fixed)
    return written


def _fields(contact: ContactRecord) -> dict[str, Any]:
    return {name: getattr(contact, name) for name in ContactRecord.__dataclass_fields__}


def audit_records(stack: LocalStack) -> dict[str, bytes]:
    return bucket_objects(stack, "erasures/")


def test_an_erasure_request_erases_pii_keeps_the_archive_and_is_audited(
    make_cloud: CloudFactory, container: Container, stack: LocalStack
) -> None:
    cloud = make_cloud(utc(2026, 3, 6, 9, 0))
    seed(container)
    cloud.settle()
    archive_before = bucket_objects(stack)
    person = borrower_for(cn_cash_loan("L-1"))

    (response,) = cloud.put_event("LoanEventsBus", "arrears.privacy", "ErasureRequested", ERASE)

    # The response and the logs carry counts, never values. L-1 is overdue: an open debt.
    assert response["borrower_found"] is True
    assert response["open_debt"] is True
    assert response["fields_erased"] == ["phone", "email"]
    assert response["identity_kept"] == ["name", "address"]
    assert response["loans"] == 2
    assert "request_id" not in response
    assert response["request_sha256"] == hashlib.sha256(b"ER-2026-0001").hexdigest()
    # Borrowers: nothing left under the original id; the tombstone under the pseudonym, contact data
    # removed, no channel left to contact them on, the identity the open debt's bureau report needs kept.
    secret = container.token_secret.value()
    token = hmac.new(secret, b"B-L-1", hashlib.sha256).hexdigest()
    alias = f"erased:{token}"
    table = boto3.resource("dynamodb").Table(container.settings.borrowers_table)
    assert "Item" not in table.get_item(Key={"borrower_id": "B-L-1"})
    stored = table.get_item(Key={"borrower_id": alias})["Item"]
    assert not {"phone", "phone_key", "email"} & set(stored)
    assert (stored["name"], stored["address"]) == (person.name, person.address)
    assert stored["erased_at"] == "2026-03-06T09:00:00Z"
    assert stored["erasure_request_sha256"] == hashlib.sha256(b"ER-2026-0001").hexdigest()
    assert ERASE["request_id"] not in json.dumps(stored, default=str)
    # No contact channel left; the bureau report and the legal referral of the open debt stay lawful.
    assert set(stored["opted_out_channels"]) == {"SMS", "EMAIL", "CALL_TASK", "FIELD_VISIT", "LETTER"}  # type: ignore[arg-type]
    assert stored["timezone"] == "Asia/Shanghai"
    other = container.borrowers.get("B-L-3")
    assert other is not None
    assert other.phone == person.phone
    # Loans and hot contacts of both loans: the borrower_id replaced by the pseudonym (its token is
    # the archive's), the other borrower's untouched
    for loan_id in ("L-1", "L-2"):
        loan = container.loans.get(loan_id)
        assert loan is not None
        assert loan.borrower_id == alias
    mine = hot(container, "L-1") + hot(container, "L-2")
    assert mine
    assert all(c["borrower_id"] == alias for c in mine)
    assert response["contacts_pseudonymised"] == len(mine)
    assert response["pseudonymised"]["loans"] == 2
    assert response["pseudonymised"]["borrowers"] == 1
    assert all(c["borrower_id"] == "B-L-3" for c in hot(container, "L-3"))
    # The archive is kept as it was (lawful retention) and still verifies
    assert bucket_objects(stack) == archive_before
    assert verify(S3Source(boto3.client("s3"), stack.physical["ArchiveBucket"])).ok
    # The erasure's own record: write-once, pseudonymous, no erased value
    ((key, body),) = audit_records(stack).items()
    assert key == response["audit_key"]
    assert key.startswith("erasures/dt=2026-03-06/")
    record = json.loads(body)
    assert record["record_type"] == "ERASURE"
    assert record["borrower_token"] == token
    assert record["fields_erased"] == ["email", "phone"]
    assert record["identity_kept"] == ["address", "name"]
    assert record["open_debt"] is True
    assert record["request_sha256"] == hashlib.sha256(b"ER-2026-0001").hexdigest()
    assert record["steps_kept"] == ["BUREAU", "LEGAL"]
    text = body.decode()
    for value in (person.name, person.phone, person.email, person.address, "B-L-1", ERASE["request_id"]):
        assert value not in text
    assert ERASE["request_id"] not in key
    head = boto3.client("s3").head_object(Bucket=stack.physical["ArchiveBucket"], Key=key)
    # A dev stack: GOVERNANCE for a day from the write (prod: COMPLIANCE for 5 years, ArchiveLock's tests)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert head["ObjectLockRetainUntilDate"].date() == date(2026, 3, 7)
    assert head["ServerSideEncryption"] == "aws:kms"
    log = cloud.log.getvalue()  # type: ignore[attr-defined]
    for value in (person.name, person.phone, person.email, person.address, ERASE["request_id"]):
        assert value not in log


def test_a_redelivered_request_changes_nothing_and_writes_no_second_record(
    make_cloud: CloudFactory, container: Container, stack: LocalStack
) -> None:
    cloud = make_cloud(utc(2026, 3, 6, 9, 0))
    seed(container)
    cloud.settle()
    cloud.put_event("LoanEventsBus", "arrears.privacy", "ErasureRequested", ERASE)
    audit = audit_records(stack)

    (again,) = cloud.put_event("LoanEventsBus", "arrears.privacy", "ErasureRequested", ERASE)

    assert again["fields_erased"] == []
    assert again["contacts_pseudonymised"] == 0
    assert audit_records(stack) == audit
    versions = boto3.client("s3").list_object_versions(
        Bucket=stack.physical["ArchiveBucket"], Prefix="erasures/"
    )
    assert len(versions["Versions"]) == 1


def test_an_unknown_borrower_is_still_audited(
    make_cloud: CloudFactory, container: Container, stack: LocalStack
) -> None:
    cloud = make_cloud(utc(2026, 3, 6, 9, 0))

    (response,) = cloud.put_event(
        "LoanEventsBus", "arrears.privacy", "ErasureRequested", {**ERASE, "borrower_id": "B-NOBODY"}
    )

    assert response["borrower_found"] is False
    assert response["loans"] == 0
    assert container.borrowers.get("B-NOBODY") is None  # nothing created
    (body,) = audit_records(stack).values()
    assert json.loads(body)["borrower_found"] is False
