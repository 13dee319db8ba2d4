"""Loans and their instalment schedules.

Money is always an integer amount of minor units (fen, cents) in the loan's currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from fractions import Fraction

from arrears.domain.calendar import add_months
from arrears.domain.plan_state import RepaymentPlan
from arrears.domain.terms import DEFAULT_TERMS, LoanTerms


class LoanStatus(StrEnum):
    """OPEN while collected; CLOSED when repaid in full; CHARGED_OFF at the playbook's charge-off DPD."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"
    CHARGED_OFF = "CHARGED_OFF"


@dataclass(frozen=True, slots=True)
class Instalment:
    """One contractual instalment: what is due on `due_on` and what has become of it.

    `*_due` are the contract's amounts and never change. A payment adds to `*_paid`; a prepayment of
    principal adds to `principal_prepaid` (principal taken off the schedule) and waives the interest
    and fees that would have accrued on it (`interest_waived`, `fee_waived`); a payoff or a charge-off
    waives whatever had not accrued yet. `pay_by` is the last day a payment is on time: the due date
    moved to the next working day of the loan's calendar (None: the due date itself).

    Interest and fees accrue day by day over the instalment's period (the day after the previous due
    date, or after disbursement, to the due date). After a prepayment inside the period the accrual
    restarts from `accrual_from` with the exact amounts accrued by then (`interest_accrued_at`,
    `fee_accrued_at`), at the lower rate (`arrears.domain.money`).
    """

    seq: int
    due_on: date
    principal_due: int
    interest_due: int
    fee_due: int = 0
    principal_paid: int = 0
    interest_paid: int = 0
    fee_paid: int = 0
    settled_on: date | None = None
    pay_by: date | None = None
    principal_prepaid: int = 0
    interest_waived: int = 0
    fee_waived: int = 0
    accrual_from: date | None = None
    interest_accrued_at: Fraction = Fraction(0)
    fee_accrued_at: Fraction = Fraction(0)

    def __post_init__(self) -> None:
        for name in (
            "principal_due",
            "interest_due",
            "fee_due",
            "principal_paid",
            "interest_paid",
            "fee_paid",
            "principal_prepaid",
            "interest_waived",
            "fee_waived",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(
                    f"instalment {self.seq}: {name} must be a non-negative integer, got {value!r}"
                )
        if self.principal_paid + self.principal_prepaid > self.principal_due:
            raise ValueError(f"instalment {self.seq}: paid more principal than due")
        if self.interest_paid + self.interest_waived > self.interest_due:
            raise ValueError(f"instalment {self.seq}: paid more interest than due")
        if self.fee_paid + self.fee_waived > self.fee_due:
            raise ValueError(f"instalment {self.seq}: fee paid more than due")
        if self.pay_by is not None and self.pay_by < self.due_on:
            raise ValueError(f"instalment {self.seq}: pay_by {self.pay_by} is before the due date")
        if self.interest_accrued_at < 0 or self.fee_accrued_at < 0:
            raise ValueError(f"instalment {self.seq}: accrued amounts must be non-negative")

    @property
    def effective_due(self) -> date:
        """The last day a payment is on time (the due date, or the next working day after it)."""
        return self.due_on if self.pay_by is None else self.pay_by

    @property
    def principal_owed(self) -> int:
        return self.principal_due - self.principal_prepaid

    @property
    def interest_owed(self) -> int:
        return self.interest_due - self.interest_waived

    @property
    def fee_owed(self) -> int:
        return self.fee_due - self.fee_waived

    @property
    def principal_outstanding(self) -> int:
        return self.principal_owed - self.principal_paid

    @property
    def interest_outstanding(self) -> int:
        return self.interest_owed - self.interest_paid

    @property
    def fee_outstanding(self) -> int:
        return self.fee_owed - self.fee_paid

    @property
    def outstanding(self) -> int:
        return self.principal_outstanding + self.interest_outstanding + self.fee_outstanding

    @property
    def is_settled(self) -> bool:
        return self.outstanding == 0

    @property
    def total_due(self) -> int:
        return self.principal_due + self.interest_due + self.fee_due

    @property
    def total_owed(self) -> int:
        return self.principal_owed + self.interest_owed + self.fee_owed


@dataclass(frozen=True, slots=True)
class Holds:
    """Borrower-side pauses and stops that the planner and the dispatcher honour."""

    promise_to_pay_until: date | None = None
    dispute_open: bool = False
    hardship_until: date | None = None
    cease_contact: bool = False
    bankruptcy: bool = False
    deceased: bool = False
    # A repayment plan in force (arrears.domain.plans): escalation waits until this day (the last
    # plan instalment's due date plus the grace days); lifted when the plan breaks or completes.
    plan_until: date | None = None


class HoldKind(StrEnum):
    """The kinds of hold a `HoldChanged` event sets or lifts, one field of `Holds` each."""

    PROMISE_TO_PAY = "promise_to_pay"  # Holds.promise_to_pay_until (a date)
    HARDSHIP = "hardship"  # Holds.hardship_until (a date)
    DISPUTE = "dispute"  # Holds.dispute_open
    CEASE_CONTACT = "cease_contact"  # Holds.cease_contact
    BANKRUPTCY = "bankruptcy"  # Holds.bankruptcy
    DECEASED = "deceased"  # Holds.deceased
    PLAN = "plan"  # Holds.plan_until (a date): a repayment plan in force (arrears.domain.plans)

    @property
    def dated(self) -> bool:
        """Whether the hold runs until a date (and needs one to be set)."""
        return self in (HoldKind.PROMISE_TO_PAY, HoldKind.HARDSHIP, HoldKind.PLAN)


@dataclass(frozen=True, slots=True)
class HoldStamp:
    """The last change applied to one kind of hold: when it happened and which request made it.

    Changes of one kind are ordered by (occurred_at, request_id); a change that does not come after
    the stamp is a redelivery or older than what is in force, and changes nothing
    (`arrears.domain.holds`).
    """

    hold: HoldKind
    occurred_at: datetime
    request_id: str

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise ValueError(f"hold stamp {self.hold.value}: occurred_at must be an aware datetime")
        if not self.request_id:
            raise ValueError(f"hold stamp {self.hold.value}: request_id must not be empty")

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.occurred_at, self.request_id)


@dataclass(frozen=True, slots=True)
class Loan:
    """A consumer loan with its schedule and the collection state derived from it.

    Money state (`arrears.domain.money`): the instalments' paid, prepaid and waived amounts, and, as
    of the end of the day `money_through`, the penalty charged (`penalty_exact`, exact and already
    capped; `penalty_accrued_minor` is its whole minor units) and the principal-days the cost cap
    has allowed for (`principal_days`). Anything later is derived from dates. A charged-off loan
    stops accruing on `charged_off_on`; what it recovers after that is `recovered_minor`.

    The payment ledger lives outside the loan (one item per payment); the loan keeps only which set
    of payments it reflects (`ledger_count`, `ledger_digest`) and the last one applied in value-date
    order (`last_value_date`, `last_payment_id`), so that a payment dated earlier is seen and the
    ledger replayed (`arrears.domain.ledger`).

    `timezone` is the borrower's IANA zone: the loan's business dates are the borrower's own.
    `terms` are the product's terms (`arrears.domain.terms`).
    `dpd`, `bucket`, `due_offset`, `collection_instalment` and `evaluated_on` are the state as of the
    last evaluation. `collection_instalment` is the instalment in collection: the sequence number of
    the arrears anchor (the first instalment whose unpaid remainder, with those before it, exceeds the
    product's tolerance), whose last on-time day anchors the strategy's offsets (0 when none; stored
    as `cycle`).
    """

    loan_id: str
    borrower_id: str
    jurisdiction: str
    currency: str
    principal_minor: int
    disbursed_on: date
    instalments: tuple[Instalment, ...]
    penalty_daily_ppm: int
    apr_cap_bps: int
    status: LoanStatus = LoanStatus.OPEN
    penalty_exact: Fraction = Fraction(0)
    penalty_paid_minor: int = 0
    money_through: date | None = None
    principal_days: int = 0
    charged_off_on: date | None = None
    recovered_minor: int = 0
    overpaid_minor: int = 0
    timezone: str = ""
    # The borrower's region (US: state) when the contract was registered: the state whose cost cap
    # `apr_cap_bps` is. A borrower who moves later changes their contact rules, not this.
    contract_region: str = ""
    terms: LoanTerms = DEFAULT_TERMS
    ledger_count: int = 0
    ledger_digest: int = 0
    last_value_date: date | None = None
    last_payment_id: str | None = None
    dpd: int = 0
    bucket: str = "M0"
    due_offset: int | None = None
    collection_instalment: int = 0
    evaluated_on: date | None = None
    closed_on: date | None = None
    holds: Holds = field(default_factory=Holds)
    strategy_arm: str = "champion"
    risk_band: str = "MEDIUM"
    version: int = 0
    next_review_on: date | None = None
    # Behavioural risk (arrears.domain.risk): score, and (feature, value, points) behind it.
    risk_score: int | None = None
    risk_features: tuple[tuple[str, int, int], ...] = ()
    # The behaviour counters the score reads, kept by arrears.domain.behaviour (each change counted
    # once): promises to pay not kept, and calls in a row that did not connect.
    broken_promises: int = 0
    unanswered_contacts: int = 0
    # The promised dates of the last promise judged broken (counted) and kept (not counted): a
    # promise is judged once, so a re-assessment never counts it again.
    last_broken_promise: date | None = None
    last_kept_promise: date | None = None
    # The last few dialer call ids that changed `unanswered_contacts` (a retried report is a no-op).
    applied_call_ids: tuple[str, ...] = ()
    # The last change applied to each kind of hold (at most one stamp per kind, in kind order): a
    # redelivered or older HoldChanged event finds it and changes nothing (arrears.domain.holds).
    hold_stamps: tuple[HoldStamp, ...] = ()
    # Regulation F validation notice (arrears.domain.validation_notice): the instant it was sent and
    # the last day of the validation period it states (the dispute deadline), and the SHA-256 of the
    # notice as sent; None/"" = not sent. `validation_notice_action`: the action whose send carried it
    # ("" on loans whose notice was recorded before it was kept): only that action's redelivery
    # writes the notice's contact record again (a run that died between the two writes).
    validation_notice_at: datetime | None = None
    validation_period_ends: date | None = None
    validation_notice_sha256: str = ""
    validation_notice_action: str = ""
    validation_notice_amount_minor: int = 0  # the current amount the notice itemized
    # The repayment plan agreed on the loan, the last one (arrears.domain.plans): ACTIVE while it is
    # kept (with the PLAN hold), else how it ended (BROKEN, COMPLETED); None = never had one.
    plan: RepaymentPlan | None = None
    # The hardship reason the borrower gave last (arrears.domain.borrower_requests.HardshipReason
    # value, "" = none), while the hardship it came with is on record: strategy steps branch on it.
    hardship_reason: str = ""
    # For a debt placed with a collector or sold: the original creditor's date of default (the day
    # the creditor knew or should have known of it), which the limitation period counts from when
    # earlier than this schedule's own default (arrears.domain.limitation); None = the schedule's.
    original_default_on: date | None = None

    def __post_init__(self) -> None:
        for name in (
            "principal_minor",
            "penalty_daily_ppm",
            "apr_cap_bps",
            "penalty_paid_minor",
            "principal_days",
            "recovered_minor",
            "overpaid_minor",
            "ledger_count",
            "ledger_digest",
            "dpd",
            "collection_instalment",
            "version",
            "broken_promises",
            "unanswered_contacts",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(
                    f"loan {self.loan_id}: {name} must be an integer, got {type(value).__name__}"
                )
        if self.broken_promises < 0 or self.unanswered_contacts < 0:
            raise ValueError(f"loan {self.loan_id}: behaviour counters must be non-negative")
        stamped = [stamp.hold for stamp in self.hold_stamps]
        if len(stamped) != len(set(stamped)):
            raise ValueError(f"loan {self.loan_id}: more than one stamp for a kind of hold")
        if not self.instalments:
            raise ValueError(f"loan {self.loan_id}: no instalments")
        if self.principal_minor <= 0:
            raise ValueError(f"loan {self.loan_id}: principal_minor must be positive")
        if sum(i.principal_due for i in self.instalments) != self.principal_minor:
            raise ValueError(f"loan {self.loan_id}: instalment principal does not add up to principal_minor")
        dues = [i.due_on for i in self.instalments]
        if dues != sorted(dues):
            raise ValueError(f"loan {self.loan_id}: instalments must be in due-date order")
        if self.penalty_daily_ppm < 0 or self.apr_cap_bps < 0:
            raise ValueError(f"loan {self.loan_id}: rates must be non-negative")
        if self.penalty_exact < 0:
            raise ValueError(f"loan {self.loan_id}: penalty_exact must be non-negative")
        if self.penalty_paid_minor < 0 or self.penalty_paid_minor > self.penalty_exact:
            raise ValueError(f"loan {self.loan_id}: penalty paid must be between 0 and the penalty charged")
        if self.instalments[0].due_on <= self.disbursed_on:
            raise ValueError(f"loan {self.loan_id}: the first instalment is due on or before disbursement")

    @property
    def penalty_accrued_minor(self) -> int:
        """The penalty charged through `money_through`, in whole minor units."""
        return int(self.penalty_exact)

    @property
    def plan_active(self) -> bool:
        """Whether a repayment plan is in force (Metro 2 and the strategy's branches read this)."""
        return self.plan is not None and self.plan.is_active

    @property
    def is_charged_off(self) -> bool:
        return self.status is LoanStatus.CHARGED_OFF

    @property
    def is_open(self) -> bool:
        return self.status is LoanStatus.OPEN

    @property
    def oldest_unsettled(self) -> Instalment | None:
        return next((i for i in self.instalments if not i.is_settled), None)

    @property
    def scheduled_outstanding(self) -> int:
        """Fees, interest and principal still owed on the schedule (penalty excluded)."""
        return sum(i.outstanding for i in self.instalments)

    @property
    def contractual_cost(self) -> int:
        """Interest and fees the contract charges over its whole term."""
        return sum(i.interest_due + i.fee_due for i in self.instalments)

    @property
    def term_days(self) -> int:
        return (self.instalments[-1].due_on - self.disbursed_on).days

    def period_start(self, index: int) -> date:
        """The day before instalment `index`'s period begins: the previous due date, or disbursement."""
        return self.disbursed_on if index == 0 else self.instalments[index - 1].due_on

    def with_changes(self, **changes: object) -> Loan:
        """A copy with `changes` (field name -> value), checked as a new loan is (`__post_init__`:
        ValueError); TypeError for a name that is not a field.

        `dataclasses.replace` without its generic path: a loan has 49 fields and is copied on every
        change (3.8 % of a what-if's CPU in `replace`); setting the fields directly and running the
        same checks costs 0.64 times as much (measured side by side in one process)."""
        if not changes.keys() <= _LOAN_FIELD_SET:
            raise TypeError(f"Loan has no field {sorted(changes.keys() - _LOAN_FIELD_SET)[0]!r}")
        new = object.__new__(Loan)
        for name in _LOAN_FIELDS:
            _set(new, name, changes[name] if name in changes else getattr(self, name))
        new.__post_init__()
        return new


_LOAN_FIELDS = tuple(f.name for f in fields(Loan))
_LOAN_FIELD_SET = frozenset(_LOAN_FIELDS)
_set = object.__setattr__  # a frozen dataclass's fields are set as its own __init__ sets them


def build_schedule(
    principal_minor: int,
    *,
    disbursed_on: date,
    instalments: int,
    monthly_interest_bps: int,
    fee_minor: int = 0,
    cash_loan_days: int = 30,
) -> tuple[Instalment, ...]:
    """A schedule for a single-payment cash loan (`instalments=1`) or an instalment plan.

    Cash loan: one payment `cash_loan_days` after disbursement, interest pro rata by day.
    Plans: monthly instalments, equal principal (the remainder on the last one), interest on the
    declining balance at `monthly_interest_bps`, and the fee charged with the first instalment.
    """
    if instalments < 1:
        raise ValueError("instalments must be at least 1")
    if principal_minor <= 0:
        raise ValueError("principal_minor must be positive")
    if instalments == 1:
        due = date.fromordinal(disbursed_on.toordinal() + cash_loan_days)
        interest = principal_minor * monthly_interest_bps * cash_loan_days // (10_000 * 30)
        return (Instalment(1, due, principal_minor, interest, fee_minor),)
    share, remainder = divmod(principal_minor, instalments)
    balance = principal_minor
    schedule: list[Instalment] = []
    for seq in range(1, instalments + 1):
        principal = share + (remainder if seq == instalments else 0)
        interest = balance * monthly_interest_bps // 10_000
        fee = fee_minor if seq == 1 else 0
        schedule.append(Instalment(seq, add_months(disbursed_on, seq), principal, interest, fee))
        balance -= principal
    return tuple(schedule)
