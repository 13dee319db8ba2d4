"""The HTTP API over real HTTP on 127.0.0.1: the local API Gateway (routes, JWT authorizer), the real
handler on moto, borrowers on their own loans only, idempotent POSTs, the unsubscribe link."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import boto3
import pytest

from arrears.adapters.borrower_requests import BorrowerRequestRepository
from arrears.adapters.container import Container
from arrears.domain.loans import Loan
from localcloud.http_api import HttpAnswer, LocalHttpApi, http_call
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, us_regf_loan, utc
from tests.integration.test_dispatch import overdue, us_borrower

NOON_NEW_YORK = utc(2026, 3, 10, 17, 0)


@pytest.fixture
def api(make_cloud: CloudFactory) -> Iterator[LocalHttpApi]:
    with LocalHttpApi(make_cloud(NOON_NEW_YORK)) as served:
        yield served


def loan_of(container: Container, loan_id: str, borrower_id: str) -> Loan:
    from dataclasses import replace

    base = replace(us_regf_loan(loan_id), borrower_id=borrower_id)
    return overdue(
        container, base, us_borrower(base, "America/New_York", phone=f"+1415555{len(loan_id):04d}")
    )


def call(
    api: LocalHttpApi, method: str, path: str, token: str | None, body: Any = None, key: str | None = None
) -> HttpAnswer:
    return http_call(
        method, api.url + path, token=token, body=body, headers={"Idempotency-Key": key} if key else {}
    )


def archived(stack: LocalStack, prefix: str) -> list[dict[str, Any]]:
    s3 = boto3.client("s3")
    bucket = stack.physical["ArchiveBucket"]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return [json.loads(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()) for o in listed]


def test_a_borrower_reads_their_loans_and_another_borrowers_loan_is_not_found(
    api: LocalHttpApi, container: Container
) -> None:
    mine = loan_of(container, "L-MINE", "B-1")
    loan_of(container, "L-THEIRS", "B-2")
    token = api.issuer.borrower_token("B-1")

    listed = call(api, "GET", "/me/loans", token)
    other = call(api, "GET", "/me/loans/L-THEIRS", token)
    missing = call(api, "GET", "/me/loans/L-NOPE", token)

    assert listed.status == 200
    (loan,) = listed.json()["loans"]
    assert loan["loan_id"] == mine.loan_id
    assert loan["amount_due_minor"] > 0
    assert loan["payoff_minor"] >= loan["amount_due_minor"]
    assert loan["schedule"][0]["seq"] == 1
    assert other.status == 404
    assert (
        other.json()
        == missing.json()
        == {"error": {"code": "not_found", "message": "no such loan", "field": None}}
    )


def test_no_token_a_forged_or_an_expired_one_answers_401_before_the_function(api: LocalHttpApi) -> None:
    token = api.issuer.borrower_token("B-1")
    assert call(api, "GET", "/me/loans", None).status == 401
    assert (
        call(api, "GET", "/me/loans", token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")).status
        == 401
    )
    api.cloud.advance_to(NOON_NEW_YORK + timedelta(hours=2))
    assert call(api, "GET", "/me/loans", token).status == 401
    assert api.cloud.counts.get("ApiFunction", 0) == 0


def test_a_staff_token_on_a_borrower_route_and_a_borrower_on_a_staff_route_answer_403(
    api: LocalHttpApi,
) -> None:
    agent = api.issuer.staff_token("S-1", "agent")
    borrower = api.issuer.borrower_token("B-1")

    assert call(api, "GET", "/me/loans", agent).status == 403
    refused = call(api, "GET", "/staff/complaints/due", borrower)
    assert refused.status == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert (
        call(api, "GET", "/staff/complaints/due", api.issuer.staff_token("S-2", "compliance")).status == 200
    )


def test_a_promise_sets_the_hold_once_however_often_it_is_retried(
    api: LocalHttpApi, container: Container, stack: LocalStack
) -> None:
    loan = loan_of(container, "L-PTP", "B-1")
    token = api.issuer.borrower_token("B-1")
    due = call(api, "GET", "/me/loans/L-PTP", token).json()["amount_due_minor"]
    body = {"pay_on": "2026-03-15", "amount_minor": due}

    first = call(api, "POST", "/me/loans/L-PTP/promises", token, body, key="promise-0001")
    again = call(api, "POST", "/me/loans/L-PTP/promises", token, body, key="promise-0001")

    assert first.status == 201, first.text
    assert again.status == 200
    assert again.json()["request_id"] == first.json()["request_id"]
    assert again.json()["replayed"] is True
    stored = container.loans.get(loan.loan_id)
    assert stored is not None
    assert stored.holds.promise_to_pay_until == date(2026, 3, 15)
    (record,) = archived(stack, "borrower-requests/promise_to_pay/")
    assert record["details"] == {"pay_on": "2026-03-15", "amount_minor": due, "currency": "USD"}
    assert "B-1" not in json.dumps(record)
    assert record["sources"]["promise_max_days"].startswith("LENDER-COLL-PTP-1")


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"pay_on": "2026-04-30", "amount_minor": 10_000}, 400, "promise_too_far", "pay_on"),
        ({"pay_on": "2026-03-12", "amount_minor": 1}, 400, "promise_too_small", "amount_minor"),
        ({"pay_on": "2026-03-12", "amount_minor": -5}, 422, "invalid_request", "amount_minor"),
        ({"pay_on": "tomorrow", "amount_minor": 5}, 422, "invalid_request", "pay_on"),
    ],
)
def test_a_promise_outside_the_policy_or_malformed_is_refused_with_the_field_and_no_hold(
    api: LocalHttpApi, container: Container, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    loan_of(container, "L-BAD", "B-1")
    answer = call(
        api, "POST", "/me/loans/L-BAD/promises", api.issuer.borrower_token("B-1"), body, key="promise-0002"
    )

    assert answer.status == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["field"] == field
    assert str(body["pay_on"]) not in answer.text
    stored = container.loans.get("L-BAD")
    assert stored is not None
    assert stored.holds.promise_to_pay_until is None


def test_hardship_pauses_the_loan_and_keeps_the_text_out_of_the_archive(
    api: LocalHttpApi, container: Container, stack: LocalStack
) -> None:
    loan_of(container, "L-HS", "B-1")
    secret_text = "I was laid off from Acme on March 2"
    answer = call(
        api,
        "POST",
        "/me/loans/L-HS/hardship",
        api.issuer.borrower_token("B-1"),
        {"reason": "job_loss", "text": secret_text},
        key="hardship-001",
    )

    assert answer.status == 201, answer.text
    assert answer.json()["details"]["paused_until"] == "2026-04-09"
    stored = container.loans.get("L-HS")
    assert stored is not None
    assert stored.holds.hardship_until == date(2026, 4, 9)
    (record,) = archived(stack, "borrower-requests/hardship/")
    assert record["details"]["reason"] == "job_loss"
    assert secret_text not in json.dumps(record)
    assert secret_text not in api.cloud.log.getvalue()  # type: ignore[attr-defined]
    requests_table = BorrowerRequestRepository(
        boto3.resource("dynamodb").Table(stack.physical["BorrowerRequestsTable"])
    )
    request = requests_table.get(answer.json()["request_id"])
    assert request is not None
    assert request["text"] == secret_text


def test_a_dispute_opens_the_dispute_hold_with_a_verification_date(
    api: LocalHttpApi, container: Container
) -> None:
    loan_of(container, "L-DSP", "B-1")
    answer = call(
        api,
        "POST",
        "/me/loans/L-DSP/disputes",
        api.issuer.borrower_token("B-1"),
        {"reason": "wrong_amount"},
        key="dispute-0001",
    )

    assert answer.status == 201, answer.text
    assert answer.json()["details"]["verify_by"] == "2026-04-09"  # 30 days (15 U.S.C. 1692g(b))
    stored = container.loans.get("L-DSP")
    assert stored is not None
    assert stored.holds.dispute_open


def test_a_complaint_gets_its_deadlines_and_shows_to_compliance_near_them(
    api: LocalHttpApi, container: Container
) -> None:
    loan_of(container, "L-CMP", "B-1")
    answer = call(
        api,
        "POST",
        "/me/loans/L-CMP/complaints",
        api.issuer.borrower_token("B-1"),
        {"category": "contact_conduct", "text": "too many calls"},
        key="complaint-01",
    )

    assert answer.status == 201, answer.text
    assert answer.json()["details"]["acknowledge_by"] == "2026-03-25"
    assert answer.json()["details"]["close_by"] == "2026-05-09"
    compliance = api.issuer.staff_token("S-9", "compliance")
    assert call(api, "GET", "/staff/complaints/due?warn_days=3", compliance).json() == {"complaints": []}
    api.cloud.advance_to(utc(2026, 5, 7, 12))
    compliance = api.issuer.staff_token("S-9", "compliance")  # the first one has expired
    due = call(api, "GET", "/staff/complaints/due?warn_days=3", compliance).json()["complaints"]
    assert [c["request_id"] for c in due] == [answer.json()["request_id"]]


def test_preferences_opt_out_of_texts_and_set_hours(
    api: LocalHttpApi, container: Container, stack: LocalStack
) -> None:
    loan_of(container, "L-PRF", "B-1")
    answer = call(
        api,
        "PUT",
        "/me/preferences",
        api.issuer.borrower_token("B-1"),
        {"opt_out": ["SMS"], "preferred_hours": {"start": 18, "end": 21}, "language": "en"},
        key="prefs-00001",
    )

    assert answer.status == 201, answer.text
    borrower = container.borrowers.get("B-1")
    assert borrower is not None
    assert borrower.opted_out_channels == frozenset({"SMS"})
    assert borrower.preferred_hours == (18, 21)
    (record,) = archived(stack, "preferences/")
    assert (record["channel"], record["source"]) == ("SMS", "BORROWER_API")


def test_a_body_over_the_limit_answers_413_and_the_docs_are_served_without_a_token(api: LocalHttpApi) -> None:
    big = call(
        api,
        "PUT",
        "/me/preferences",
        api.issuer.borrower_token("B-1"),
        {"language": "en", "x": "a" * 9000},
        key="prefs-00002",
    )
    assert big.status == 413
    assert big.json()["error"]["code"] == "body_too_large"
    docs = http_call("GET", api.url + "/docs?format=json")
    assert docs.status == 200
    assert "/me/loans/{loan_id}/promises" in docs.json()["paths"]
