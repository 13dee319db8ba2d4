"""Message templates per language, with amounts formatted for the currency."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

MINOR_DIGITS = {"CNY": 2, "USD": 2, "JPY": 0, "KRW": 0}
SYMBOLS = {"CNY": "¥", "USD": "$"}

TEMPLATES: dict[tuple[str, str], str] = {
    ("sms_overdue", "zh-CN"): "【Arrears】您的借款 {loan_ref} 已逾期 {dpd} 天，应还 {amount}。请尽快还款。",
    ("sms_overdue", "en"): "Arrears: your loan {loan_ref} is {dpd} days past due. Amount due: {amount}.",
    ("email_overdue", "zh-CN"): "您的借款 {loan_ref} 已逾期 {dpd} 天，应还 {amount}。",
    ("email_overdue", "en"): "Your loan {loan_ref} is {dpd} days past due. Amount due: {amount}.",
}


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

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body.encode()).hexdigest()


def render(
    template_id: str, language: str, *, loan_id: str, dpd: int, amount_minor: int, currency: str
) -> RenderedMessage:
    lang = language if (template_id, language) in TEMPLATES else "en"
    try:
        pattern = TEMPLATES[(template_id, lang)]
    except KeyError:
        raise ValueError(f"no template {template_id!r} for language {language!r} or en") from None
    body = pattern.format(loan_ref=loan_id[-6:], dpd=dpd, amount=format_amount(amount_minor, currency))
    return RenderedMessage(template_id, lang, body)
