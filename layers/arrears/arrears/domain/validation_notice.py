"""The Regulation F validation notice (12 CFR 1006.34): what a debt collector tells the consumer first.

A debt collector (the base pack's `settings.deployer_role: debt_collector`; a creditor collecting
its own debts sends none) gives the consumer the validation information in its initial
communication or within five days after it (1006.34(a)(1)). Arrears sends it with the first
communication about the debt: right before that message goes out (`arrears.usecases.validation_notice`).

The notice itemizes the debt from an **itemization date** (1006.34(b)(3) offers five: the last
statement date, the charge-off date, the last payment date, the transaction date, the judgment
date). The pack names which one (`ValidationNoticeRule.itemization_date`, with its citation); the
one a loan in this system always has is the **transaction date** (the day the loan was disbursed,
1006.34(b)(3)(iv)), and it is the one bundled. From it (1006.34(c)(2)(vi)-(viii)):

    amount owed on the itemization date                      principal disbursed
  + interest charged since                                   interest accrued to the notice's day
  + fees charged since                                       contract fees accrued + late penalty
  - payments and credits since                               every payment applied, principal prepaid
  = current amount of the debt                               the payoff quote on the notice's day

Every figure is integer minor units from the money engine (`arrears.domain.money.advance` and
`payoff_quote`): the current amount is the amount that closes the loan that day (interest for the
days borrowed only), and the identity above holds exactly (`Itemization.__post_init__` checks it).

The **end of the validation period** (1006.34(b)(5)) is 30 days after the consumer receives the
notice; the collector may assume receipt on any date at least five days, excluding legal public
holidays (5 U.S.C. 6103(a)), Saturdays and Sundays, after it provides it (comment 34(b)(5)-1).
`validation_period_end` counts those five days on the jurisdiction's calendar (the US money
calendar lists the federal holidays) and adds 30 calendar days. Collection steps that would
overshadow the consumer's right to dispute (15 U.S.C. 1692g(b); 12 CFR 1006.38(b)) wait until the
day after it (`ValidationNoticeRule.defer_until_period_end`, checked by the gate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from arrears.domain.loans import Loan, LoanStatus
from arrears.domain.messages import FALLBACK_LANGUAGE, RenderedMessage, format_amount
from arrears.domain.money import advance, payoff_quote
from arrears.domain.strategy import Channel
from arrears.domain.workdays import WorkCalendar

VALIDATION_NOTICE_TEMPLATE = "validation_notice"
VALIDATION_PERIOD_RULE = "validation_period"
"""The receipt rule name of the deferral of an overshadowing step during the validation period."""


class ItemizationDate(StrEnum):
    """The five itemization dates of 12 CFR 1006.34(b)(3)(i)-(v)."""

    LAST_STATEMENT = "last_statement"
    CHARGE_OFF = "charge_off"
    LAST_PAYMENT = "last_payment"
    TRANSACTION = "transaction"
    JUDGMENT = "judgment"


COMPUTABLE_ITEMIZATION_DATES = frozenset({ItemizationDate.TRANSACTION})
"""The dates every loan here has: no statements, judgments or guaranteed payments are recorded."""


@dataclass(frozen=True, slots=True)
class ValidationNoticeRule:
    """A pack's validation-notice duty (`validation_notice:` in rulepacks.yaml).

    `receipt_days`: working days after sending on which receipt may be assumed; `validation_days`:
    calendar days after receipt the validation period lasts; `with_channels`: the communications whose
    first sending carries the notice; `defer_until_period_end`: steps held until the period ends.
    """

    citation: str
    itemization_date: ItemizationDate
    itemization_citation: str
    receipt_days: int = 5
    validation_days: int = 30
    with_channels: frozenset[Channel] = frozenset({Channel.SMS, Channel.EMAIL, Channel.CALL_TASK})
    defer_until_period_end: frozenset[Channel] = frozenset({Channel.LEGAL, Channel.BUREAU})

    def __post_init__(self) -> None:
        if self.itemization_date not in COMPUTABLE_ITEMIZATION_DATES:
            raise ValueError(
                f"itemization date {self.itemization_date.value!r} cannot be taken from a loan here; "
                f"use one of {sorted(d.value for d in COMPUTABLE_ITEMIZATION_DATES)}"
            )


@dataclass(frozen=True, slots=True)
class Itemization:
    """The debt itemized from `itemization_date` to `on` (1006.34(c)(2)(vi)-(viii)), minor units."""

    loan_id: str
    currency: str
    itemization_date: date
    on: date
    owed_on_itemization_minor: int
    interest_minor: int
    fees_minor: int
    payments_credits_minor: int
    current_minor: int

    def __post_init__(self) -> None:
        charged = self.owed_on_itemization_minor + self.interest_minor + self.fees_minor
        expected = charged - self.payments_credits_minor
        if expected != self.current_minor:
            raise ValueError(
                f"loan {self.loan_id}: itemization does not add up ({expected} != {self.current_minor})"
            )


def itemize(loan: Loan, on: date) -> Itemization:
    """The itemization of `loan` on its business date `on`, from the transaction date.

    Interest and fees "since" are what was charged by the end of `on` (paid or not); payments and
    credits are what was applied to principal, interest, fees and penalty. The current amount is the
    payoff quote (`arrears.domain.money.payoff_quote`): interest and fees of days not yet borrowed are
    not owed and are not counted as charged. Raises ValueError for a closed loan (no debt to validate).
    """
    if loan.status is LoanStatus.CLOSED:
        raise ValueError(f"loan {loan.loan_id} is closed: there is no debt to itemize")
    quote = payoff_quote(loan, on)
    advanced = advance(loan, on)
    instalments = advanced.instalments
    interest_paid = sum(i.interest_paid for i in instalments)
    fee_paid = sum(i.fee_paid for i in instalments)
    principal_paid = sum(i.principal_paid + i.principal_prepaid for i in instalments)
    return Itemization(
        loan_id=loan.loan_id,
        currency=loan.currency,
        itemization_date=loan.disbursed_on,
        on=on,
        owed_on_itemization_minor=loan.principal_minor,
        interest_minor=quote.interest_minor + interest_paid,
        fees_minor=quote.fee_minor + fee_paid + quote.penalty_minor + advanced.penalty_paid_minor,
        payments_credits_minor=principal_paid + interest_paid + fee_paid + advanced.penalty_paid_minor,
        current_minor=quote.total_minor,
    )


def assumed_receipt(sent_on: date, calendar: WorkCalendar, working_days: int = 5) -> date:
    """The day receipt may be assumed: `working_days` days after `sent_on` not counting Saturdays,
    Sundays or the calendar's public holidays (12 CFR 1006.34(b)(5), comment 34(b)(5)-1)."""
    day, counted = sent_on, 0
    while counted < working_days:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            counted += 1
    return day


def validation_period_end(sent_on: date, calendar: WorkCalendar, rule: ValidationNoticeRule) -> date:
    """The last day of the validation period (the dispute deadline stated in the notice):
    `rule.validation_days` days after the assumed receipt of a notice sent on `sent_on`."""
    return assumed_receipt(sent_on, calendar, rule.receipt_days) + timedelta(days=rule.validation_days)


TEMPLATES: dict[str, str] = {
    "en": (
        "Validation notice. Account {loan_ref}. We are a debt collector trying to collect a debt. "
        "As of {itemization_date} (the date of the loan), you owed: {owed}. "
        "Between {itemization_date} and today: you were charged this amount in interest: + {interest}; "
        "you were charged this amount in fees: + {fees}; "
        "you paid or were credited this amount toward the debt: - {paid}. "
        "Total amount of the debt now: {current}. "
        "How can you dispute the debt? Tell us by {period_end} if you think you do not owe all or part "
        "of this debt; we must then stop collection of any amount you dispute until we send you "
        "information that shows you owe the debt. You may also request the name and address of the "
        "original creditor by {period_end}."
    ),
    "zh-CN": (
        "债务确认通知。账户 {loan_ref}。我们是债务催收方，正在催收一笔债务。"
        "截至 {itemization_date}（借款日），您欠款：{owed}。"
        "自 {itemization_date} 至今：利息 + {interest}；费用 + {fees}；已还款或抵扣 - {paid}。"
        "目前欠款总额：{current}。"
        "如您认为不欠全部或部分款项，请于 {period_end} 前告知我们；"
        "在我们寄送证明前，将停止催收您有异议的金额。"
        "您也可于 {period_end} 前索取原债权人的名称和地址。"
    ),
}


def render_notice(
    itemization: Itemization, language: str, *, loan_ref: str, period_end: date
) -> RenderedMessage:
    """The notice in `language` (else English), its figures formatted for the loan's currency."""
    lang = language if language in TEMPLATES else FALLBACK_LANGUAGE
    currency = itemization.currency
    body = TEMPLATES[lang].format(
        loan_ref=loan_ref,
        itemization_date=itemization.itemization_date.isoformat(),
        owed=format_amount(itemization.owed_on_itemization_minor, currency),
        interest=format_amount(itemization.interest_minor, currency),
        fees=format_amount(itemization.fees_minor, currency),
        paid=format_amount(itemization.payments_credits_minor, currency),
        current=format_amount(itemization.current_minor, currency),
        period_end=period_end.isoformat(),
    )
    return RenderedMessage(VALIDATION_NOTICE_TEMPLATE, lang, body)


def in_validation_period(loan: Loan, on: date) -> bool:
    """Whether business date `on` is inside the loan's validation period (on or before its end)."""
    return loan.validation_period_ends is not None and on <= loan.validation_period_ends
