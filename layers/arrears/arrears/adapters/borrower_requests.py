"""The BorrowerRequests table: what borrowers asked through the borrower API, with its free text.

One item per request (`request_id`, from the caller and the `Idempotency-Key`): kind, borrower,
loan, instant, codes and dates (`details`), and the borrower's free text (`text`) if any. The table is
encrypted at rest with the stack's KMS data key; the free text lives here only (never in a log, a
metric or the archive) and is erased with the borrower. Open complaints carry `complaint_open="OPEN"`
and `close_by` (the sparse OpenComplaintIndex), so the deadline check reads only those.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key

from arrears.adapters.items import plain
from arrears.adapters.retrying import retry_transient
from arrears.adapters.tables import all_items, conditional_write

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

OPEN_COMPLAINT_INDEX = "OpenComplaintIndex"
REQUESTS_BY_BORROWER_INDEX = "BorrowerIndex"


class BorrowerRequestRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, item: dict[str, Any]) -> bool:
        """Store a new request; False (nothing written) when a request with its id is stored already."""
        written = conditional_write(
            self._table.put_item,
            Item={key: value for key, value in item.items() if value is not None},
            ConditionExpression=Attr("request_id").not_exists(),
        )
        return written is not None

    def get(self, request_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"request_id": request_id}, ConsistentRead=True).get("Item")
        return plain(item) if item is not None else None

    def decide_plan(self, request_id: str, status: str, staff_id: str, at: datetime) -> bool:
        """Record a supervisor's decision on a queued plan request, once: False (nothing written) when
        the request is no longer queued (decided by someone else first)."""
        written = conditional_write(
            self._table.update_item,
            Key={"request_id": request_id},
            UpdateExpression="SET plan_status = :status, decided_by = :staff, decided_at = :at",
            ConditionExpression=Attr("plan_status").eq("queued"),
            ExpressionAttributeValues={":status": status, ":staff": staff_id, ":at": at.isoformat()},
        )
        return written is not None

    def lapse_plan(self, request_id: str, reason: str) -> bool:
        """Record that an approved plan request could not be agreed (`reason`: the refusal's code,
        e.g. `nothing_due` when the loan was paid before the decision): `plan_status` becomes
        `lapsed`, once (False: not approved, or lapsed before)."""
        written = conditional_write(
            self._table.update_item,
            Key={"request_id": request_id},
            UpdateExpression="SET plan_status = :lapsed, lapsed_because = :reason",
            ConditionExpression=Attr("plan_status").eq("approved"),
            ExpressionAttributeValues={":lapsed": "lapsed", ":reason": reason},
        )
        return written is not None

    def open_complaints_due(self, by: date) -> list[dict[str, Any]]:
        """Open complaints whose close-by date is on or before `by` (all pages; no free text read)."""
        return [
            plain(item)
            for item in all_items(
                self._table.query,
                IndexName=OPEN_COMPLAINT_INDEX,
                KeyConditionExpression=Key("complaint_open").eq("OPEN") & Key("close_by").lte(by.isoformat()),
            )
        ]

    def pseudonymise_borrower(self, borrower_id: str, pseudonym: str) -> int:
        """On an erasure: replace `borrower_id` by the borrower's `pseudonym` on each of their requests
        (found on the keys-only BorrowerIndex) and remove the free text (`text`: what the borrower
        wrote is theirs); kind, loan, dates and codes stay (a complaint's deadline, a dispute's
        evidence). Returns how many this call changed; conditional on the old id: repeatable."""
        changed = 0
        for item in all_items(
            self._table.query,
            IndexName=REQUESTS_BY_BORROWER_INDEX,
            KeyConditionExpression=Key("borrower_id").eq(borrower_id),
        ):
            written = retry_transient(  # one idempotent write, retried alone: not the whole move
                partial(
                    conditional_write,
                    self._table.update_item,
                    Key={"request_id": item["request_id"]},
                    UpdateExpression="SET borrower_id = :p REMOVE #text",
                    ExpressionAttributeNames={"#text": "text"},
                    ExpressionAttributeValues={":p": pseudonym, ":old": borrower_id},
                    ConditionExpression="borrower_id = :old",
                )
            )
            changed += written is not None
        return changed

    def answer_complaint(self, request_id: str, answer: dict[str, Any]) -> bool:
        """Close an open complaint with its answer (`answer`: outcome code, instant, staff id, the
        answer's text); it leaves OpenComplaintIndex. False when it is not an open complaint."""
        written = conditional_write(
            self._table.update_item,
            Key={"request_id": request_id},
            UpdateExpression="SET answer = :answer REMOVE complaint_open",
            ConditionExpression=Attr("complaint_open").eq("OPEN"),
            ExpressionAttributeValues={":answer": {k: v for k, v in answer.items() if v is not None}},
        )
        return written is not None

    def extend_complaint(self, request_id: str, close_by: str, extension: dict[str, Any]) -> bool:
        """Move an open complaint's close-by date to `close_by` (once: an extended complaint is not
        extended again). False when it is not an open, unextended complaint."""
        written = conditional_write(
            self._table.update_item,
            Key={"request_id": request_id},
            UpdateExpression="SET close_by = :close_by, extension = :extension",
            ConditionExpression=Attr("complaint_open").eq("OPEN") & Attr("extension").not_exists(),
            ExpressionAttributeValues={":close_by": close_by, ":extension": extension},
        )
        return written is not None
