"""The book file: a lender's borrowers, loans and payment history, in CSV or JSON Lines.

One row per record, its kind in `record` (`borrower`, `loan`, `payment`) and the schema's version in
`schema_version` (docs/import.md has every field: type, unit, whether required, an example). A CSV
file has one header row naming the columns of every kind it holds; a row leaves the other kinds'
columns empty. A JSON Lines file holds one object per line with its own kind's fields only.

Each row is validated on its own (pydantic): a bad row becomes a `RowProblem` (its line, kind, the
lender's id, the field, the problem) and the other rows load. A problem never quotes a value: the
personal fields (name, phone, e-mail, address) must not reach a log or an error report, and the
other fields' problems are clear without it. Money is integer minor units with its currency; dates
are ISO 8601; a phone number is E.164 and must be a valid number for its country code
(`phonenumbers`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from arrears.adapters.book_files import IMPORTS_PREFIX
from arrears.config.money import bundled_money_rules
from arrears.domain.borrowers import Borrower
from arrears.domain.ledger import LedgerEntry
from arrears.domain.loans import Loan, build_schedule
from arrears.domain.messages import MINOR_DIGITS
from arrears.domain.terms import LoanTerms
from arrears.events.base import Inbound
from arrears.events.bus import _ID, MAX_AMOUNT_MINOR
from arrears.usecases.book_import import (
    SCHEMA_VERSIONS,
    BookRecords,
    BorrowerRecord,
    LoanRecord,
    PaymentRecord,
    RowProblem,
)

Id = Annotated[str, Field(pattern=_ID)]
Minor = Annotated[int, Field(ge=1, le=MAX_AMOUNT_MINOR)]
MAX_INSTALMENTS = 360
ID_FIELDS = {"borrower": "borrower_id", "loan": "loan_id", "payment": "payment_id"}


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    schema_version: str

    @field_validator("schema_version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        """A JSON Lines row may give the version as a number (`1`), as a CSV cell gives "1"; any other
        number or a boolean becomes text too, to be refused as an unknown version, not as a type."""
        return str(value) if isinstance(value, int | float) else value

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: str) -> str:
        if value not in SCHEMA_VERSIONS:
            raise ValueError(f"not a version this importer reads ({', '.join(SCHEMA_VERSIONS)})")
        return value


class BorrowerRow(_Row):
    """A borrower. `name`, `phone`, `email` and `address` are personal data: stored in the Borrowers
    table only. `contact_from_hour`/`contact_to_hour`: the borrower's preferred hours (local, 0-23;
    a window may cross midnight), both or neither."""

    record: Literal["borrower"]
    borrower_id: Id
    timezone: str
    region: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,16}$")]
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] = "en"
    name: Annotated[str, Field(max_length=200)] = ""
    phone: str = ""
    email: Annotated[str, Field(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")] = ""
    address: Annotated[str, Field(max_length=500)] = ""
    contact_from_hour: Annotated[int, Field(ge=0, le=23)] | None = None
    contact_to_hour: Annotated[int, Field(ge=0, le=23)] | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
            raise ValueError("not an IANA time zone name (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        if not value:
            return value
        import phonenumbers  # on the first number, not at import: its metadata is a cold start's cost

        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            raise ValueError("not a phone number in E.164 form (+ and country code)") from None
        if not phonenumbers.is_valid_number(number):
            raise ValueError("not a valid number for its country code")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    @model_validator(mode="after")
    def _hours(self) -> BorrowerRow:
        if (self.contact_from_hour is None) != (self.contact_to_hour is None):
            raise ValueError("contact_from_hour and contact_to_hour go together")
        return self

    def to_domain(self) -> Borrower:
        hours = None
        if self.contact_from_hour is not None and self.contact_to_hour is not None:
            hours = (self.contact_from_hour, self.contact_to_hour)
        return Borrower(
            borrower_id=self.borrower_id,
            timezone=self.timezone,
            language=self.language,
            region=self.region,
            name=self.name,
            phone=self.phone,
            email=self.email,
            address=self.address,
            preferred_hours=hours,
        )


class LoanRow(_Row):
    """A loan's contract. The schedule is built from it (`arrears.domain.loans.build_schedule`): one
    payment `cash_loan_days` after disbursement, or monthly instalments of equal principal with
    interest on the declining balance and the fee with the first instalment."""

    record: Literal["loan"]
    loan_id: Id
    borrower_id: Id
    jurisdiction: str
    product: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
    currency: str
    principal_minor: Minor
    disbursed_on: date
    instalments: Annotated[int, Field(ge=1, le=MAX_INSTALMENTS)]
    monthly_interest_bps: Annotated[int, Field(ge=0, le=10_000)]
    fee_minor: Annotated[int, Field(ge=0, le=MAX_AMOUNT_MINOR)] = 0
    cash_loan_days: Annotated[int, Field(ge=1, le=366)] = 30
    penalty_daily_ppm: Annotated[int, Field(ge=0, le=100_000)] = 0
    # A debt placed or sold: the original creditor's date of default (the limitation period counts
    # from it when earlier than the schedule's own, arrears.domain.limitation).
    original_default_on: date | None = None

    @field_validator("jurisdiction")
    @classmethod
    def _jurisdiction(cls, value: str) -> str:
        known = sorted(bundled_money_rules())
        if value not in known:
            raise ValueError(f"not a jurisdiction with money rules ({', '.join(known)})")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return _currency(value)

    def to_domain(self) -> Loan:
        return Loan(
            loan_id=self.loan_id,
            borrower_id=self.borrower_id,
            jurisdiction=self.jurisdiction,
            currency=self.currency,
            principal_minor=self.principal_minor,
            disbursed_on=self.disbursed_on,
            instalments=build_schedule(
                self.principal_minor,
                disbursed_on=self.disbursed_on,
                instalments=self.instalments,
                monthly_interest_bps=self.monthly_interest_bps,
                fee_minor=self.fee_minor,
                cash_loan_days=self.cash_loan_days,
            ),
            penalty_daily_ppm=self.penalty_daily_ppm,
            apr_cap_bps=0,  # fixed at registration from the jurisdiction's money rules
            terms=LoanTerms(product=self.product),
            original_default_on=self.original_default_on,
        )


class PaymentRow(_Row):
    """A payment made before the import, on its value date (the borrower's own date)."""

    record: Literal["payment"]
    payment_id: Id
    loan_id: Id
    amount_minor: Minor
    currency: str
    paid_on: date

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return _currency(value)

    def to_domain(self) -> PaymentRecord:
        return PaymentRecord(
            0, self.loan_id, LedgerEntry(self.payment_id, self.amount_minor, self.currency, self.paid_on)
        )


def _currency(value: str) -> str:
    if value not in MINOR_DIGITS:
        raise ValueError(f"not a supported ISO 4217 code ({', '.join(sorted(MINOR_DIGITS))})")
    return value


ROW_MODELS: dict[str, type[BorrowerRow] | type[LoanRow] | type[PaymentRow]] = {
    "borrower": BorrowerRow,
    "loan": LoanRow,
    "payment": PaymentRow,
}
CSV_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(name for model in ROW_MODELS.values() for name in model.model_fields)
)
"""Every column a CSV book may have, in the order of docs/import.md."""


def _id_of(kind: str, raw: dict[str, Any]) -> str:
    value = raw.get(ID_FIELDS.get(kind, ""), "")
    return value if isinstance(value, str) and re.match(_ID, value) else ""


def _problem_text(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "not a field of this kind of record"
    if error["type"] == "missing":
        return "required"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def parse_row(line: int, raw: object, records: BookRecords) -> None:
    """Validate one row (a mapping of field to value) and add it, or its problems, to `records`."""
    records.rows_read += 1
    if not isinstance(raw, dict):
        records.problems.append(RowProblem(line, "?", "", "record", "not an object"))
        return
    kind = raw.get("record")
    if not isinstance(kind, str) or kind not in ROW_MODELS:
        records.problems.append(RowProblem(line, "?", "", "record", f"not one of {', '.join(ROW_MODELS)}"))
        return
    model = ROW_MODELS[kind]
    id_ = _id_of(kind, raw)
    try:
        row = model.model_validate(raw)
    except ValidationError as error:
        for item in error.errors(include_input=False, include_url=False):
            name = ".".join(str(part) for part in item["loc"]) or kind
            records.problems.append(RowProblem(line, kind, id_, name, _problem_text(dict(item))))
        return
    try:
        if isinstance(row, BorrowerRow):
            records.borrowers.append(BorrowerRecord(line, row.to_domain()))
        elif isinstance(row, LoanRow):
            records.loans.append(LoanRecord(line, row.to_domain()))
        else:
            payment = row.to_domain()
            records.payments.append(PaymentRecord(line, payment.loan_id, payment.entry))
    except ValueError as error:  # the domain's own checks (a schedule that cannot be built)
        records.problems.append(RowProblem(line, kind, id_, "instalments", str(error)))


NOT_A_ROW = object()
"""What a line that cannot be read as a row at all (a CSV field beyond the reader's limit, a JSON line
nested beyond the decoder's depth or not JSON) becomes: a problem of its line, and the next rows read on."""


def _csv_rows(text: str) -> Iterator[tuple[int, object]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="__extra__")
    last = 1  # the header's line
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:  # a field beyond csv's limit (128 KiB): the reader may not count its line
            last = max(reader.line_num, last + 1)
            yield last, NOT_A_ROW
            continue
        last = reader.line_num
        cells: dict[str, Any] = {}
        for key, value in row.items():
            if key == "__extra__":
                cells["__extra__"] = "cells beyond the header"
            elif value not in (None, ""):
                cells[str(key)] = value
        if cells:
            yield reader.line_num, cells


def _jsonl_rows(text: str) -> Iterator[tuple[int, object]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):  # not JSON, an integer beyond 4,300 digits, nested too deep
            row = NOT_A_ROW
        yield number, row


def file_format(name: str, text: str) -> Literal["csv", "jsonl"]:
    """`jsonl` for a .jsonl/.ndjson/.json name or a text that starts with `{`, else `csv`."""
    if name.lower().endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.lower().endswith(".csv"):
        return "csv"
    return "jsonl" if text.lstrip().startswith("{") else "csv"


def parse_book(text: str, name: str = "") -> BookRecords:
    """Every row of a book file (CSV or JSON Lines, by `name`'s suffix or the text), validated."""
    records = BookRecords()
    jsonl = file_format(name, text) == "jsonl"
    rows = _jsonl_rows(text) if jsonl else _csv_rows(text)
    for line, raw in rows:
        if raw is NOT_A_ROW:
            records.rows_read += 1
            problem = "not a JSON object" if jsonl else "not a CSV row"
            records.problems.append(RowProblem(line, "?", "", "record", problem))
            continue
        parse_row(line, raw, records)
    return records


class BookObjectCreated(Inbound, S3EventNotificationEventBridgeModel):
    """S3's `Object Created` event on the default bus (the bucket's EventBridge notifications): a book
    file put under `imports/` of the imports bucket."""

    MALFORMED: ClassVar[str] = "malformed Object Created event"

    def unwrap(self) -> tuple[str, str, datetime]:
        """(bucket, key, the event's time): the file to import, and the instant it is imported as of.
        A key outside `imports/` (the bucket's EventBridge rule matches no other), longer than S3's
        1,024 bytes, or a bucket name S3 would not accept, is refused (ValueError) before any call."""
        bucket, key = self.detail.bucket.name, self.detail.object.key
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
            raise ValueError("detail.bucket.name: not an S3 bucket name")
        if not key.startswith(IMPORTS_PREFIX) or len(key.encode("utf-8", "surrogatepass")) > 1024:
            raise ValueError(f"detail.object.key: not a key under {IMPORTS_PREFIX} of at most 1,024 bytes")
        return bucket, key, self.time


__all__ = [
    "CSV_COLUMNS",
    "BookObjectCreated",
    "BorrowerRow",
    "LoanRow",
    "PaymentRow",
    "file_format",
    "parse_book",
    "parse_row",
]
