"""DynamoDB stream records: the Loans stream (planner), the Actions stream (dispatcher) and the
Contacts stream (archiver).

Powertools' models deserialise the images (numbers as Decimal); ours turn them into what the use case
takes. A record's business time is its `ApproximateCreationDateTime`, which every record must carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, NamedTuple

from aws_lambda_powertools.utilities.parser.models import (
    DynamoDBStreamChangedRecordModel,
    DynamoDBStreamRecordModel,
)
from pydantic import BaseModel, SkipValidation, field_validator

from arrears.adapters.items import loan_from_item, plain
from arrears.domain.loans import Loan
from arrears.events.base import INBOUND, Inbound


class StreamRecord(Inbound, DynamoDBStreamRecordModel):
    model_config = INBOUND
    REFERENCE: ClassVar[tuple[str, tuple[str, ...]]] = ("event_id", ("eventID",))


class _Change(DynamoDBStreamChangedRecordModel):
    model_config = INBOUND
    ApproximateCreationDateTime: datetime  # epoch seconds: the record's business time

    @field_validator("ApproximateCreationDateTime", mode="after")
    @classmethod
    def _utc(cls, moment: datetime) -> datetime:
        return moment.astimezone(UTC)


# -- Loans stream (planner) -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LoanChange:
    before: Loan | None  # None for a new loan
    after: Loan
    at: datetime


class _LoanImages(_Change):
    # Deserialised by Powertools first (a `before` validator of its own), then made a Loan: narrower
    # than the Powertools field, which allows any image.
    NewImage: Annotated[Loan | None, SkipValidation] = None  # type: ignore[assignment]
    OldImage: Annotated[Loan | None, SkipValidation] = None  # type: ignore[assignment]

    @field_validator("NewImage", "OldImage", mode="after")
    @classmethod
    def _loan(cls, image: Any) -> Loan | None:
        return loan_from_item(image) if image else None


class LoanChangeRecord(StreamRecord):
    MALFORMED: ClassVar[str] = "malformed loan stream record"
    dynamodb: _LoanImages

    def unwrap(self) -> LoanChange | None:
        """The change, or None when the record holds no new loan (nothing to plan)."""
        images = self.dynamodb
        if images.NewImage is None:
            return None
        return LoanChange(images.OldImage, images.NewImage, images.ApproximateCreationDateTime)


# -- Actions stream (dispatcher) --------------------------------------------------------------------
class _ActionImage(BaseModel):
    model_config = INBOUND
    action_id: str
    # The action's loan, borrower and channel (never changed after planning): the dispatcher reads
    # the action, the loan and the borrower (and a call task's ledger) in one request with them.
    # Optional: the state itself is always read afresh.
    loan_id: str | None = None
    borrower_id: str | None = None
    channel: str | None = None

    @field_validator("loan_id", "borrower_id", "channel", mode="before")
    @classmethod
    def _hint(cls, value: Any) -> str | None:
        """A hint only: one that is not a string is dropped (the ids are read from the action)."""
        return value if isinstance(value, str) and value else None


class PlannedAction(NamedTuple):
    """What the dispatcher takes from an Actions stream record: ids and the record's time."""

    action_id: str
    written_at: datetime
    loan_id: str | None = None
    borrower_id: str | None = None
    channel: str | None = None


class _ActionImages(_Change):
    NewImage: _ActionImage


class ActionRecord(StreamRecord):
    MALFORMED: ClassVar[str] = "action stream record without action_id"
    dynamodb: _ActionImages

    def unwrap(self) -> PlannedAction:
        """The planned action's ids, and the record's business time."""
        image = self.dynamodb.NewImage
        return PlannedAction(
            image.action_id,
            self.dynamodb.ApproximateCreationDateTime,
            image.loan_id,
            image.borrower_id,
            image.channel,
        )


# -- Contacts stream (archiver) ---------------------------------------------------------------------
REQUIRED_CONTACT_FIELDS = ("contact_id", "borrower_id", "occurred_at")


class _ContactImages(_Change):
    NewImage: dict[str, Any]

    @field_validator("NewImage", mode="after")
    @classmethod
    def _archivable(cls, image: dict[str, Any]) -> dict[str, Any]:
        """Integers for Decimals, a known jurisdiction and a contact id, borrower and time."""
        # Imported here: only the archiver parses contact records (the other stream handlers import
        # this module for their own records, not the archive's partitioning).
        from arrears.usecases.archiving import partition_of

        record: dict[str, Any] = plain(image)
        try:
            partition_of(record)
        except (KeyError, TypeError) as error:
            raise ValueError(f"no usable {error}") from None
        for name in REQUIRED_CONTACT_FIELDS:
            if not record.get(name):
                raise ValueError(f"missing {name}")
        return record


class ContactRecord(StreamRecord):
    MALFORMED: ClassVar[str] = "malformed contact record"
    # The archiver reports the first malformed record by its sequence number (batchItemFailures).
    REFERENCE: ClassVar[tuple[str, tuple[str, ...]]] = ("sequence_number", ("dynamodb", "SequenceNumber"))
    dynamodb: _ContactImages

    def unwrap(self) -> tuple[dict[str, Any], datetime]:
        """The contact record (plain values), and when the stream saw it."""
        return self.dynamodb.NewImage, self.dynamodb.ApproximateCreationDateTime
