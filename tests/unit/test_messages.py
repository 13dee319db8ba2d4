"""Templates: every strategy template in zh-CN and en, amounts per currency, opt-out, no disclosure."""

from __future__ import annotations

import pytest

from arrears.config.rulepacks import rule_pack_for
from arrears.domain.messages import (
    LANGUAGES,
    debt_details_absent,
    format_amount,
    render,
    render_third_party,
    template_ids,
)
from arrears.domain.strategy import Channel

CN_PACK, US_REGF_PACK = rule_pack_for("CN"), rule_pack_for("US-REGF")

STRATEGY_TEMPLATES = {
    "sms_reminder_pre_due",
    "sms_overdue",
    "email_overdue",
    "call_task",
    "field_visit",
    "legal_referral",
    "bureau_report",
}


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (123_456, "CNY", "¥1,234.56"),
        (5, "USD", "$0.05"),
        (1_000, "JPY", "¥1,000"),
        (-250, "USD", "-$2.50"),
        (99_900, "GBP", "GBP 999.00"),
    ],
)
def test_amounts_are_formatted_from_minor_units(amount: int, currency: str, text: str) -> None:
    assert format_amount(amount, currency) == text


def test_every_strategy_template_exists_in_both_languages() -> None:
    assert template_ids() >= STRATEGY_TEMPLATES
    for template_id in STRATEGY_TEMPLATES:
        for language in LANGUAGES:
            message = render(
                template_id, language, loan_id="L-000123", dpd=9, amount_minor=123_456, currency="CNY"
            )
            assert message.language == language
            assert "000123" in message.body


def test_an_unknown_language_falls_back_to_english_and_an_unknown_template_fails() -> None:
    message = render("sms_overdue", "fr", loan_id="L-1", dpd=3, amount_minor=100, currency="USD")

    assert message.language == "en"
    with pytest.raises(ValueError, match="no template"):
        render("nope", "en", loan_id="L-1", dpd=3, amount_minor=100, currency="USD")


@pytest.mark.parametrize(("language", "phrase"), [("en", "To stop receiving"), ("zh-CN", "退订")])
def test_the_opt_out_line_is_appended_when_required(language: str, phrase: str) -> None:
    lines = US_REGF_PACK.opt_out_wording(Channel.EMAIL)
    link = "https://pay.lender.example/preferences/unsubscribe?t=abc.def"
    with_line = render(
        "email_overdue",
        language,
        loan_id="L-1",
        dpd=3,
        amount_minor=100,
        currency="USD",
        opt_out_lines=lines,
        opt_out_url=link,
    )
    without = render("email_overdue", language, loan_id="L-1", dpd=3, amount_minor=100, currency="USD")

    assert phrase in with_line.body
    assert link in with_line.body
    assert phrase not in without.body
    assert with_line.sha256 != without.sha256
    with pytest.raises(ValueError, match="needs the unsubscribe link"):
        render(
            "email_overdue",
            language,
            loan_id="L-1",
            dpd=3,
            amount_minor=100,
            currency="USD",
            opt_out_lines=lines,
        )


SMS_TEMPLATES = sorted(t for t in template_ids() if t.startswith("sms_"))


@pytest.mark.parametrize("template_id", SMS_TEMPLATES)
@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("en", "Reply STOP to stop these texts."),
        ("zh-CN", "回复“退订”即可停止接收此类短信。"),
        ("fr", "Reply STOP to stop these texts."),
    ],
)
def test_every_us_text_message_ends_with_the_opt_out_line(template_id: str, language: str, line: str) -> None:
    """Reg F 12 CFR 1006.6(e): every electronic communication, texts included, says how to opt out."""
    message = render(
        template_id,
        language,
        loan_id="L-1",
        dpd=3,
        amount_minor=100,
        currency="USD",
        opt_out_lines=US_REGF_PACK.opt_out_wording(Channel.SMS),
    )

    assert message.body.endswith("\n\n" + line)
    assert US_REGF_PACK.opt_out_notice is not None
    assert US_REGF_PACK.opt_out_notice.citation == "12 CFR 1006.6(e)"


def test_the_cn_pack_requires_no_opt_out_line() -> None:
    assert CN_PACK.opt_out_wording(Channel.SMS) == {}
    assert CN_PACK.opt_out_wording(Channel.EMAIL) == {}
    assert not CN_PACK.email_opt_out_required
    assert US_REGF_PACK.email_opt_out_required


def test_the_pre_due_reminder_names_the_days_left() -> None:
    message = render(
        "sms_reminder_pre_due", "en", loan_id="L-1", dpd=0, amount_minor=100, currency="USD", due_in=3
    )

    assert "due in 3 days" in message.body


@pytest.mark.parametrize("language", ["en", "zh-CN", "fr"])
def test_a_third_party_message_reveals_no_debt(language: str) -> None:
    message = render_third_party(language, first_name="Jane")

    assert debt_details_absent(message.body, loan_id="L-000123", amount_minor=123_456, currency="CNY")
    debtor = render("sms_overdue", language, loan_id="L-000123", dpd=9, amount_minor=123_456, currency="CNY")
    assert not debt_details_absent(debtor.body, loan_id="L-000123", amount_minor=123_456, currency="CNY")
