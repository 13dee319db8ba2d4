"""The send outbox: a contact handed to SNS or SQS at most once per action, whatever fails.

One item per action in the idempotency table (`id = outbox#<action id>`), claimed conditionally
*before* the send and completed after it:

    (none) --claim--> INTENT(token, until) --sent--> COMPLETED(message id)
                          |  refused before the service took it: released (item deleted), retry
                          |  ambiguous (response lost): COMPLETED(unconfirmed), never sent again
                          |  the holder died: after `until`, the next run finds it and records it
                          |                   COMPLETED(unconfirmed), never sent again
                          |  sent, and the caller's own record of it written (`recorded`): left
                          |  INTENT; the caller's record is what every later run reads

* "Refused before the service took it" is an answer from the service (any `ClientError`: a
  throttle, a 5xx, a refusal) or a connection that never opened (`EndpointConnectionError`,
  `ConnectTimeoutError`): nothing was delivered, the claim is given back and the send retried.
* "Ambiguous" is a request that went out without an answer (`ReadTimeoutError`,
  `ConnectionClosedError`, any other botocore error): the service may have applied it. SNS SMS,
  e-mail and topics and SQS standard queues cannot deduplicate, so such a send is recorded as
  made but unconfirmed (`SendUnconfirmed`) and never repeated: at most once, not at least once.
  A send to a FIFO queue with a deduplication id (`retry_safe`) is retried instead, within SQS's
  5-minute deduplication interval from the claim.
* A claim's `until` is the invocation's own deadline (Lambda's remaining time when it claimed):
  before it, the holder may still be sending and another run waits (`SendInProgress`, transient);
  after it, the holder is dead and whatever it did is recorded unconfirmed.
* The item expires (`expiration`, DynamoDB TTL) `OUTBOX_TTL` after the claim: longer than any
  failure queue keeps a message (14 days), so no replay can find an action's outbox gone.
* The claim carries the caller's `decision` (the dispatcher's: the SENT outcome as judged at the
  claim's instant, and the body of a deduplicated task): a send, once handed to the outbox, is
  decided. A later run that finds the claim (`SendClaim`, read with the action by
  `arrears.adapters.gate_reads`) finishes that decision, with its instant and digest, whatever the
  gate would say by then: a contact is recorded once, at one instant, and never left made but
  recorded as something else.
* The claim and the action's settling are conditional on each other. A claim may carry a `guard`
  (`ActionRepository.unchanged`: the action still at the status and version the caller judged):
  the put and that `ConditionCheck` are one TransactWriteItems, so no send is claimed for an action
  another run settled meanwhile (`ClaimRefused`). A run that settles an open action without sending
  it (the planner's cancellation on a cure) writes its transition with `unclaimed(key)` (a
  `ConditionCheck` that no claim exists) in one transaction: whichever commits first, the other is
  refused, so a send is never made for an action just cancelled, nor an action cancelled whose send
  was claimed (docs/reliability.md, "The planner and the dispatcher").
* A deduplicated send (`retry_safe`) whose answer was lost keeps its claim, ended at once (`until`
  = its claim instant), instead of giving it back: the next run resends the claim's own body within
  the deduplication interval rather than judging the contact again.

Every call to the table is retried alone on a transient error (`retry_transient`): the claim's put
(refused on a repeat with our own token: ours), its transaction (answered by its request token), the
read-back and the completion (conditional on our token): a claim that met one fault no longer sends
the contact back to its stream's retry, to be judged again later.

The window that remains (docs/reliability.md): a send made by an invocation that died, or whose
answer was lost, is recorded "unconfirmed"; a claim taken by an invocation that died *before* its
send is recorded the same way, so that contact is not made (lost, never duplicated).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from arrears.adapters.clock import Clock, WallClock
from arrears.adapters.errors import not_applied
from arrears.adapters.retrying import retry_transient
from arrears.adapters.tables import CONDITION_FAILED, first_member_item, stored_item
from arrears.domain.calendar import format_utc, parse_utc

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

OUTBOX_TTL = timedelta(days=30)
FIFO_DEDUPLICATION_INTERVAL = timedelta(minutes=5)
DEFAULT_DEADLINE = timedelta(seconds=60)
"""How long a claim holds without a Lambda context (tests, the local harness without one)."""
RELEASE_ATTEMPTS = 3

INTENT = "INTENT"
COMPLETED = "COMPLETED"


def outbox_key(key: str) -> str:
    """The idempotency table's `id` of the outbox item of `key` (an action id, or a notice's key)."""
    return f"outbox#{key}"


@dataclass(frozen=True)
class SendClaim:
    """An outbox item as stored: a send started (`INTENT`) or done (`COMPLETED`) for `key`.

    `decision` is what the claimer decided, stored with the claim (None for a claim that carries
    none); `message_id` / `unconfirmed` are set once COMPLETED.
    """

    key: str
    status: str
    claimed_at: datetime
    until: datetime
    decision: Mapping[str, Any] | None = None
    message_id: str = ""
    unconfirmed: str = ""


def claim_from_item(item: Mapping[str, Any]) -> SendClaim:
    """The `SendClaim` of an outbox item (plain values); KeyError/ValueError when malformed."""
    decision = item.get("decision")
    return SendClaim(
        key=str(item["id"]).removeprefix("outbox#"),
        status=str(item["status"]),
        claimed_at=parse_utc(str(item["claimed_at"])),
        until=parse_utc(str(item["until"])),
        decision=dict(decision) if isinstance(decision, Mapping) else None,
        message_id=str(item.get("message_id", "")),
        unconfirmed=str(item.get("unconfirmed", "")),
    )


class SendUnconfirmed(RuntimeError):
    """The send may or may not have reached the channel; it will not be repeated. `code` says why
    (the botocore error of the lost answer, or `InvocationEnded` for a holder that died)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"send unconfirmed ({code})")
        self.code = code


class SendInProgress(RuntimeError):
    """Another invocation holds the claim and may still be sending: retry after its deadline."""


class ClaimRefused(RuntimeError):
    """The claim's `guard` did not hold (the action was settled or changed since it was read): no
    claim was taken and nothing was sent."""


class SendOutbox:
    """`outbox(key, effect, retry_safe=False, recorded=None, decision=None)` runs `effect()` (the
    send; returns the message id) at most once per key; a repeat returns the first send's message
    id, or raises `SendUnconfirmed`."""

    def __init__(self, table: Table, clock: Clock | None = None) -> None:
        self._table = table
        self._clock = clock or WallClock()
        self._context: Any = None

    def register_lambda_context(self, context: Any) -> None:
        """The invocation's context: a claim lasts until its deadline (the remaining time)."""
        self._context = context

    def unclaimed(self, key: str) -> dict[str, Any]:
        """A TransactWriteItems `ConditionCheck` member: no send was claimed for `key` (no outbox
        item, INTENT or COMPLETED). A run that settles an open action without sending it writes its
        transition with this check (`ActionRepository.transition(..., unless=...)`): a send once
        claimed was decided, and only its own finishing (the dispatcher's `_resume`) settles it."""
        return {
            "ConditionCheck": {
                "TableName": self._table.name,
                "Key": {"id": outbox_key(key)},
                "ConditionExpression": "attribute_not_exists(id)",
            }
        }

    def _deadline(self, now: datetime) -> datetime:
        if self._context is None:
            return now + DEFAULT_DEADLINE
        return now + timedelta(milliseconds=int(self._context.get_remaining_time_in_millis()))

    def __call__(
        self,
        key: str,
        effect: Callable[[], str],
        *,
        retry_safe: bool = False,
        recorded: Callable[[], object] | None = None,
        decision: Mapping[str, Any] | None = None,
        guard: Mapping[str, Any] | None = None,
    ) -> str:
        """Run `effect` at most once for `key`; returns its message id (a repeat: the first one's).

        `guard`: a TransactWriteItems `ConditionCheck` member written with the claim, in one
        transaction (`ActionRepository.unchanged`): when it fails and no claim holds the key,
        `ClaimRefused` is raised and nothing is sent. A key already claimed is answered as without
        a guard (the claim's own run decided it).

        `decision`: stored with the claim (plain JSON values), for a later run that finds the claim
        to finish the send as decided (`SendClaim.decision`); no personal data.

        `recorded`: the caller's own conditional write of the send (the dispatcher's SENT transition
        of the action, which every later run reads first and then stops): run right after a send the
        channel confirmed, *in place of* the claim's completion, which saves a write per contact. The
        completion is written only when `recorded` raises, so the next run replays the message id
        instead of recording the send unconfirmed. A run that dies between the send and `recorded`
        leaves the claim INTENT, recorded unconfirmed after its deadline, as without `recorded`.
        """
        item_id = outbox_key(key)
        now = self._clock.now()
        token = uuid.uuid4().hex
        claim: dict[str, Any] = {
            "id": item_id,
            "status": INTENT,
            "token": token,
            "claimed_at": format_utc(now),
            "until": format_utc(self._deadline(now)),
            "expiration": int((now + OUTBOX_TTL).timestamp()),
        }
        if decision is not None:
            claim["decision"] = dict(decision)
        held = self._claim(claim, guard)
        if held is not None and held.get("token") != token:
            try:
                token = self._resolve(held, now, retry_safe)
            except _Replayed as replayed:
                return replayed.message_id
        try:
            message_id = effect()
        except (ClientError, BotoCoreError) as error:
            if not_applied(error):
                self._release(item_id, token)
                raise
            if retry_safe:
                # Maybe sent: keep the claim (and its decision), ended now, so the next run resends
                # the same body (deduplicated) instead of judging the contact again.
                self._end(item_id, token)
                raise
            code = type(error).__name__
            self._complete(item_id, token, unconfirmed=code)
            raise SendUnconfirmed(code) from error
        except Exception:
            self._release(item_id, token)
            raise
        if recorded is None:
            self._complete(item_id, token, message_id=message_id)
            return message_id
        try:
            recorded()
        except Exception:
            self._complete(item_id, token, message_id=message_id)
            raise
        return message_id

    def _claim(self, claim: dict[str, Any], guard: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """Put the claim (with `guard`, in one transaction); None when it is ours, else the item that
        holds the key. Raises `ClaimRefused` when only the guard failed."""
        unclaimed = "attribute_not_exists(id)"
        try:
            # Retried alone on a transient error: a retry of an applied put is refused with our own
            # item (our token: ours), and of an applied transaction is answered by its token.
            if guard is None:
                retry_transient(
                    partial(
                        self._table.put_item,
                        Item=claim,
                        ConditionExpression=unclaimed,
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    )
                )
            else:
                put = {
                    "TableName": self._table.name,
                    "Item": claim,
                    "ConditionExpression": unclaimed,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
                client: Any = self._table.meta.client  # the resource's client: Python values
                transact = partial(
                    client.transact_write_items,
                    TransactItems=[{"Put": put}, dict(guard)],
                    # A retry of a lost answer (botocore's or ours) repeats the same token: applied once.
                    ClientRequestToken=claim["token"],
                )
                retry_transient(transact)
            return None
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in CONDITION_FAILED:
                return stored_item(error) or {}
            if code == "TransactionCanceledException" and _member_failed(error, 0):
                return first_member_item(error) or {}
            if code == "TransactionCanceledException" and _member_failed(error, 1):
                raise ClaimRefused(f"{claim['id']}: the action changed since it was read") from None
            if not_applied(error):
                raise
            return self._read_back(claim, error)
        except BotoCoreError as error:
            if not_applied(error):
                raise
            return self._read_back(claim, error)

    def _read_back(self, claim: dict[str, Any], error: BaseException) -> dict[str, Any]:
        """The claim's answer was lost: read what the table holds (ours, another's, or nothing)."""
        read = partial(self._table.get_item, Key={"id": claim["id"]}, ConsistentRead=True)
        item = retry_transient(read).get("Item")
        if item is None:
            raise error
        return dict(item)

    def _resolve(self, held: dict[str, Any], now: datetime, retry_safe: bool) -> str:
        """Someone else's item: replay a completed send, wait for a live holder, or take over a
        dead holder's claim (only to record it unconfirmed, or to resend a deduplicated send)."""
        if held.get("status") == COMPLETED:
            if held.get("unconfirmed"):
                raise SendUnconfirmed(str(held["unconfirmed"]))
            raise _Replayed(str(held.get("message_id", "")))
        if parse_utc(str(held["until"])) > now:
            raise SendInProgress(f"{held['id']} claimed until {held['until']}")
        item_id, old = str(held["id"]), str(held["token"])
        claimed_at = parse_utc(str(held["claimed_at"]))
        if retry_safe and now < claimed_at + FIFO_DEDUPLICATION_INTERVAL:
            token = uuid.uuid4().hex
            self._table.update_item(
                Key={"id": item_id},
                UpdateExpression="SET #t = :t, #u = :u",
                ConditionExpression="#t = :old",
                ExpressionAttributeNames={"#t": "token", "#u": "until"},
                ExpressionAttributeValues={":t": token, ":u": format_utc(self._deadline(now)), ":old": old},
            )
            return token
        self._complete(item_id, old, unconfirmed="InvocationEnded")
        raise SendUnconfirmed("InvocationEnded")

    def _complete(self, item_id: str, token: str, *, message_id: str = "", unconfirmed: str = "") -> None:
        """Mark the claim COMPLETED. Best effort: a failure leaves the claim INTENT, which a later run
        records unconfirmed after its deadline (never a second send)."""
        values: dict[str, Any] = {":c": COMPLETED, ":t": token, ":m": message_id}
        update = "SET #s = :c, message_id = :m"
        if unconfirmed:
            update += ", unconfirmed = :u"
            values[":u"] = unconfirmed
        complete = partial(
            self._table.update_item,
            Key={"id": item_id},
            UpdateExpression=update,
            ConditionExpression="#tk = :t",
            ExpressionAttributeNames={"#s": "status", "#tk": "token"},
            ExpressionAttributeValues=values,
        )
        try:
            retry_transient(complete)  # a repeat of an applied completion writes the same values
        except (ClientError, BotoCoreError):
            return

    def _end(self, item_id: str, token: str) -> None:
        """End our claim now (`until` = its claim instant): the next run takes it over at once. Best
        effort: a failure leaves it until its deadline, as for a holder that died."""
        end = partial(
            self._table.update_item,
            Key={"id": item_id},
            UpdateExpression="SET #u = claimed_at",
            ConditionExpression="#tk = :t",
            ExpressionAttributeNames={"#u": "until", "#tk": "token"},
            ExpressionAttributeValues={":t": token},
        )
        try:
            retry_transient(end)
        except (ClientError, BotoCoreError):
            return

    def _release(self, item_id: str, token: str) -> None:
        """Give the claim back (nothing was sent), a few times over transient errors."""
        for _ in range(RELEASE_ATTEMPTS):
            try:
                self._table.delete_item(
                    Key={"id": item_id},
                    ConditionExpression="#tk = :t",
                    ExpressionAttributeNames={"#tk": "token"},
                    ExpressionAttributeValues={":t": token},
                )
                return
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in CONDITION_FAILED:
                    return
            except BotoCoreError:
                continue


def _member_failed(error: ClientError, index: int) -> bool:
    """Whether the cancelled transaction's member `index` failed its condition."""
    reasons: Any = error.response.get("CancellationReasons") or []
    return len(reasons) > index and reasons[index].get("Code") == "ConditionalCheckFailed"


class _Replayed(Exception):
    def __init__(self, message_id: str) -> None:
        super().__init__(message_id)
        self.message_id = message_id
