"""Per-borrower call ledgers in `ContactCapsTable`, reserved atomically against the call limits.

One item per (borrower_id, cap_key): the call ledger of `arrears.domain.call_limits`. Every change is a
read-decide-write with a conditional write on `version`: two dispatchers that read the same ledger
cannot both write it, the loser re-reads and re-decides, so no cap is ever exceeded however many
dispatchers run at once. The TTL (`expires_at`) drops ledgers of borrowers no longer called.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from arrears.adapters.tables import conditional_write
from arrears.domain.calendar import format_utc, parse_utc
from arrears.domain.call_limits import (
    Attempt,
    CallLedger,
    CallLimits,
    ContactLimit,
    LimitCheck,
    check_call,
    with_attempt,
    with_outcome,
    without_attempt,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

CALL_LEDGER = "CALL"
LEDGER_TTL = timedelta(days=32)  # past the longest limit window (30 days)
MAX_CONTENTION_RETRIES = 16


class LedgerContention(RuntimeError):
    """The ledger kept changing under us: retry the record later (nothing was reserved)."""


def _ledger_from_item(borrower_id: str, item: dict[str, Any] | None) -> CallLedger:
    if item is None:
        return CallLedger(borrower_id)
    last = item.get("last_conversation_at")
    return CallLedger(
        borrower_id=borrower_id,
        # [at, action_id] (calls, as first stored) or [at, action_id, channel, loan_id].
        attempts=tuple(
            Attempt(parse_utc(str(entry[0])), str(entry[1]), *(str(part) for part in entry[2:4]))
            for entry in item.get("attempts", [])
        ),
        connected=tuple(parse_utc(str(at)) for at in item.get("connected", [])),
        last_conversation_at=parse_utc(str(last)) if last else None,
        version=int(item.get("version", 0)),
    )


def _ledger_to_item(ledger: CallLedger, expires_at: datetime) -> dict[str, Any]:
    item: dict[str, Any] = {
        "borrower_id": ledger.borrower_id,
        "cap_key": CALL_LEDGER,
        "attempts": [[format_utc(a.at), a.action_id, a.channel, a.loan_id] for a in ledger.attempts],
        "connected": [format_utc(at) for at in ledger.connected],
        "version": ledger.version + 1,
        "expires_at": int(expires_at.timestamp()),
    }
    if ledger.last_conversation_at is not None:
        item["last_conversation_at"] = format_utc(ledger.last_conversation_at)
    return item


class CallLedgerRepository:
    """The call ledgers of `ContactCapsTable`: one item per borrower, changed by conditional writes."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def ledger(self, borrower_id: str) -> CallLedger:
        item = self._table.get_item(
            Key={"borrower_id": borrower_id, "cap_key": CALL_LEDGER}, ConsistentRead=True
        ).get("Item")
        return _ledger_from_item(borrower_id, item)

    def _write(self, current: CallLedger, new: CallLedger, at: datetime) -> bool:
        condition: dict[str, Any]
        if current.version == 0:
            condition = {"ConditionExpression": "attribute_not_exists(borrower_id)"}
        else:
            condition = {
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":v": current.version},
            }
        written = conditional_write(
            self._table.put_item, Item=_ledger_to_item(new, at + LEDGER_TTL), **condition
        )
        return written is not None

    def _change(
        self,
        borrower_id: str,
        at: datetime,
        decide: Callable[[CallLedger], tuple[CallLedger | None, LimitCheck]],
    ) -> LimitCheck:
        for _ in range(MAX_CONTENTION_RETRIES):
            current = self.ledger(borrower_id)
            new, check = decide(current)
            if new is None or new == current:
                return check
            if self._write(current, new, at):
                return check
        raise LedgerContention(f"call ledger kept changing after {MAX_CONTENTION_RETRIES} tries")

    def reserve_call(
        self,
        borrower_id: str,
        action_id: str,
        at: datetime,
        limits: CallLimits,
        timezone: str,
        *,
        contact_limits: tuple[ContactLimit, ...] = (),
        channel: str = "CALL_TASK",
        loan_id: str = "",
    ) -> LimitCheck:
        """Take one contact slot on `channel` for `action_id` (about `loan_id`) if every limit allows
        it (idempotent per action): the call caps for a call task, and each of `contact_limits` that
        names the channel.

        Raises `LedgerContention` when the ledger kept changing under concurrent writers.
        """

        def decide(ledger: CallLedger) -> tuple[CallLedger | None, LimitCheck]:
            if ledger.holds(action_id):
                return None, LimitCheck(True, rules_checked=(("call_caps", "PASS"),))
            check = check_call(
                ledger, limits, at, timezone, contact_limits=contact_limits, channel=channel, loan_id=loan_id
            )
            taken = with_attempt(ledger, action_id, at, channel=channel, loan_id=loan_id)
            return (taken if check.allowed else None), check

        return self._change(borrower_id, at, decide)

    def release_call(self, borrower_id: str, action_id: str, at: datetime) -> None:
        """Give back the slot of a contact (call task, text) that was never made."""

        def decide(ledger: CallLedger) -> tuple[CallLedger | None, LimitCheck]:
            if not ledger.holds(action_id):
                return None, LimitCheck(True)
            return without_attempt(ledger, action_id), LimitCheck(True)

        self._change(borrower_id, at, decide)

    def record_call_outcome(
        self, borrower_id: str, at: datetime, *, connected: bool, conversation: bool
    ) -> None:
        """The dialer's report of a call (CallOutcome): feeds the connected and conversation limits."""

        def decide(ledger: CallLedger) -> tuple[CallLedger | None, LimitCheck]:
            return with_outcome(ledger, at, connected=connected, conversation=conversation), LimitCheck(True)

        self._change(borrower_id, at, decide)
