"""Keep a loan's credit-bureau facts on its history, from each change of the loan.

The planner receives every change of a loan from the Loans stream (sweep, payment, reversal,
charge-off, hold) and calls `record_credit_facts` with the new version: the facts (DOFD, charge-off
amount, dispute and plan states, the CN five-level class: `arrears.domain.credit_facts`) move on
from those stored, and are written conditional on the loan version (a replayed or older record
changes nothing).
"""

from __future__ import annotations

from typing import Protocol

from arrears.domain.credit_facts import CreditFacts, advance_facts
from arrears.domain.loans import Loan


class CreditFactsWriter(Protocol):
    def facts(self, loan_id: str) -> CreditFacts | None: ...
    def save(self, facts: CreditFacts) -> bool: ...


def record_credit_facts(
    after: Loan, *, store: CreditFactsWriter
) -> tuple[CreditFacts | None, CreditFacts] | None:
    """Advance and store the facts of `after`; (the facts before, the facts after), or None when
    that loan version (or a later one) was applied already."""
    prior = store.facts(after.loan_id)
    if prior is not None and prior.version >= after.version:
        return None
    facts = advance_facts(prior, after)
    if not store.save(facts):
        return None
    return prior, facts


__all__ = ["CreditFactsWriter", "record_credit_facts"]
