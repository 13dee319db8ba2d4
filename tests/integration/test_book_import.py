"""Book import on moto: a file put under imports/ of the import bucket reaches the import function
through S3's EventBridge event; rows are validated one by one, imported through onboarding, and the
rejected ones reported under reports/ (line, field, problem; no personal value)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from arrears.adapters.container import Container
from arrears.adapters.items import plain
from arrears.adapters.tables import all_items
from arrears.config.playbook import bundled_playbook
from arrears.events.book_file import parse_book
from arrears.usecases.book_import import import_book
from localcloud.cloud import LocalCloud
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, utc

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
AT = utc(2026, 3, 1)
HEADER = (SAMPLES / "book.csv").read_text().splitlines()[0]


def _scan(table: str) -> list[dict[str, Any]]:
    return sorted(
        (plain(item) for item in all_items(boto3.resource("dynamodb").Table(table).scan)),
        key=lambda item: json.dumps(item, sort_keys=True, default=str),
    )


def _report(stack: LocalStack, key: str) -> list[dict[str, Any]]:
    body = boto3.client("s3").get_object(Bucket=stack.physical["ImportBucket"], Key=key)["Body"].read()
    return [json.loads(line) for line in body.decode().splitlines()]


def _import(container: Container, text: str, name: str = "book.csv") -> dict[str, Any]:
    report = import_book(
        parse_book(text, name),
        AT,
        loans=container.loans,
        borrowers=container.borrowers,
        ledger=container.payments,
        playbook=bundled_playbook(),
    )
    return {**report.as_json(), "problems": [p.as_json() for p in report.problems]}


def _row(**cells: Any) -> str:
    columns = HEADER.split(",")
    return ",".join(str(cells.get(column, "")) for column in columns)


def test_a_file_put_under_imports_is_imported_and_its_bad_row_reported(
    stack: LocalStack, make_cloud: CloudFactory, container: Container
) -> None:
    cloud: LocalCloud = make_cloud(AT)
    body = (SAMPLES / "book.csv").read_bytes()
    (response,) = cloud.put_object("ImportBucket", "imports/book.csv", body)
    assert response["rows_read"] == 97
    assert response["rejected"] == 1
    assert response["imported"] == 96  # 30 borrowers, 36 loans, 30 payments
    assert response["by_record"] == {"borrower:CREATED": 30, "loan:CREATED": 36, "payment:RECORDED": 30}
    (problem,) = _report(stack, response["errors_key"])
    assert problem == {
        "line": 98,
        "record": "loan",
        "id": "SL-0999",
        "field": "disbursed_on",
        "problem": "Input should be a valid date or datetime, day value is outside expected range",
    }
    assert response["errors_key"] == "reports/book.csv.errors.jsonl"
    assert len(_scan(container.settings.loans_table)) == 36
    assert len(_scan(container.settings.payments_table)) == 30
    assert container.loans.get("SL-0999") is None
    # The payment history is applied on its value dates: a loan whose instalments due before the
    # import were all paid is not overdue.
    paid = list(container.payments.entries("SL-0000"))
    loan = container.loans.get("SL-0000")
    assert loan is not None
    assert loan.ledger_count == len(paid)
    # A console "folder" is no book file: nothing imported, no report.
    assert cloud.put_object("ImportBucket", "imports/2026/", b"") == [{"skipped": "imports/2026/"}]
    # The report was written under reports/, so it triggered no import of itself.
    objects = boto3.client("s3").list_objects_v2(Bucket=stack.physical["ImportBucket"])["Contents"]
    assert sorted(o["Key"] for o in objects) == [
        "imports/2026/",
        "imports/book.csv",
        "reports/book.csv.errors.jsonl",
        "reports/book.csv.summary.json",
    ]


def test_reimporting_the_same_file_changes_nothing(stack: LocalStack, container: Container) -> None:
    text = (SAMPLES / "book.csv").read_text()
    first = _import(container, text)
    tables = [
        container.settings.loans_table,
        container.settings.borrowers_table,
        container.settings.payments_table,
    ]
    before = [_scan(table) for table in tables]
    again = _import(container, text)
    assert first["imported"] == 96
    assert again["imported"] == 0
    assert again["unchanged"] == 96
    assert again["by_record"] == {"borrower:UNCHANGED": 30, "loan:UNCHANGED": 36, "payment:UNCHANGED": 30}
    assert [p["line"] for p in again["problems"]] == [98]
    assert [_scan(table) for table in tables] == before


def test_the_csv_and_the_json_lines_sample_import_the_same_book(
    stack: LocalStack, container: Container
) -> None:
    from_csv = _import(container, (SAMPLES / "book.csv").read_text())
    from_jsonl = _import(container, (SAMPLES / "book.jsonl").read_text(), "book.jsonl")
    assert from_csv["imported"] == 96
    assert from_jsonl["unchanged"] == 96  # the same rows: nothing more to do
    assert [(p["record"], p["id"], p["field"]) for p in from_jsonl["problems"]] == [
        ("loan", "SL-0999", "disbursed_on")
    ]


BORROWER = {
    "schema_version": 1,
    "record": "borrower",
    "borrower_id": "B-1",
    "timezone": "America/New_York",
    "region": "NY",
    "language": "en",
    "name": "Ann Lee",
    "phone": "+12125550101",
    "email": "ann@example.com",
}
LOAN = {
    "schema_version": 1,
    "record": "loan",
    "loan_id": "L-1",
    "borrower_id": "B-1",
    "jurisdiction": "US-REGF",
    "product": "us-closed-end",
    "currency": "USD",
    "principal_minor": 100_000,
    "disbursed_on": "2026-01-10",
    "instalments": 3,
    "monthly_interest_bps": 100,
    "fee_minor": 0,
    "penalty_daily_ppm": 300,
}
PAYMENT = {
    "schema_version": 1,
    "record": "payment",
    "payment_id": "P-1",
    "loan_id": "L-1",
    "amount_minor": 35_000,
    "currency": "USD",
    "paid_on": "2026-02-10",
}


def _book(*rows: dict[str, Any]) -> str:
    return "\n".join([HEADER, *(_row(**row) for row in rows)]) + "\n"


def test_a_changed_row_changes_only_what_may_change(stack: LocalStack, container: Container) -> None:
    assert _import(container, _book(BORROWER, LOAN))["imported"] == 2
    container.borrowers.set_channel_preference("B-1", "SMS", opted_out=True, at=AT)
    changed = _import(
        container,
        _book(
            dict(BORROWER, phone="+12125550199"),
            dict(LOAN, principal_minor=200_000),
            PAYMENT,
        ),
    )
    assert changed["by_record"] == {"borrower:UPDATED": 1}
    problem = "differs from the registered contract: a contract is not changed by an import"
    assert changed["problems"] == [
        {"line": 3, "record": "loan", "id": "L-1", "field": "principal_minor", "problem": problem},
        # A file that disagrees with the contract is not trusted with its payments either.
        {
            "line": 4,
            "record": "payment",
            "id": "P-1",
            "field": "loan_id",
            "problem": "the loan's row (line 3) was not imported",
        },
    ]
    paid = _import(container, _book(dict(BORROWER, phone="+12125550199"), LOAN, PAYMENT))
    assert paid["by_record"] == {"borrower:UNCHANGED": 1, "loan:UNCHANGED": 1, "payment:APPLIED": 1}
    borrower = container.borrowers.get("B-1")
    assert borrower is not None
    assert borrower.phone == "+12125550199"
    assert borrower.opted_out_channels == frozenset({"SMS"})  # the borrower's own choice stays
    loan = container.loans.get("L-1")
    assert loan is not None
    assert loan.principal_minor == 100_000
    assert loan.ledger_count == 1

    # A move: the borrower's zone and state follow (the contact gate reads them at each contact);
    # the registered loan keeps its contract's zone.
    moved = _import(container, _book(dict(BORROWER, timezone="America/Chicago", region="IL"), LOAN))
    assert moved["by_record"] == {"borrower:UPDATED": 1, "loan:UNCHANGED": 1}
    assert moved["problems"] == []
    borrower = container.borrowers.get("B-1")
    assert borrower is not None
    assert (borrower.timezone, borrower.region) == ("America/Chicago", "IL")
    loan = container.loans.get("L-1")
    assert loan is not None
    assert (loan.timezone, loan.contract_region) == ("America/New_York", "NY")  # the contract's cap


def test_an_erased_borrower_is_not_restored(stack: LocalStack, container: Container) -> None:
    _import(container, _book(BORROWER, LOAN))
    container.borrowers.erase("B-1", request_sha256="0" * 64, erased_at=AT, opt_out=["SMS"])
    again = _import(container, _book(BORROWER))
    assert again["problems"][0]["problem"] == "erased on request: personal data is not restored by an import"
    borrower = container.borrowers.get("B-1")
    assert borrower is not None
    assert borrower.phone == ""
    assert borrower.name == ""


def test_the_error_report_names_the_field_never_a_personal_value(
    stack: LocalStack, container: Container
) -> None:
    text = _book(
        dict(BORROWER, phone="+1212555"),
        dict(BORROWER, borrower_id="B-2", email="ann at example"),
        dict(LOAN, loan_id="L-2", borrower_id="B-9"),
        dict(LOAN, loan_id="L-3", monthly_interest_bps=2_000),
    )
    result = _import(container, text)
    fields = [(p["line"], p["record"], p["field"]) for p in result["problems"]]
    assert fields == [
        (2, "borrower", "phone"),
        (3, "borrower", "email"),
        (4, "loan", "borrower_id"),
        (5, "loan", "borrower_id"),
    ]
    dumped = json.dumps(result)
    for value in ("+1212555", "ann at example", "Ann Lee"):
        assert value not in dumped


def test_a_contract_over_its_cap_is_refused_with_its_payments(
    stack: LocalStack, container: Container
) -> None:
    result = _import(
        container,
        _book(
            BORROWER,
            dict(LOAN, monthly_interest_bps=2_000),
            dict(PAYMENT, amount_minor=1_000),
        ),
    )
    assert [(p["line"], p["field"]) for p in result["problems"]] == [
        (3, "monthly_interest_bps"),
        (4, "loan_id"),
    ]
    assert "cap" in result["problems"][0]["problem"]
    assert container.loans.get("L-1") is None
    assert container.payments.entries("L-1") == []


@pytest.mark.parametrize("name", ["book.csv", "book.jsonl"])
def test_the_sample_parses_to_its_documented_rows(name: str) -> None:
    records = parse_book((SAMPLES / name).read_text(), name)
    assert (records.rows_read, len(records.borrowers), len(records.loans), len(records.payments)) == (
        97,
        30,
        36,
        30,
    )
    assert {loan.loan.jurisdiction for loan in records.loans} == {"CN", "US-REGF"}


def test_registering_another_loan_of_a_borrower_keeps_their_opt_out(
    stack: LocalStack, container: Container
) -> None:
    from arrears.usecases.onboarding import register_loan
    from tests.integration.conftest import borrower_for, cn_cash_loan

    first, second = cn_cash_loan("L-OPT-1"), cn_cash_loan("L-OPT-2")
    borrower = borrower_for(first)
    second = second.with_changes(borrower_id=first.borrower_id)
    playbook = bundled_playbook()
    assert register_loan(
        first, borrower, AT, loans=container.loans, borrowers=container.borrowers, playbook=playbook
    )
    container.borrowers.set_channel_preference(borrower.borrower_id, "SMS", opted_out=True, at=AT)
    # The lending core's borrower knows no opt-out.
    assert register_loan(
        second, borrower, AT, loans=container.loans, borrowers=container.borrowers, playbook=playbook
    )
    stored = container.borrowers.get(borrower.borrower_id)
    assert stored is not None
    assert stored.opted_out_channels == frozenset({"SMS"})


def test_an_event_the_import_cannot_read_lands_in_the_failure_queue(
    stack: LocalStack, make_cloud: CloudFactory
) -> None:
    cloud: LocalCloud = make_cloud(AT)
    bucket = stack.physical["ImportBucket"]
    gone = {"version": "0", "bucket": {"name": bucket}, "object": {"key": "imports/gone.csv"}}
    malformed = {"version": "0", "bucket": {"name": bucket}, "object": {"key": "imports/x.csv", "size": -1}}
    for detail in (gone, malformed):
        detail |= {"request-id": "R1", "requester": "123456789012"}
        assert cloud.put_event("", "aws.s3", "Object Created", detail) == [None]  # retried, then failed
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=stack.physical["AsyncFailureQueue"], MaxNumberOfMessages=10)[
        "Messages"
    ]
    failed = [json.loads(m["Body"])["requestPayload"]["detail"]["object"]["key"] for m in messages]
    assert sorted(failed) == ["imports/gone.csv", "imports/x.csv"]
