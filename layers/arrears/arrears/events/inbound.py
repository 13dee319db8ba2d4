"""What borrowers send us: two-way SMS replies (via SNS) and unsubscribe-link requests (function URL).

**Text replies.** AWS End User Messaging SMS publishes each message sent to our number to an SNS topic
as JSON (AWS End User Messaging SMS User Guide, "Example of a two-way SMS message payload for Amazon
SNS topics"):

    {"originationNumber": "+14255550182", "destinationNumber": "+12125550101",
     "messageKeyword": "JOIN", "messageBody": "STOP", "inboundMessageId": "cae173d2-...",
     "previousPublishedMessageId": "wJalrXUtnFEMI..."}

SNS delivers it to the inbound-sms function as a Lambda SNS event (one record, `Sns.Message` holding
the JSON above). `originationNumber` (the borrower's number, E.164), `messageBody` and
`inboundMessageId` are required; the others are optional and unused. The logs name only the SNS
message id and the inbound message id, never the number or the text.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import ClassVar

from aws_lambda_powertools.utilities.parser.models import SnsModel
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arrears.events.base import problems, safe_reference
from arrears.usecases.preferences import TextReply


class TwoWaySms(BaseModel):
    """The two-way SMS payload's fields we read (unknown fields are ignored: AWS may add some)."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True, extra="ignore")

    originationNumber: str = Field(pattern=r"^\+[1-9]\d{6,14}$")
    destinationNumber: str = Field(default="", max_length=32)
    messageBody: str = Field(max_length=1600)
    # logged with the outcome: an id's shape (AWS sends a UUID), never text a sender chose
    inboundMessageId: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,127}$")


class InboundSmsEvent(SnsModel):
    """A Lambda SNS event from the inbound-SMS topic (exactly one record, as SNS delivers)."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)
    MALFORMED: ClassVar[str] = "malformed inbound SMS"

    @classmethod
    def reference(cls, raw: object) -> dict[str, object]:
        try:
            return {"sns_message_id": safe_reference(raw["Records"][0]["Sns"]["MessageId"])}  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return {"sns_message_id": None}

    def unwrap(self) -> tuple[TextReply, datetime]:
        """The reply, and the instant SNS published it (when the borrower's reply reached us)."""
        if len(self.Records) != 1:
            raise ValueError(f"Records: expected one SNS record, got {len(self.Records)}")
        notification = self.Records[0].Sns
        try:
            payload = TwoWaySms.model_validate(json.loads(str(notification.Message)))
        except json.JSONDecodeError:
            raise ValueError("Sns.Message: not JSON") from None
        except ValidationError as error:
            raise ValueError(f"Sns.Message: {problems(error, 'message')}") from None
        reply = TextReply(payload.originationNumber, payload.messageBody, payload.inboundMessageId)
        return reply, notification.Timestamp
