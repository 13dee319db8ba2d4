"""The payment ledger in DynamoDB: one item per payment, keyed (loan_id, payment_id), for ever.

A payment is recorded with a conditional put (`attribute_not_exists`): a redelivered payment finds
its own item, whatever how many payments came since, so idempotency is durable (not a window of the
last N ids on the loan). The loan item stays small: it holds no payment ids, only the size and an
order-independent digest of the set of payments it reflects (`arrears.domain.ledger`).

A reversal marks the entry reversed with a conditional update (it must exist and not be reversed
already); the loan is then rebuilt from the entries in force.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key

from arrears.adapters.items import MalformedItem, plain
from arrears.adapters.tables import all_items, conditional_write
from arrears.domain.calendar import format_utc
from arrears.domain.ledger import LedgerEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class Reversal(StrEnum):
    REVERSED = "REVERSED"  # the entry is now reversed
    UNKNOWN = "UNKNOWN"  # no such payment for the loan
    ALREADY = "ALREADY"  # reversed before


def entry_to_item(loan_id: str, entry: LedgerEntry, received_at: datetime) -> dict[str, Any]:
    return {
        "loan_id": loan_id,
        "payment_id": entry.payment_id,
        "amount_minor": entry.amount_minor,
        "currency": entry.currency,
        "value_date": entry.value_date.isoformat(),
        "received_at": format_utc(received_at),
        "reversed": entry.reversed,
    }


def entry_from_item(raw: dict[str, Any]) -> LedgerEntry:
    item = plain(raw)
    try:
        return LedgerEntry(
            payment_id=str(item["payment_id"]),
            amount_minor=int(item["amount_minor"]),
            currency=str(item["currency"]),
            value_date=date.fromisoformat(str(item["value_date"])),
            reversed=bool(item.get("reversed", False)),
        )
    except (KeyError, TypeError, ValueError) as error:
        payment_id = item.get("payment_id", "?")
        raise MalformedItem(f"payment {payment_id}: {type(error).__name__}: {error}") from None


class PaymentLedger:
    def __init__(self, table: Table) -> None:
        self._table = table

    def record(self, loan_id: str, entry: LedgerEntry, received_at: datetime) -> bool:
        """Write the entry; False (nothing written) when the payment id is in the ledger already."""
        written = conditional_write(
            self._table.put_item,
            Item=entry_to_item(loan_id, entry, received_at),
            ConditionExpression=Attr("payment_id").not_exists(),
        )
        return written is not None

    def entries(self, loan_id: str) -> list[LedgerEntry]:
        """Every entry of the loan's ledger, reversed ones included (strongly consistent)."""
        return [
            entry_from_item(item)
            for item in all_items(
                self._table.query, KeyConditionExpression=Key("loan_id").eq(loan_id), ConsistentRead=True
            )
        ]

    def reverse(self, loan_id: str, payment_id: str, reversed_at: datetime, reason: str) -> Reversal:
        """Mark the payment reversed, once."""
        written = conditional_write(
            self._table.update_item,
            Key={"loan_id": loan_id, "payment_id": payment_id},
            UpdateExpression="SET #r = :true, reversed_at = :at, reversal_reason = :why",
            ConditionExpression=Attr("payment_id").exists() & Attr("reversed").eq(False),
            ExpressionAttributeNames={"#r": "reversed"},
            ExpressionAttributeValues={":true": True, ":at": format_utc(reversed_at), ":why": reason},
        )
        if written is not None:
            return Reversal.REVERSED
        existing = self._table.get_item(
            Key={"loan_id": loan_id, "payment_id": payment_id}, ConsistentRead=True
        ).get("Item")
        return Reversal.UNKNOWN if existing is None else Reversal.ALREADY
