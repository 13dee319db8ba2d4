"""The Regulation F validation notice (12 CFR 1006.34): what a debt collector tells the consumer first.

A debt collector (the base pack's `settings.deployer_role: debt_collector`; a creditor collecting
its own debts sends none) gives the consumer the validation information in its initial
communication or within five days after it (1006.34(a)(1)). Arrears sends it with the first
communication about the debt: right before that message goes out (`arrears.usecases.validation_notice`).

The notice itemizes the debt from an **itemization date** (1006.34(b)(3) offers five: the last
statement date, the charge-off date, the last payment date, the transaction date, the judgment
date). The pack names which one (`ValidationNoticeRule.itemization_date`, with its citation); the
one a loan in this system always has is the **transaction date** (the day the loan was disbursed,
1006.34(b)(3)(iv)), and it is the one bundled. From it (1006.34(c)(2)(vi)-(ix)):

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
NOTICE_WAITS = "the validation notice it carries: "
"""How the reason of a communication deferred for its notice's own contact slot begins (a frequency
limit naming the notice's channel has no room for it: Washington's weekly limit, RCW 19.16.250)."""
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
class NoticeParties:
    """Who a validation notice names, the deployer's data (`validation_notice.parties` of the pack):
    the debt collector's name and mailing address (12 CFR 1006.34(c)(2)(i)) and the creditor to whom the
    debt was owed on the itemization date and is owed now (1006.34(c)(2)(iii), (v)). `citation`: where
    the duty to state them comes from."""

    collector_name: str
    collector_mailing_address: str
    creditor_name: str
    citation: str

    def __post_init__(self) -> None:
        if not (self.collector_name and self.collector_mailing_address and self.creditor_name):
            raise ValueError("a validation notice names the collector, its mailing address and the creditor")


@dataclass(frozen=True, slots=True)
class Consumer:
    """The consumer's name and mailing address as the notice states them (1006.34(c)(2)(ii)): rendered into
    the notice handed to the e-mail gateway or the mail house (inside the trust boundary), never
    archived: the archive keeps the notice's SHA-256 only. Empty when not on file (or erased)."""

    name: str
    mailing_address: str


@dataclass(frozen=True, slots=True)
class ValidationNoticeRule:
    """A pack's validation-notice duty (`validation_notice:` in rulepacks.yaml).

    `receipt_days`: working days after sending on which receipt may be assumed; `validation_days`:
    calendar days after receipt the validation period lasts; `with_channels`: the communications whose
    first sending carries the notice; `defer_until_period_end`: steps held until the period ends;
    `parties`: the collector and creditor the notice names (a notice cannot be rendered without).
    """

    citation: str
    itemization_date: ItemizationDate
    itemization_citation: str
    receipt_days: int = 5
    validation_days: int = 30
    with_channels: frozenset[Channel] = frozenset({Channel.SMS, Channel.EMAIL, Channel.CALL_TASK})
    defer_until_period_end: frozenset[Channel] = frozenset({Channel.LEGAL, Channel.BUREAU})
    parties: NoticeParties | None = None

    def __post_init__(self) -> None:
        if self.itemization_date not in COMPUTABLE_ITEMIZATION_DATES:
            raise ValueError(
                f"itemization date {self.itemization_date.value!r} cannot be taken from a loan here; "
                f"use one of {sorted(d.value for d in COMPUTABLE_ITEMIZATION_DATES)}"
            )


@dataclass(frozen=True, slots=True)
class Itemization:
    """The debt itemized from `itemization_date` to `on` (1006.34(c)(2)(vi)-(ix)), minor units."""

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


CFPB_REFERENCE = {
    # 12 CFR 1006.34(c)(3)(iv): the CFPB website reference (model form B-1's wording).
    "en": (
        "Go to www.cfpb.gov/debt-collection to learn more about your rights under federal law. "
        "For instance, you have the right to stop or limit how we contact you."
    ),
    "zh-CN": (
        "请访问 www.cfpb.gov/debt-collection 了解您在联邦法律下的权利。"
        "例如，您有权停止或限制我们联系您的方式。"
    ),
}
SPANISH_OPTION = "Póngase en contacto con nosotros para solicitar una copia de este formulario en español."
"""12 CFR 1006.34(d)(3)(vi)(A): the optional Spanish-language request statement, in Spanish in every
language of the notice (model form B-1)."""

TEMPLATES: dict[str, str] = {
    "en": (
        # (c)(2)(i)-(ii): the collector's and the consumer's names and mailing addresses
        "{collector_name}, {collector_address}. "
        "To: {consumer_name}, {consumer_address}. "
        # (c)(1): the debt collector communication disclosure (1006.18(e)); (c)(2)(iii)-(v): creditors,
        # account
        "Validation notice. {collector_name} is a debt collector. We are trying to collect a debt that "
        "you owe to {creditor}. We will use any information you give us to help collect the debt. "
        "Our information shows: on {itemization_date} you had a loan from {creditor} with account "
        "number {account}. "
        # (c)(2)(vi)-(ix): the itemization
        "As of {itemization_date} (the date of the loan), you owed: {owed}. "
        "Between {itemization_date} and today: you were charged this amount in interest: + {interest}; "
        "you were charged this amount in fees: + {fees}; "
        "you paid or were credited this amount toward the debt: - {paid}. "
        "Total amount of the debt now: {current}. "
        # (c)(3)(i)-(v): the consumer's rights, the dispute deadline, the CFPB reference
        "How can you dispute the debt? Call or write to us by {period_end} to dispute all or part of "
        "the debt. If you do not, we will assume that our information is correct. If you write to us by "
        "{period_end}, we must stop collection on any amount you dispute until we send you information "
        "that shows you owe the debt. "
        "What else can you do? Write to ask for the name and address of the original creditor, if "
        "different from the current creditor. If you do so by {period_end}, we must stop collection "
        "until we send you that information. {cfpb} {spanish} "
        # (c)(4): the consumer-response section
        "How do you want to respond? Check all that apply. I want to dispute the debt because I think: "
        "[ ] This is not my debt. [ ] The amount is wrong. [ ] Other (please describe). "
        "[ ] I want you to send me the name and address of the original creditor. "
        "[ ] I enclosed this amount: ____. "
        "Mail this form to: {collector_name}, {collector_address}."
    ),
    "zh-CN": (
        "{collector_name}，{collector_address}。"
        "致：{consumer_name}，{consumer_address}。"
        "债务确认通知。{collector_name} 是债务催收方，正在催收您欠 {creditor} 的一笔债务。"
        "我们会使用您提供的任何信息协助催收。"
        "我们的记录显示：{itemization_date} 您在 {creditor} 有一笔借款，账号 {account}。"
        "截至 {itemization_date}（借款日），您欠款：{owed}。"
        "自 {itemization_date} 至今：利息 + {interest}；费用 + {fees}；已还款或抵扣 - {paid}。"
        "目前欠款总额：{current}。"
        "如您认为不欠全部或部分款项，请于 {period_end} 前致电或书面告知我们；"
        "如您于 {period_end} 前书面告知，在我们寄送证明前，将停止催收您有异议的金额。"
        "您也可于 {period_end} 前书面索取原债权人的名称和地址（如与现债权人不同），"
        "在我们寄送该信息前将停止催收。{cfpb} {spanish} "
        "您希望如何回复？请勾选：我对债务有异议，因为：[ ] 这不是我的债务。[ ] 金额有误。[ ] 其他（请说明）。"
        "[ ] 请寄给我原债权人的名称和地址。[ ] 我附上金额：____。"
        "请将本表寄至：{collector_name}，{collector_address}。"
    ),
}


def truncated_account(loan_id: str) -> str:
    """The account number as the notice states it (1006.34(c)(2)(iv) allows a truncated version):
    its last four characters only, `ending 0001`."""
    return f"ending {loan_id[-4:]}"


def render_notice(
    itemization: Itemization,
    language: str,
    *,
    parties: NoticeParties,
    consumer: Consumer,
    period_end: date,
) -> RenderedMessage:
    """The notice in `language` (else English), its figures formatted for the loan's currency: every
    element of 12 CFR 1006.34(c)(1)-(4) and the Spanish-language request statement of (d)(3)(vi)."""
    lang = language if language in TEMPLATES else FALLBACK_LANGUAGE
    currency = itemization.currency
    body = TEMPLATES[lang].format(
        collector_name=parties.collector_name,
        collector_address=parties.collector_mailing_address,
        creditor=parties.creditor_name,
        consumer_name=consumer.name or "-",
        consumer_address=consumer.mailing_address or "-",
        account=truncated_account(itemization.loan_id),
        itemization_date=itemization.itemization_date.isoformat(),
        owed=format_amount(itemization.owed_on_itemization_minor, currency),
        interest=format_amount(itemization.interest_minor, currency),
        fees=format_amount(itemization.fees_minor, currency),
        paid=format_amount(itemization.payments_credits_minor, currency),
        current=format_amount(itemization.current_minor, currency),
        period_end=period_end.isoformat(),
        cfpb=CFPB_REFERENCE[lang],
        spanish=SPANISH_OPTION,
    )
    return RenderedMessage(VALIDATION_NOTICE_TEMPLATE, lang, body)


def in_validation_period(loan: Loan, on: date) -> bool:
    """Whether business date `on` is inside the loan's validation period (on or before its end)."""
    return loan.validation_period_ends is not None and on <= loan.validation_period_ends
