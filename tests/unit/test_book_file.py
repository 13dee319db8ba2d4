"""The book file's rows, validated one by one: a bad row is a problem (line, kind, id, field, problem)
that never quotes a personal value, and the other rows load."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date

from arrears.events.book_file import CSV_COLUMNS, file_format, parse_book

BORROWER = {
    "schema_version": "1",
    "record": "borrower",
    "borrower_id": "B-1",
    "timezone": "Asia/Shanghai",
    "region": "Shanghai",
    "language": "zh-CN",
    "name": "王伟",
    "phone": "+86 139 1234 5678",
}
LOAN = {
    "schema_version": "1",
    "record": "loan",
    "loan_id": "L-1",
    "borrower_id": "B-1",
    "jurisdiction": "CN",
    "product": "cn-consumer",
    "currency": "CNY",
    "principal_minor": 300000,
    "disbursed_on": "2026-01-05",
    "instalments": 3,
    "monthly_interest_bps": 50,
}


def jsonl(*rows: Mapping[str, object]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def problems(text: str, name: str = "book.jsonl") -> list[tuple[int, str, str, str]]:
    return [(p.line, p.record, p.id, p.field) for p in parse_book(text, name).problems]


def test_a_valid_book_becomes_domain_records() -> None:
    records = parse_book(jsonl(BORROWER, LOAN), "book.jsonl")
    assert records.problems == []
    (borrower,) = records.borrowers
    assert borrower.borrower.phone == "+8613912345678"  # normalised to E.164
    (loan,) = records.loans
    assert loan.line == 2
    assert loan.loan.terms.product == "cn-consumer"
    assert [i.due_on for i in loan.loan.instalments] == [date(2026, 2, 5), date(2026, 3, 5), date(2026, 4, 5)]
    assert sum(i.principal_due for i in loan.loan.instalments) == 300000


def test_each_bad_row_is_reported_and_the_others_load() -> None:
    text = jsonl(
        BORROWER,
        {**BORROWER, "borrower_id": "B-2", "phone": "+86 123"},
        {**LOAN, "jurisdiction": "XX"},
        {**LOAN, "loan_id": "L-2", "principal_minor": 12.5},
        {**LOAN, "loan_id": "L-3", "currency": "usd", "extra": 1},
        {**LOAN, "schema_version": "2", "loan_id": "L-4"},
        {"record": "refund"},
        LOAN,
    )
    text += "{not json\n"
    assert problems(text) == [
        (2, "borrower", "B-2", "phone"),
        (3, "loan", "L-1", "jurisdiction"),
        (4, "loan", "L-2", "principal_minor"),
        (5, "loan", "L-3", "currency"),
        (5, "loan", "L-3", "extra"),
        (6, "loan", "L-4", "schema_version"),
        (7, "?", "", "record"),
        (9, "?", "", "record"),
    ]
    records = parse_book(text, "book.jsonl")
    assert records.rows_read == 9
    assert [r.loan.loan_id for r in records.loans] == ["L-1"]


def test_a_problem_never_quotes_a_personal_value() -> None:
    text = jsonl(
        {**BORROWER, "phone": "+86 139 0000"},
        {**BORROWER, "borrower_id": "B-2", "email": "wei at example", "name": "x" * 300},
        {**BORROWER, "borrower_id": "王伟 +8613912345678"},  # a hostile id is not echoed either
    )
    found = parse_book(text, "book.jsonl").problems
    assert {p.field for p in found} >= {"phone", "email", "name", "borrower_id"}
    dumped = json.dumps([p.as_json() for p in found], ensure_ascii=False)
    for value in ("139 0000", "wei at example", "xxxxx", "王伟", "8613912345678"):
        assert value not in dumped


def test_a_csv_book_leaves_the_other_kinds_columns_empty() -> None:
    header = ",".join(CSV_COLUMNS)

    def row(values: Mapping[str, object]) -> str:
        return ",".join(str(values.get(column, "")) for column in CSV_COLUMNS)

    text = "\n".join(
        [header, row(BORROWER), row(LOAN), row({**LOAN, "loan_id": "L-2", "disbursed_on": "2026-02-30"})]
    )
    text += "\n" + row({**BORROWER, "borrower_id": "B-3"}) + ",surplus\n"
    records = parse_book(text, "book.csv")
    assert [(p.line, p.field) for p in records.problems] == [(4, "disbursed_on"), (5, "__extra__")]
    assert len(records.loans) == 1


def test_the_format_follows_the_name_then_the_content() -> None:
    assert file_format("imports/x.CSV", "{") == "csv"
    assert file_format("x.ndjson", "a,b") == "jsonl"
    assert file_format("x", '  {"record": "loan"}') == "jsonl"
    assert file_format("x", "schema_version,record") == "csv"


def test_a_loan_whose_first_instalment_cannot_follow_disbursement_is_a_row_problem() -> None:
    text = jsonl({**LOAN, "instalments": 1, "cash_loan_days": 0})
    assert problems(text) == [(1, "loan", "L-1", "cash_loan_days")]


def test_a_placed_debt_carries_its_original_default_and_a_bad_date_is_a_row_problem() -> None:
    placed = {**LOAN, "original_default_on": "2019-05-02"}
    (loan,) = parse_book(jsonl(BORROWER, placed), "book.jsonl").loans
    assert loan.loan.original_default_on == date(2019, 5, 2)
    (plain,) = parse_book(jsonl(BORROWER, LOAN), "book.jsonl").loans
    assert plain.loan.original_default_on is None
    assert problems(jsonl(BORROWER, {**LOAN, "original_default_on": "2019-02-30"})) == [
        (2, "loan", "L-1", "original_default_on")
    ]


def test_a_line_that_cannot_be_read_is_a_problem_of_its_own_and_the_next_rows_read_on() -> None:
    # Each of these raised out of the import (csv.Error, RecursionError, ValueError, OSError): the
    # whole file failed without its error report.
    header = ",".join(CSV_COLUMNS)
    csv_text = f"{header}\n" + "x" * 200_000 + "\n" + ",".join(str(BORROWER.get(c, "")) for c in CSV_COLUMNS)
    assert problems(csv_text, "book.csv") == [(2, "?", "", "record")]
    assert parse_book(csv_text, "book.csv").rows_read == 2
    jsonl_text = "[" * 100_000 + "\n" + "1" * 5_000 + "\n" + jsonl(BORROWER)
    assert problems(jsonl_text) == [(1, "?", "", "record"), (2, "?", "", "record")]
    assert len(parse_book(jsonl_text, "book.jsonl").borrowers) == 1
    assert problems(jsonl({**BORROWER, "timezone": "Asia/" + "x" * 300})) == [
        (1, "borrower", "B-1", "timezone")
    ]


def test_a_json_lines_row_may_give_its_schema_version_as_a_number() -> None:
    text = jsonl(
        {**BORROWER, "schema_version": 1},
        {**LOAN, "schema_version": 2},
        {**LOAN, "schema_version": True},  # not a version, not a number
    )
    assert problems(text) == [(2, "loan", "L-1", "schema_version"), (3, "loan", "L-1", "schema_version")]
