"""The collector's desk over HTTP on moto: a certified agent claims a leased call task (two agents
never get one task, a run-out lease offers it again), reads the talk track, reports what the call
achieved through the dialer contract's path; a field collector reports a visit; an expired
certification is refused; compliance answers a complaint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from arrears.adapters.borrower_requests import BorrowerRequestRepository
from arrears.adapters.container import Container
from arrears.adapters.idempotency import OnceRunner
from arrears.domain.actions import ActionStatus
from arrears.domain.loans import Loan
from arrears.domain.strategy import Channel
from arrears.usecases.dispatch import DispatchPorts
from localcloud.http_api import HttpAnswer, LocalHttpApi, http_call
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, utc
from tests.integration.test_dispatch import NOON_SHANGHAI, dispatch_at, overdue, plan
from tests.integration.test_http_api import archived

AT = NOON_SHANGHAI + timedelta(minutes=10)


@pytest.fixture
def ports(container: Container) -> DispatchPorts:
    return DispatchPorts.from_container(container, OnceRunner(container.settings.idempotency_table))


@pytest.fixture
def api(make_cloud: CloudFactory) -> Iterator[LocalHttpApi]:
    with LocalHttpApi(make_cloud(AT)) as served:
        yield served


def call(
    api: LocalHttpApi, method: str, path: str, token: str, body: Any = None, key: str = ""
) -> HttpAnswer:
    return http_call(
        method,
        api.url + path,
        token=token,
        body=body,
        headers={"Idempotency-Key": f"{key}-desk"} if key else {},
    )


def task_for(
    container: Container, ports: DispatchPorts, loan_id: str, channel: Channel = Channel.CALL_TASK
) -> Loan:
    base = cn_cash_loan(loan_id)
    loan = overdue(container, base, borrower_for(base))
    template = "call_task" if channel is Channel.CALL_TASK else "field_visit"
    action = plan(container, loan, channel, template, step="call-d5" if channel is Channel.CALL_TASK else "")
    assert dispatch_at(action.action_id, NOON_SHANGHAI, ports).status is ActionStatus.SENT
    return loan


def certify(api: LocalHttpApi, staff_id: str, kind: str, on: str, until: str | None = None) -> HttpAnswer:
    boss = api.issuer.staff_token("S-BOSS", "supervisor")
    body = {"certified_on": on, **({"expires_on": until} if until else {})}
    return call(
        api, "PUT", f"/staff/members/{staff_id}/certifications/{kind}", boss, body, f"cert-{staff_id}-{kind}"
    )


def claim(
    api: LocalHttpApi, token: str, key: str, kind: str = "call", region: str = "Shanghai"
) -> HttpAnswer:
    return call(api, "POST", "/staff/tasks/claim", token, {"kind": kind, "region": region}, key)


def test_a_certified_agent_claims_a_task_nobody_else_gets_and_an_expired_certification_is_refused(
    api: LocalHttpApi, container: Container, ports: DispatchPorts
) -> None:
    task_for(container, ports, "L-DESK")
    assert certify(api, "S-ANN", "call", "2026-01-05").status == 200
    assert certify(api, "S-BEN", "call", "2026-01-05").status == 200
    stale = certify(api, "S-OLD", "call", "2025-02-01", "2026-02-01")
    assert stale.json()["expires_on"] == "2026-02-01"
    ann, ben, old = (api.issuer.staff_token(s, "agent") for s in ("S-ANN", "S-BEN", "S-OLD"))

    refused = claim(api, old, "claim-old-1")
    first = claim(api, ann, "claim-ann-1")
    again = claim(api, ann, "claim-ann-1")  # a retry answers the same task
    second = claim(api, ben, "claim-ben-1")

    assert refused.status == 403
    assert refused.json()["error"]["code"] == "certification_expired"
    assert first.status == 200
    task = first.json()
    assert task["phone"] == "+8613800138000"  # the number to call: the agent's role needs it
    assert "name" not in task
    assert "email" not in task
    assert task["address"] is None
    assert (task["kind"], task["region"], task["step"], task["reclaimed"]) == (
        "call",
        "Shanghai",
        "call-d5",
        False,
    )
    assert again.json()["task_id"] == task["task_id"]
    assert again.json()["replayed"] is True
    assert second.status == 404
    assert second.json()["error"]["code"] == "no_task"
    # A field collector's token cannot claim a call, nor a borrower's.
    assert claim(api, api.issuer.staff_token("S-ANN", "field"), "claim-f-1").status == 403
    assert claim(api, api.issuer.borrower_token("B-L-DESK"), "claim-b-1").status == 403

    # Ann's lease runs out: Ben gets the task, marked as reclaimed; Ann can no longer report on it.
    api.cloud.advance_to(AT + timedelta(minutes=31))
    taken = claim(api, ben, "claim-ben-2")
    assert taken.status == 200
    assert taken.json()["task_id"] == task["task_id"]
    assert taken.json()["reclaimed"] is True
    late = call(
        api,
        "POST",
        f"/staff/tasks/{task['task_id']}/attempts",
        ann,
        {"disposition": "no_answer"},
        "att-ann-1",
    )
    assert late.status == 409
    assert late.json()["error"]["code"] == "not_leased_to_you"


def test_an_attempt_goes_through_the_dialer_contracts_path_and_a_promise_sets_the_hold(
    api: LocalHttpApi, container: Container, ports: DispatchPorts
) -> None:
    loan = task_for(container, ports, "L-PTP")
    certify(api, "S-ANN", "call", "2026-01-05")
    ann = api.issuer.staff_token("S-ANN", "agent")
    claimed = claim(api, ann, "claim-ann-1").json()
    task_id, due = claimed["task_id"], claimed["amount_due_minor"]

    track = call(api, "GET", f"/staff/tasks/{task_id}/talk-track", ann).json()
    hardship = call(api, "GET", f"/staff/tasks/{task_id}/talk-track?reason=hardship", ann).json()
    assert track["reason"] == "standard"
    assert track["language"] == "zh"
    assert any("录音" in line["text"] and line["layer"] == "CN" for line in track["opening"])
    assert hardship["track_id"] == "hardship"
    assert hardship["script"] != track["script"]
    assert hardship["opening"] == track["opening"]  # the pack's lines whatever the script

    missed = call(api, "POST", f"/staff/tasks/{task_id}/attempts", ann, {"disposition": "no_answer"}, "att-1")
    assert missed.status == 200
    assert (missed.json()["result"], missed.json()["lease"], missed.json()["counted"]) == (
        "no_answer",
        "released",
        True,
    )
    again = call(api, "POST", f"/staff/tasks/{task_id}/attempts", ann, {"disposition": "no_answer"}, "att-1")
    assert again.json()["replayed"] is True
    assert again.json()["counted"] is False
    reused = call(
        api, "POST", f"/staff/tasks/{task_id}/attempts", ann, {"disposition": "right_party"}, "att-1"
    )
    assert reused.status == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"  # the same key, another report
    too_far = {"disposition": "promise_to_pay", "pay_on": "2026-04-30", "amount_minor": due}
    assert (
        call(api, "POST", f"/staff/tasks/{task_id}/attempts", ann, too_far, "att-x").status == 409
    )  # released
    again_claimed = claim(api, ann, "claim-ann-2").json()
    assert again_claimed["task_id"] == task_id
    assert again_claimed["reclaimed"] is False  # given back by the report, not a lease run out
    refused = call(api, "POST", f"/staff/tasks/{task_id}/attempts", ann, too_far, "att-2")
    assert refused.status == 400
    assert refused.json()["error"]["code"] == "promise_too_far"
    promise = {"disposition": "promise_to_pay", "pay_on": "2026-03-13", "amount_minor": due}
    kept = call(api, "POST", f"/staff/tasks/{task_id}/attempts", ann, promise, "att-3")

    assert kept.status == 200, kept.json()
    assert kept.json()["lease"] == "closed"
    assert kept.json()["request"]["hold"] == "applied"
    done = claim(api, ann, "claim-ann-3")
    assert done.status == 404  # a closed task is never offered again
    stored = container.loans.get(loan.loan_id)
    assert stored is not None
    assert str(stored.holds.promise_to_pay_until) == "2026-03-13"
    attempts = [c for c in container.contacts.for_loan(loan.loan_id) if c.get("result")]
    assert sorted(c["result"] for c in attempts) == ["connected_borrower", "no_answer"]
    assert all(list(c["collector_ids"]) == ["S-ANN"] for c in attempts)  # who handled it: a staff id
    ledger = container.call_ledger.ledger(loan.borrower_id)
    assert (len(ledger.attempts), ledger.open_task) == (2, None)
    bad = call(api, "POST", f"/staff/tasks/{task_id}/attempts", ann, {"disposition": "hardship"}, "att-4")
    assert bad.status == 422
    assert bad.json()["error"]["code"] == "invalid_request"


def test_a_field_collector_reports_a_visit_checked_against_the_pack(
    api: LocalHttpApi, container: Container, ports: DispatchPorts
) -> None:
    loan = task_for(container, ports, "L-VISIT", Channel.FIELD_VISIT)
    certify(api, "S-FIELD", "visit", "2026-01-05")
    field = api.issuer.staff_token("S-FIELD", "field")
    task = claim(api, field, "claim-field-1", kind="visit").json()
    assert task["address"]
    assert task["phone"] is None
    assert task["requirements"] == {"min_collectors": 2, "recording_required": True}

    alone = call(
        api, "POST", f"/staff/tasks/{task['task_id']}/visit", field, {"outcome": "not_home"}, "visit-1"
    )

    assert alone.status == 200
    assert alone.json()["breaches"]
    assert alone.json()["counted"] is True
    (record,) = [
        c
        for c in container.contacts.for_loan(loan.loan_id)
        if c.get("channel") == "FIELD_VISIT" and c.get("result")
    ]
    assert list(record["collector_ids"]) == ["S-FIELD"]


def test_compliance_answers_a_complaint_and_extends_another(
    api: LocalHttpApi, container: Container, stack: LocalStack
) -> None:
    base = cn_cash_loan("L-CMP")
    overdue(container, base, borrower_for(base))
    borrower = api.issuer.borrower_token(base.borrower_id)
    ids = [
        call(
            api, "POST", f"/me/loans/{base.loan_id}/complaints", borrower, {"category": "fees"}, f"cmp-{n}"
        ).json()["request_id"]
        for n in range(2)
    ]
    officer = api.issuer.staff_token("S-CMP", "compliance")
    agent = api.issuer.staff_token("S-ANN", "agent")

    assert (
        call(
            api, "POST", f"/staff/complaints/{ids[0]}/response", agent, {"outcome": "upheld"}, "ans-0"
        ).status
        == 403
    )
    answered = call(
        api,
        "POST",
        f"/staff/complaints/{ids[0]}/response",
        officer,
        {"outcome": "upheld", "text": "refunded"},
        "ans-1",
    )
    twice = call(
        api, "POST", f"/staff/complaints/{ids[0]}/response", officer, {"outcome": "not_upheld"}, "ans-2"
    )
    extended = call(
        api, "POST", f"/staff/complaints/{ids[1]}/extension", officer, {"reason": "complex_case"}, "ext-1"
    )
    once_more = call(
        api, "POST", f"/staff/complaints/{ids[1]}/extension", officer, {"reason": "complex_case"}, "ext-2"
    )
    due = call(api, "GET", "/staff/complaints/due?warn_days=60", officer).json()["complaints"]

    assert answered.status == 200
    assert answered.json()["details"]["on_time"] is True
    assert twice.json()["replayed"] is True
    assert twice.json()["details"]["outcome"] == "upheld"
    assert extended.json()["details"]["close_by"] == "2026-04-09"  # 30 days from 10 March (15 + 15)
    assert extended.json()["details"]["policy"] == "CN@2026.1"
    assert once_more.status == 400
    assert once_more.json()["error"]["code"] == "already_extended"
    assert [c["request_id"] for c in due] == [ids[1]]
    table = BorrowerRequestRepository(
        boto3.resource("dynamodb").Table(stack.physical["BorrowerRequestsTable"])
    )
    stored = table.get(ids[0])
    assert stored is not None
    assert stored["answer"]["text"] == "refunded"
    (record,) = archived(stack, "borrower-requests/complaint_answer/")
    assert record["details"]["answered_by"] == "S-CMP"
    assert "refunded" not in json.dumps(record)


def test_the_daily_check_counts_complaints_near_and_past_their_deadline(
    api: LocalHttpApi, container: Container
) -> None:
    base = cn_cash_loan("L-DUE")
    overdue(container, base, borrower_for(base))
    borrower = api.issuer.borrower_token(base.borrower_id)
    made = [
        call(api, "POST", f"/me/loans/{base.loan_id}/complaints", borrower, {"category": "other"}, f"due-{n}")
        for n in range(3)
    ]
    officer = api.issuer.staff_token("S-CMP", "compliance")
    answered = made[0].json()["request_id"]
    call(api, "POST", f"/staff/complaints/{answered}/response", officer, {"outcome": "upheld"}, "ans-due")

    # 10 March + 15 days: close by 25 March. On the 23rd both open ones are within 3 days; on the 26th late.
    api.cloud.advance_to(utc(2026, 3, 23, 1, 0))
    soon = api.cloud.schedule("ComplaintDeadlinesFunction")
    api.cloud.advance_to(utc(2026, 3, 26, 1, 0))
    late = api.cloud.schedule("ComplaintDeadlinesFunction")

    assert (soon["due_soon"], soon["overdue"]) == (2, 0)
    assert (late["due_soon"], late["overdue"]) == (0, 2)
