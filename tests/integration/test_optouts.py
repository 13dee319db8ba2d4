"""Opt-outs on moto: text replies through SNS to the inbound-sms function, the e-mail's signed link
over HTTP on the local borrower API, the gate suppressing the next send, and the archive record."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import pytest

from arrears.adapters.container import Container
from arrears.adapters.idempotency import OnceRunner
from arrears.domain.actions import ActionStatus
from arrears.domain.loans import Loan
from arrears.domain.strategy import Channel
from arrears.usecases.dispatch import DispatchPorts
from localcloud.cloud import LocalCloud
from localcloud.http_api import LocalHttpApi, http_call
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, us_regf_loan, utc
from tests.integration.test_dispatch import dispatch_at, overdue, plan, sms_sent, subscribe, us_borrower

US_PHONE = "+14155550100"
CN_PHONE = "+8613800138000"
AFTERNOON_NEW_YORK = utc(2026, 3, 10, 18, 0)  # 14:00 in New York, 11:00 in Los Angeles


@pytest.fixture
def ports(container: Container) -> DispatchPorts:
    return DispatchPorts.from_container(container, OnceRunner(container.settings.idempotency_table))


@pytest.fixture
def cloud(make_cloud: CloudFactory) -> LocalCloud:
    return make_cloud(AFTERNOON_NEW_YORK)


@pytest.fixture
def api(cloud: LocalCloud) -> Iterator[LocalHttpApi]:
    with LocalHttpApi(cloud) as served:
        yield served


def reply(cloud: LocalCloud, number: str, body: str, message_id: str) -> Any:
    """A borrower's text reply as AWS End User Messaging publishes it to the inbound-SMS topic."""
    payload = {
        "originationNumber": number,
        "destinationNumber": "+12125550101",
        "messageKeyword": "KEYWORD_123456789012",
        "messageBody": body,
        "inboundMessageId": message_id,
        "previousPublishedMessageId": "wJalrXUtnFEMI",
    }
    (response,) = cloud.publish("InboundSmsTopic", json.dumps(payload, ensure_ascii=False))
    return response


def preference_records(stack: LocalStack) -> list[dict[str, Any]]:
    s3 = boto3.client("s3")
    bucket = stack.physical["ArchiveBucket"]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="preferences/").get("Contents", [])
    return [json.loads(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()) for o in listed]


def us_loan(container: Container, loan_id: str = "L-US-OPT", phone: str = US_PHONE) -> Loan:
    base = us_regf_loan(loan_id)
    return overdue(container, base, us_borrower(base, "America/New_York", phone=phone))


def test_stop_opts_the_sender_out_of_texts_at_once_and_the_next_text_is_suppressed(
    container: Container, ports: DispatchPorts, cloud: LocalCloud, stack: LocalStack
) -> None:
    loan = us_loan(container, phone="+1 (415) 555-0100")  # the same number, however the file writes it

    answer = reply(cloud, US_PHONE, "Stop", "in-1")

    assert answer["status"] == "RECORDED"
    borrower = container.borrowers.get(loan.borrower_id)
    assert borrower is not None
    assert borrower.opted_out_channels == frozenset({"SMS"})
    action = plan(container, loan, Channel.SMS, "sms_overdue")
    result = dispatch_at(action.action_id, AFTERNOON_NEW_YORK + timedelta(minutes=5), ports)
    assert result.status is ActionStatus.SUPPRESSED
    assert "opted out of SMS" in result.reason
    assert sms_sent() == []
    (record,) = preference_records(stack)
    assert record["record_type"] == "OPT_OUT"
    assert (record["channel"], record["source"], record["applied"]) == ("SMS", "SMS_KEYWORD", True)
    assert record["occurred_at"] == "2026-03-10T18:00:00Z"
    assert len(record["borrower_token"]) == 64
    assert US_PHONE not in json.dumps(record)
    assert loan.borrower_id not in json.dumps(record)


def test_start_opts_back_in_and_a_redelivered_stop_writes_nothing_new(
    container: Container, ports: DispatchPorts, cloud: LocalCloud, stack: LocalStack
) -> None:
    loan = us_loan(container)
    reply(cloud, US_PHONE, "STOP", "in-1")
    assert reply(cloud, US_PHONE, "STOP", "in-1")["archived"] is False  # SNS delivered it twice
    cloud.advance_to(AFTERNOON_NEW_YORK + timedelta(hours=1))

    assert reply(cloud, US_PHONE, "start", "in-2")["status"] == "RECORDED"

    borrower = container.borrowers.get(loan.borrower_id)
    assert borrower is not None
    assert borrower.opted_out_channels == frozenset()
    action = plan(container, loan, Channel.SMS, "sms_overdue")
    assert (
        dispatch_at(action.action_id, AFTERNOON_NEW_YORK + timedelta(hours=2), ports).status
        is ActionStatus.SENT
    )
    kinds = sorted((r["occurred_at"], r["record_type"]) for r in preference_records(stack))
    assert kinds == [("2026-03-10T18:00:00Z", "OPT_OUT"), ("2026-03-10T19:00:00Z", "OPT_IN")]


def test_a_chinese_reply_opts_out_and_other_replies_or_unknown_numbers_change_nothing(
    container: Container, cloud: LocalCloud, stack: LocalStack
) -> None:
    base = cn_cash_loan("L-CN-OPT")
    overdue(container, base, borrower_for(base, phone=CN_PHONE))

    assert reply(cloud, CN_PHONE, "好的，我明天还款", "in-1")["status"] == "NOT_A_KEYWORD"
    assert reply(cloud, "+8613900139000", "退订", "in-2")["status"] == "UNKNOWN_BORROWER"
    assert container.borrowers.get(base.borrower_id).opted_out_channels == frozenset()  # type: ignore[union-attr]
    assert reply(cloud, CN_PHONE, "我要退订", "in-3")["status"] == "RECORDED"

    assert container.borrowers.get(base.borrower_id).opted_out_channels == frozenset({"SMS"})  # type: ignore[union-attr]
    assert [r["record_type"] for r in preference_records(stack)] == ["OPT_OUT"]
    logs = cloud.log.getvalue()  # type: ignore[attr-defined]
    assert CN_PHONE not in logs
    assert "13900139000" not in logs
    assert "退订" not in logs


def test_a_malformed_reply_goes_to_the_failure_queue_and_changes_nothing(
    container: Container, cloud: LocalCloud, stack: LocalStack
) -> None:
    us_loan(container)

    (response,) = cloud.publish(
        "InboundSmsTopic", json.dumps({"originationNumber": US_PHONE, "messageBody": "STOP"})
    )

    assert response is None
    sqs = boto3.client("sqs")
    (failure,) = sqs.receive_message(QueueUrl=stack.physical["AsyncFailureQueue"]).get("Messages", [])
    assert json.loads(failure["Body"])["requestContext"]["condition"] == "RetriesExhausted"
    assert "inboundMessageId: Field required" in cloud.log.getvalue()  # type: ignore[attr-defined]
    assert preference_records(stack) == []


# -- the e-mail's signed unsubscribe link ----------------------------------------------------------


def emailed_link(container: Container, ports: DispatchPorts, stack: LocalStack, loan: Loan) -> str:
    read = subscribe(stack, "RemindersTopic")
    action = plan(container, loan, Channel.EMAIL, "email_overdue")
    assert dispatch_at(action.action_id, AFTERNOON_NEW_YORK, ports).status is ActionStatus.SENT
    # The validation notice goes first (Reg F: with a debt collector's first message about the debt).
    notice, message = read()
    assert "Validation notice." in str(notice["body"])  # after the 1006.34(c)(2)(i)-(ii) names and addresses
    (link,) = re.findall(r"https://\S+?\?t=[\w.-]+", message["body"])
    return str(link)


def test_the_email_link_is_signed_and_its_post_opts_out_of_email_only(
    container: Container, ports: DispatchPorts, api: LocalHttpApi, stack: LocalStack
) -> None:
    loan = us_loan(container)
    link = emailed_link(container, ports, stack, loan)
    api_url = stack.functions["DispatcherFunction"].environment["EMAIL_OPT_OUT_URL"]
    assert re.fullmatch(
        r"https://[0-9a-f]{10}\.execute-api\.us-east-1\.amazonaws\.com/preferences/unsubscribe", api_url
    )
    assert link.startswith(f"{api_url}?t=")

    # The mail scanner, or the borrower's first look; no token: the link is the credential.
    page = http_call("GET", api.local(link), headers={"Accept": "text/html"})
    assert page.status == 200
    assert '<form method="post"' in page.text
    assert container.borrowers.get(loan.borrower_id).opted_out_channels == frozenset()  # type: ignore[union-attr]

    done = http_call("POST", api.local(link))

    assert done.status == 200
    assert done.json() == {"status": "RECORDED", "channel": "EMAIL", "kind": "OPT_OUT"}
    assert container.borrowers.get(loan.borrower_id).opted_out_channels == frozenset({"EMAIL"})  # type: ignore[union-attr]
    (record,) = preference_records(stack)
    assert (record["record_type"], record["channel"], record["source"]) == ("OPT_OUT", "EMAIL", "EMAIL_LINK")
    again = http_call("POST", api.local(link), headers={"Accept": "text/html"})
    assert again.status == 200
    assert len(preference_records(stack)) == 1
    follow_up = plan(container, loan, Channel.EMAIL, "email_overdue", step="email-again")
    assert dispatch_at(follow_up.action_id, AFTERNOON_NEW_YORK + timedelta(hours=1), ports).status is (
        ActionStatus.SUPPRESSED
    )


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (
            lambda link, cloud: link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"),
            403,
            "link_signature_invalid",
        ),
        (lambda link, cloud: link.split("?")[0] + "?t=nonsense", 400, "link_malformed"),
        (
            lambda link, cloud: cloud.advance_to(AFTERNOON_NEW_YORK + timedelta(days=61)) or link,
            410,
            "link_expired",
        ),
    ],
    ids=["tampered", "malformed", "expired"],
)
def test_a_tampered_malformed_or_expired_link_answers_a_clear_4xx_and_records_nothing(
    container: Container,
    ports: DispatchPorts,
    cloud: LocalCloud,
    api: LocalHttpApi,
    stack: LocalStack,
    change: Any,
    status: int,
    code: str,
) -> None:
    loan = us_loan(container)
    link = change(emailed_link(container, ports, stack, loan), cloud)

    answer = http_call("POST", api.local(link))

    assert answer.status == status
    assert answer.json()["error"] == {
        "code": code,
        "message": answer.json()["error"]["message"],
        "field": "t",
    }
    assert container.borrowers.get(loan.borrower_id).opted_out_channels == frozenset()  # type: ignore[union-attr]
    assert preference_records(stack) == []
    html = http_call("POST", api.local(link), headers={"Accept": "text/html"})
    assert html.status == status
    assert "text/html" in html.headers["Content-Type"]


def test_an_email_needs_a_link_when_its_pack_words_the_opt_out_line_with_one(
    container: Container, ports: DispatchPorts
) -> None:
    loan = us_loan(container)
    action = plan(container, loan, Channel.EMAIL, "email_overdue")

    result = dispatch_at(action.action_id, AFTERNOON_NEW_YORK, replace(ports, opt_out_link=None))

    assert result.status is ActionStatus.FAILED
    assert "link" in result.reason


def test_an_erased_borrower_loses_the_phone_lookup_key(container: Container, cloud: LocalCloud) -> None:
    loan = us_loan(container)
    cloud.put_event(
        "LoanEventsBus",
        "arrears.privacy",
        "ErasureRequested",
        {"request_id": "ER-1", "borrower_id": loan.borrower_id},
    )

    assert reply(cloud, US_PHONE, "STOP", "in-9")["status"] == "UNKNOWN_BORROWER"


def test_borrower_items_carry_lookup_keys_not_the_number_in_the_index(container: Container) -> None:
    loan = us_loan(container)
    table = boto3.resource("dynamodb").Table(container.settings.borrowers_table)
    keys = table.query(
        IndexName="PhoneKeyIndex",
        KeyConditionExpression="phone_key = :k",
        ExpressionAttributeValues={
            ":k": table.get_item(Key={"borrower_id": loan.borrower_id})["Item"]["phone_key"]
        },
    )["Items"]
    assert keys == [
        {
            "borrower_id": loan.borrower_id,
            "phone_key": keys[0]["phone_key"],
        }
    ]
    assert US_PHONE.lstrip("+") not in json.dumps(keys)
