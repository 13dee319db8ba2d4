"""The Desk table: the collectors' pool of tasks with their leases, and the staff's certifications.

One KMS-encrypted table, two kinds of item (`pk`, `sk`):

* `TASK#<task_id>` / `TASK`: a call or field-visit task taken from its queue into the desk's pool.
  `pool` (`<kind>#<region>`) and `available_at` (ISO UTC: when it may next be claimed) are the
  sparse `DeskPoolIndex`; a claim is a conditional update on the `available_at` it read, so two
  claims never lease one task. A finished or retired task loses `pool` and leaves the index.
* `STAFF#<staff_id>` / `CERT#<kind>`: a certification (dates and the recording supervisor's id).
  Staff are ids only (the token's subject): never a name.
* `CLAIM#<request id>` / `CLAIM`: which task a claim leased (a retried claim answers the same task).

A call task's message holds its borrower's id; an erasure re-keys it to the pseudonym
(`pseudonymise_borrower`, `arrears.usecases.erasure`).

`TaskIntake` reads the dispatcher's queues (`CallTaskQueue`, `FieldVisitQueue`) for the desk.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key

from arrears.adapters.items import plain
from arrears.adapters.tables import conditional_write

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

POOL_INDEX = "DeskPoolIndex"


def _task_key(task_id: str) -> dict[str, str]:
    return {"pk": f"TASK#{task_id}", "sk": "TASK"}


class DeskRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    # -- the pool --------------------------------------------------------------------------------

    def add_task(self, task_id: str, item: dict[str, Any]) -> bool:
        """Put a task into the pool; False when it is there already (a redelivered message)."""
        written = conditional_write(
            self._table.put_item,
            Item={**_task_key(task_id), "task_id": task_id, **item},
            ConditionExpression=Attr("pk").not_exists(),
        )
        return written is not None

    def task(self, task_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key=_task_key(task_id), ConsistentRead=True).get("Item")
        return plain(item) if item is not None else None

    def pseudonymise_borrower(self, task_id: str, borrower_id: str, pseudonym: str) -> bool:
        """Replace `borrower_id` by the erased borrower's `pseudonym` in the pooled task's message (a
        call task's `borrower_id`), whatever the task's state; True when this call changed it (or an
        earlier attempt of it did: a retried write that finds the pseudonym in place). Conditional on
        the old id: no task, or a task of another borrower, is neither created nor changed."""
        answer = conditional_write(
            self._table.update_item,
            Key=_task_key(task_id),
            UpdateExpression="SET #message.borrower_id = :p",
            ConditionExpression="#message.borrower_id = :old",
            ExpressionAttributeNames={"#message": "message"},
            ExpressionAttributeValues={":p": pseudonym, ":old": borrower_id},
            ours=lambda item: plain(item).get("message", {}).get("borrower_id") == pseudonym,
        )
        return answer is not None

    def offered(self, pool: str, now: str, limit: int = 10) -> list[dict[str, Any]]:
        """Tasks of `pool` that may be claimed at `now` (never leased, or their lease ran out), oldest
        first; one page of at most `limit`."""
        answer = self._table.query(
            IndexName=POOL_INDEX,
            KeyConditionExpression=Key("pool").eq(pool) & Key("available_at").lte(now),
            Limit=limit,
        )
        return [plain(item) for item in answer.get("Items", [])]

    def lease(
        self, task_id: str, seen: str, *, staff_id: str, lease_id: str, until: str
    ) -> dict[str, Any] | None:
        """Lease the task to `staff_id` until `until`, if it is still as read (`available_at` == `seen`,
        open); the task as leased, or None when another claim took it first."""
        answer = conditional_write(
            self._table.update_item,
            Key=_task_key(task_id),
            UpdateExpression=(
                "SET available_at = :until, leased_until = :until, staff_id = :staff, lease_id = :lease, "
                "claims = if_not_exists(claims, :zero) + :one"
            ),
            ConditionExpression=Attr("available_at").eq(seen) & Attr("state").eq("OPEN"),
            ExpressionAttributeValues={
                ":until": until,
                ":staff": staff_id,
                ":lease": lease_id,
                ":zero": 0,
                ":one": 1,
            },
            ReturnValues="ALL_NEW",
        )
        return plain(answer["Attributes"]) if answer is not None else None

    def release(self, task_id: str, lease_id: str, now: str, *, report: str, staff_id: str) -> bool:
        """Give the task back to the pool at once (the lease holder is done with it for now); `report`
        (the request that ended the lease) and `staff_id` are kept, so a retry of it is recognised."""
        answer = conditional_write(
            self._table.update_item,
            Key=_task_key(task_id),
            UpdateExpression=(
                "SET available_at = :now, last_report = :report, last_staff = :staff "
                "REMOVE leased_until, staff_id, lease_id"
            ),
            ConditionExpression=Attr("lease_id").eq(lease_id) & Attr("state").eq("OPEN"),
            ExpressionAttributeValues={":now": now, ":report": report, ":staff": staff_id},
        )
        return answer is not None

    def close(
        self, task_id: str, state: str, *, lease_id: str | None, handled_by: str | None, report: str = ""
    ) -> bool:
        """Take the task out of the pool for good (`state` DONE, WITHDRAWN or EXPIRED), under the lease
        `lease_id` when one is named; True when this call closed it. `handled_by` (a staff id) and
        `report` (the request that closed it) are kept."""
        condition: Any = Attr("state").eq("OPEN")
        if lease_id is not None:
            condition = condition & Attr("lease_id").eq(lease_id)
        values: dict[str, Any] = {":state": state}
        update = "SET #state = :state REMOVE #pool, available_at, leased_until"
        if handled_by is not None:
            update = (
                "SET #state = :state, handled_by = :by, last_staff = :by, last_report = :report "
                "REMOVE #pool, available_at, leased_until"
            )
            values[":by"] = handled_by
            values[":report"] = report
        answer = conditional_write(
            self._table.update_item,
            Key=_task_key(task_id),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#state": "state", "#pool": "pool"},
            ExpressionAttributeValues=values,
        )
        return answer is not None

    # -- claims ----------------------------------------------------------------------------------

    def remember_claim(self, request_id: str, task_id: str) -> None:
        self._table.put_item(Item={"pk": f"CLAIM#{request_id}", "sk": "CLAIM", "task_id": task_id})

    def claimed(self, request_id: str) -> str | None:
        """The task a claim with this request id leased, if any."""
        item = self._table.get_item(Key={"pk": f"CLAIM#{request_id}", "sk": "CLAIM"}, ConsistentRead=True)
        found = item.get("Item")
        return str(found["task_id"]) if found is not None else None

    # -- certifications --------------------------------------------------------------------------

    def put_certification(self, staff_id: str, kind: str, item: dict[str, Any]) -> None:
        """Record (or replace) a staff member's certification for a task kind."""
        self._table.put_item(
            Item={"pk": f"STAFF#{staff_id}", "sk": f"CERT#{kind}", "staff_id": staff_id, "kind": kind, **item}
        )

    def certification(self, staff_id: str, kind: str) -> dict[str, Any] | None:
        key = {"pk": f"STAFF#{staff_id}", "sk": f"CERT#{kind}"}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return plain(item) if item is not None else None


class TaskIntake:
    """The dispatcher's task queues, as the desk reads them: one message at a time, removed once pooled."""

    def __init__(self, sqs: Any, queues: dict[str, str]) -> None:
        self._sqs = sqs
        self._queues = queues  # task kind -> queue URL

    def receive(self, kind: str, up_to: int = 10) -> list[tuple[dict[str, Any], str]]:
        """Up to `up_to` messages of the kind's queue: (body, receipt handle)."""
        answer = self._sqs.receive_message(
            QueueUrl=self._queues[kind], MaxNumberOfMessages=up_to, VisibilityTimeout=60
        )
        return [(json.loads(m["Body"]), str(m["ReceiptHandle"])) for m in answer.get("Messages", [])]

    def remove(self, kind: str, receipt: str) -> None:
        self._sqs.delete_message(QueueUrl=self._queues[kind], ReceiptHandle=receipt)

    def put_back(self, kind: str, receipt: str) -> None:
        """Make a message visible again at once (one the desk does not take: another consumer's)."""
        self._sqs.change_message_visibility(
            QueueUrl=self._queues[kind], ReceiptHandle=receipt, VisibilityTimeout=0
        )
