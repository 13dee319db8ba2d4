"""Message templates per language, with amounts formatted for the currency.

Every template the strategy can name (see docs/contracts.md, "Templates") exists in zh-CN and en.
Borrower-facing texts (SMS, e-mail) go to the debtor only. A message to anyone else (an emergency
contact, a relative) must not reveal the debt: `render_third_party` has no loan, amount or DPD in it
and `debt_details_absent` lets a caller prove it. Every e-mail under a pack that requires it (US
Regulation F: e-mails and texts) ends with the pack's opt-out line in the message's language.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

MINOR_DIGITS = {"CNY": 2, "USD": 2, "EUR": 2, "NZD": 2, "JPY": 0, "KRW": 0}
SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "NZD": "NZ$", "JPY": "¥", "KRW": "₩"}
LANGUAGES = ("zh-CN", "en")
FALLBACK_LANGUAGE = "en"


class Audience(StrEnum):
    DEBTOR = "DEBTOR"
    THIRD_PARTY = "THIRD_PARTY"


TEMPLATES: dict[tuple[str, str], str] = {
    (
        "sms_reminder_pre_due",
        "zh-CN",
    ): "【Arrears】您的借款 {loan_ref} 将于 {due_in} 天后到期，应还 {amount}。",
    (
        "sms_reminder_pre_due",
        "en",
    ): "Arrears: your loan {loan_ref} is due in {due_in} days. Amount due: {amount}.",
    ("sms_overdue", "zh-CN"): "【Arrears】您的借款 {loan_ref} 已逾期 {dpd} 天，应还 {amount}。请尽快还款。",
    ("sms_overdue", "en"): "Arrears: your loan {loan_ref} is {dpd} days past due. Amount due: {amount}.",
    ("email_overdue", "zh-CN"): "您的借款 {loan_ref} 已逾期 {dpd} 天，应还 {amount}。",
    ("email_overdue", "en"): "Your loan {loan_ref} is {dpd} days past due. Amount due: {amount}.",
    (
        "call_task",
        "zh-CN",
    ): "电话催收：借款 {loan_ref}，逾期 {dpd} 天，应还 {amount}。请先核实身份再告知债务。",
    ("call_task", "en"): (
        "Collection call: loan {loan_ref}, {dpd} days past due, amount due {amount}. "
        "Verify identity before discussing the debt."
    ),
    ("field_visit", "zh-CN"): "上门拜访：借款 {loan_ref}，逾期 {dpd} 天，应还 {amount}。",
    ("field_visit", "en"): "Field visit: loan {loan_ref}, {dpd} days past due, amount due {amount}.",
    # Pre-litigation demand: threatens suit (THREATENS_SUIT), so never sent once the claim is
    # time-barred (arrears.domain.limitation).
    (
        "email_pre_legal",
        "zh-CN",
    ): "您的借款 {loan_ref} 已逾期 {dpd} 天，应还 {amount}。如仍未还款，我们可能依法提起诉讼。",
    ("email_pre_legal", "en"): (
        "Your loan {loan_ref} is {dpd} days past due. Amount due: {amount}. "
        "If it remains unpaid, we may take legal action to recover it."
    ),
    ("legal_referral", "zh-CN"): "法务移交：借款 {loan_ref}，逾期 {dpd} 天。",
    ("legal_referral", "en"): "Legal referral: loan {loan_ref}, {dpd} days past due.",
    ("bureau_report", "zh-CN"): "征信报送：借款 {loan_ref}，逾期 {dpd} 天，欠款 {amount}。",
    ("bureau_report", "en"): "Bureau report: loan {loan_ref}, {dpd} days past due, balance {amount}.",
    # The hardship branch (config/bundled/strategies.yaml): a repayment plan offered, no threat.
    (
        "sms_plan_offer",
        "zh-CN",
    ): "【Arrears】您的借款 {loan_ref} 应还 {amount}。如有困难，可申请分期还款计划。",
    ("sms_plan_offer", "en"): (
        "Arrears: your loan {loan_ref} has {amount} due. "
        "If you are in difficulty, you can ask for a repayment plan."
    ),
    (
        "email_plan_offer",
        "zh-CN",
    ): "您的借款 {loan_ref} 应还 {amount}。如有困难，可申请分期还款计划（2 至 6 期）。",
    ("email_plan_offer", "en"): (
        "Your loan {loan_ref} has {amount} due. If you are in difficulty, you can ask for a repayment plan "
        "of 2 to 6 instalments."
    ),
}

ANNOUNCES_DUE_DATE: frozenset[str] = frozenset({"sms_reminder_pre_due"})
"""Templates that tell the borrower a due date still to come ("due in N days"): the gate cancels one
whose due date has passed by the instant it would be sent (`DUE_DATE_AHEAD_RULE`), as the planner
never plans a step of the days before the due date once it passed (`arrears.domain.strategy`). Mark
every new such template here."""
DUE_DATE_AHEAD_RULE = "due_date_ahead"

THREATENS_SUIT: frozenset[str] = frozenset({"email_pre_legal"})
"""Templates that threaten suit: the gate and the planner suppress them once the limitation period of
the loan has passed (12 CFR 1006.26(b); arrears.domain.limitation). Mark every new such template here."""

# To anyone but the debtor: who is calling and a request to call back, nothing about any debt.
THIRD_PARTY_TEMPLATES: dict[str, str] = {
    "zh-CN": "【Arrears】您好，我们有事需联系 {first_name}，请转告其回电。",
    "en": "Arrears: we are trying to reach {first_name}. Please ask them to call us back.",
}


def needs_opt_out_url(opt_out_lines: Mapping[str, str] | None) -> bool:
    """True when an opt-out line names `{opt_out_url}` (the message must carry a link)."""
    return any("{opt_out_url}" in line for line in (opt_out_lines or {}).values())


def template_ids() -> frozenset[str]:
    return frozenset(template_id for template_id, _ in TEMPLATES)


def format_amount(amount_minor: int, currency: str) -> str:
    digits = MINOR_DIGITS.get(currency, 2)
    whole, frac = divmod(abs(amount_minor), 10**digits)
    sign = "-" if amount_minor < 0 else ""
    body = f"{whole:,}" + (f".{frac:0{digits}d}" if digits else "")
    return f"{sign}{SYMBOLS.get(currency, currency + ' ')}{body}"


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    template_id: str
    language: str
    body: str
    audience: Audience = Audience.DEBTOR

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body.encode()).hexdigest()


def _language(template_id: str, language: str) -> str:
    return language if (template_id, language) in TEMPLATES else FALLBACK_LANGUAGE


def render(
    template_id: str,
    language: str,
    *,
    loan_id: str,
    dpd: int,
    amount_minor: int,
    currency: str,
    due_in: int = 0,
    notice_lines: Mapping[str, str] | None = None,
    opt_out_lines: Mapping[str, str] | None = None,
    opt_out_url: str = "",
) -> RenderedMessage:
    """The debtor's message. `notice_lines` (language -> line, from the rule pack's bureau
    precondition) appends the prior notice of credit reporting; `opt_out_lines` (language -> line,
    from the rule pack) then appends the opt-out line, each in the message's language (else the `en`
    one), with `opt_out_url` filled in (the signed unsubscribe link: a line that names it and no link
    raises ValueError)."""
    lang = _language(template_id, language)
    try:
        pattern = TEMPLATES[(template_id, lang)]
    except KeyError:
        raise ValueError(f"no template {template_id!r} for language {language!r} or en") from None
    body = pattern.format(
        loan_ref=loan_id[-6:],
        dpd=dpd,
        due_in=max(due_in, 0),
        amount=format_amount(amount_minor, currency),
    )
    if notice_lines:
        line = notice_lines.get(lang) or notice_lines[FALLBACK_LANGUAGE]
        body = f"{body}{'' if lang == 'zh-CN' else ' '}{line}"
    return with_opt_out_line(RenderedMessage(template_id, lang, body), opt_out_lines, opt_out_url)


def with_opt_out_line(
    message: RenderedMessage, opt_out_lines: Mapping[str, str] | None, opt_out_url: str = ""
) -> RenderedMessage:
    """`message` ending with the pack's opt-out line in its language (else `en`), `{opt_out_url}`
    filled in (ValueError when the line names a link and none is given); unchanged without lines."""
    if not opt_out_lines:
        return message
    line = opt_out_lines.get(message.language) or opt_out_lines[FALLBACK_LANGUAGE]
    if "{opt_out_url}" in line and not opt_out_url:
        raise ValueError("the opt-out line needs the unsubscribe link and none was given")
    body = f"{message.body}\n\n{line.format(opt_out_url=opt_out_url)}"
    return RenderedMessage(message.template_id, message.language, body, message.audience)


def render_third_party(language: str, *, first_name: str) -> RenderedMessage:
    """A callback request to someone other than the debtor: no loan, amount, DPD or debt wording."""
    lang = language if language in THIRD_PARTY_TEMPLATES else FALLBACK_LANGUAGE
    body = THIRD_PARTY_TEMPLATES[lang].format(first_name=first_name)
    return RenderedMessage("third_party_callback", lang, body, Audience.THIRD_PARTY)


DEBT_WORDS = ("逾期", "欠款", "应还", "借款", "还款", "past due", "overdue", "amount due", "loan", "debt")


def debt_details_absent(body: str, *, loan_id: str, amount_minor: int, currency: str) -> bool:
    """True when `body` names no loan, amount or debt wording (the third-party disclosure check)."""
    lowered = body.lower()
    if any(word in lowered for word in DEBT_WORDS):
        return False
    return loan_id[-6:] not in body and format_amount(amount_minor, currency) not in body
