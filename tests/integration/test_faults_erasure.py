"""An erasure finishes under a steady rate of transient errors, in one invocation.

An erasure makes dozens of AWS calls for a borrower with a history (the tombstone, each loan's
actions, contacts and loan item, the call ledger, the audit record). Every retry of an invocation
starts again from the tombstone, so an erasure that needed every call through at once would never
finish while, say, one call in three fails: the fault runs left it in the failure queue after every
redrive. Each step is retried on its own instead (`arrears.adapters.retrying.retry_transient`).
"""

from __future__ import annotations

import boto3
import pytest

from arrears.adapters.container import Container
from arrears.usecases.erasure import ErasurePorts, ErasureRequest, erase_borrower
from tests.integration.conftest import CloudFactory, utc
from tests.integration.fault_support import every_third_call_fails
from tests.integration.test_erasure import seed


@pytest.mark.parametrize("after", [False, True], ids=["before-the-call", "after-it-applied"])
def test_an_erasure_completes_while_one_call_in_three_fails(
    make_cloud: CloudFactory, container: Container, after: bool
) -> None:
    cloud = make_cloud(utc(2026, 3, 6, 9, 0))
    seed(container)
    cloud.settle()
    request = ErasureRequest("ER-2026-0009", "B-L-1", utc(2026, 3, 6, 8, 59))
    ports = ErasurePorts.from_container(container)
    ports.token_secret()  # the secret is cached per container: its read is not the point here

    with every_third_call_fails(after=after) as failed:
        outcome = erase_borrower(request, at=utc(2026, 3, 6, 9, 0), ports=ports)

    assert len(failed) >= 5  # the erasure met a fault at many of its steps, and still finished
    assert outcome.borrower_found
    assert outcome.audit_key
    borrowers = boto3.resource("dynamodb").Table(container.settings.borrowers_table)
    assert "Item" not in borrowers.get_item(Key={"borrower_id": "B-L-1"})
    for loan_id in ("L-1", "L-2"):
        loan = container.loans.get(loan_id)
        assert loan is not None
        assert loan.borrower_id.startswith("erased:")
        assert {item["borrower_id"] for item in container.contacts.for_loan(loan_id)} == {loan.borrower_id}
    assert ports.store.exists(outcome.audit_key)
    # A repeat, fault-free, finds nothing left to do.
    again = erase_borrower(request, at=utc(2026, 3, 6, 9, 5), ports=ports)
    assert sum(again.pseudonymised.values()) == 0
    assert not again.audit_written
