"""The Regulation F validation notice: itemization, validation period, rendering, the gate's hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from arrears.config.money import money_rules_for
from arrears.config.rulepacks import bundled_rule_packs
from arrears.domain.borrowers import Borrower
from arrears.domain.compliance import NOTICE_CANNOT_GO_REASON, NOTICE_FIRST_REASON, SendDecision, gate
from arrears.domain.loans import Holds, Loan, build_schedule
from arrears.domain.payments import Payment, apply_payment
from arrears.domain.rulepacks import DeployerRole, PackSettings
from arrears.domain.strategy import Channel
from arrears.domain.validation_notice import (
    Consumer,
    ItemizationDate,
    NoticeParties,
    ValidationNoticeRule,
    assumed_receipt,
    itemize,
    render_notice,
    validation_period_end,
)
from arrears.domain.verdicts import Verdict

US_CALENDAR = money_rules_for("US-REGF", date(2026, 11, 20)).calendar


def small_loan() -> Loan:
    """$1,000 cash loan disbursed 1 October 2026, due 31 October with $30 of interest (3 % a month),
    late penalty 500 ppm a day on the principal outstanding; $100 paid on 5 November."""
    schedule = build_schedule(
        100_000, disbursed_on=date(2026, 10, 1), instalments=1, monthly_interest_bps=300
    )
    loan = Loan("L-US-000001", "B-1", "US-REGF", "USD", 100_000, date(2026, 10, 1), schedule, 500, 3600)
    return apply_payment(loan, Payment("P1", loan.loan_id, 10_000, "USD", date(2026, 11, 5))).loan


def test_the_itemization_of_a_small_loan_from_its_transaction_date() -> None:
    """Penalty 1-5 November: 5 days x 100,000 x 0.0005 = 250. The $100 pays it, then the $30 of
    interest, then 6,750 of principal (93,250 left). Penalty 6-20 November: 15 x 93,250 x 0.0005 =
    699.375 -> 699. Fees charged 250 + 699 = 949; now owed 93,250 + 699 = 93,949."""
    notice = itemize(small_loan(), date(2026, 11, 20))
    assert notice.itemization_date == date(2026, 10, 1)
    assert notice.owed_on_itemization_minor == 100_000
    assert notice.interest_minor == 3_000
    assert notice.fees_minor == 949
    assert notice.payments_credits_minor == 10_000
    assert notice.current_minor == 93_949


def test_interest_not_yet_earned_is_neither_charged_nor_owed() -> None:
    """On 11 October, 10 of 30 days: 1,000 of the 3,000 interest has accrued; nothing is late yet."""
    schedule = build_schedule(
        100_000, disbursed_on=date(2026, 10, 1), instalments=1, monthly_interest_bps=300
    )
    loan = Loan("L-US-000002", "B-1", "US-REGF", "USD", 100_000, date(2026, 10, 1), schedule, 500, 3600)
    notice = itemize(loan, date(2026, 10, 11))
    assert (notice.interest_minor, notice.fees_minor, notice.current_minor) == (1_000, 0, 101_000)


def test_receipt_is_assumed_five_working_days_after_sending_and_the_period_ends_30_days_later() -> None:
    """Sent Friday 20 November 2026: Mon 23, Tue 24, Wed 25, (Thanksgiving 26 is a legal public
    holiday), Fri 27, Mon 30 -> receipt 30 November; the validation period ends 30 December."""
    rule = bundled_rule_packs().in_force("US-REGF").validation_notice
    assert rule is not None
    assert assumed_receipt(date(2026, 11, 20), US_CALENDAR) == date(2026, 11, 30)
    assert validation_period_end(date(2026, 11, 20), US_CALENDAR, rule) == date(2026, 12, 30)


def bundled_parties() -> NoticeParties:
    rule = bundled_rule_packs().in_force("US-REGF", date(2026, 11, 20)).validation_notice
    assert rule is not None
    assert rule.parties is not None
    return rule.parties


CONSUMER = Consumer("Jane Doe", "12 Elm Street, Springfield, IL 62704")


def test_the_notice_states_every_figure_and_the_dispute_deadline() -> None:
    notice = itemize(small_loan(), date(2026, 11, 20))
    parties = bundled_parties()
    message = render_notice(notice, "en", parties=parties, consumer=CONSUMER, period_end=date(2026, 12, 30))
    for text in ("$1,000.00", "+ $30.00", "+ $9.49", "- $100.00", "$939.49", "2026-10-01", "by 2026-12-30"):
        assert text in message.body
    assert message.template_id == "validation_notice"
    deadline = date(2026, 12, 30)
    chinese = render_notice(notice, "zh-CN", parties=parties, consumer=CONSUMER, period_end=deadline)
    assert chinese.language == "zh-CN"
    assert "$939.49" in chinese.body
    assert len(message.sha256) == 64


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_notice_carries_every_element_of_1006_34_c(language: str) -> None:
    """(c)(2)(i)-(ii) collector's and consumer's names and mailing addresses; (c)(1) the debt-collector
    communication disclosure; (c)(2)(iii)/(v) the creditor; (iv) the account number, truncated;
    (c)(3)(iv) the CFPB reference; (c)(4) the dispute and original-creditor prompts; (d)(3)(vi) the
    Spanish statement."""
    parties = bundled_parties()
    body = render_notice(
        itemize(small_loan(), date(2026, 11, 20)),
        language,
        parties=parties,
        consumer=CONSUMER,
        period_end=date(2026, 12, 30),
    ).body

    assert body.count("Example Collections LLC") >= 2  # the letterhead and the response address
    assert body.count("PO Box 1006, Springfield, IL 62701") == 2
    assert "Jane Doe" in body
    assert "12 Elm Street, Springfield, IL 62704" in body
    assert "Example Consumer Lending Inc." in body
    assert "ending 0001" in body
    assert "L-US-000001" not in body  # never the full account number
    assert "www.cfpb.gov/debt-collection" in body
    assert "Póngase en contacto con nosotros para solicitar una copia de este formulario en español." in body
    prompts = {
        "en": ("This is not my debt.", "The amount is wrong.", "name and address of the original creditor"),
        "zh-CN": ("这不是我的债务。", "金额有误。", "原债权人的名称和地址"),
    }[language]
    for prompt in prompts:
        assert prompt in body
    assert "2026-12-30" in body


def test_a_pack_notice_without_its_parties_is_refused_at_load() -> None:
    with pytest.raises(ValueError, match="names the collector"):
        NoticeParties(
            "Example Collections LLC", "", "Example Consumer Lending Inc.", "12 CFR 1006.34(c)(2)(i)"
        )


def test_the_bundled_us_pack_names_its_itemization_date_with_its_source_and_a_creditor_sends_none() -> None:
    packs = bundled_rule_packs()
    rule = packs.composed("US-REGF", date(2026, 11, 20), "CA").validation_notice
    assert rule is not None
    assert rule.itemization_date is ItemizationDate.TRANSACTION
    assert "1006.34(b)(3)(iv)" in rule.itemization_citation
    assert "1006.34" in rule.citation
    assert rule.parties is not None
    assert "1006.34(c)(2)(i)-(ii)" in rule.parties.citation
    assert Channel.LEGAL in rule.defer_until_period_end
    base = packs.in_force("US-REGF", date(2026, 11, 20))
    creditor = replace(base, settings=PackSettings(deployer_role=DeployerRole.CREDITOR))
    from arrears.domain.rulepacks import compose

    assert compose(creditor, ()).validation_notice is None
    assert packs.composed("CN", date(2026, 11, 20)).validation_notice is None


def test_an_itemization_date_the_loan_does_not_have_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be taken from a loan"):
        ValidationNoticeRule("12 CFR 1006.34", ItemizationDate.LAST_STATEMENT, "1006.34(b)(3)(i)")


def test_a_legal_referral_waits_until_the_validation_period_has_ended() -> None:
    # A New York borrower: the state's overlay states the limitation period a referral needs.
    pack = bundled_rule_packs().composed("US-REGF", date(2026, 12, 1), "NY")
    loan = replace(
        small_loan(),
        dpd=31,
        collection_instalment=1,
        validation_notice_at=datetime(2026, 11, 20, 18, tzinfo=UTC),
        validation_period_ends=date(2026, 12, 30),
    )
    borrower = Borrower("B-1", timezone="America/Los_Angeles", region="NY")
    at = datetime(2026, 12, 30, 18, tzinfo=UTC)  # 13:00 in New York on the last day
    held = gate(
        channel=Channel.LEGAL, collection_instalment=1, loan=loan, borrower=borrower, at=at, pack=pack
    )
    assert held.verdict is Verdict.DEFER
    assert held.not_before == datetime(2026, 12, 31, 13, tzinfo=UTC)  # 08:00 New York, the day after
    assert ("validation_period", "FAIL") in held.rules_checked
    assert held.decided_by.startswith("US-REGF@")
    after = gate(
        channel=Channel.LEGAL,
        collection_instalment=1,
        loan=loan,
        borrower=borrower,
        at=datetime(2026, 12, 31, 13, tzinfo=UTC),
        pack=pack,
    )
    assert after.verdict is Verdict.SEND
    assert ("validation_period", "PASS") in after.rules_checked
    reminder = gate(
        channel=Channel.SMS, collection_instalment=1, loan=loan, borrower=borrower, at=at, pack=pack
    )
    assert ("validation_period", "FAIL") not in reminder.rules_checked


def test_a_never_told_debts_referral_posts_the_notice_first_unless_the_borrower_refused_letters() -> None:
    """No notice was ever sent: the referral asks the dispatcher to post one first (`notice_first`).
    A borrower who refused letters too cannot be sent it (12 CFR 1006.14(h)(1)): the referral waits
    a week at a time, and nothing is posted. Under a request to cease contact it proceeds."""
    pack = bundled_rule_packs().composed("US-REGF", date(2026, 12, 1), "NY")
    loan = replace(small_loan(), dpd=95, collection_instalment=1)
    at = datetime(2026, 12, 30, 18, tzinfo=UTC)
    everywhere = frozenset({"SMS", "EMAIL", "CALL_TASK"})

    def judged(borrower: Borrower, on_loan: Loan = loan) -> SendDecision:
        return gate(
            channel=Channel.LEGAL, collection_instalment=1, loan=on_loan, borrower=borrower, at=at, pack=pack
        )

    first = judged(Borrower("B-1", timezone="America/New_York", region="NY", opted_out_channels=everywhere))
    assert (first.verdict, first.notice_first, first.reason) == (Verdict.DEFER, True, NOTICE_FIRST_REASON)
    assert first.rules_checked[-1] == ("validation_period", "FAIL")
    no_letters = everywhere | {"LETTER"}
    refused = judged(Borrower("B-1", timezone="America/New_York", region="NY", opted_out_channels=no_letters))
    assert (refused.verdict, refused.notice_first) == (Verdict.DEFER, False)
    assert refused.reason == NOTICE_CANNOT_GO_REASON
    assert refused.not_before == datetime(2027, 1, 6, 18, tzinfo=UTC)
    ceased = replace(loan, holds=Holds(cease_contact=True))
    assert judged(Borrower("B-1", timezone="America/New_York", region="NY"), ceased).verdict is Verdict.SEND
