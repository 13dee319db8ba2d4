"""Erasure requests (PIPL art. 47, GDPR art. 17): forget the person, keep the lawful record.

Pseudonymised everywhere: the borrower's id is replaced by their pseudonym `erased:<token>`
(`arrears.domain.tokens`; the token is the archive's, so the archive keeps one token per borrower
before and after) on the Loans, Actions, Contacts, BorrowerRequests (whose free text is removed)
and ContactCaps (the call ledger, re-keyed) tables and in the collectors' Desk pool (a pooled call
task's message), and the Borrowers item is re-keyed under the pseudonym. The delinquency history
holds no borrower id. No item is left under the original id.

What is erased depends on the debt (`fields_to_erase`):
* no open debt (every loan of the borrower CLOSED, or none): name, phone, e-mail and address;
* an open debt (a loan OPEN or CHARGED_OFF: still owed): the contact data (phone, e-mail) only.
  The identity a credit report and a legal claim require (`IDENTITY_KEPT_ON_OPEN_DEBT`: name and
  address) stays on the pseudonymous tombstone: GDPR art. 17(3)(b) (a legal obligation: reporting
  to a credit bureau) and 17(3)(e) (the establishment, exercise or defence of legal claims); PIPL
  art. 13(3)/(7) and 47 (processing needed to perform a contract / a legal duty is not erased while
  that basis lasts); in the US there is no general erasure right, the deployer's policy decides, and
  the FCRA's accuracy duty (15 U.S.C. 1681s-2(a)) needs the consumer's identity on an open tradeline.
* no open debt, but a paid loan's account still standing at the bureaus unclosed (reported, and its
  paid or closed status not furnished yet: `arrears.usecases.bureau_file.report_standing`): the
  name and address are kept too (`closing_report_pending`), so the next monthly file can report the
  account paid (FCRA 15 U.S.C. 1681s-2(a)(1), (2): accurate reporting, corrected once it changes;
  left out, the bureau would go on showing the debt delinquent). The cycle after that file lets the
  identity go (`complete_erasure`) when no other debt or standing account of the borrower needs it,
  as it does for an identity kept for a debt since paid.
Either way the borrower is opted out of every channel that reaches the person, and keeps
`LAWFUL_BASIS_KEPT` (bureau, legal): an erasure does not quietly stop lawful credit reporting; the
bureau step is still judged by its precondition.

Order (resumable: a redelivered or re-run request completes a partial one and changes nothing
more): the tombstone is written (PII removed, opted out) and copied under the pseudonym first, the
loans' actions and contacts and the loans themselves next, then the call ledger and the borrower's
requests, and the item under the original id is deleted last; so at every instant an action of
the borrower finds their tombstone under whichever id it carries. The borrower's loans are found
under both ids.

A request naming a pseudonym (`erased:<token>`: the borrower was erased before, and the request
names them by the id every table now holds) erases what the tombstone still holds (the identity
kept while a debt was open, once it is closed) and is audited like any request, but re-keys
nothing (`ErasureOutcome.already_erased`): the token of a pseudonym is the token it carries, so
the original id and the alias are one id, and re-keying would move an item onto itself (the call
ledger's TransactWriteItems is refused: two operations on one item) or delete the tombstone itself
(`drop_erased`). A repeat of a done erasure under the pseudonym changes nothing.

Each step is one port call that a re-run repeats harmlessly, so a step that meets a transient error
(a throttle that outlasted botocore's retries, a timeout, a connection closed) is retried on its own
(`arrears.adapters.retrying.retry_transient`) instead of failing the invocation: a borrower with a
long history makes dozens of calls, and an invocation that had to get every one of them through at
once would not finish under a steady rate of transient errors (each retry of the event starting
again from the tombstone).

The erasure itself is evidenced by a write-once audit record in the archive bucket,
`erasures/dt=<day>/<request-hash>.json`, holding the SHA-256 of the request id (never the id a
caller supplied, which may carry personal data and could never be removed from under the lock:
nor is it logged or returned), the borrower token, times and counts, and the names (never the
values) of the fields erased and kept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any, Protocol

from arrears.adapters.archive_store import ArchiveStore
from arrears.adapters.container import Container
from arrears.adapters.dynamodb import BorrowerRepository
from arrears.adapters.retrying import retry_transient
from arrears.config.rulepacks import bundled_rule_packs
from arrears.domain.borrowers import PII_FIELDS
from arrears.domain.calendar import format_utc
from arrears.domain.loans import Loan, LoanStatus
from arrears.domain.strategy import Channel
from arrears.domain.tokens import borrower_token, is_pseudonym, pseudonym

ERASURE_PREFIX = "erasures/"

LAWFUL_BASIS_KEPT = frozenset({Channel.BUREAU, Channel.LEGAL})
"""Steps an erasure leaves possible: they reach the bureau or a court, not the person."""

OPTED_OUT = sorted(channel.value for channel in Channel if channel not in LAWFUL_BASIS_KEPT)
"""The channels an erased borrower is opted out of: every one that reaches the person."""


def request_sha256(request_id: str) -> str:
    """The SHA-256 (hex) of a caller-supplied request id: what the stores keep instead of the id."""
    return hashlib.sha256(request_id.encode()).hexdigest()


IDENTITY_KEPT_ON_OPEN_DEBT = ("name", "address")
"""What an erasure keeps while a debt is open: the identity a credit report (the consumer's name and
address identify the tradeline: FCRA 15 U.S.C. 1681s-2(a), the CDIA's Metro 2 format;
CN: the Credit Reporting Regulation, art. 15) and a legal claim (the party to be served) require.
GDPR art. 17(3)(b)/(e); PIPL art. 13(3)/(7). Phone and e-mail (contact data) are never kept."""


@dataclass(frozen=True, slots=True)
class ErasureRequest:
    request_id: str
    borrower_id: str
    requested_at: datetime


@dataclass
class ErasureOutcome:
    """What one erasure did: `request_sha256` (never the caller's request id), the names of the
    fields erased and kept, the borrower's loans and whether a debt is open, and the items
    pseudonymised per table (counts of this run: a redelivery counts zeros). `already_erased`: the
    request named an erased borrower's pseudonym (their remaining fields were erased, nothing re-keyed).
    `closing_report_pending`: no debt is open but a paid loan's account stands at the bureaus
    unclosed, so the identity is kept until the file reporting it paid is written."""

    request_sha256: str
    borrower_found: bool
    fields_erased: list[str] = field(default_factory=list)
    identity_kept: list[str] = field(default_factory=list)
    loans: int = 0
    open_debt: bool = False
    pseudonymised: dict[str, int] = field(default_factory=dict)
    audit_key: str = ""
    audit_written: bool = False
    already_erased: bool = False
    closing_report_pending: bool = False

    @property
    def contacts_pseudonymised(self) -> int:
        return self.pseudonymised.get("contacts", 0)


class ErasureLoans(Protocol):
    def get(self, loan_id: str) -> Loan | None: ...

    def pseudonymise_borrower(self, loan_id: str, borrower_id: str, pseudonym: str) -> bool: ...


class PerLoanRecords(Protocol):
    def pseudonymise_borrower(self, loan_id: str, borrower_id: str, pseudonym: str) -> int: ...


class PerBorrowerRecords(Protocol):
    def pseudonymise_borrower(self, borrower_id: str, pseudonym: str) -> int: ...


class DeskTasks(Protocol):
    """The collectors' desk pool (`arrears.adapters.desk.DeskRepository`): a pooled task is keyed by
    its action id, and a call task's message names the borrower."""

    def pseudonymise_borrower(self, task_id: str, borrower_id: str, pseudonym: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class ErasurePorts:
    """The tables an erasure changes (`requests` None: a deployment without the borrower API; `desk`
    None: without the collectors' desk, whose tasks are found by the loans' action ids,
    `action_ids_for(loan_id)`; `report_standing(loan_id)`: whether the loan's account stands at the
    bureaus unclosed, None: a deployment that does not furnish)."""

    borrowers: BorrowerRepository
    loans: ErasureLoans
    loan_ids_for: Callable[[str], list[str]]
    actions: PerLoanRecords
    contacts: PerLoanRecords
    call_ledger: PerBorrowerRecords
    requests: PerBorrowerRecords | None
    store: ArchiveStore
    token_secret: Callable[[], bytes]
    desk: DeskTasks | None = None
    action_ids_for: Callable[[str], list[str]] | None = None
    report_standing: Callable[[str], bool] | None = None

    @classmethod
    def from_container(cls, container: Container) -> ErasurePorts:
        """The ports of a deployed stack (the borrower requests when the stack has the table)."""
        return cls(
            borrowers=container.borrowers,
            loans=container.loans,
            loan_ids_for=container.loan_ids_for_borrower,
            actions=container.actions,
            contacts=container.contacts,
            call_ledger=container.call_ledger,
            requests=container.borrower_requests if container.settings.borrower_requests_table else None,
            store=container.archive_store,
            token_secret=container.token_secret.value,
            desk=container.desk if container.settings.desk_table else None,
            action_ids_for=container.actions.ids_for_loan,
            report_standing=standing_at_bureaus(container),
        )


def standing_at_bureaus(container: Container) -> Callable[[str], bool] | None:
    """`report_standing` over the stack's credit facts (None: a function without the table)."""
    from arrears.usecases.bureau_file import report_standing

    facts = container.credit_facts
    return None if facts is None else partial(report_standing, facts)


def erasure_audit_key(request_id: str, day: date) -> str:
    digest = request_sha256(request_id)[:32]
    return f"{ERASURE_PREFIX}dt={day.isoformat()}/{digest}.json"


def erasure_retention_years() -> int:
    """The audit record of an erasure is kept as long as the longest collection record it concerns."""
    return max(pack.retention_years for pack in bundled_rule_packs().latest.values())


def has_open_debt(statuses: Iterable[LoanStatus]) -> bool:
    """Whether any of the borrower's loans (their statuses) is still owed: OPEN, or CHARGED_OFF
    (written off, not paid: still reported and still claimable)."""
    return any(status is not LoanStatus.CLOSED for status in statuses)


def fields_to_erase(open_debt: bool) -> tuple[str, ...]:
    """The personal-data fields an erasure removes: all of them, or, on an open debt, all but
    `IDENTITY_KEPT_ON_OPEN_DEBT`."""
    if not open_debt:
        return PII_FIELDS
    return tuple(name for name in PII_FIELDS if name not in IDENTITY_KEPT_ON_OPEN_DEBT)


def audit_record(
    request: ErasureRequest, outcome: ErasureOutcome, token: str, at: datetime
) -> dict[str, Any]:
    """The erasure's own record: pseudonymous, no erased value, only field names and counts."""
    return {
        "record_type": "ERASURE",
        "request_sha256": outcome.request_sha256,
        "borrower_token": token,
        "requested_at": format_utc(request.requested_at),
        "erased_at": format_utc(at),
        "borrower_found": outcome.borrower_found,
        "fields_erased": sorted(outcome.fields_erased),
        "identity_kept": sorted(outcome.identity_kept),
        "open_debt": outcome.open_debt,
        "closing_report_pending": outcome.closing_report_pending,
        "loans": outcome.loans,
        "contacts_pseudonymised": outcome.contacts_pseudonymised,
        "pseudonymised": dict(sorted(outcome.pseudonymised.items())),
        "archive": "retained (pseudonymised; lawful retention)",
        "steps_kept": sorted(channel.value for channel in LAWFUL_BASIS_KEPT),
    }


REKEYED = ("borrowers", "actions", "contacts", "loans", "call_ledger", "borrower_requests", "desk_tasks")
"""The tables an erasure re-keys from the borrower's id to their pseudonym (`pseudonymised` counts)."""


def _rekey(
    ports: ErasurePorts, loan_ids: list[str], original: str, alias: str, counts: dict[str, int]
) -> None:
    """Re-key the borrower's items from `original` to `alias` (the tombstone copied first, the item
    under the original id dropped last), counting what this call moved into `counts`."""
    counts["borrowers"] = int(retry_transient(partial(ports.borrowers.copy_as, original, alias)))
    counts["actions"] = counts["contacts"] = counts["loans"] = 0
    for loan_id in loan_ids:
        move = (loan_id, original, alias)
        counts["actions"] += retry_transient(partial(ports.actions.pseudonymise_borrower, *move))
        counts["contacts"] += retry_transient(partial(ports.contacts.pseudonymise_borrower, *move))
        counts["loans"] += int(retry_transient(partial(ports.loans.pseudonymise_borrower, *move)))
    counts["call_ledger"] = retry_transient(partial(ports.call_ledger.pseudonymise_borrower, original, alias))
    requests = ports.requests
    counts["borrower_requests"] = (
        retry_transient(partial(requests.pseudonymise_borrower, original, alias))
        if requests is not None
        else 0
    )
    counts["desk_tasks"] = _rekey_desk_tasks(ports, loan_ids, original, alias)
    retry_transient(partial(ports.borrowers.drop_erased, original))


def _rekey_desk_tasks(ports: ErasurePorts, loan_ids: list[str], original: str, alias: str) -> int:
    """Re-key the desk's pooled tasks of the borrower's loans (a task's id is its action's id: a call
    task's message carries the borrower's id, pooled before the erasure); how many this call changed.
    Every action id is tried (the erasure reads no action): a task not pooled, or a field visit
    (which names no borrower id), is left as it is."""
    desk, action_ids_for = ports.desk, ports.action_ids_for
    if desk is None or action_ids_for is None:
        return 0
    changed = 0
    for loan_id in loan_ids:
        for task_id in retry_transient(partial(action_ids_for, loan_id)):
            changed += retry_transient(partial(desk.pseudonymise_borrower, task_id, original, alias))
    return changed


def _closing_report_pending(loans: Iterable[Loan], ports: ErasurePorts) -> bool:
    standing = ports.report_standing
    return standing is not None and any(retry_transient(partial(standing, loan.loan_id)) for loan in loans)


def complete_erasure(
    borrower_id: str,
    *,
    at: datetime,
    borrowers: BorrowerRepository,
    loans: ErasureLoans,
    loan_ids_for: Callable[[str], list[str]],
    report_standing: Callable[[str], bool],
) -> bool:
    """Erase what an erasure kept (name, address) of the erased borrower `borrower_id` (a pseudonym)
    once nothing needs it any more: no loan of theirs still owed and no account standing at the
    bureaus unclosed. Called by the monthly bureau cycle for erased borrowers whose account was
    reported paid or closed in an earlier file. True when it erased something; repeatable (a
    second call finds nothing kept). Never touches a borrower who was not erased."""
    if not is_pseudonym(borrower_id):
        return False
    ids = retry_transient(partial(loan_ids_for, borrower_id))
    held = [loan for loan_id in ids if (loan := retry_transient(partial(loans.get, loan_id)))]
    if has_open_debt(loan.status for loan in held):
        return False
    if any(retry_transient(partial(report_standing, loan.loan_id)) for loan in held):
        return False
    tombstone = retry_transient(partial(borrowers.get, borrower_id))
    if tombstone is None or not any(getattr(tombstone, name, "") for name in IDENTITY_KEPT_ON_OPEN_DEBT):
        return False
    erased = retry_transient(
        partial(
            borrowers.erase,
            borrower_id,
            request_sha256="",  # kept as the first erasure wrote it (if_not_exists)
            erased_at=at,
            opt_out=OPTED_OUT,
            fields=IDENTITY_KEPT_ON_OPEN_DEBT,
        )
    )
    return bool(erased)


def erase_borrower(request: ErasureRequest, *, at: datetime, ports: ErasurePorts) -> ErasureOutcome:
    """Erase the borrower of `request` (see the module docstring); repeatable and resumable. A
    request naming a pseudonym re-keys nothing (`already_erased`)."""
    original = request.borrower_id
    token = borrower_token(retry_transient(ports.token_secret), original)
    alias = pseudonym(token)
    outcome = ErasureOutcome(
        request_sha256(request.request_id), borrower_found=False, already_erased=is_pseudonym(original)
    )
    found = retry_transient(lambda: set(ports.loan_ids_for(original)) | set(ports.loan_ids_for(alias)))
    loan_ids = sorted(found)
    loans = [loan for loan_id in loan_ids if (loan := retry_transient(partial(ports.loans.get, loan_id)))]
    outcome.loans = len(loan_ids)
    outcome.open_debt = has_open_debt(loan.status for loan in loans)
    outcome.closing_report_pending = not outcome.open_debt and _closing_report_pending(loans, ports)
    erase = fields_to_erase(outcome.open_debt or outcome.closing_report_pending)
    for key in (original, alias):  # the original first; once re-keyed, the tombstone under the alias
        erased = retry_transient(
            partial(
                ports.borrowers.erase,
                key,
                request_sha256=outcome.request_sha256,
                erased_at=at,
                opt_out=OPTED_OUT,
                fields=erase,
            )
        )
        if erased is not None:
            outcome.borrower_found = True
            outcome.fields_erased = erased
            break
    if outcome.borrower_found:
        outcome.identity_kept = [name for name in PII_FIELDS if name not in erase]
    if outcome.already_erased:  # every table holds the pseudonym already: nothing to re-key
        outcome.pseudonymised.update(dict.fromkeys(REKEYED, 0))
    else:
        _rekey(ports, loan_ids, original, alias, outcome.pseudonymised)
    key = erasure_audit_key(request.request_id, request.requested_at.date())
    outcome.audit_key = key
    if not retry_transient(partial(ports.store.exists, key)):
        body = json.dumps(audit_record(request, outcome, token, at), sort_keys=True).encode()
        retain_until = ports.store.retain_until(at.date(), erasure_retention_years())
        retry_transient(
            partial(ports.store.put, key, body, content_type="application/json", retain_until=retain_until)
        )
        outcome.audit_written = True
    return outcome
