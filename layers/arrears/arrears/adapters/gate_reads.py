"""What the send-time gate reads, in one request: an action, its loan and its borrower.

The dispatcher's stream record carries the action's new image, so the loan and borrower ids are
known before anything is read: one strongly consistent BatchGetItem across the Actions, Loans and
Borrowers tables reads all three (three GetItem requests before). The state judged is still read
at the instant of the contact, never taken from the record: only the ids (which never change for
an action) come from it. Without the ids (the deferred release reads ids from a keys-only index),
the action is read first and its loan and borrower in a second BatchGetItem. A call task's request
also reads the borrower's call ledger (ContactCapsTable), which opening the task needs. Every
request also reads the action's send-outbox claim (IdempotencyTable, `outbox#<action id>`): a claim
means an earlier run decided the send and handed it over, and the dispatcher finishes that decision
instead of judging the contact again (`arrears.adapters.outbox`).

A BatchGetItem costs the same read units as the GetItem requests it replaces (1 per started 4 KB,
strongly consistent); DynamoDB may hand keys back unprocessed under load, which are asked again. A
read that meets a transient error is made again alone (`retry_transient`): it is the state at the
instant of the contact all the same (a pause of well under a second), and the record is not failed
for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from arrears.adapters.call_ledger import CALL_LEDGER, ledger_from_item
from arrears.adapters.items import action_from_item, borrower_from_item, loan_from_item, plain
from arrears.adapters.outbox import SendClaim, claim_from_item, outbox_key
from arrears.adapters.retrying import retry_transient
from arrears.domain.actions import Action
from arrears.domain.borrowers import Borrower
from arrears.domain.call_limits import CallLedger
from arrears.domain.loans import Loan

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

MAX_ROUNDS = 8
"""How many times unprocessed keys are asked again before the read fails (transient: retried)."""


class UnprocessedReads(RuntimeError):
    """DynamoDB kept handing keys back (throttled under load): the record is retried later."""


@dataclass(frozen=True)
class GateState:
    """The action as stored, and its loan and borrower (None: not found); the borrower's call ledger
    when it was asked for (None: not read; an empty ledger: none stored yet); the action's send
    claim (None: no send started, or no outbox table given)."""

    action: Action | None
    loan: Loan | None = None
    borrower: Borrower | None = None
    ledger: CallLedger | None = None
    claim: SendClaim | None = None


class GateReads:
    """Reads an action with its loan and borrower (`read`), in as few requests as the ids allow."""

    def __init__(
        self,
        actions: Table,
        loans: Table,
        borrowers: Table,
        caps: Table | None = None,
        outbox: Table | None = None,
    ) -> None:
        self._actions = actions
        self._loans = loans
        self._borrowers = borrowers
        self._caps = caps
        self._outbox = outbox

    def read(
        self,
        action_id: str,
        loan_id: str | None = None,
        borrower_id: str | None = None,
        *,
        with_ledger: bool = False,
    ) -> GateState:
        """The action `action_id` with its loan and borrower, strongly consistent.

        `loan_id` and `borrower_id` (from the stream record's image) let one request read all three;
        when they disagree with the stored action's (never, for a well-formed record), the stored
        action's own are read. `with_ledger`: read the borrower's call ledger in the same request
        (a call task). Raises `UnprocessedReads` when DynamoDB keeps keys unprocessed.
        """
        keys: dict[Any, list[dict[str, str]]] = {self._actions: [{"action_id": action_id}]}
        ledger = with_ledger and self._caps is not None and bool(loan_id and borrower_id)
        if loan_id and borrower_id:
            keys[self._loans] = [{"loan_id": loan_id}]
            keys[self._borrowers] = [{"borrower_id": borrower_id}]
        if ledger and borrower_id:
            keys[self._caps] = [{"borrower_id": borrower_id, "cap_key": CALL_LEDGER}]
        if self._outbox is not None:
            keys[self._outbox] = [{"id": outbox_key(action_id)}]
        found = self._batch(keys)
        raw_action = _one(found, self._actions)
        if raw_action is None:
            return GateState(None)
        action = action_from_item(raw_action)
        raw_claim = _one(found, self._outbox) if self._outbox is not None else None
        claim = None if raw_claim is None else claim_from_item(plain(raw_claim))
        if (loan_id, borrower_id) != (action.loan_id, action.borrower_id):
            ledger = False
            found = self._batch(
                {
                    self._loans: [{"loan_id": action.loan_id}],
                    self._borrowers: [{"borrower_id": action.borrower_id}],
                }
            )
        raw_loan, raw_borrower = _one(found, self._loans), _one(found, self._borrowers)
        return GateState(
            action,
            None if raw_loan is None else loan_from_item(raw_loan),
            None if raw_borrower is None else borrower_from_item(raw_borrower),
            ledger_from_item(action.borrower_id, _one(found, self._caps)) if ledger else None,
            claim,
        )

    def _batch(self, keys: dict[Any, list[dict[str, str]]]) -> dict[str, list[dict[str, Any]]]:
        """One BatchGetItem over every table of `keys` (items by table name), unprocessed keys again."""
        # The Table resource has no batch read; its client converts values as the Table does.
        client: Any = self._actions.meta.client
        request: dict[str, Any] = {
            table.name: {"Keys": table_keys, "ConsistentRead": True} for table, table_keys in keys.items()
        }
        found: dict[str, list[dict[str, Any]]] = {}
        for _ in range(MAX_ROUNDS):
            response = retry_transient(partial(client.batch_get_item, RequestItems=request))
            for name, items in response.get("Responses", {}).items():
                found.setdefault(name, []).extend(items)
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
        raise UnprocessedReads(f"{len(request)} tables' keys still unprocessed by BatchGetItem")


def _one(found: dict[str, list[dict[str, Any]]], table: Any) -> dict[str, Any] | None:
    items = found.get(table.name) or []
    return items[0] if items else None
