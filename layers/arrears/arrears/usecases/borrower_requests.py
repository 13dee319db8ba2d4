"""The borrower API's use cases: a borrower reads their own loans and asks for a pause, a change or an answer.

Each function takes the caller's `borrower_id` (from their token, never from the request) and finds the
loan through `owned_loan`: a loan of another borrower is `NotYours`, answered exactly like a loan that
does not exist (404), so nobody learns which loan ids exist.

* `my_loans`: each loan's amount due now, payoff quote, schedule and the contacts made about it (channel,
  instant, step and status; never another borrower's).
* `promise_to_pay`, `dispute`, `report_hardship`: judged by the jurisdiction's cited policy
  (`arrears.domain.borrower_requests`), then the hold is set through `arrears.usecases.holds.record_hold`
  (the same rule as a `HoldChanged` event: the planner and the dispatcher's gate honour it at once).
* `complain`: stored with its response deadlines (open until answered; `complaints_near_deadline`).
* `set_preferences`: opt out of or back into channels (`arrears.usecases.preferences.record_preference`,
  source BORROWER_API), preferred hours and language.

Every request is stored once in the BorrowerRequests table (free text there only, KMS-encrypted) and
archived once under `borrower-requests/` (codes, dates and amounts; the borrower as their archive
token). The request id comes from the caller and the `Idempotency-Key`: a retried POST finds its request
stored, re-applies what an interrupted attempt may have left undone (each step is idempotent) and
answers the same. A retry is taken as of the instant the request was first made (`first_made`): the
policy version of that business date judges it, its hold and its archived record, even when a new
version took effect in between.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from arrears.adapters.archive_store import ArchiveStore
from arrears.adapters.borrower_requests import BorrowerRequestRepository
from arrears.adapters.dynamodb import BorrowerRepository, ContactRepository, LoanRepository
from arrears.config.borrower_requests import borrower_request_policy
from arrears.config.rulepacks import rule_pack_for
from arrears.domain.borrower_requests import (
    BorrowerRequestPolicy,
    ComplaintCategory,
    HardshipReason,
    RequestKind,
    RequestRefused,
    complaint_deadlines,
    judge_promise,
    request_record,
    request_record_key,
)
from arrears.domain.business_time import loan_business_date
from arrears.domain.holds import HoldChange, HoldKind
from arrears.domain.loans import Loan
from arrears.domain.money import amount_due, payoff_quote
from arrears.domain.optouts import PreferenceChange, PreferenceKind, PreferenceSource
from arrears.domain.plans import PlanPolicy
from arrears.domain.playbook import CollectionPlaybook
from arrears.domain.strategy import Channel
from arrears.domain.tokens import borrower_token
from arrears.usecases.holds import record_hold
from arrears.usecases.preferences import PreferencePorts, preference_retention_years, record_preference

if TYPE_CHECKING:  # the wiring only: a use case's import pulls in no client
    from arrears.adapters.container import Container

Secret = Callable[[], bytes]


class NotYours(LookupError):
    """The loan does not exist or is another borrower's (both answer 404: the id reveals nothing)."""


@dataclass(frozen=True)
class BorrowerApiPorts:
    loans: LoanRepository
    loan_ids_for_borrower: Callable[[str], list[str]]
    borrowers: BorrowerRepository
    contacts: ContactRepository
    requests: BorrowerRequestRepository
    store: ArchiveStore
    token_secret: Secret
    playbook: Callable[[], CollectionPlaybook]

    @classmethod
    def wired(cls, container: Container, playbook: Callable[[], CollectionPlaybook]) -> BorrowerApiPorts:
        """The ports of the API function's `container` (its environment names the BorrowerRequests
        table); `playbook` answers the collection policy in force."""
        return cls(
            loans=container.loans,
            loan_ids_for_borrower=container.loan_ids_for_borrower,
            borrowers=container.borrowers,
            contacts=container.contacts,
            requests=container.borrower_requests,
            store=container.archive_store,
            token_secret=container.token_secret.value,
            playbook=playbook,
        )


@dataclass(frozen=True, slots=True)
class RequestOutcome:
    """What a request did: its id, whether this call stored it (False: a retry of a stored one), and
    what the borrower is told (`answer`: ids, codes, dates, amounts)."""

    request_id: str
    created: bool
    answer: dict[str, Any]


def owned_loan(ports: BorrowerApiPorts, borrower_id: str, loan_id: str) -> Loan:
    loan = ports.loans.get(loan_id)
    if loan is None or loan.borrower_id != borrower_id:
        raise NotYours("no such loan")
    return loan


def _today(loan: Loan, at: datetime) -> date:
    return loan_business_date(loan, at, rule_pack_for(loan.jurisdiction))


def loan_view(ports: BorrowerApiPorts, loan: Loan, at: datetime) -> dict[str, Any]:
    """One loan as its borrower sees it on their business date at `at` (amounts in minor units)."""
    today = _today(loan, at)
    quote = payoff_quote(loan, today) if loan.is_open else None
    contacts = [
        {
            "channel": str(item.get("channel", "")),
            "at": str(item.get("occurred_at", "")),
            "step": str(item.get("step", "")),
            "status": str(item.get("status", "")),
        }
        for item in ports.contacts.for_loan(loan.loan_id)
        if item.get("borrower_id") == loan.borrower_id and item.get("status") == "SENT"
    ]
    contacts.sort(key=lambda contact: contact["at"])
    holds = loan.holds
    return {
        "loan_id": loan.loan_id,
        "currency": loan.currency,
        "status": loan.status.value,
        "as_of": today.isoformat(),
        "dpd": loan.dpd,
        "bucket": loan.bucket,
        "amount_due_minor": amount_due(loan, today),
        "payoff_minor": quote.total_minor if quote else 0,
        "schedule": [
            {
                "seq": instalment.seq,
                "due_on": instalment.due_on.isoformat(),
                "due_minor": instalment.total_due,
                "outstanding_minor": instalment.outstanding,
            }
            for instalment in loan.instalments
        ],
        "holds": {
            "promise_to_pay_until": holds.promise_to_pay_until.isoformat()
            if holds.promise_to_pay_until
            else None,
            "hardship_until": holds.hardship_until.isoformat() if holds.hardship_until else None,
            "dispute_open": holds.dispute_open,
        },
        "contacts": contacts,
    }


def my_loans(ports: BorrowerApiPorts, borrower_id: str, at: datetime) -> list[dict[str, Any]]:
    views = []
    for loan_id in sorted(ports.loan_ids_for_borrower(borrower_id)):
        loan = ports.loans.get(loan_id)
        if loan is not None and loan.borrower_id == borrower_id:
            views.append(loan_view(ports, loan, at))
    return views


# -- requests: stored once, archived once -------------------------------------------------------------


def first_made(
    requests: BorrowerRequestRepository, rid: str, at: datetime
) -> tuple[dict[str, Any] | None, datetime]:
    """The stored request `rid` (None when new) and the instant it was first made: its stored `at` for
    a retry, else `at`. Everything a request decides is decided as of that instant."""
    stored = requests.get(rid)
    return stored, datetime.fromisoformat(str(stored["at"])) if stored else at


def _store_and_archive(
    ports: BorrowerApiPorts,
    kind: RequestKind,
    rid: str,
    *,
    borrower_id: str,
    loan: Loan | None,
    jurisdiction: str,
    at: datetime,
    details: dict[str, Any],
    policy: BorrowerRequestPolicy | PlanPolicy | None,
    text: str = "",
    extra: dict[str, Any] | None = None,
    stored: dict[str, Any] | None = None,
) -> tuple[bool, dict[str, Any]]:
    """Store the request unless stored (then its stored details win: a retry answers the same), and
    archive its record unless archived. `stored`: the request as `first_made` read it (a retry then
    writes nothing). Returns (created, details)."""
    item = {
        "request_id": rid,
        "kind": kind.value,
        "borrower_id": borrower_id,
        "loan_id": loan.loan_id if loan else None,
        "at": at.isoformat(),
        "jurisdiction": jurisdiction,
        "details": details,
        "text": text or None,
        **(extra or {}),
    }
    created = stored is None and ports.requests.create(item)
    if not created:
        stored = stored or ports.requests.get(rid)
        if stored is None or stored.get("kind") != kind.value or stored.get("borrower_id") != borrower_id:
            raise IdempotencyKeyReused("this Idempotency-Key was used for another request")
        details = dict(stored.get("details") or {})
        at = datetime.fromisoformat(str(stored["at"]))
    key = request_record_key(kind, at, rid)
    if not ports.store.exists(key):
        sources = dict(policy.sources) if policy else {}
        record = request_record(
            kind,
            rid,
            borrower_token=borrower_token(ports.token_secret(), borrower_id),
            loan_id=loan.loan_id if loan else None,
            at=at,
            jurisdiction=jurisdiction,
            details=details,
            sources=sources,
            policy=policy.ref if policy else None,
        )
        ports.store.put(
            key,
            json.dumps(record, sort_keys=True, ensure_ascii=False).encode(),
            content_type="application/json",
            retain_until=ports.store.retain_until(at.date(), preference_retention_years()),
        )
    return created, details


class IdempotencyKeyReused(ValueError):
    """An `Idempotency-Key` already used by this caller on this route for a different request (409)."""


def _hold(
    ports: BorrowerApiPorts,
    rid: str,
    loan: Loan,
    hold: HoldKind,
    at: datetime,
    until: date | None,
    reason: str = "",
) -> str:
    change = HoldChange(rid, loan.loan_id, hold, True, at, until, reason)
    return record_hold(change, loans=ports.loans, playbook=ports.playbook()).status.value


def promise_to_pay(
    ports: BorrowerApiPorts,
    borrower_id: str,
    loan_id: str,
    rid: str,
    *,
    pay_on: date,
    amount_minor: int,
    at: datetime,
) -> RequestOutcome:
    """Record a PTP; `RequestRefused` outside the policy. The promise holds escalation until `pay_on`."""
    loan = owned_loan(ports, borrower_id, loan_id)
    stored, at = first_made(ports.requests, rid, at)
    policy = borrower_request_policy(loan.jurisdiction, _today(loan, at))
    if stored is None:
        today = _today(loan, at)
        judge_promise(
            policy,
            today=today,
            pay_on=pay_on,
            amount_minor=amount_minor,
            due_minor=amount_due(loan, today),
            payoff_minor=payoff_quote(loan, today).total_minor,
        )
    details = {"pay_on": pay_on.isoformat(), "amount_minor": amount_minor, "currency": loan.currency}
    created, details = _store_and_archive(
        ports,
        RequestKind.PROMISE_TO_PAY,
        rid,
        borrower_id=borrower_id,
        loan=loan,
        jurisdiction=loan.jurisdiction,
        at=at,
        details=details,
        policy=policy,
        stored=stored,
    )
    hold = _hold(ports, rid, loan, HoldKind.PROMISE_TO_PAY, at, date.fromisoformat(str(details["pay_on"])))
    return RequestOutcome(rid, created, {**details, "hold": hold})


def dispute(
    ports: BorrowerApiPorts, borrower_id: str, loan_id: str, rid: str, *, reason: str, at: datetime
) -> RequestOutcome:
    """Open a dispute: the dispute hold (collection pauses) and a verification clock of the policy's days."""
    loan = owned_loan(ports, borrower_id, loan_id)
    stored, at = first_made(ports.requests, rid, at)
    policy = borrower_request_policy(loan.jurisdiction, _today(loan, at))
    verify_by = _today(loan, at) + timedelta(days=policy.dispute_verification_days)
    details = {"reason": reason, "verify_by": verify_by.isoformat()}
    created, details = _store_and_archive(
        ports,
        RequestKind.DISPUTE,
        rid,
        borrower_id=borrower_id,
        loan=loan,
        jurisdiction=loan.jurisdiction,
        at=at,
        details=details,
        policy=policy,
        stored=stored,
    )
    hold = _hold(ports, rid, loan, HoldKind.DISPUTE, at, None)
    return RequestOutcome(rid, created, {**details, "hold": hold})


def report_hardship(
    ports: BorrowerApiPorts,
    borrower_id: str,
    loan_id: str,
    rid: str,
    *,
    reason: HardshipReason,
    text: str,
    at: datetime,
) -> RequestOutcome:
    """Record hardship (reason code; free text stored encrypted, never archived) and pause collection."""
    loan = owned_loan(ports, borrower_id, loan_id)
    stored, at = first_made(ports.requests, rid, at)
    policy = borrower_request_policy(loan.jurisdiction, _today(loan, at))
    until = _today(loan, at) + timedelta(days=policy.hardship_pause_days)
    details = {"reason": reason.value, "paused_until": until.isoformat(), "has_text": bool(text)}
    created, details = _store_and_archive(
        ports,
        RequestKind.HARDSHIP,
        rid,
        borrower_id=borrower_id,
        loan=loan,
        jurisdiction=loan.jurisdiction,
        at=at,
        details=details,
        policy=policy,
        text=text,
        stored=stored,
    )
    paused_until = date.fromisoformat(str(details["paused_until"]))
    hold = _hold(ports, rid, loan, HoldKind.HARDSHIP, at, paused_until, str(details["reason"]))
    return RequestOutcome(rid, created, {**details, "hold": hold})


def complain(
    ports: BorrowerApiPorts,
    borrower_id: str,
    loan_id: str,
    rid: str,
    *,
    category: ComplaintCategory,
    text: str,
    at: datetime,
) -> RequestOutcome:
    """Record a complaint about a loan with its response deadlines (the jurisdiction's cited policy)."""
    loan = owned_loan(ports, borrower_id, loan_id)
    stored, at = first_made(ports.requests, rid, at)
    policy = borrower_request_policy(loan.jurisdiction, _today(loan, at))
    deadlines = complaint_deadlines(policy, _today(loan, at))
    details = {
        "category": category.value,
        "acknowledge_by": deadlines.acknowledge_by.isoformat(),
        "close_by": deadlines.close_by.isoformat(),
        "extended_close_by": deadlines.extended_close_by.isoformat(),
        "has_text": bool(text),
    }
    created, details = _store_and_archive(
        ports,
        RequestKind.COMPLAINT,
        rid,
        borrower_id=borrower_id,
        loan=loan,
        jurisdiction=loan.jurisdiction,
        at=at,
        details=details,
        policy=policy,
        text=text,
        extra={"complaint_open": "OPEN", "close_by": deadlines.close_by.isoformat()},
        stored=stored,
    )
    return RequestOutcome(rid, created, details)


def complaints_near_deadline(
    requests: BorrowerRequestRepository, today: date, warn_days: int
) -> list[dict[str, Any]]:
    """Open complaints whose close-by date is within `warn_days` of `today` (or past): ids, dates only."""
    return [
        {
            "request_id": item["request_id"],
            "close_by": item["close_by"],
            "jurisdiction": item.get("jurisdiction"),
        }
        for item in requests.open_complaints_due(today + timedelta(days=warn_days))
    ]


def set_preferences(
    ports: BorrowerApiPorts,
    borrower_id: str,
    rid: str,
    *,
    opt_out: list[Channel],
    opt_in: list[Channel],
    preferred_hours: tuple[int, int] | None,
    language: str | None,
    at: datetime,
) -> RequestOutcome:
    """Opt out of / back into channels at `at` (each change archived as a preference record), and store
    the preferred hours (which only narrow the legal window) and language."""
    if set(opt_out) & set(opt_in):
        raise RequestRefused(
            "channel_both_ways", "opt_in", "a channel cannot be opted out of and into at once"
        )
    prefs = PreferencePorts(ports.borrowers, ports.store, ports.token_secret)
    changes: dict[str, str] = {}
    for channels, kind in ((opt_out, PreferenceKind.OPT_OUT), (opt_in, PreferenceKind.OPT_IN)):
        for channel in channels:
            change = PreferenceChange(borrower_id, channel, kind, at, PreferenceSource.BORROWER_API, rid)
            try:
                outcome = record_preference(change, prefs)
            except LookupError:
                raise NotYours("no such borrower") from None
            changes[channel.value] = f"{kind.value}:{outcome.status}"
    if (preferred_hours is not None or language is not None) and not ports.borrowers.set_contact_settings(
        borrower_id, preferred_hours=preferred_hours, language=language
    ):
        raise NotYours("no such borrower")
    answer: dict[str, Any] = {"channels": changes}
    if preferred_hours is not None:
        answer["preferred_hours"] = list(preferred_hours)
    if language is not None:
        answer["language"] = language
    return RequestOutcome(rid, True, answer)
