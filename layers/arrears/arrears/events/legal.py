"""The case-file queue's records: each a legal referral the dispatcher published on the legal topic.

The legal topic delivers to the case-file queue (SQS subscription, not raw): a record's body is the SNS
notification, whose `Message` is the referral (`LEGAL_REFERRAL`, docs/contracts.md "Hand-offs"): ids,
the borrower token and the referral instant, never personal data.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar, Literal

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, ConfigDict, Field, InstanceOf, field_validator

from arrears.events.base import INBOUND, Inbound, UtcTime
from arrears.events.bus import _ID


class LegalReferral(BaseModel):
    """A `LEGAL_REFERRAL` hand-off: the legal action (`action_id`, the case id), its loan, when."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)
    type: Literal["LEGAL_REFERRAL"]
    action_id: str = Field(pattern=_ID)
    loan_id: str = Field(pattern=_ID)
    jurisdiction: str = Field(pattern=r"^[A-Z][A-Z0-9-]{0,31}$")
    referred_at: UtcTime

    @property
    def at(self) -> datetime:
        return self.referred_at


class LegalReferralRecord(Inbound, SqsRecordModel):
    """One case-file queue message: the SNS notification of one legal referral."""

    model_config = INBOUND
    MALFORMED: ClassVar[str] = "malformed legal referral"
    REFERENCE: ClassVar[tuple[str, tuple[str, ...]]] = ("message_id", ("messageId",))

    body: InstanceOf[LegalReferral]

    @field_validator("body", mode="before")
    @classmethod
    def _referral(cls, body: Any) -> LegalReferral:
        notification = json.loads(body) if isinstance(body, str) else body
        if not isinstance(notification, dict) or not isinstance(notification.get("Message"), str):
            raise ValueError("not an SNS notification with a Message")
        return LegalReferral.model_validate_json(notification["Message"])

    def unwrap(self) -> LegalReferral:
        return self.body
