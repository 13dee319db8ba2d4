"""Day-to-day onboarding from the lending core: `LoanDisbursed` and `BorrowerUpdated` on LoanEventsBus.

The objects in their details are the book file's rows (`arrears.events.book_file`, docs/import.md):
the same fields, the same validation (a phone must be valid E.164, a zone an IANA name, a
jurisdiction one with money rules), without `record` (the event's type says it). Each event becomes
the `BookRecords` of a one-row or two-row file and is imported by `arrears.usecases.book_import`,
the code every book file runs: one way to register a loan and change a borrower.

* `LoanDisbursed`: `loan` (a `loan` row), and `borrower` (a `borrower` row) unless the borrower is
  registered already. The event's `time` is the registration instant and the borrower profile's.
* `BorrowerUpdated`: `borrower` (a `borrower` row: the whole profile, a field left out is removed)
  and `updated_at`, the instant of the change in the lending core (the event's `time` when absent;
  no later than it beyond `MAX_CLOCK_SKEW`). An update older than the stored profile changes
  nothing, so a redelivered or reordered event never undoes a newer one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from arrears.events.book_file import BorrowerRow, LoanRow
from arrears.events.bus import BusEvent, OptionalUtcTime, not_later_than_event
from arrears.usecases.book_import import BookRecords, BorrowerRecord, LoanRecord

LENDING_CORE_SOURCE = "arrears.lending-core"
LOAN_DISBURSED = "LoanDisbursed"
BORROWER_UPDATED = "BorrowerUpdated"
BORROWER_LINE, LOAN_LINE = 1, 2
"""The "lines" of an event's rows in its `BookRecords`: what names the object of a problem."""
LINE_PATHS = {BORROWER_LINE: "detail.borrower", LOAN_LINE: "detail.loan"}


class LoanInEvent(LoanRow):
    """A `loan` row of the book file (docs/import.md); `record` may be left out."""

    record: Literal["loan"] = "loan"


class BorrowerInEvent(BorrowerRow):
    """A `borrower` row of the book file (docs/import.md); `record` may be left out. Personal fields
    (name, phone, e-mail, address) go to the Borrowers table only."""

    record: Literal["borrower"] = "borrower"


_DETAIL = ConfigDict(frozen=True, hide_input_in_errors=True, extra="forbid")


class LoanDisbursedDetail(BaseModel):
    model_config = _DETAIL

    loan: LoanInEvent
    borrower: BorrowerInEvent | None = None

    @model_validator(mode="after")
    def _same_borrower(self) -> LoanDisbursedDetail:
        if self.borrower is not None and self.borrower.borrower_id != self.loan.borrower_id:
            raise ValueError("borrower.borrower_id: not the loan's borrower_id")
        return self


class BorrowerUpdatedDetail(BaseModel):
    model_config = _DETAIL

    borrower: BorrowerInEvent
    updated_at: OptionalUtcTime = None


@dataclass(frozen=True, slots=True)
class OnboardingEvent:
    """What one onboarding event asks: its rows as a book's, imported as of `at`."""

    detail_type: str
    records: BookRecords
    at: datetime


def _records(borrower: BorrowerRow | None, loan: LoanRow | None) -> BookRecords:
    records = BookRecords()
    if borrower is not None:
        records.rows_read += 1
        records.borrowers.append(BorrowerRecord(BORROWER_LINE, borrower.to_domain()))
    if loan is not None:
        records.rows_read += 1
        records.loans.append(LoanRecord(LOAN_LINE, loan.to_domain()))
    return records


class LoanDisbursedEvent(BusEvent):
    """A loan disbursed by the lending core (source `arrears.lending-core`): registered as a book
    file's loan row is, with its borrower's row when the event carries it."""

    MALFORMED: ClassVar[str] = "malformed LoanDisbursed event"
    detail: LoanDisbursedDetail

    def unwrap(self) -> OnboardingEvent:
        """The event's rows; ValueError (`detail.loan.instalments: ...`) when the schedule cannot be built."""
        try:
            records = _records(self.detail.borrower, self.detail.loan)
        except ValueError as error:  # the domain's own check of the schedule
            raise ValueError(f"detail.loan.instalments: {error}") from None
        return OnboardingEvent(LOAN_DISBURSED, records, self.time)


class BorrowerUpdatedEvent(BusEvent):
    """A borrower's profile changed in the lending core: a new phone, address, zone, language."""

    MALFORMED: ClassVar[str] = "malformed BorrowerUpdated event"
    detail: BorrowerUpdatedDetail

    def unwrap(self) -> OnboardingEvent:
        """The borrower's row as of `updated_at`; ValueError when that is later than the event's
        time beyond `MAX_CLOCK_SKEW` (it would win over every real update until then)."""
        d = self.detail
        at = not_later_than_event("detail.updated_at", d.updated_at, self.time) if d.updated_at else self.time
        return OnboardingEvent(BORROWER_UPDATED, _records(d.borrower, None), at)


CONTRACT_MODELS: dict[str, type[BaseModel]] = {
    LOAN_DISBURSED: LoanDisbursedDetail,
    BORROWER_UPDATED: BorrowerUpdatedDetail,
}
"""The details whose JSON Schemas docs/contracts.md holds (scripts/contract_schemas.py)."""

ONBOARDING_EVENTS: dict[str, type[LoanDisbursedEvent] | type[BorrowerUpdatedEvent]] = {
    LOAN_DISBURSED: LoanDisbursedEvent,
    BORROWER_UPDATED: BorrowerUpdatedEvent,
}

__all__ = [
    "BORROWER_UPDATED",
    "CONTRACT_MODELS",
    "LENDING_CORE_SOURCE",
    "LINE_PATHS",
    "LOAN_DISBURSED",
    "ONBOARDING_EVENTS",
    "BorrowerUpdatedEvent",
    "LoanDisbursedEvent",
    "OnboardingEvent",
]
