"""Keep a loan's credit-bureau facts on its history, from each change of the loan.

The planner receives every change of a loan from the Loans stream (sweep, payment, reversal,
charge-off, hold) and calls `record_bureau_facts` with both versions: the facts (DOFD, charge-off
amount, dispute and plan states, the CN five-level class: `arrears.domain.credit_facts`) move on
from those stored, and are written conditional on the loan version (a replayed or older record
changes nothing). A change that is also a bucket transition (`arrears.domain.transitions`) is
appended to the delinquency history in the same write of the loan's history item, and counted in the
stock only when that write succeeded (`arrears.usecases.delinquency_history` explains the count).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Protocol

from arrears.adapters.retrying import retry_transient
from arrears.config.rulepacks import bundled_rule_packs, rule_pack_in_force
from arrears.domain.bureau import Communication, bureau_check
from arrears.domain.cn_credit import CnEvent
from arrears.domain.credit_facts import CreditFacts, advance_facts
from arrears.domain.loans import Loan
from arrears.domain.rulepacks import RulePackHistory
from arrears.domain.transitions import Transition, transition
from arrears.usecases.cn_credit_reports import CnReport, CreditReportWriter, report_cn_change
from arrears.usecases.delinquency_history import StockCounters


class CreditFactsWriter(Protocol):
    def facts(self, loan_id: str) -> CreditFacts | None: ...
    def save(
        self,
        facts: CreditFacts,
        *,
        loan: Loan | None = None,
        transition: Transition | None = None,
        token: str | None = None,
    ) -> bool: ...
    def append(self, loan: Loan, transition: Transition, *, token: str | None = None) -> bool: ...


def record_bureau_facts(
    before: Loan | None,
    after: Loan,
    at: datetime,
    *,
    store: CreditFactsWriter,
    cn_writer: CreditReportWriter | None,
    communications: Callable[[str], Iterable[Communication]],
    packs: Callable[[], RulePackHistory] = bundled_rule_packs,
    history: bool = False,
    stock: StockCounters | None = None,
) -> CnReport | None:
    """Record the facts of `after`, and, for a CN loan with a writer, first report the change's CN
    records (`arrears.usecases.cn_credit_reports`): negative ones once the pack's precondition holds
    at the change's instant `at` (`communications(loan_id)`: the loan's settled contacts). With
    `history`, the change's bucket transition (if any) is appended in the same write and then counted
    in `stock`. None when nothing was reported (a replayed or older version, not a CN loan, or no
    writer)."""
    prior = retry_transient(partial(store.facts, after.loan_id))
    change = transition(before, after) if history else None
    # Each call is retried alone on a transient error; a write keeps one token over its attempts, so
    # an attempt applied whose answer was lost is recognised as ours: counted once, never skipped.
    token = uuid.uuid4().hex
    if prior is not None and prior.version >= after.version:
        # A replay, or a version whose facts a later one has moved on (a record retried after the next
        # ones succeeded): its transition alone, which the history's version guard appends once.
        appended = change is not None and retry_transient(partial(store.append, after, change, token=token))
        if change is not None and appended and stock is not None:
            stock.apply(after.jurisdiction, change)
        return None
    facts = advance_facts(prior, after, before)
    report: CnReport | None = None
    if cn_writer is not None and after.jurisdiction.startswith("CN"):

        def told() -> bool:
            precondition = rule_pack_in_force(after.jurisdiction, at, packs()).bureau_precondition
            return (
                precondition is None
                or bureau_check(
                    precondition, retry_transient(lambda: list(communications(after.loan_id))), at
                ).allowed
            )

        report = report_cn_change(before, after, prior, facts, writer=cn_writer, told=told)
        if any(r.event is CnEvent.NEW_ACCOUNT for r in report.written):
            facts = replace(facts, cn_opened=True)
    # Written after the records: a replay of a change whose facts were not saved writes the same
    # records again (same keys), never loses them.
    saved = retry_transient(partial(store.save, facts, loan=after, transition=change, token=token))
    if saved and change is not None and stock is not None:
        stock.apply(after.jurisdiction, change)
    return report


__all__ = ["CreditFactsWriter", "record_bureau_facts"]
