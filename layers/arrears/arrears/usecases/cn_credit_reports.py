"""CN credit-reporting records, written within a day of each triggering event (from the Loans stream).

The planner sees every change of a loan as it happens; for a CN loan it calls `report_cn_change`
after the facts are recorded (`arrears.usecases.credit_facts`): the change's records
(`arrears.domain.cn_credit.cn_records`) go to the `CreditReportWriter`. The shipped writer is JSON
Lines in the bureau bucket (`arrears.adapters.bureau_files.JsonLinesCreditReportWriter`); a lender
with a PBOC-certified format implements the same one-method port.

Negative information waits for the prior notice (征信业管理条例 art. 15, the CN pack's
`bureau_precondition`, judged at the change's instant): a negative record before the borrower was
told is held (counted, not written); the next record of the loan carries its state as it then is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from arrears.adapters.retrying import retry_transient
from arrears.domain.cn_credit import CnCreditRecord, cn_records
from arrears.domain.credit_facts import CreditFacts
from arrears.domain.loans import Loan


class CreditReportWriter(Protocol):
    """Where CN credit-reporting records go. `write` is called once per loan change with its records
    (never empty); writing the same records again must be harmless (a replayed change)."""

    def write(self, records: Sequence[CnCreditRecord]) -> None: ...


@dataclass(frozen=True, slots=True)
class CnReport:
    """What a change reported: the records written and the negative ones held (not told yet)."""

    written: tuple[CnCreditRecord, ...] = ()
    held: tuple[CnCreditRecord, ...] = ()


def report_cn_change(
    before: Loan | None,
    after: Loan,
    prior: CreditFacts | None,
    facts: CreditFacts,
    *,
    writer: CreditReportWriter,
    told: Callable[[], bool],
) -> CnReport:
    """Write the records of the change `before` -> `after` (facts `prior` -> `facts`); `told()`
    says whether the borrower was given the prior notice (asked only when a record is negative)."""
    records = cn_records(before, after, prior, facts)
    if not records:
        return CnReport()
    allowed = not any(r.negative for r in records) or told()
    written = tuple(r for r in records if allowed or not r.negative)
    held = tuple(r for r in records if not allowed and r.negative)
    if written:
        retry_transient(partial(writer.write, written))  # the same records again are harmless
    return CnReport(written, held)


__all__ = ["CnReport", "CreditReportWriter", "report_cn_change"]
