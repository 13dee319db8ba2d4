"""The US Metro 2 monthly file: one file per reporting cycle (a calendar month) to the bureau bucket.

`build_metro2_cycle(period, ...)` runs once a cycle has ended (the monthly schedule, on the 1st): for
every US loan with a delinquency history it

1. checks the pack's precondition (`arrears.domain.bureau`, 12 CFR 1006.30(a)(1)) at the end of the
   cycle, the first time: a loan whose borrower was not told yet is held (counted, not reported)
   and checked again next cycle; once reported, a loan is in every later file until the cycle in
   which it is reported paid or closed (13 / 64);
2. takes its month-end snapshot (`arrears.domain.credit_facts.month_end`) and stores it once per
   (loan, period): a re-run of the cycle reads the stored snapshot and writes the same file;
3. writes the base segment (`arrears.domain.metro2`): status, payment rating, the 24-month profile
   from the stored snapshots, XB/XH, the plan's special comment, the DOFD from the loan's facts
   (never re-aged), balance and amount past due as they stand at the month end. A payment reversed
   after a cycle was reported therefore shows, corrected, in the next cycle's file; a disputed
   account is flagged XB, never dropped.

Personal data (name, address, phone) is read from the Borrowers table inside this function, written
only to the file (SSE-KMS, the bureau bucket), never logged nor returned: the result holds ids and
counts only. The Social Security number and birth date are not held by Arrears: zero-filled (the
CRRG's rule for a numeric field not available); a lender adds them from its core system.

At scale the loans come from a DynamoDB export to S3, not a table scan (docs/scaling.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Protocol

from arrears.adapters.retrying import retry_transient
from arrears.config.rulepacks import bundled_rule_packs, rule_pack_in_force
from arrears.domain.borrowers import Borrower
from arrears.domain.bureau import Communication, bureau_check
from arrears.domain.credit_facts import CreditFacts, MonthEnd, advance_facts, month_end
from arrears.domain.loans import Loan
from arrears.domain.metro2 import (
    BASE,
    HEADER,
    RECORD_LENGTH,
    account_status,
    compliance_condition,
    dollars,
    field_value,
    payment_history_profile,
    payment_rating,
    record,
    special_comment,
    trailer,
)
from arrears.domain.rulepacks import RulePackHistory
from arrears.domain.tokens import is_pseudonym

US_PREFIX = "US"
CLOSED_STATUSES = frozenset({"13", "64"})


class CreditFactsStore(Protocol):
    def facts(self, loan_id: str) -> CreditFacts | None: ...
    def months(self, loan_id: str) -> tuple[dict[str, MonthEnd], str | None]: ...
    def record_month(self, loan_id: str, snapshot: MonthEnd, *, first_reported: str) -> MonthEnd: ...
    def loan_ids(self, jurisdiction_prefix: str) -> Iterator[str]: ...


class LoanReader(Protocol):
    def get(self, loan_id: str) -> Loan | None: ...


class BorrowerReader(Protocol):
    def get(self, borrower_id: str) -> Borrower | None: ...


class FileWriter(Protocol):
    def put(self, key: str, body: bytes, *, content_type: str) -> None: ...


@dataclass
class Metro2Cycle:
    """What one cycle's build did: the file's key, accounts by status code, and why others are out.

    `held`: loans whose borrower was not yet told (the precondition); `disputed`: accounts flagged
    XB; `resolved`: XH; `plans`: accounts with the plan's special comment; `closed_before`: loans
    reported paid or closed in an earlier cycle and left out since (or closed before this cycle
    without ever being reported); `no_identity`: loans whose borrower's name is no longer held (erased
    on the borrower's request, `arrears.usecases.erasure`): left out, as a bureau cannot match an
    account without a name (Metro 2 field 31, surname, is required); `missing`: loans with a history
    but no loan or borrower item (counted, nothing written for them); `not_open`: loans disbursed
    after the cycle's last day; `rejected`: accounts whose record could not be formatted (loan id
    and the layout's reason, never a value of the borrower), left out of the file;
    `identities_erased`: erased borrowers whose kept name and address went this cycle, their last
    standing account's closing report having gone in an earlier file (`complete_erasure`).
    """

    period: str
    key: str = ""
    accounts: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    held: int = 0
    disputed: int = 0
    resolved: int = 0
    plans: int = 0
    closed_before: int = 0
    no_identity: int = 0
    missing: int = 0
    not_open: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    identities_erased: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "period": self.period,
            "key": self.key,
            "accounts": self.accounts,
            "by_status": dict(sorted(self.by_status.items())),
            "held_by_precondition": self.held,
            "disputed_xb": self.disputed,
            "resolved_xh": self.resolved,
            "plan_special_comment": self.plans,
            "closed_before": self.closed_before,
            "no_identity": self.no_identity,
            "missing": self.missing,
            "not_open_yet": self.not_open,
            "rejected": self.rejected,
            "identities_erased_after_closing_report": self.identities_erased,
        }


def cycle_bounds(period: str) -> tuple[date, date]:
    """The first and last day of the period "YYYY-MM"; ValueError for anything else."""
    first = date.fromisoformat(f"{period}-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def previous_period(at: datetime) -> str:
    """The cycle that ended before the instant `at` (UTC): the month before `at`'s."""
    first = at.astimezone(UTC).date().replace(day=1) - timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def _names(borrower: Borrower) -> tuple[str, str, str]:
    parts = borrower.name.split()
    if not parts:
        return "", "", ""
    return parts[-1], parts[0], " ".join(parts[1:-1])


def _address(borrower: Borrower) -> tuple[str, str]:
    line, _, city = borrower.address.partition(",")
    return line.strip(), city.strip() if city.strip() != borrower.region else ""


def _phone(borrower: Borrower) -> int | None:
    digits = "".join(c for c in borrower.phone if c.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return int(digits) if len(digits) == 10 else None


def base_segment(
    loan: Loan,
    borrower: Borrower,
    facts: CreditFacts,
    snapshot: MonthEnd,
    history: dict[str, MonthEnd],
    *,
    period: str,
    cycle_start: date,
    created_at: datetime,
    furnisher_id: str,
) -> str:
    """The 426-character base segment of one account for the cycle `period`."""
    first, _ = cycle_bounds(period)
    previous = history.get(f"{(first - timedelta(days=1)):%Y-%m}")
    status = account_status(snapshot, charged_off_before=facts.charge_off_minor > 0)
    paid = max(0, snapshot.paid_total_minor - previous.paid_total_minor) if previous else 0
    surname, first_name, middle = _names(borrower)
    line, city = _address(borrower)
    terms = len(loan.instalments)
    monthly = loan.instalments[0].total_due
    rating = payment_rating(status, snapshot, previous)
    current = status == "11" or (status == "13" and rating == "0")
    closed_on = (
        (loan.closed_on or snapshot.last_payment_on or snapshot.as_of) if status in CLOSED_STATUSES else None
    )
    return record(
        BASE,
        {
            "record_descriptor_word": RECORD_LENGTH,
            "processing_indicator": 1,
            "time_stamp": created_at.astimezone(UTC).replace(tzinfo=None),
            "identification_number": furnisher_id,
            "consumer_account_number": loan.loan_id,
            "portfolio_type": "I",  # installment
            "account_type": "01",  # unsecured
            "date_opened": loan.disbursed_on,
            "credit_limit": 0,
            "highest_credit": dollars(loan.principal_minor),
            "terms_duration": f"{terms:03d}",
            "terms_frequency": "M" if terms > 1 else "P",  # monthly; P: a single deferred payment
            "scheduled_monthly_payment": dollars(monthly),
            "actual_payment_amount": dollars(paid),
            "account_status": status,
            "payment_rating": rating,
            "payment_history_profile": payment_history_profile(period, loan.disbursed_on, history),
            "special_comment": special_comment(snapshot),
            "compliance_condition_code": compliance_condition(
                snapshot, facts.dispute_changed_on, cycle_start
            ),
            "current_balance": dollars(snapshot.balance_minor),
            "amount_past_due": dollars(snapshot.amount_past_due_minor),
            "original_charge_off_amount": dollars(facts.charge_off_minor),
            "date_of_account_information": snapshot.as_of,
            # FCRA 623(a)(5): reported while delinquent, charged off or paid after a delinquency.
            "date_of_first_delinquency": None if current else snapshot.dofd,
            "date_closed": closed_on,
            "date_of_last_payment": snapshot.last_payment_on,
            "interest_type_indicator": "F",  # fixed
            "surname": surname,
            "first_name": first_name,
            "middle_name": middle,
            "telephone_number": _phone(borrower),
            "ecoa_code": "1",  # individual
            "country_code": "US",
            "address_line_1": line,
            "city": city,
            "state": borrower.region if len(borrower.region) == 2 else "",
            "address_indicator": "",
            "residence_code": "",
        },
    )


def header(period: str, created_at: datetime, *, furnisher_id: str, reporter_name: str) -> str:
    _, last = cycle_bounds(period)
    return record(
        HEADER,
        {
            "record_descriptor_word": RECORD_LENGTH,
            "record_identifier": "HEADER",
            "equifax_program_identifier": furnisher_id,
            "experian_program_identifier": furnisher_id[:5],
            "transunion_program_identifier": furnisher_id,
            "innovis_program_identifier": furnisher_id,
            "activity_date": last,
            "date_created": created_at.astimezone(UTC).date(),
            "program_date": date(2026, 1, 1),
            "program_revision_date": date(2026, 1, 1),
            "reporter_name": reporter_name,
            "software_vendor_name": "ARREARS",
            "software_version": "1",
        },
    )


def build_metro2_cycle(
    period: str,
    *,
    created_at: datetime,
    facts: CreditFactsStore,
    loans: LoanReader,
    borrowers: BorrowerReader,
    communications: Callable[[str], Iterable[Communication]],
    files: FileWriter,
    furnisher_id: str,
    reporter_name: str,
    packs: Callable[[], RulePackHistory] = bundled_rule_packs,
    loan_ids: Iterable[str] | None = None,
    complete_erasure: Callable[[str], bool] | None = None,
) -> Metro2Cycle:
    """Build and write the Metro 2 file of the cycle `period` ("YYYY-MM"); see the module.

    `created_at`: the schedule's instant (the file's time stamps; a retried run writes the same
    bytes to the same key). `loan_ids`: the loans to consider (default: every US loan with a
    history). `communications(loan_id)`: the loan's settled contacts (the precondition's notice is
    among them: `Communication.of` the loan's actions). Raises ValueError for a malformed period or
    a record that breaks the layout.

    `complete_erasure(borrower_id)`: called, once the file is written, for each erased borrower (a
    pseudonym) with an account reported paid or closed in an earlier cycle (or closed without ever
    being reported): an erasure keeps the name and address an account's closing report needs
    (`arrears.usecases.erasure`), and this lets them go when nothing else does; True when it erased
    something (`identities_erased`). Never in the cycle that carries the closing report itself: a
    retried schedule must write that file again, name included.
    """
    cycle_start, as_of = cycle_bounds(period)
    judged_at = datetime.combine(as_of, time.max, tzinfo=UTC)
    result = Metro2Cycle(period)
    bases: list[str] = []
    closed_erased: set[str] = set()  # erased borrowers with an account reported closed before this cycle

    def account(loan_id: str) -> None:
        """One loan's account: counted as held, closed or missing, or its base segment appended.
        Each read, and the snapshot stored once, is retried alone on a transient error
        (`arrears.adapters.retrying`): every one is idempotent."""
        loan = retry_transient(partial(loans.get, loan_id))
        if loan is None:
            result.missing += 1
            return
        if loan.disbursed_on > as_of:
            result.not_open += 1
            return
        history, first_reported = retry_transient(partial(facts.months, loan_id))
        history = {p: m for p, m in history.items() if p < period}
        loan_facts = retry_transient(partial(facts.facts, loan_id)) or advance_facts(None, loan)
        never_reported_and_closed = (
            not history and loan.closed_on is not None and loan.closed_on < cycle_start
        )
        if never_reported_and_closed or (
            history and account_status_of(history, loan_facts) in CLOSED_STATUSES
        ):
            result.closed_before += 1
            if is_pseudonym(loan.borrower_id):  # erased: the identity kept may go now
                closed_erased.add(loan.borrower_id)
            return
        borrower = retry_transient(partial(borrowers.get, loan.borrower_id))
        if borrower is None:
            result.missing += 1
            return
        if not borrower.name.strip():  # erased: nothing a bureau could match the account to
            result.no_identity += 1
            return
        if first_reported is None or first_reported > period:
            pack = rule_pack_in_force(loan.jurisdiction, judged_at, packs(), address_state=borrower.region)
            if pack.bureau_precondition is not None:
                told = bureau_check(
                    pack.bureau_precondition,
                    retry_transient(lambda: tuple(communications(loan_id))),
                    judged_at,
                )
                if not told.allowed:
                    result.held += 1
                    return
        snapshot = retry_transient(
            partial(
                facts.record_month,
                loan_id,
                month_end(loan, loan_facts, as_of),
                first_reported=first_reported or period,
            )
        )
        try:
            base = base_segment(
                loan,
                borrower,
                loan_facts,
                snapshot,
                history,
                period=period,
                cycle_start=cycle_start,
                created_at=created_at,
                furnisher_id=furnisher_id,
            )
        except ValueError as error:  # one account that breaks the layout does not stop the file
            result.rejected.append({"loan_id": loan_id, "reason": str(error)})
            return
        bases.append(base)
        result.by_status[field_value(BASE, base, "account_status")] += 1
        condition = field_value(BASE, base, "compliance_condition_code")
        result.disputed += condition == "XB"
        result.resolved += condition == "XH"
        result.plans += field_value(BASE, base, "special_comment").strip() != ""

    ids = retry_transient(lambda: sorted(loan_ids if loan_ids is not None else facts.loan_ids(US_PREFIX)))
    for loan_id in ids:  # a transient error retries its own call, never the whole file
        account(loan_id)
    result.accounts = len(bases)
    text = "\n".join(
        [
            header(period, created_at, furnisher_id=furnisher_id, reporter_name=reporter_name),
            *bases,
            trailer(bases),
        ]
    )
    result.key = f"metro2/cycle={period}/{furnisher_id or 'furnisher'}-{period}.txt"
    body = (text + "\n").encode("ascii")
    retry_transient(lambda: files.put(result.key, body, content_type="text/plain"))
    if complete_erasure is not None:
        for borrower_id in sorted(closed_erased):
            result.identities_erased += int(complete_erasure(borrower_id))
    return result


def report_standing(facts: CreditFactsStore, loan_id: str) -> bool:
    """Whether the loan's account stands at the bureaus unclosed: a month-end snapshot was reported
    and the status last reported is not paid or closed (13 / 64). Such an account's closing report
    still needs the borrower's name and address (Metro 2 base segment fields 31-44; FCRA
    15 U.S.C. 1681s-2(a)(1), (2): a furnisher reports accurately and corrects what it reported)."""
    history, _ = facts.months(loan_id)
    if not history:
        return False
    return account_status_of(history, facts.facts(loan_id)) not in CLOSED_STATUSES


def account_status_of(history: dict[str, MonthEnd], facts: CreditFacts | None) -> str:
    """The status last reported (from the latest stored snapshot; `facts` None: never charged off)."""
    latest = history[max(history)]
    return account_status(latest, charged_off_before=facts is not None and facts.charge_off_minor > 0)


__all__ = [
    "Metro2Cycle",
    "base_segment",
    "build_metro2_cycle",
    "cycle_bounds",
    "header",
    "previous_period",
    "report_standing",
]
