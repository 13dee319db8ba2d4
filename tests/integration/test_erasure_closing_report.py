"""An erasure before a reported account's closing report keeps the identity that report needs.

A US borrower's account was in March's Metro 2 file 30 days late; they pay it off in April and ask to
be erased. Through the stack on moto: the erasure function keeps name and address
(`closing_report_pending`: no debt is open, but the account stands at the bureaus unclosed), the
April file (1 May) reports the account paid under that identity, and the May file (1 June) lets it go.
Before 2026-12-03 the erasure took the name at once, the April file left the account out
(`no_identity`), and the bureaus went on showing a paid debt 30 days late.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import boto3

from arrears.adapters.container import Container
from arrears.config.playbook import bundled_playbook
from arrears.config.settings import load_settings
from arrears.domain.credit_facts import month_end
from arrears.domain.loans import LoanStatus
from arrears.domain.metro2 import BASE, field_value
from arrears.domain.penalties import total_outstanding
from arrears.domain.tokens import is_pseudonym
from arrears.usecases.payments import PaymentReceived, receive_payment
from localcloud.cloud import ACCOUNT, REGION, LocalCloud
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, borrower_for, register, us_regf_loan, utc

BUREAU = "BureauFileFunction"


def _container(stack: LocalStack) -> Container:
    functions = stack.functions
    environment = {**functions["PlannerFunction"].environment, **functions["DispatcherFunction"].environment}
    return Container(load_settings(environment), boto3.session.Session())


def _cycle(cloud: LocalCloud, stack: LocalStack, at: datetime) -> tuple[dict[str, Any], dict[str, str]]:
    """The monthly schedule's invocation at `at` (the cycle of the month before), and its accounts."""
    if cloud.clock < at:
        cloud.advance_to(at)
    event = cloud.schedule_of(BUREAU).event(at, region=REGION, account=ACCOUNT)
    summary = cloud.invoke(BUREAU, event)
    body = boto3.client("s3").get_object(Bucket=stack.physical["BureauFilesBucket"], Key=summary["key"])
    lines = body["Body"].read().decode("ascii").rstrip("\n").split("\n")[1:-1]
    return summary, {field_value(BASE, b, "consumer_account_number").strip(): b for b in lines}


def test_the_paid_account_is_reported_under_the_kept_identity_then_the_identity_goes(
    stack: LocalStack, make_cloud: CloudFactory
) -> None:
    container = _container(stack)
    cloud = make_cloud(utc(2026, 3, 2, 9))
    loan = us_regf_loan("L-KEPT", due=date(2026, 3, 1))
    person = borrower_for(
        loan,
        "America/New_York",
        region="NY",
        language="en-US",
        name="Ada Q Lovelace",
        address="12 Example Road, Albany, NY 12207",
    )
    register(container, loan, person, cloud.clock)
    cloud.settle()  # the planner keeps the loan's credit facts from the Loans stream
    facts = container.credit_facts
    assert facts is not None
    # Given March's file reported the account 30 days late (its month-end snapshot, as the function stores it)
    stored = container.loans.get("L-KEPT")
    assert stored is not None
    assert facts.facts("L-KEPT") is not None
    march = month_end(stored, facts.facts("L-KEPT"), date(2026, 3, 31))  # type: ignore[arg-type]
    facts.record_month("L-KEPT", march, first_reported="2026-03")
    # and the borrower paid it off on 10 April
    owed = total_outstanding(stored, date(2026, 4, 10))
    paid = receive_payment(
        PaymentReceived("P-KEPT", "L-KEPT", owed, "USD", utc(2026, 4, 10, 15)),
        loans=container.loans,
        ledger=container.payments,
        playbook=bundled_playbook(),
    )
    assert paid.loan.status is LoanStatus.CLOSED
    cloud.settle()

    # When they ask to be erased on 12 April
    cloud.advance_to(utc(2026, 4, 12, 9))
    request = {
        "request_id": "DSR-KEPT",
        "borrower_id": person.borrower_id,
        "requested_at": "2026-04-12T09:00:00Z",
    }
    (response,) = cloud.put_event("LoanEventsBus", "arrears.privacy", "ErasureRequested", request)

    # Then no debt is open, but the account stands at the bureaus: the identity is kept, contact data not
    assert (response["open_debt"], response["closing_report_pending"]) == (False, True)
    assert (response["identity_kept"], response["fields_erased"]) == (["name", "address"], ["phone", "email"])
    alias = container.loans.get("L-KEPT").borrower_id  # type: ignore[union-attr]
    assert is_pseudonym(alias)
    tombstone = container.borrowers.get(alias)
    assert tombstone is not None
    assert (tombstone.name, tombstone.phone) == (person.name, "")

    # When April's file is built (1 May): the account reported paid, under the kept name
    april, accounts = _cycle(cloud, stack, datetime(2026, 5, 1, 12, tzinfo=UTC))
    assert field_value(BASE, accounts["L-KEPT"], "account_status") == "13"
    assert field_value(BASE, accounts["L-KEPT"], "surname").strip() == "LOVELACE"
    assert (april["no_identity"], april["identities_erased_after_closing_report"]) == (0, 0)
    # and a retried schedule writes it again, name included
    _, accounts_again = _cycle(cloud, stack, datetime(2026, 5, 1, 12, tzinfo=UTC))
    assert accounts_again == accounts

    # Then May's file (1 June) leaves the closed account out and lets the identity go
    may, accounts = _cycle(cloud, stack, datetime(2026, 6, 1, 12, tzinfo=UTC))
    assert "L-KEPT" not in accounts
    assert may["identities_erased_after_closing_report"] == 1
    gone = container.borrowers.get(alias)
    assert gone is not None
    assert (gone.name, gone.address) == ("", "")
    item = (
        boto3.resource("dynamodb")
        .Table(container.settings.borrowers_table)
        .get_item(Key={"borrower_id": alias})
    )
    assert not {"name", "address", "phone", "email"} & set(item["Item"])
    # once: June's cycle finds nothing kept
    june, _ = _cycle(cloud, stack, datetime(2026, 7, 1, 12, tzinfo=UTC))
    assert june["identities_erased_after_closing_report"] == 0
