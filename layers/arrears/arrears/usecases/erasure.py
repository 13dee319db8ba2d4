"""Erasure requests (PIPL art. 47, GDPR art. 17): forget the person, keep the lawful record.

What is erased: the borrower's name, phone, e-mail and address (the Borrowers item keeps its id,
time zone, language and region, is tombstoned with `erased_at` and opted out of every channel so no
further contact can be attempted). The hot Contacts records of the borrower's loans hold no PII by
design; their only link to the person, `borrower_id`, is replaced by the archive's pseudonymous
`borrower_token`.

What is kept: the pseudonymised archive (collection records must be retained 5 years in CN and
3 years under Regulation F; they hold no name, phone, e-mail, address or message body), the
loans (the debt itself is not erased by a privacy request), and the lawful basis for the steps
that need no contact with the person: the credit-bureau report and the legal referral of an open
debt (`LAWFUL_BASIS_KEPT`: the borrower is opted out of every contact channel but these, so an
erasure does not quietly stop lawful credit reporting; PIPL art. 13(3)/(7), GDPR art. 17(3)(b)/(e)).

The erasure itself is evidenced by a write-once audit record in the archive bucket,
`erasures/dt=<day>/<request-hash>.json`, holding the SHA-256 of the request id (never the id a
caller supplied, which may carry personal data and could never be removed from under the lock),
the borrower token, times and counts, and the names (never the values) of the fields erased. Every
step is repeatable: a redelivered request changes nothing and writes no second audit record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from arrears.adapters.archive_store import ArchiveStore
from arrears.adapters.dynamodb import BorrowerRepository, ContactRepository
from arrears.config.rulepacks import bundled_rule_packs
from arrears.domain.calendar import format_utc
from arrears.domain.strategy import Channel
from arrears.domain.tokens import borrower_token

ERASURE_PREFIX = "erasures/"

LAWFUL_BASIS_KEPT = frozenset({Channel.BUREAU, Channel.LEGAL})
"""Steps an erasure leaves possible: they reach the bureau or a court, not the person."""


def request_sha256(request_id: str) -> str:
    """The SHA-256 (hex) of a caller-supplied request id: what the stores keep instead of the id."""
    return hashlib.sha256(request_id.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ErasureRequest:
    request_id: str
    borrower_id: str
    requested_at: datetime


@dataclass
class ErasureOutcome:
    request_id: str
    borrower_found: bool
    fields_erased: list[str] = field(default_factory=list)
    loans: int = 0
    contacts_pseudonymised: int = 0
    audit_key: str = ""
    audit_written: bool = False


def erasure_audit_key(request_id: str, day: date) -> str:
    digest = request_sha256(request_id)[:32]
    return f"{ERASURE_PREFIX}dt={day.isoformat()}/{digest}.json"


def erasure_retention_years() -> int:
    """The audit record of an erasure is kept as long as the longest collection record it concerns."""
    return max(pack.retention_years for pack in bundled_rule_packs().latest.values())


def audit_record(
    request: ErasureRequest, outcome: ErasureOutcome, token: str, at: datetime
) -> dict[str, Any]:
    """The erasure's own record: pseudonymous, no erased value, only field names and counts."""
    return {
        "record_type": "ERASURE",
        "request_sha256": request_sha256(request.request_id),
        "borrower_token": token,
        "requested_at": format_utc(request.requested_at),
        "erased_at": format_utc(at),
        "borrower_found": outcome.borrower_found,
        "fields_erased": sorted(outcome.fields_erased),
        "loans": outcome.loans,
        "contacts_pseudonymised": outcome.contacts_pseudonymised,
        "archive": "retained (pseudonymised; lawful retention)",
        "steps_kept": sorted(channel.value for channel in LAWFUL_BASIS_KEPT),
    }


def erase_borrower(
    request: ErasureRequest,
    *,
    at: datetime,
    borrowers: BorrowerRepository,
    loan_ids_for: Callable[[str], list[str]],
    contacts: ContactRepository,
    store: ArchiveStore,
    token_secret: Callable[[], bytes],
) -> ErasureOutcome:
    token = borrower_token(token_secret(), request.borrower_id)
    outcome = ErasureOutcome(request.request_id, borrower_found=False)
    erased = borrowers.erase(
        request.borrower_id,
        request_sha256=request_sha256(request.request_id),
        erased_at=at,
        opt_out=sorted(channel.value for channel in Channel if channel not in LAWFUL_BASIS_KEPT),
    )
    if erased is not None:
        outcome.borrower_found = True
        outcome.fields_erased = erased
    loan_ids = loan_ids_for(request.borrower_id)
    outcome.loans = len(loan_ids)
    for loan_id in loan_ids:
        outcome.contacts_pseudonymised += contacts.pseudonymise_borrower(loan_id, request.borrower_id, token)
    key = erasure_audit_key(request.request_id, request.requested_at.date())
    outcome.audit_key = key
    if not store.exists(key):
        body = json.dumps(audit_record(request, outcome, token, at), sort_keys=True).encode()
        store.put(
            key,
            body,
            content_type="application/json",
            retain_until=store.retain_until(at.date(), erasure_retention_years()),
        )
        outcome.audit_written = True
    return outcome
