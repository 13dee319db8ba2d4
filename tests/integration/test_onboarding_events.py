"""The lending core's day-to-day onboarding on moto: `LoanDisbursed` and `BorrowerUpdated` on
LoanEventsBus reach the book import function by its second rule and run the book file's import (the
same validation and writes); redeliveries and older updates change nothing, a changed number moves
the phone's lookup key, a refused event lands in the failure queue."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3

from arrears.adapters.container import Container
from arrears.adapters.dynamodb import PHONE_KEY_INDEX
from arrears.domain.optouts import phone_lookup_key
from localcloud.cloud import LocalCloud
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, utc

EVENTS = Path(__file__).resolve().parents[2] / "events" / "book_import"
AT = utc(2026, 3, 2, 9, 30)


def _detail(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((EVENTS / name).read_text())["detail"])


def _put(cloud: LocalCloud, detail_type: str, detail: dict[str, Any]) -> list[Any]:
    return cloud.put_event("LoanEventsBus", "arrears.lending-core", detail_type, detail)


def _owner(container: Container, number: str) -> str | None:
    key = phone_lookup_key(container.token_secret.value(), number)
    return container.borrowers.find_id(PHONE_KEY_INDEX, "phone_key", key)


def _failed(stack: LocalStack) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = stack.physical["AsyncFailureQueue"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"])["requestPayload"] for m in messages]


def test_a_disbursed_loan_is_registered_once_with_its_borrower(
    stack: LocalStack, make_cloud: CloudFactory, container: Container
) -> None:
    cloud = make_cloud(AT)
    detail = _detail("loan-disbursed.json")
    (first,) = _put(cloud, "LoanDisbursed", detail)
    assert first == {
        "detail_type": "LoanDisbursed",
        "outcome": "APPLIED",
        "by_record": {"borrower:CREATED": 1, "loan:CREATED": 1},
    }
    loan = container.loans.get("L-SAMPLE-0101")
    assert loan is not None
    assert (loan.principal_minor, len(loan.instalments), loan.timezone) == (600_000, 3, "Asia/Shanghai")
    borrower = container.borrowers.get("B-SAMPLE-0101")
    assert borrower is not None
    assert borrower.phone == "+8613800138000"
    assert borrower.profile_at == AT
    assert _owner(container, "+8613800138000") == "B-SAMPLE-0101"

    # Redelivered (EventBridge delivers at least once): nothing changes.
    (again,) = _put(cloud, "LoanDisbursed", detail)
    assert again["outcome"] == "UNCHANGED"
    assert again["by_record"] == {"borrower:UNCHANGED": 1, "loan:UNCHANGED": 1}
    # A second loan of a known borrower needs no borrower object.
    second = dict(detail["loan"], loan_id="L-SAMPLE-0102")
    (other,) = _put(cloud, "LoanDisbursed", {"loan": second})
    assert other["by_record"] == {"loan:CREATED": 1}


def test_a_borrower_update_moves_the_phone_key_and_an_older_one_never_wins(
    stack: LocalStack, make_cloud: CloudFactory, container: Container
) -> None:
    cloud = make_cloud(AT)
    _put(cloud, "LoanDisbursed", _detail("loan-disbursed.json"))
    container.borrowers.set_channel_preference("B-SAMPLE-0101", "SMS", opted_out=True, at=AT)
    cloud.advance_to(utc(2026, 3, 9, 10, 1))
    update = _detail("borrower-updated.json")
    (moved,) = _put(cloud, "BorrowerUpdated", update)
    assert moved["by_record"] == {"borrower:UPDATED": 1}
    borrower = container.borrowers.get("B-SAMPLE-0101")
    assert borrower is not None
    # The move: the contact gate reads the new zone and region at each contact.
    assert (borrower.timezone, borrower.region, borrower.phone) == (
        "Asia/Urumqi",
        "Xinjiang",
        "+8613900139000",
    )
    assert borrower.opted_out_channels == frozenset({"SMS"})  # the borrower's own choice stays
    # Inbound texts find the borrower by the new number only.
    assert _owner(container, "+8613900139000") == "B-SAMPLE-0101"
    assert _owner(container, "+8613800138000") is None
    # The loan keeps what its contract fixed at registration.
    loan = container.loans.get("L-SAMPLE-0101")
    assert loan is not None
    assert (loan.timezone, loan.contract_region) == ("Asia/Shanghai", "Guangdong")

    # An update made before the stored one, delivered late: nothing is written.
    older = copy.deepcopy(update)
    older["updated_at"] = "2026-03-05T08:00:00Z"
    older["borrower"]["phone"] = "+8613700137000"
    (stale,) = _put(cloud, "BorrowerUpdated", older)
    assert stale == {
        "detail_type": "BorrowerUpdated",
        "outcome": "UNCHANGED",
        "by_record": {"borrower:STALE": 1},
    }
    assert _owner(container, "+8613700137000") is None
    assert container.borrowers.get("B-SAMPLE-0101").phone == "+8613900139000"  # type: ignore[union-attr]
    # The same update redelivered: unchanged.
    (same,) = _put(cloud, "BorrowerUpdated", update)
    assert same["by_record"] == {"borrower:UNCHANGED": 1}
    assert _failed(stack) == []


def test_a_refused_or_malformed_event_lands_in_the_failure_queue(
    stack: LocalStack, make_cloud: CloudFactory, container: Container
) -> None:
    cloud = make_cloud(AT)
    orphan = dict(_detail("loan-disbursed.json")["loan"], loan_id="L-ORPHAN", borrower_id="B-NOBODY")
    assert _put(cloud, "LoanDisbursed", {"loan": orphan}) == [None]  # retried, then failed
    bad_phone = _detail("borrower-updated.json")
    bad_phone["borrower"]["phone"] = "+1555"
    assert _put(cloud, "BorrowerUpdated", bad_phone) == [None]
    failed = _failed(stack)
    assert sorted(str(p["detail-type"]) for p in failed) == ["BorrowerUpdated", "LoanDisbursed"]
    assert container.loans.get("L-ORPHAN") is None
    assert container.borrowers.get("B-SAMPLE-0101") is None
