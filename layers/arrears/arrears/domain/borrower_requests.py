"""What a borrower asks through the borrower API, judged by the lender's cited policy (pure).

A borrower may promise to pay, dispute the debt, report hardship or complain. Each request is judged
against `BorrowerRequestPolicy`, the jurisdiction's cited data (`config/bundled/borrower_requests.yaml`,
loaded by `arrears.config.borrower_requests`):

* a **promise to pay** (PTP) must fall within `promise_max_days` of the borrower's business date and
  be for at least `promise_min_percent` of the amount due now (and at most the payoff quote);
* a **dispute** starts the dispute hold and a verification clock of `dispute_verification_days`: by
  then the lender must have verified the debt (or the hold stays and collection stays paused);
* **hardship** names a reason code (`HardshipReason`) and pauses collection `hardship_pause_days`;
* a **complaint** names a category (`ComplaintCategory`) and gets response deadlines: an
  acknowledgement by `complaint_ack_days`, a final answer by `complaint_close_days` (extendable by
  `complaint_extension_days` where the source allows it).

`request_record` is the write-once archive record of a request: ids, codes, dates and amounts only
(never the borrower's free text, name or contact details).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

REQUESTS_PREFIX = "borrower-requests/"


class RequestKind(StrEnum):
    PROMISE_TO_PAY = "promise_to_pay"
    DISPUTE = "dispute"
    HARDSHIP = "hardship"
    COMPLAINT = "complaint"
    PREFERENCES = "preferences"
    PLAN = "plan"  # a repayment plan asked for or negotiated (arrears.usecases.plans)


class HardshipReason(StrEnum):
    JOB_LOSS = "job_loss"
    REDUCED_INCOME = "reduced_income"
    ILLNESS = "illness"
    DISASTER = "disaster"
    OTHER = "other"


class ComplaintCategory(StrEnum):
    CONTACT_CONDUCT = "contact_conduct"  # how, when or how often we contacted the borrower
    AMOUNT_OWED = "amount_owed"
    PRIVACY = "privacy"  # their debt disclosed to someone else
    FEES = "fees"
    OTHER = "other"


class RequestRefused(ValueError):
    """A request the policy does not allow: `code` (machine-readable), `field`, and a message that
    names the limit and its source, never the borrower's own data."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


@dataclass(frozen=True, slots=True)
class BorrowerRequestPolicy:
    """One jurisdiction's limits on borrower requests, each with its source (`sources[name]`)."""

    jurisdiction: str
    promise_max_days: int
    promise_min_percent: int
    dispute_verification_days: int
    hardship_pause_days: int
    complaint_ack_days: int
    complaint_close_days: int
    complaint_extension_days: int
    sources: dict[str, str]
    version: str = ""  # the version in force (config/bundled YAML)

    @property
    def ref(self) -> str:
        """`<jurisdiction>@<version>`: the version that judged, named in the archive records."""
        return f"{self.jurisdiction}@{self.version}"


def request_id(caller: str, route: str, idempotency_key: str) -> str:
    """The request's id: the same caller, route and `Idempotency-Key` name the same request."""
    return hashlib.sha256(f"{caller}|{route}|{idempotency_key}".encode()).hexdigest()[:32]


def judge_promise(
    policy: BorrowerRequestPolicy,
    *,
    today: date,
    pay_on: date,
    amount_minor: int,
    due_minor: int,
    payoff_minor: int,
) -> None:
    """Raise `RequestRefused` unless a PTP of `amount_minor` on `pay_on` (borrower's business date
    `today`) is within the policy: `today <= pay_on <= today + promise_max_days`, and
    `ceil(due_minor * promise_min_percent / 100) <= amount_minor <= payoff_minor` (integer minor units)."""
    source = policy.sources.get("promise_max_days", "")
    if pay_on < today:
        raise RequestRefused("promise_date_past", "pay_on", f"the promised date is before today ({source})")
    if pay_on > today + timedelta(days=policy.promise_max_days):
        raise RequestRefused(
            "promise_too_far",
            "pay_on",
            f"a promise may be at most {policy.promise_max_days} days ahead ({source})",
        )
    if due_minor <= 0:
        raise RequestRefused("nothing_due", "amount_minor", "nothing is overdue on this loan")
    minimum = -(-due_minor * policy.promise_min_percent // 100)
    if amount_minor < minimum:
        raise RequestRefused(
            "promise_too_small",
            "amount_minor",
            f"a promise must cover at least {policy.promise_min_percent}% of the amount due "
            f"({policy.sources.get('promise_min_percent', '')})",
        )
    if amount_minor > payoff_minor:
        raise RequestRefused(
            "promise_above_payoff", "amount_minor", "the amount is more than the payoff quote"
        )


@dataclass(frozen=True, slots=True)
class ComplaintDeadlines:
    acknowledge_by: date
    close_by: date
    extended_close_by: date  # the latest close date if the extension the source allows is taken


def complaint_deadlines(policy: BorrowerRequestPolicy, received_on: date) -> ComplaintDeadlines:
    """Calendar-day deadlines counted from the day the complaint was received (its business date)."""
    close = received_on + timedelta(days=policy.complaint_close_days)
    return ComplaintDeadlines(
        received_on + timedelta(days=policy.complaint_ack_days),
        close,
        close + timedelta(days=policy.complaint_extension_days),
    )


def request_record_key(kind: RequestKind, at: datetime, rid: str) -> str:
    return f"{REQUESTS_PREFIX}{kind.value}/dt={at.date().isoformat()}/{rid}.json"


def request_record(
    kind: RequestKind,
    rid: str,
    *,
    borrower_token: str,
    loan_id: str | None,
    at: datetime,
    jurisdiction: str,
    details: dict[str, Any],
    sources: dict[str, str],
    policy: str | None = None,
) -> dict[str, Any]:
    """The archive record of one borrower request: the borrower as their archive token, codes, dates
    and amounts in `details` (callers never put free text there), the policy version that judged it
    (`policy`, `<jurisdiction>@<version>`, when a policy applies) and its sources."""
    return {
        "record_type": "borrower_request",
        "kind": kind.value,
        "request_id": rid,
        "borrower_token": borrower_token,
        "loan_id": loan_id,
        "at": at.isoformat(),
        "jurisdiction": jurisdiction,
        "details": details,
        "sources": sources,
        **({"policy": policy} if policy else {}),
    }
