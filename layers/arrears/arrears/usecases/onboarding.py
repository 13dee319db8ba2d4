"""Registering a loan from the lending core: fix its terms and cap, check it, assess it once so it
enters the review index.

Every way a loan comes in (a book file through `arrears.usecases.book_import`, a `LoanDisbursed`
event, the local simulator's book) ends here:

* `onboard_borrower` stores a new borrower, or changes the profile of a known one (time zone,
  region, name, phone, e-mail, address, language, preferred hours) unless the stored profile is
  from a later instant (`Borrower.profile_at`: an older update never wins). The borrower's opt-outs
  and their instants are never touched by onboarding (they are the borrower's own,
  `arrears.usecases.preferences`) and an erased borrower's personal data is never restored. A move
  (a new time zone or region) is taken: the contact gate reads the borrower at each contact (hours
  in the new zone, the new state's overlay); the loans keep what was fixed at registration (their
  business dates' zone and their cost cap, which are the contract's).
* `register_contract` registers the loan with its payment history (if any): the history's ledger
  entries are written first, then the loan with them applied on their value dates, so that an
  attempt that stops between the two is healed by the next payment (`arrears.usecases.payments`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from arrears.config.money import money_rules_for
from arrears.config.rulepacks import rule_pack_for
from arrears.domain.assessment import assess
from arrears.domain.borrowers import Borrower
from arrears.domain.business_time import loan_business_date
from arrears.domain.contracts import prepare_contract
from arrears.domain.ledger import LedgerEntry, replay
from arrears.domain.loans import Loan
from arrears.domain.playbook import CollectionPlaybook

# What onboarding may change on a known borrower; the opt-outs and their instants are the borrower's own.
PROFILE_FIELDS = ("timezone", "region", "name", "phone", "email", "address", "language", "preferred_hours")


class Borrowers(Protocol):
    def get(self, borrower_id: str) -> Borrower | None: ...

    def create(self, borrower: Borrower) -> bool: ...

    def update_contact(self, borrower: Borrower) -> bool: ...

    def was_erased(self, borrower: Borrower) -> bool: ...


class Loans(Protocol):
    def get(self, loan_id: str) -> Loan | None: ...

    def create(self, loan: Loan) -> bool: ...


class Ledger(Protocol):
    def record(self, loan_id: str, entry: LedgerEntry, received_at: datetime) -> bool: ...


class BorrowerOutcome(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"  # profile changed (a move included)
    UNCHANGED = "UNCHANGED"
    STALE = "STALE"  # the stored profile is from a later instant: nothing written
    ERASED = "ERASED"  # erased on request: personal data not restored, nothing written


def changed_fields(stored: Borrower, incoming: Borrower) -> list[str]:
    """The names (never the values) of the fields `incoming` would change on `stored`."""
    return [name for name in PROFILE_FIELDS if getattr(stored, name) != getattr(incoming, name)]


def onboard_borrower(
    borrower: Borrower, borrowers: Borrowers, as_of: datetime | None = None
) -> tuple[BorrowerOutcome, list[str]]:
    """Store `borrower` or update a known borrower's profile; (outcome, names of changed fields).

    `as_of`: the instant of the lending core's data (stored as `profile_at`). A known borrower whose
    stored profile is from a later instant is STALE (nothing written, whatever the fields say), so a
    redelivered or reordered older update never undoes a newer one; the same instant again, or no
    instant, is judged by the fields. Idempotent: the same borrower again is UNCHANGED with no write.
    A known borrower keeps their opt-outs whatever `borrower.opted_out_channels` says.
    """
    if as_of is not None:
        borrower = replace(borrower, profile_at=as_of)
    for _ in range(3):
        stored = borrowers.get(borrower.borrower_id)
        if stored is None:
            # An erased borrower's tombstone is under their pseudonym: never registered afresh.
            if borrowers.was_erased(borrower):
                return BorrowerOutcome.ERASED, []
            if borrowers.create(borrower):
                return BorrowerOutcome.CREATED, []
            continue  # created meanwhile by another writer: judge against it
        if as_of is not None and stored.profile_at is not None and stored.profile_at > as_of:
            return BorrowerOutcome.STALE, []
        changed = changed_fields(stored, borrower)
        if not changed:
            return BorrowerOutcome.UNCHANGED, []
        if borrowers.update_contact(borrower):
            return BorrowerOutcome.UPDATED, changed
        if as_of is None:
            return BorrowerOutcome.ERASED, changed
        # Refused: erased, or a later update landed between the read and the write: judge again.
    return BorrowerOutcome.ERASED, []


def registered_contract(
    loan: Loan, borrower: Borrower, playbook: CollectionPlaybook, history: Sequence[LedgerEntry] = ()
) -> Loan:
    """The loan as it would be registered, before its first assessment: `prepare_contract` under its
    product's terms and the money rules of its contract date, with `history` applied on each entry's
    value date (`arrears.domain.ledger.replay`). Pure; raises `ContractOverCap`/`NoCapKnown`."""
    prepared = prepare_contract(
        loan,
        borrower,
        playbook.terms_for(loan.terms.product),
        money_rules_for(loan.jurisdiction, loan.disbursed_on),
    )
    # The champion/challenger arm, fixed at registration (a stable hash of the borrower id): the
    # loan, its actions, its delinquency history and the report's per-arm figures all carry it.
    prepared = prepared.with_changes(strategy_arm=playbook.assign_arm(prepared).name)
    return replay(prepared, history) if history else prepared


def register_contract(
    loan: Loan,
    borrower: Borrower,
    at: datetime,
    *,
    loans: Loans,
    playbook: CollectionPlaybook,
    history: Sequence[LedgerEntry] = (),
    ledger: Ledger | None = None,
) -> bool:
    """Register the assessed loan (the borrower stored already); False when the loan id exists.

    `history`: the lending core's payments made before registration, written to `ledger` first
    (conditional puts keyed by payment id), then applied to the loan. Raises `ContractOverCap`
    (nothing stored) when the contract's own interest and fees are over its cap.
    """
    contract = registered_contract(loan, borrower, playbook, history)
    if history:
        if ledger is None:
            raise ValueError(f"loan {loan.loan_id}: a payment history needs the payment ledger")
        for entry in history:
            ledger.record(loan.loan_id, entry, at)
    assessed = assess(contract, loan_business_date(contract, at, rule_pack_for(loan.jurisdiction)), playbook)
    return loans.create(assessed)


def register_loan(
    loan: Loan,
    borrower: Borrower,
    at: datetime,
    *,
    loans: Loans,
    borrowers: Borrowers,
    playbook: CollectionPlaybook,
    history: Sequence[LedgerEntry] = (),
    ledger: Ledger | None = None,
) -> bool:
    """Store the borrower (`onboard_borrower`) and the assessed loan; False when the loan id exists.

    The loan is registered under its product's terms (`loan.terms.product`), on the borrower's own
    dates, with the cost cap its jurisdiction's money rules fix for its contract date and the
    borrower's state; a contract whose own interest and fees are over that cap raises
    `ContractOverCap` (nothing stored), the message naming the figures.
    """
    registered_contract(loan, borrower, playbook, history)  # refuse before anything is written
    onboard_borrower(borrower, borrowers)
    return register_contract(
        loan, borrower, at, loans=loans, playbook=playbook, history=history, ledger=ledger
    )
