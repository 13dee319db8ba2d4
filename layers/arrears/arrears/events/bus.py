"""Events on LoanEventsBus: from the lending core, the collector desk, the privacy desk and the dialer.

Each event is an EventBridge event (Powertools `EventBridgeModel`) whose `detail` is ours. The
event's `time` is its business time where the detail carries none of its own. docs/contracts.md
("Events") describes every detail.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from arrears.domain.calendar import format_utc, parse_utc
from arrears.domain.holds import HoldChange, HoldKind, InvalidHoldChange
from arrears.events.base import INBOUND, MAX_CLOCK_SKEW, Inbound, UtcTime, problems
from arrears.usecases.call_outcomes import CallOutcomeReport
from arrears.usecases.erasure import ErasureRequest
from arrears.usecases.payments import PaymentReceived, PaymentReversed

HOLD_DETAIL_TYPE = "HoldChanged"
# Who may record a hold: the lending core, and the collector desk (arrears-ops sends the latter).
HOLD_SOURCES = ("arrears.lending-core", "arrears.collections")


def not_later_than_event(name: str, value: datetime, event_time: datetime) -> datetime:
    """`value`, or ValueError naming the field and the reason (times only, never personal data)."""
    if value > event_time + MAX_CLOCK_SKEW:
        raise ValueError(
            f"{name}: {format_utc(value)} is later than the event itself ({format_utc(event_time)}) "
            f"by more than the allowed clock skew of {int(MAX_CLOCK_SKEW.total_seconds())} s"
        )
    return value


MAX_AMOUNT_MINOR = 10**15
"""The largest payment accepted, in minor units (10^13 of a two-decimal currency): far beyond any
consumer loan, and far within the 38 digits a DynamoDB number holds. A larger amount is a corrupt
event: applied, it would close the loan with an absurd overpayment (and beyond 38 digits no write
would even succeed)."""

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,127}$"
"""An id on the bus (payment, loan, borrower, request, call, action): 1-128 characters, letters, digits
and `._:#/-`. Ids reach the log lines and DynamoDB keys: no control characters, no spaces, nothing
that reads as an e-mail address or a phone number, no megabyte."""
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_UTC = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"


def _optional_time(value: object) -> object:
    """An absent or empty time is None (the event's own time stands in); anything else must parse."""
    return None if value is None or value == "" else value


OptionalUtcTime = Annotated[UtcTime | None, BeforeValidator(_optional_time)]


class BusEvent(Inbound, EventBridgeModel):
    """An event on LoanEventsBus: EventBridge's envelope, `time` as aware UTC."""

    model_config = INBOUND
    time: UtcTime


# -- PaymentReceived (lending core) ----------------------------------------------------------------
class PaymentDetail(BaseModel):
    model_config = INBOUND

    payment_id: str = Field(pattern=_ID)
    loan_id: str = Field(pattern=_ID)
    amount_minor: int = Field(gt=0, le=MAX_AMOUNT_MINOR, strict=True)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    paid_at: OptionalUtcTime = None


class PaymentReceivedEvent(BusEvent):
    MALFORMED: ClassVar[str] = "malformed PaymentReceived event"
    detail: PaymentDetail

    def unwrap(self) -> PaymentReceived:
        """The payment; ValueError when `paid_at` is later than the event (beyond `MAX_CLOCK_SKEW`)."""
        d = self.detail
        paid_at = not_later_than_event("detail.paid_at", d.paid_at, self.time) if d.paid_at else self.time
        return PaymentReceived(d.payment_id, d.loan_id, d.amount_minor, d.currency, paid_at)


# -- PaymentReversed (lending core) ----------------------------------------------------------------
class ReversalDetail(BaseModel):
    model_config = INBOUND

    payment_id: str = Field(pattern=_ID)
    loan_id: str = Field(pattern=_ID)
    reversed_at: OptionalUtcTime = None
    reason: str = Field(default="RETURNED", pattern=r"^[A-Z_]{1,32}$")


class PaymentReversedEvent(BusEvent):
    """A returned or charged-back payment: undone, by its id (docs/contracts.md, "Events")."""

    MALFORMED: ClassVar[str] = "malformed PaymentReversed event"
    detail: ReversalDetail

    def unwrap(self) -> PaymentReversed:
        """The reversal; ValueError when `reversed_at` is later than the event (beyond `MAX_CLOCK_SKEW`):
        it would re-assess the loan on that date."""
        d = self.detail
        at = (
            not_later_than_event("detail.reversed_at", d.reversed_at, self.time)
            if d.reversed_at
            else self.time
        )
        return PaymentReversed(d.payment_id, d.loan_id, at, d.reason)


# -- ErasureRequested (lending core, privacy desk) -------------------------------------------------
class ErasureDetail(BaseModel):
    """`request_id` is the caller's, opaque (a privacy desk may use a ticket number or an e-mail
    address): any printable text up to 256 characters, only ever kept as its SHA-256."""

    model_config = INBOUND

    request_id: str = Field(pattern=r"^[^\x00-\x1f\x7f]{1,256}$")
    borrower_id: str = Field(pattern=_ID)
    requested_at: OptionalUtcTime = None


class ErasureRequestedEvent(BusEvent):
    MALFORMED: ClassVar[str] = "malformed ErasureRequested event"
    detail: ErasureDetail

    def unwrap(self) -> tuple[ErasureRequest, datetime]:
        """The request, and the event's time (the business time of the erasure); ValueError when
        `requested_at` is later than the event (beyond `MAX_CLOCK_SKEW`): the audit would date it ahead."""
        d = self.detail
        requested_at = (
            not_later_than_event("detail.requested_at", d.requested_at, self.time)
            if d.requested_at
            else self.time
        )
        return ErasureRequest(d.request_id, d.borrower_id, requested_at), self.time


# -- HoldChanged (lending core, collector desk) ----------------------------------------------------
class HoldChangedDetail(BaseModel):
    """The detail's shape: exact field names (a misspelt `until` must not be dropped), exact types."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True, extra="forbid", strict=True)

    request_id: str = Field(pattern=_ID)
    loan_id: str = Field(pattern=_ID)
    hold: Literal["promise_to_pay", "hardship", "dispute", "cease_contact", "bankruptcy", "deceased"]
    active: bool
    until: str | None = Field(default=None, pattern=_DATE)
    occurred_at: str = Field(pattern=_UTC)

    @field_validator("until")
    @classmethod
    def _calendar_date(cls, value: str | None) -> str | None:
        if value is not None:
            date.fromisoformat(value)  # 2026-02-30 matches the pattern but is no date
        return value

    def change(self, received_at: datetime | None = None) -> HoldChange:
        """The change this detail describes, or `InvalidHoldChange` naming the field and the problem.

        `received_at` is the event's own time: `occurred_at` may not be later than it (beyond
        `MAX_CLOCK_SKEW`), else the change would win over every real one of its kind until then.
        """
        occurred_at = parse_utc(self.occurred_at)
        if received_at is not None and occurred_at > received_at + MAX_CLOCK_SKEW:
            raise InvalidHoldChange(
                f"occurred_at: {self.occurred_at} is later than the event itself "
                f"({received_at.isoformat()}); a hold change cannot come from the future"
            )
        return HoldChange(
            request_id=self.request_id,
            loan_id=self.loan_id,
            hold=HoldKind(self.hold),
            active=self.active,
            occurred_at=occurred_at,
            until=date.fromisoformat(self.until) if self.until is not None else None,
        )


def hold_change_from_detail(detail: object, *, received_at: datetime | None = None) -> HoldChange:
    """The change a `HoldChanged` detail describes, or `InvalidHoldChange` naming each bad field (the
    holds function's rule; arrears-ops checks a hold with it before sending)."""
    if not isinstance(detail, Mapping):
        raise InvalidHoldChange("detail: must be an object")
    try:
        parsed = HoldChangedDetail.model_validate(dict(detail))
    except ValidationError as error:
        raise InvalidHoldChange(problems(error, whole="detail")) from None
    return parsed.change(received_at)


class HoldChangedEvent(BusEvent):
    MALFORMED: ClassVar[str] = "malformed HoldChanged event"
    detail: Any  # checked by hold_change_from_detail, which names each bad field of it

    def unwrap(self) -> HoldChange:
        return hold_change_from_detail(self.detail, received_at=self.time)


# -- CallOutcome (dialer) --------------------------------------------------------------------------
class CallOutcomeDetail(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True, strict=True)

    call_id: str = Field(pattern=_ID)
    action_id: str = Field(pattern=_ID)
    borrower_id: str = Field(pattern=_ID)
    occurred_at: UtcTime
    connected: bool
    conversation: bool = False

    def report(self) -> CallOutcomeReport:
        # A conversation is a connected call, whatever the dialer says.
        connected = self.connected or self.conversation
        return CallOutcomeReport(
            self.call_id, self.action_id, self.borrower_id, self.occurred_at, connected, self.conversation
        )


class CallOutcomeEvent(BusEvent):
    """The dialer's report of one call (`CallOutcome`, source `arrears.dialer`): the earlier contract,
    folded into the dialer contract as an unnumbered attempt (`CallOutcomeReport.attempt`)."""

    MALFORMED: ClassVar[str] = "malformed CallOutcome event"
    detail: CallOutcomeDetail

    def unwrap(self) -> CallOutcomeReport:
        """The report; ValueError when the call's `occurred_at` is later than the event (beyond
        `MAX_CLOCK_SKEW`): it would take a slot of the borrower's call ledger in the future."""
        not_later_than_event("detail.occurred_at", self.detail.occurred_at, self.time)
        return self.detail.report()
