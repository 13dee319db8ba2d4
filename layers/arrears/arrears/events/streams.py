"""DynamoDB stream records: the Loans stream (planner, review lister), the Actions stream (dispatcher)
and the Contacts stream (archiver).

Powertools' models deserialise the images (numbers as Decimal); ours turn them into what the use case
takes. A record's business time is its `ApproximateCreationDateTime`, which every record must carry.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, NamedTuple

from aws_lambda_powertools.utilities.parser.models import (
    DynamoDBStreamChangedRecordModel,
    DynamoDBStreamRecordModel,
)
from pydantic import BaseModel, SkipValidation, field_validator, model_validator

from arrears.adapters.items import loan_from_item, plain
from arrears.domain.loans import Loan
from arrears.events.base import INBOUND, Inbound, field_name, safe_reference
from arrears.usecases.review_listing import ListingRequest


class StreamRecord(Inbound, DynamoDBStreamRecordModel):
    model_config = INBOUND
    REFERENCE: ClassVar[tuple[str, tuple[str, ...]]] = ("event_id", ("eventID",))


EARLIEST_STREAM_RECORD = datetime(2014, 11, 1, tzinfo=UTC)
"""No DynamoDB stream record predates DynamoDB Streams (announced November 2014): a creation time
before it (0, -1: an epoch default or a sign error) is a corrupt record, not a business time."""

_SCALAR_TYPES: dict[str, type] = {"S": str, "N": str, "B": str, "BOOL": bool}
_SET_TYPES = ("SS", "NS", "BS")


def attribute_problem(value: Any, depth: int = 0) -> str | None:
    """Why `value` is not a DynamoDB attribute value as a stream writes it (one type key; `S`, `N`,
    `B` strings, `BOOL` a boolean, `NULL` true, `M` a map and `L` a list of attribute values, `SS`,
    `NS`, `BS` lists of strings), or None. Powertools' deserialiser reads the first key of any dict,
    so `{"S": "a", "N": "1"}` or `{"BOOL": "yes"}` would pass as a value."""
    if depth > 32:
        return "attribute values nested too deep"
    if not isinstance(value, dict) or len(value) != 1:
        return "an attribute value must hold exactly one type"
    ((kind, inner),) = value.items()
    if kind in _SCALAR_TYPES:
        if not isinstance(inner, _SCALAR_TYPES[kind]):
            return f"a {kind} attribute of the wrong type"
        return _text_problem(kind, inner) if isinstance(inner, str) else None
    if kind == "NULL":
        return None if inner is True else "a NULL attribute that is not true"
    if kind in _SET_TYPES:
        if not isinstance(inner, list) or not all(isinstance(item, str) for item in inner):
            return f"a {kind} attribute that is not a list of strings"
        members: Iterable[Any] = inner
    elif kind == "M":
        if not isinstance(inner, dict):
            return "an M attribute that is not a map"
        members = inner.values()
    elif kind == "L":
        if not isinstance(inner, list):
            return "an L attribute that is not a list"
        members = inner
    else:
        return "an attribute of an unknown type"
    # Loops, not generators: a loan image holds a few hundred values and the planner reads two a change.
    in_set = kind in _SET_TYPES
    for member in members:
        problem = _text_problem(kind[0], member) if in_set else attribute_problem(member, depth + 1)
        if problem:
            return problem
    return None


def _text_problem(kind: str, text: str) -> str | None:
    """Why a string of an `S` or `B` attribute cannot be what DynamoDB wrote: a string that is not
    Unicode (a lone surrogate, which no UTF-8 encoder writes), binary that is not base64."""
    if not text.isascii():  # ASCII holds no surrogate
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return f"a {kind} attribute that is not valid Unicode"
    if kind == "B":
        try:
            base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return "a B attribute that is not base64"
    return None


class _Change(DynamoDBStreamChangedRecordModel):
    model_config = INBOUND
    ApproximateCreationDateTime: datetime  # epoch seconds: the record's business time

    @model_validator(mode="before")
    @classmethod
    def _well_typed(cls, data: Any) -> Any:
        """Every attribute of the keys and images is a well-formed attribute value (before
        Powertools' lenient deserialiser reads them)."""
        if not isinstance(data, dict):
            return data
        for field in ("Keys", "NewImage", "OldImage"):
            image = data.get(field)
            if not isinstance(image, dict):
                continue
            for name, value in image.items():
                problem = attribute_problem(value)
                if problem:
                    raise ValueError(f"{field}.{field_name(name)}: {problem}")
        return data

    @field_validator("ApproximateCreationDateTime", mode="after")
    @classmethod
    def _utc(cls, moment: datetime) -> datetime:
        moment = moment.astimezone(UTC)
        if moment < EARLIEST_STREAM_RECORD:
            raise ValueError("a creation time before DynamoDB Streams existed")
        return moment


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
        if image is None:
            return None
        if not image:  # DynamoDB writes an image with at least the item's key: an empty one is corrupt
            raise ValueError("an empty image")
        loan = loan_from_item(image)
        # Ids are written by onboarding, which takes only ids of an id's shape (arrears/events/base.py)
        for name, value in (("loan_id", loan.loan_id), ("borrower_id", loan.borrower_id)):
            if safe_reference(value) != value:
                raise ValueError(f"{name} does not have an id's shape")
        return loan


class LoanChangeRecord(StreamRecord):
    MALFORMED: ClassVar[str] = "malformed loan stream record"
    dynamodb: _LoanImages

    def unwrap(self) -> LoanChange | None:
        """The change, or None when the record holds no new loan (nothing to plan)."""
        images = self.dynamodb
        if images.NewImage is None:
            return None
        return LoanChange(images.OldImage, images.NewImage, images.ApproximateCreationDateTime)


# -- Loans stream (review lister) -------------------------------------------------------------------
class _ListingImages(_Change):
    """Only what a listing needs of the images: the loan's id and the `list_on` of each (the event
    source mapping's filter delivers records whose new image has one)."""

    NewImage: dict[str, Any] | None = None  # deserialised by Powertools
    OldImage: dict[str, Any] | None = None

    @field_validator("NewImage", "OldImage", mode="after")
    @classmethod
    def _an_image(cls, image: Any) -> Any:
        if image is not None and not image:
            raise ValueError("an empty image")
        return image


def _image_date(image: dict[str, Any] | None, name: str) -> date | None:
    raw = (image or {}).get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValueError(f"{name} is not a string")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{name} is not an ISO date") from None


class LoanListingRecord(StreamRecord):
    MALFORMED: ClassVar[str] = "malformed loan listing record"
    dynamodb: _ListingImages

    def unwrap(self) -> ListingRequest | None:
        """The record's listing request; None when its new image asks for none (a REMOVE, or a write
        that postponed a listed loan: the filter leaves those out, a test event may not). ValueError
        when the id, a `list_on` or a `next_review_on` is malformed.

        `listed_on` is the request the old image carried, but only if the write did not bring the
        next review earlier: a request already made and fulfilled may have been listed again under a
        later date since (a payment postponed the loan, the sweep relisted it), so a write that brings
        the date back (the payment reversed) must be listed even when it asks for the same date."""
        images = self.dynamodb
        new, old = images.NewImage, images.OldImage
        list_on = _image_date(new, "list_on")
        if new is None or list_on is None:
            return None
        loan_id = new.get("loan_id")
        if not isinstance(loan_id, str) or safe_reference(loan_id) != loan_id:
            raise ValueError("loan_id does not have an id's shape")
        before, after = _image_date(old, "next_review_on"), _image_date(new, "next_review_on")
        earlier = before is not None and after is not None and after < before
        return ListingRequest(loan_id, list_on, None if earlier else _image_date(old, "list_on"))


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

    @field_validator("action_id", mode="after")
    @classmethod
    def _an_id(cls, value: str) -> str:
        """The action's id is logged with its outcome: a value without an id's shape (an address, a
        name) is no action of ours and must not reach a log line."""
        if safe_reference(value) != value:
            raise ValueError("action_id does not have an id's shape")
        return value

    @field_validator("loan_id", "borrower_id", "channel", mode="before")
    @classmethod
    def _hint(cls, value: Any) -> str | None:
        """A hint only: one that is not an id-shaped string is dropped (the ids are read from the
        action)."""
        return value if isinstance(value, str) and value and safe_reference(value) == value else None


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
REQUIRED_CONTACT_FIELDS = ("contact_id", "loan_id", "contact_key", "borrower_id", "occurred_at")
"""The record's id, its Contacts-table key (loan, contact key: what the archive marks archived) and
what the archive partitions and pseudonymises it by."""


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
