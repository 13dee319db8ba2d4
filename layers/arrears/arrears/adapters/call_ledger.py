"""Per-borrower call ledgers in `ContactCapsTable`: the open call task and the dialer's attempts.

One item per (borrower_id, cap_key): the call ledger of `arrears.domain.call_limits`. Every change is a
read-decide-write with a conditional write on `version`: two dispatchers that read the same ledger
cannot both open a task, the loser re-reads and re-decides, so a borrower never has two open call
tasks however many dispatchers run at once. The TTL (`expires_at`) drops ledgers of borrowers no
longer called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from arrears.adapters.tables import TRANSACTION_REFUSED, conditional_write
from arrears.domain.calendar import format_utc, parse_utc
from arrears.domain.call_limits import (
    CALL_CHANNEL,
    Allowance,
    Attempt,
    CallLedger,
    CallLimits,
    ContactLimit,
    LimitCheck,
    OpenCallTask,
    allowance,
    check_call,
    restamped,
    rules_judging,
    with_attempt,
    with_task,
    without_attempt,
    without_task,
)
from arrears.domain.compliance import ONE_CALL_TASK_RULE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

CALL_LEDGER = "CALL"
LEDGER_TTL = timedelta(days=32)  # past the longest limit window (30 days)
MAX_CONTENTION_RETRIES = 16


class LedgerContention(RuntimeError):
    """The ledger kept changing under us: retry the record later (nothing was reserved)."""


def _entries(raw: Any) -> tuple[Attempt, ...]:
    """`[[at, id, channel, loan_id], ...]`; `[at, id]` (a call, as first stored) and a bare time (older
    `connected` entries, no id) are read too."""
    entries: list[Attempt] = []
    for entry in raw or []:
        if isinstance(entry, str):
            entries.append(Attempt(parse_utc(entry), ""))
        else:
            entries.append(
                Attempt(parse_utc(str(entry[0])), str(entry[1]), *(str(part) for part in entry[2:4]))
            )
    return tuple(entries)


def ledger_from_item(borrower_id: str, item: dict[str, Any] | None) -> CallLedger:
    if item is None:
        return CallLedger(borrower_id)
    conversations = _entries(item.get("conversations"))
    if not conversations and item.get("last_conversation_at"):
        conversations = (Attempt(parse_utc(str(item["last_conversation_at"])), ""),)
    task = item.get("open_task")
    return CallLedger(
        borrower_id=borrower_id,
        attempts=_entries(item.get("attempts")),
        connected=_entries(item.get("connected")),
        conversations=conversations,
        open_task=OpenCallTask(
            str(task["task_id"]), parse_utc(str(task["opened_at"])), parse_utc(str(task["expires_at"]))
        )
        if task
        else None,
        version=int(item.get("version", 0)),
    )


def _listed(entries: tuple[Attempt, ...]) -> list[list[str]]:
    return [[format_utc(e.at), e.action_id, e.channel, e.loan_id] for e in entries]


def _ledger_to_item(ledger: CallLedger, expires_at: datetime) -> dict[str, Any]:
    item: dict[str, Any] = {
        "borrower_id": ledger.borrower_id,
        "cap_key": CALL_LEDGER,
        "attempts": _listed(ledger.attempts),
        "connected": _listed(ledger.connected),
        "conversations": _listed(ledger.conversations),
        "version": ledger.version + 1,
        "expires_at": int(expires_at.timestamp()),
    }
    if ledger.open_task is not None:
        task = ledger.open_task
        item["open_task"] = {
            "task_id": task.task_id,
            "opened_at": format_utc(task.opened_at),
            "expires_at": format_utc(task.expires_at),
        }
    return item


@dataclass(frozen=True, slots=True)
class TaskOpening:
    """What `open_call_task` decided: `opened` with its `allowance`, or why not: a limit (`check`
    not allowed) or another task open for the borrower until `busy_until`."""

    check: LimitCheck
    allowance: Allowance | None = None
    busy_with: OpenCallTask | None = None

    @property
    def opened(self) -> bool:
        return self.allowance is not None


class CallLedgerRepository:
    """The call ledgers of `ContactCapsTable`: one item per borrower, changed by conditional writes."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def ledger(self, borrower_id: str) -> CallLedger:
        item = self._table.get_item(
            Key={"borrower_id": borrower_id, "cap_key": CALL_LEDGER}, ConsistentRead=True
        ).get("Item")
        return ledger_from_item(borrower_id, item)

    def pseudonymise_borrower(self, borrower_id: str, pseudonym: str) -> int:
        """Move the erased borrower's ledger from `borrower_id` to their `pseudonym`: one
        TransactWriteItems puts the copy and deletes the original (conditional on its `version`, so a
        concurrent change is never lost: re-read and moved again). Returns 1 when this call moved
        it, 0 when there was none (moved before, or never called). When a ledger exists under the
        pseudonym already (a step dispatched under it meanwhile), the original is dropped: an erased
        borrower is no longer called, so its counts bind nothing any more."""
        client: Any = self._table.meta.client  # the resource's client: Python values, as the Table's
        for _ in range(MAX_CONTENTION_RETRIES):
            key = {"borrower_id": borrower_id, "cap_key": CALL_LEDGER}
            item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
            if item is None:
                return 0
            version = item.get("version", 0)
            moved = conditional_write(
                client.transact_write_items,
                refused_by=TRANSACTION_REFUSED,
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": {**item, "borrower_id": pseudonym},
                            "ConditionExpression": "attribute_not_exists(borrower_id)",
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self._table.name,
                            "Key": key,
                            "ConditionExpression": "#v = :v",
                            "ExpressionAttributeNames": {"#v": "version"},
                            "ExpressionAttributeValues": {":v": version},
                        }
                    },
                ],
            )
            if moved is not None:
                return 1
            if self._table.get_item(Key={**key, "borrower_id": pseudonym}).get("Item") is not None:
                conditional_write(
                    self._table.delete_item,
                    Key=key,
                    ConditionExpression="#v = :v",
                    ExpressionAttributeNames={"#v": "version"},
                    ExpressionAttributeValues={":v": version},
                )
        raise LedgerContention(f"the call ledger kept changing under {MAX_CONTENTION_RETRIES} moves")

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

    def _change[T](
        self,
        borrower_id: str,
        at: datetime,
        decide: Callable[[CallLedger], tuple[CallLedger | None, T]],
        read: CallLedger | None = None,
    ) -> T:
        """Decide on the ledger and write the change conditionally on its version, re-reading on a
        conflict. `read`: the ledger as the caller read it (the gate's one BatchGetItem, strongly
        consistent), used for the first try instead of a GetItem of its own."""
        for attempt in range(MAX_CONTENTION_RETRIES):
            current = read if attempt == 0 and read is not None else self.ledger(borrower_id)
            new, result = decide(current)
            if new is None or new == current:
                return result
            if self._write(current, new, at):
                return result
        raise LedgerContention(f"call ledger kept changing after {MAX_CONTENTION_RETRIES} tries")

    def open_call_task(
        self,
        borrower_id: str,
        task_id: str,
        at: datetime,
        limits: CallLimits,
        timezone: str,
        window_end: datetime,
        *,
        contact_limits: tuple[ContactLimit, ...] = (),
        loan_id: str = "",
        read: CallLedger | None = None,
    ) -> TaskOpening:
        """Open the borrower's one call task `task_id` at `at` if no other is open and a call is allowed.

        Idempotent per task: re-opening the open task (a retried record) returns its allowance again.
        The task expires at the earliest of `window_end` and the borrower's next local midnight
        (`allowance`). `read`: the ledger already read (see `_change`). Raises `LedgerContention`
        when the ledger kept changing.
        """

        def decide(ledger: CallLedger) -> tuple[CallLedger | None, TaskOpening]:
            task = ledger.task_open(at)
            if task is not None and task.task_id != task_id:
                return None, TaskOpening(
                    LimitCheck(False, ONE_CALL_TASK_RULE, "a call task is open"), None, task
                )
            if task is not None:  # our own task, opened by an earlier try of this record: send it
                allowed = allowance(
                    ledger,
                    limits,
                    at,
                    timezone,
                    task.expires_at,
                    contact_limits=contact_limits,
                    loan_id=loan_id,
                )
                held = tuple((rule, "PASS") for rule in rules_judging(limits, contact_limits, CALL_CHANNEL))
                return None, TaskOpening(LimitCheck(True, rules_checked=held), allowed)
            check = check_call(
                ledger,
                limits,
                at,
                timezone,
                contact_limits=contact_limits,
                channel=CALL_CHANNEL,
                loan_id=loan_id,
            )
            if not check.allowed:
                return None, TaskOpening(check)
            allowed = allowance(
                ledger, limits, at, timezone, window_end, contact_limits=contact_limits, loan_id=loan_id
            )
            opened = with_task(ledger, OpenCallTask(task_id, at, allowed.expires_at))
            return opened, TaskOpening(check, allowed)

        return self._change(borrower_id, at, decide, read)

    def close_call_task(self, borrower_id: str, task_id: str, at: datetime) -> None:
        """Close `task_id` (never queued, withdrawn, or done); another open task is left alone."""
        self._change(borrower_id, at, lambda ledger: (without_task(ledger, task_id), None))

    def reserve_call(
        self,
        borrower_id: str,
        action_id: str,
        at: datetime,
        limits: CallLimits,
        timezone: str,
        *,
        contact_limits: tuple[ContactLimit, ...] = (),
        channel: str = "SMS",
        loan_id: str = "",
    ) -> LimitCheck:
        """Take one contact slot on `channel` (a text, an e-mail: not a call, whose attempts count when
        the dialer reports them) for `action_id` (about `loan_id`) if each of `contact_limits` that
        names the channel allows it (idempotent per action).

        Raises `LedgerContention` when the ledger kept changing under concurrent writers.
        """

        def decide(ledger: CallLedger) -> tuple[CallLedger | None, LimitCheck]:
            if ledger.holds(action_id):  # a retry: the slot was taken, by the same rules; it moves to
                # the retry's instant, when the contact is made (`restamped`)
                held = tuple((rule, "PASS") for rule in rules_judging(limits, contact_limits, channel))
                return restamped(ledger, action_id, at), LimitCheck(True, rules_checked=held)
            check = check_call(
                ledger, limits, at, timezone, contact_limits=contact_limits, channel=channel, loan_id=loan_id
            )
            taken = with_attempt(ledger, action_id, at, channel=channel, loan_id=loan_id)
            return (taken if check.allowed else None), check

        return self._change(borrower_id, at, decide)

    def release_call(self, borrower_id: str, action_id: str, at: datetime) -> None:
        """Give back the slot of a contact (a text) that was never made."""

        def decide(ledger: CallLedger) -> tuple[CallLedger | None, LimitCheck]:
            if not ledger.holds(action_id):
                return None, LimitCheck(True)
            return without_attempt(ledger, action_id), LimitCheck(True)

        self._change(borrower_id, at, decide)

    def record_attempt(
        self,
        borrower_id: str,
        call_id: str,
        at: datetime,
        *,
        connected: bool,
        conversation: bool,
        close: Callable[[CallLedger], str | None],
        loan_id: str = "",
    ) -> tuple[CallLedger, CallLedger]:
        """Count the dialer's attempt `call_id` (once), and close the task `close` names, if any.

        `close` gets the ledger with the attempt counted and returns the id of the task to close
        (the attempt's task when the dialer is done or nothing more is allowed) or None. Returns the
        ledger as read before this write (the caller judges the attempt on what came before it,
        `CallLedger.before`) and as written. Raises `LedgerContention` when the ledger kept changing.
        """

        def decide(ledger: CallLedger) -> tuple[CallLedger | None, tuple[CallLedger, CallLedger]]:
            counted = with_attempt(
                ledger, call_id, at, loan_id=loan_id, connected=connected, conversation=conversation
            )
            done = close(counted)
            new = without_task(counted, done) if done else counted
            return new, (ledger, new)

        return self._change(borrower_id, at, decide)
