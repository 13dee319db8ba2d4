"""Repayment plans over HTTP: a borrower's request agreed at once or queued, a supervisor's decision, a
collector's negotiation inside the agent's limits, the PLAN hold on the loan, the plan's records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import boto3
import pytest

from arrears.adapters.borrower_requests import BorrowerRequestRepository
from arrears.adapters.container import Container
from arrears.config.playbook import bundled_playbook
from arrears.domain.loans import Loan
from arrears.domain.money import amount_due
from arrears.domain.plans import PlanStatus
from arrears.usecases.payments import PaymentReceived, receive_payment
from localcloud.http_api import LocalHttpApi
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, us_regf_loan
from tests.integration.test_dispatch import overdue, us_borrower
from tests.integration.test_http_api import NOON_NEW_YORK, archived, call


@pytest.fixture
def api(make_cloud: CloudFactory) -> Iterator[LocalHttpApi]:
    with LocalHttpApi(make_cloud(NOON_NEW_YORK)) as served:
        yield served


def loan_of(
    container: Container, loan_id: str, borrower_id: str, principal: int, interest: int = 1_500
) -> Loan:
    base = replace(us_regf_loan(loan_id, principal=principal, interest=interest), borrower_id=borrower_id)
    return overdue(
        container, base, us_borrower(base, "America/New_York", phone=f"+1415555{principal % 10_000:04d}")
    )


def test_a_plan_inside_the_auto_limits_is_agreed_at_once_and_holds_escalation(
    api: LocalHttpApi, container: Container, stack: LocalStack
) -> None:
    loan_of(container, "L-PA", "B-1", 60_000)  # USD 615 overdue: inside USD 1,000 over 2 instalments
    token = api.issuer.borrower_token("B-1")
    offered = call(api, "GET", "/me/loans/L-PA/plans", token)
    assert offered.status == 200, offered.text
    assert offered.json()["plan"] is None
    assert [o["instalments"] for o in offered.json()["offers"]] == [2, 3, 4, 5, 6]
    assert offered.json()["offers"][0]["approval"] == "auto"

    first = call(api, "POST", "/me/loans/L-PA/plan-requests", token, {"instalments": 2}, key="plan-req-0001")
    again = call(api, "POST", "/me/loans/L-PA/plan-requests", token, {"instalments": 2}, key="plan-req-0001")

    assert first.status == 201, first.text
    assert (first.json()["details"]["status"], first.json()["details"]["decision"]) == ("active", "auto")
    assert again.status == 200
    assert again.json()["details"]["plan_id"] == first.json()["details"]["plan_id"]
    stored = container.loans.get("L-PA")
    assert stored is not None
    assert stored.plan is not None
    assert stored.plan_active
    assert sum(i.amount_minor for i in stored.plan.instalments) == stored.plan.arrears_minor == 61_500
    assert stored.holds.plan_until == stored.plan.hold_until
    view = call(api, "GET", "/me/loans/L-PA/plans", token).json()
    assert view["plan"]["status"] == "active"
    assert view["offers"] == []
    (agreed,) = archived(stack, "plans/")
    assert (agreed["event"], agreed["plan"]["plan_id"]) == ("agreed", stored.plan.plan_id)
    assert "B-1" not in str(agreed)
    # A second plan while one is in force is refused.
    other = call(api, "POST", "/me/loans/L-PA/plan-requests", token, {"instalments": 3}, key="plan-req-0002")
    assert other.status == 409
    assert other.json()["error"]["code"] == "plan_active"


def test_a_plan_beyond_the_auto_limits_is_queued_until_a_supervisor_approves(
    api: LocalHttpApi, container: Container
) -> None:
    loan_of(container, "L-PQ", "B-2", 120_000)  # USD 1,215: beyond the auto limit
    borrower = api.issuer.borrower_token("B-2")
    asked = call(
        api, "POST", "/me/loans/L-PQ/plan-requests", borrower, {"instalments": 3}, key="plan-req-0003"
    )
    assert asked.status == 201, asked.text
    assert asked.json()["details"]["status"] == "queued"
    stored = container.loans.get("L-PQ")
    assert stored is not None
    assert stored.plan is None

    request_id = asked.json()["request_id"]
    agent = api.issuer.staff_token("S-1", "agent")
    supervisor = api.issuer.staff_token("S-2", "supervisor")
    path = f"/staff/plan-requests/{request_id}/decision"
    assert call(api, "POST", path, agent, {"approve": True}, key="decide-00001").status == 403
    decided = call(api, "POST", path, supervisor, {"approve": True}, key="decide-00001")
    assert decided.status == 201, decided.text
    assert decided.json()["details"]["plan_status"] == "active"
    assert call(api, "POST", path, supervisor, {"approve": True}, key="decide-00002").status == 200
    declined = call(api, "POST", path, supervisor, {"approve": False}, key="decide-00003")
    assert declined.status == 409
    assert declined.json()["error"]["code"] == "already_decided"
    stored = container.loans.get("L-PQ")
    assert stored is not None
    assert stored.plan is not None
    assert (stored.plan.approval.value, len(stored.plan.instalments)) == ("supervisor", 3)
    unknown = call(
        api,
        "POST",
        "/staff/plan-requests/" + "0" * 32 + "/decision",
        supervisor,
        {"approve": True},
        key="decide-00004",
    )
    assert unknown.status == 404


def test_an_agent_negotiates_inside_the_agent_limits_and_needs_a_supervisor_beyond(
    api: LocalHttpApi, container: Container
) -> None:
    loan_of(container, "L-PN", "B-3", 600_000)  # USD 6,015: beyond the agent's USD 5,000
    agent = api.issuer.staff_token("S-1", "agent")
    refused = call(api, "POST", "/staff/loans/L-PN/plans", agent, {"instalments": 6}, key="negotiate-01")
    assert refused.status == 403
    assert refused.json()["error"]["code"] == "needs_supervisor"
    too_many = call(api, "POST", "/staff/loans/L-PN/plans", agent, {"instalments": 7}, key="negotiate-02")
    assert too_many.status == 422
    assert (too_many.json()["error"]["code"], too_many.json()["error"]["field"]) == (
        "invalid_request",
        "instalments",
    )
    supervisor = api.issuer.staff_token("S-2", "supervisor")
    agreed = call(api, "POST", "/staff/loans/L-PN/plans", supervisor, {"instalments": 6}, key="negotiate-03")
    assert agreed.status == 201, agreed.text
    stored = container.loans.get("L-PN")
    assert stored is not None
    assert stored.plan is not None
    assert stored.plan.status is PlanStatus.ACTIVE
    assert stored.plan.instalments[-1].due_on <= date(2026, 3, 10).replace(
        month=9, day=12
    )  # 186 days at most
    loan_of(container, "L-PM", "B-4", 200_000)
    ok = call(
        api,
        "POST",
        "/staff/loans/L-PM/plans",
        agent,
        {"instalments": 4, "every_days": 14},
        key="negotiate-04",
    )
    assert ok.status == 201, ok.text
    assert ok.json()["details"]["decision"] == "agent"


def test_an_agent_refers_a_plan_beyond_the_agent_limits_and_the_supervisor_agrees_it(
    api: LocalHttpApi, container: Container
) -> None:
    loan_of(container, "L-PR", "B-7", 600_000)  # USD 6,015 overdue: beyond the agent's USD 5,000
    agent = api.issuer.staff_token("S-1", "agent")
    body = {"instalments": 4, "every_days": 14, "beyond_agent_limits": "refer"}
    referred = call(api, "POST", "/staff/loans/L-PR/plans", agent, body, key="negotiate-11")
    assert referred.status == 201, referred.text
    details = referred.json()["details"]
    assert (details["decision"], details["status"]) == ("queued", "queued")
    assert "plan_id" not in details
    stored = container.loans.get("L-PR")
    assert stored is not None
    assert stored.plan is None
    again = call(api, "POST", "/staff/loans/L-PR/plans", agent, body, key="negotiate-11")
    assert (again.status, again.json()["details"]["status"]) == (200, "queued")  # a retry: the same
    rid = referred.json()["request_id"]
    # The agent's referral is the supervisor's to decide, like a borrower's request beyond the auto limits
    refused = call(
        api, "POST", f"/staff/plan-requests/{rid}/decision", agent, {"approve": True}, key="decide-10"
    )
    assert refused.status == 403
    supervisor = api.issuer.staff_token("S-2", "supervisor")
    decided = call(
        api, "POST", f"/staff/plan-requests/{rid}/decision", supervisor, {"approve": True}, key="decide-11"
    )
    assert decided.status == 201, decided.text
    assert decided.json()["details"]["status"] == "approved"
    stored = container.loans.get("L-PR")
    assert stored is not None
    assert stored.plan is not None
    assert stored.plan.status is PlanStatus.ACTIVE
    assert stored.plan.approval.value == "supervisor"
    assert [i.due_on for i in stored.plan.instalments][:2] == [date(2026, 3, 24), date(2026, 4, 7)]
    bad = call(
        api,
        "POST",
        "/staff/loans/L-PR/plans",
        agent,
        {"instalments": 2, "beyond_agent_limits": "ask"},
        key="negotiate-12",
    )
    assert bad.status == 422


def test_plan_terms_outside_the_policy_are_refused_with_the_cited_limit(
    api: LocalHttpApi, container: Container
) -> None:
    loan_of(container, "L-PS", "B-5", 60_000)
    token = api.issuer.borrower_token("B-5")
    wide = call(
        api,
        "POST",
        "/me/loans/L-PS/plan-requests",
        token,
        {"instalments": 6, "every_days": 31},
        key="plan-req-0009",
    )
    assert wide.status == 201  # 6 x 31 = 186 days: the longest plan the policy allows
    loan_of(container, "L-PT", "B-6", 6_000, 100)  # USD 61 overdue: four instalments would be below USD 25
    small = call(
        api,
        "POST",
        "/me/loans/L-PT/plan-requests",
        api.issuer.borrower_token("B-6"),
        {"instalments": 4},
        key="plan-req-0010",
    )
    assert small.status == 400
    assert small.json()["error"]["code"] == "plan_instalment_too_small"
    assert "LENDER-US-PLAN-2" in small.json()["error"]["message"]
    other = call(api, "GET", "/me/loans/L-PS/plans", api.issuer.borrower_token("B-6"))
    assert other.status == 404


def test_an_approval_after_the_loan_was_paid_is_refused_and_the_request_lapses(
    api: LocalHttpApi, container: Container, stack: LocalStack
) -> None:
    """Queued on 10 March, paid in full before the supervisor decides: nothing is due, no plan can be
    agreed. The approval answers 400 `nothing_due` and the request is recorded `lapsed` (with why),
    so it leaves the queue and a second decision is 409, not a second refusal."""
    loan = loan_of(container, "L-PL", "B-6", 120_000)
    borrower = api.issuer.borrower_token("B-6")
    asked = call(
        api, "POST", "/me/loans/L-PL/plan-requests", borrower, {"instalments": 3}, key="plan-req-lapse"
    )
    assert asked.json()["details"]["status"] == "queued"
    receive_payment(
        PaymentReceived("P-PL", "L-PL", amount_due(loan, date(2026, 3, 10)), "USD", NOON_NEW_YORK),
        loans=container.loans,
        ledger=container.payments,
        playbook=bundled_playbook(),
    )
    supervisor = api.issuer.staff_token("S-2", "supervisor")
    path = f"/staff/plan-requests/{asked.json()['request_id']}/decision"

    refused = call(api, "POST", path, supervisor, {"approve": True}, key="decide-lapse-1")
    again = call(api, "POST", path, supervisor, {"approve": True}, key="decide-lapse-2")

    assert refused.status == 400, refused.text
    assert refused.json()["error"]["code"] == "nothing_due"
    requests = BorrowerRequestRepository(
        boto3.resource("dynamodb").Table(stack.physical["BorrowerRequestsTable"])
    )
    stored = requests.get(asked.json()["request_id"])
    assert stored is not None
    assert (stored["plan_status"], stored["lapsed_because"]) == ("lapsed", "nothing_due")
    assert again.status == 409
    paid = container.loans.get("L-PL")
    assert paid is not None
    assert paid.plan is None
