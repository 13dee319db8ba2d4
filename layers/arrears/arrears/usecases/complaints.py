"""Complaints after they are made: the answer recorded, the deadline extended with a reason, and the
daily count of complaints about to miss their deadline (the alarm's metric).

A complaint is made by the borrower (`arrears.usecases.borrower_requests.complain`, with its cited
deadlines). Compliance answers it (`answer_complaint`: the outcome code, the answer's text stored
encrypted with the request, never archived or logged; the complaint leaves OpenComplaintIndex), or
extends its close-by date once where the jurisdiction's policy in force allows (`extend_complaint`:
CN +15 days since 2026-12-03, to 30 from receipt, for a complex case, 银行保险机构消费投诉处理管理办法
art. 21; the US policy allows none).
Each is archived once under `borrower-requests/complaint_answer/` or `complaint_extension/` (codes,
dates, the staff id).
`complaints_at_risk` counts open complaints within `warn_days` of their close-by date, and those past it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from arrears.adapters.archive_store import ArchiveStore
from arrears.adapters.borrower_requests import BorrowerRequestRepository
from arrears.config.borrower_requests import borrower_request_policy
from arrears.config.rulepacks import rule_pack_for
from arrears.domain.borrower_requests import REQUESTS_PREFIX
from arrears.domain.business_time import business_date
from arrears.usecases.preferences import preference_retention_years


class ComplaintOutcome(StrEnum):
    UPHELD = "upheld"
    PARTLY_UPHELD = "partly_upheld"
    NOT_UPHELD = "not_upheld"
    WITHDRAWN = "withdrawn"


class ExtensionReason(StrEnum):
    """Why a complaint needs longer (a complex case: art. 21's ground for the extension)."""

    COMPLEX_CASE = "complex_case"
    AWAITING_THIRD_PARTY = "awaiting_third_party"
    AWAITING_BORROWER = "awaiting_borrower"


class ComplaintNotOpen(LookupError):
    """No open complaint with this id (never made, or answered already)."""


class ExtensionRefused(ValueError):
    """`code`: `extension_not_allowed` (the jurisdiction allows none) or `already_extended`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ComplaintAnswer:
    request_id: str
    created: bool
    details: dict[str, Any]


def _archive(store: ArchiveStore, kind: str, rid: str, at: datetime, record: dict[str, Any]) -> None:
    key = f"{REQUESTS_PREFIX}{kind}/dt={at.date().isoformat()}/{rid}.json"
    if not store.exists(key):
        store.put(
            key,
            json.dumps(record, sort_keys=True, ensure_ascii=False).encode(),
            content_type="application/json",
            retain_until=store.retain_until(at.date(), preference_retention_years()),
        )


def _complaint(requests: BorrowerRequestRepository, rid: str) -> dict[str, Any]:
    item = requests.get(rid)
    if item is None or item.get("kind") != "complaint":
        raise ComplaintNotOpen("no such complaint")
    return item


def answer_complaint(
    requests: BorrowerRequestRepository,
    store: ArchiveStore,
    rid: str,
    *,
    outcome: ComplaintOutcome,
    text: str,
    staff_id: str,
    at: datetime,
) -> ComplaintAnswer:
    """Record compliance's answer to complaint `rid` and close it. Answering the same complaint again
    answers what was recorded (`created` False); `ComplaintNotOpen` when there is no such complaint."""
    item = _complaint(requests, rid)
    answered_on = at.date()
    details = {
        "outcome": outcome.value,
        "answered_at": at.isoformat(),
        "answered_by": staff_id,
        "close_by": str(item["close_by"]),
        "on_time": answered_on.isoformat() <= str(item["close_by"]),
    }
    created = requests.answer_complaint(rid, {**details, "text": text or None})
    if not created:
        stored = (requests.get(rid) or {}).get("answer")
        if not stored:
            raise ComplaintNotOpen("no such open complaint")
        details = {k: v for k, v in dict(stored).items() if k != "text"}
        at = datetime.fromisoformat(str(details["answered_at"]))
    _archive(
        store,
        "complaint_answer",
        rid,
        at,
        {
            "record_type": "complaint_answer",
            "kind": "complaint_answer",
            "request_id": rid,
            "loan_id": item.get("loan_id"),
            "jurisdiction": item.get("jurisdiction"),
            "details": details,
        },
    )
    return ComplaintAnswer(rid, created, details)


def extend_complaint(
    requests: BorrowerRequestRepository,
    store: ArchiveStore,
    rid: str,
    *,
    reason: ExtensionReason,
    staff_id: str,
    at: datetime,
) -> ComplaintAnswer:
    """Move the close-by date of open complaint `rid` by the jurisdiction's extension (once), with the
    reason. Raises `ComplaintNotOpen`, `ExtensionRefused`."""
    item = _complaint(requests, rid)
    if item.get("complaint_open") != "OPEN":
        raise ComplaintNotOpen("the complaint is answered already")
    jurisdiction = str(item.get("jurisdiction") or "")
    # The version in force when the complaint was received: the one whose deadlines the borrower was told.
    received = datetime.fromisoformat(str(item.get("at") or at.isoformat()))
    policy = borrower_request_policy(jurisdiction, business_date(received, rule_pack_for(jurisdiction)))
    if policy.complaint_extension_days <= 0:
        raise ExtensionRefused(
            "extension_not_allowed",
            f"no extension in this jurisdiction ({policy.sources.get('complaint_extension_days', '')})",
        )
    if item.get("extension"):
        raise ExtensionRefused("already_extended", "a complaint's deadline is extended once at most")
    original = date.fromisoformat(str(item["close_by"]))
    close_by = original + timedelta(days=policy.complaint_extension_days)
    details = {
        "reason": reason.value,
        "extended_by": staff_id,
        "at": at.isoformat(),
        "close_by_was": original.isoformat(),
        "close_by": close_by.isoformat(),
        "source": policy.sources.get("complaint_extension_days", ""),
        "policy": policy.ref,
    }
    if not requests.extend_complaint(rid, close_by.isoformat(), details):
        raise ExtensionRefused("already_extended", "a complaint's deadline is extended once at most")
    _archive(
        store,
        "complaint_extension",
        rid,
        at,
        {
            "record_type": "complaint_extension",
            "kind": "complaint_extension",
            "request_id": rid,
            "loan_id": item.get("loan_id"),
            "details": details,
        },
    )
    return ComplaintAnswer(rid, True, details)


@dataclass(frozen=True)
class ComplaintsAtRisk:
    """Open complaints whose close-by date is within the warning window (`due_soon`, today included)
    and those already past it (`overdue`), on `today`."""

    today: date
    due_soon: int
    overdue: int


def complaints_at_risk(requests: BorrowerRequestRepository, today: date, warn_days: int) -> ComplaintsAtRisk:
    """Count the open complaints about to miss (or past) their close-by date (OpenComplaintIndex)."""
    due = requests.open_complaints_due(today + timedelta(days=warn_days))
    overdue = sum(1 for item in due if str(item["close_by"]) < today.isoformat())
    return ComplaintsAtRisk(today, len(due) - overdue, overdue)
