"""The limitation period: no legal step and no threat of suit once a claim is time-barred."""

from __future__ import annotations

from datetime import UTC, date, datetime

from arrears.config.rulepacks import bundled_rule_packs, rule_pack_in_force
from arrears.domain.borrowers import Borrower
from arrears.domain.compliance import SendDecision, gate
from arrears.domain.limitation import LIMITATION_KNOWN_RULE, LIMITATION_RULE, default_date, limitation_ends
from arrears.domain.loans import Holds, Instalment, Loan
from arrears.domain.messages import THREATENS_SUIT, render
from arrears.domain.planning import BorrowerFacts, decide_step
from arrears.domain.strategy import Channel, Step
from arrears.domain.verdicts import FAIL, PASS, Verdict


def _cn_loan(first_due: date, **changes: object) -> Loan:
    loan = Loan(
        "L-OLD",
        "B1",
        "CN",
        "CNY",
        100_000,
        date(first_due.year - (first_due.month == 1), (first_due.month - 2) % 12 + 1, 1),
        (Instalment(1, first_due, 100_000, 0),),
        0,
        0,
        dpd=120,
        due_offset=120,
        collection_instalment=1,
    )
    return loan.with_changes(**changes)


CN_BORROWER = Borrower("B1", "Asia/Shanghai", "zh-CN", region="Shanghai")
LEGAL = Step("legal-d90", 90, Channel.LEGAL, "legal_referral")
PRE_LEGAL = Step("pre-legal-d80", 80, Channel.EMAIL, "email_pre_legal")
REMINDER = Step("sms-d1", 1, Channel.SMS, "sms_overdue")


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def test_cn_limitation_is_three_years_from_the_day_after_the_last_on_time_day() -> None:
    pack = bundled_rule_packs().composed("CN", date(2026, 6, 1))
    loan = _cn_loan(date(2023, 3, 10))
    assert default_date(loan) == date(2023, 3, 11)
    assert pack.limitation is not None
    assert limitation_ends(loan, pack.limitation) == date(2026, 3, 11)
    assert "art. 188" in pack.source(LIMITATION_RULE).citation


def test_a_time_barred_loan_gets_no_legal_step_and_no_threat_of_suit() -> None:
    loan = _cn_loan(date(2023, 3, 10))
    on = date(2026, 3, 11)  # the first day the claim is time-barred
    pack = rule_pack_in_force("CN", _at(on), address_state="Shanghai")
    for step in (LEGAL, PRE_LEGAL):
        planned = decide_step(
            step, loan=loan, on=on, pack=pack, band="MEDIUM", amount_minor=100_000, borrower=BorrowerFacts()
        )
        assert planned.verdict is Verdict.SUPPRESS
        assert planned.rules_checked[-1] == (LIMITATION_RULE, FAIL)
        assert "2026-03-11" in planned.reason
        judged = gate(
            channel=step.channel,
            template_id=step.template_id,
            collection_instalment=1,
            loan=loan,
            borrower=CN_BORROWER,
            at=_at(on),
            pack=pack,
        )
        assert judged.verdict is Verdict.SUPPRESS
        assert judged.rules_checked[-1] == (LIMITATION_RULE, FAIL)
        assert judged.decided_by == "CN@2026.1"
    # A reminder that threatens nothing still goes out: the debt is owed, only suit is barred.
    reminder = decide_step(
        REMINDER, loan=loan, on=on, pack=pack, band="MEDIUM", amount_minor=100_000, borrower=BorrowerFacts()
    )
    assert reminder.verdict is Verdict.PLAN
    assert all(rule != LIMITATION_RULE for rule, _ in reminder.rules_checked)


def test_the_day_before_the_limitation_date_the_legal_step_goes_out() -> None:
    loan = _cn_loan(date(2023, 3, 10))
    on = date(2026, 3, 10)
    pack = rule_pack_in_force("CN", _at(on), address_state="Shanghai")
    planned = decide_step(
        LEGAL, loan=loan, on=on, pack=pack, band="MEDIUM", amount_minor=100_000, borrower=BorrowerFacts()
    )
    assert planned.verdict is Verdict.PLAN
    assert (LIMITATION_RULE, PASS) in planned.rules_checked
    judged = gate(
        channel=Channel.LEGAL,
        template_id="legal_referral",
        collection_instalment=1,
        loan=loan,
        borrower=CN_BORROWER,
        at=_at(on),
        pack=pack,
    )
    assert judged.verdict is Verdict.SEND
    assert (LIMITATION_RULE, PASS) in judged.rules_checked


def test_a_placed_debt_counts_from_the_original_creditors_default() -> None:
    # The collector's schedule fell due 100 days ago; the original creditor's default was 7 years ago.
    loan = _cn_loan(date(2026, 2, 20), original_default_on=date(2019, 5, 2))
    assert default_date(loan) == date(2019, 5, 2)
    pack = rule_pack_in_force("CN", _at(date(2026, 6, 1)), address_state="Shanghai")
    judged = gate(
        channel=Channel.LEGAL,
        collection_instalment=1,
        loan=loan,
        borrower=CN_BORROWER,
        at=_at(date(2026, 6, 1)),
        pack=pack,
    )
    assert judged.verdict is Verdict.SUPPRESS


def test_us_limitation_is_the_states_and_the_federal_base_has_none() -> None:
    history = bundled_rule_packs()
    on = date(2026, 6, 1)
    assert history.composed("US-REGF", on, "CA").limitation is None
    ma = history.composed("US-REGF", on, "MA")
    wa = history.composed("US-REGF", on, "WA")
    assert ma.limitation is not None
    assert ma.limitation.years == 6
    assert "M.G.L. c. 260" in ma.source(LIMITATION_RULE).citation
    assert ma.decided_by(LIMITATION_RULE) == "US-MA@2026.1"
    assert wa.limitation is not None
    assert "RCW 4.16.040" in wa.source(LIMITATION_RULE).citation
    assert "1006.26(b)" in ma.time_barred_citation


def _us_loan(loan_id: str, disbursed: date, due: date, dpd: int) -> Loan:
    return Loan(
        loan_id,
        "B2",
        "US-REGF",
        "USD",
        100_000,
        disbursed,
        (Instalment(1, due, 100_000, 0),),
        0,
        0,
        dpd=dpd,
        due_offset=dpd,
        collection_instalment=1,
    )


def test_a_us_massachusetts_debt_past_six_years_gets_no_threatening_email() -> None:
    loan = _us_loan("L-US", date(2019, 1, 1), date(2019, 2, 1), 100)
    borrower = Borrower("B2", "America/New_York", "en", region="MA", email="b2@example.com")
    at = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
    pack = rule_pack_in_force("US-REGF", at, address_state="MA")
    judged = gate(
        channel=Channel.EMAIL,
        template_id="email_pre_legal",
        collection_instalment=1,
        loan=loan,
        borrower=borrower,
        at=at,
        pack=pack,
    )
    assert judged.verdict is Verdict.SUPPRESS
    assert judged.decided_by == "US-MA@2026.1"
    # The ordinary overdue e-mail is not a threat of suit and is judged as before.
    plain = gate(
        channel=Channel.EMAIL,
        template_id="email_overdue",
        collection_instalment=1,
        loan=loan,
        borrower=borrower,
        at=at,
        pack=pack,
    )
    assert plain.verdict is Verdict.SEND


def test_every_template_that_threatens_suit_exists_and_says_so() -> None:
    assert THREATENS_SUIT
    for template_id in THREATENS_SUIT:
        english = render(template_id, "en", loan_id="L1", dpd=80, amount_minor=100, currency="USD")
        chinese = render(template_id, "zh-CN", loan_id="L1", dpd=80, amount_minor=100, currency="CNY")
        assert "legal action" in english.body
        assert "诉讼" in chinese.body


def test_the_limitation_is_named_before_any_hold() -> None:
    # Opted out of e-mail and time-barred: the receipt says the demand is barred, not only unwanted.
    loan = _cn_loan(date(2023, 3, 10))
    on = date(2026, 4, 1)
    pack = rule_pack_in_force("CN", _at(on), address_state="Shanghai")
    opted_out = BorrowerFacts(opted_out_channels=frozenset({"EMAIL"}))
    planned = decide_step(
        PRE_LEGAL, loan=loan, on=on, pack=pack, band="MEDIUM", amount_minor=100_000, borrower=opted_out
    )
    assert planned.rules_checked[-1] == (LIMITATION_RULE, FAIL)
    assert all(rule != "channel_opt_out" for rule, _ in planned.rules_checked)


def _judged(loan: Loan, state: str, step: Step, at: datetime) -> SendDecision:
    """The gate's decision on `step` for `loan`'s borrower living in `state`."""
    borrower = Borrower("B3", "America/Denver", "en", region=state, email="b3@example.com")
    return gate(
        channel=step.channel,
        template_id=step.template_id,
        collection_instalment=1,
        loan=loan,
        borrower=borrower,
        at=at,
        pack=rule_pack_in_force("US-REGF", at, address_state=state),
    )


def test_a_suit_or_its_threat_waits_where_no_layer_states_the_borrowers_period() -> None:
    """Colorado has no overlay here: whether the claim is time-barred cannot be told, and 12 CFR
    1006.26(b) forbids suing or threatening suit on a time-barred debt. The referral and the
    pre-legal demand wait a week at a time (until the state's overlay states the period); an
    ordinary reminder is not held. New York's overlay states three years (CPLR 214-i): its referral
    goes."""
    at = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
    loan = _us_loan("L-US-NEW", date(2026, 1, 1), date(2026, 3, 1), 92)  # defaulted 2 March 2026
    for step in (LEGAL, PRE_LEGAL):
        judged = _judged(loan, "CO", step, at)
        assert judged.verdict is Verdict.DEFER, step.template_id
        # Not the limitation period itself (that is the state's): the lender's policy of waiting for it.
        assert judged.rules_checked[-1] == (LIMITATION_KNOWN_RULE, FAIL)
        assert judged.reason.startswith("no limitation period is known for a borrower in CO")
        assert judged.not_before == datetime(2026, 6, 8, 16, 0, tzinfo=UTC)
        assert judged.decided_by == "US-REGF@2026.1"
    # A hold that suppresses the referral still does: the wait for a period never outlives a dispute.
    disputed = _judged(loan.with_changes(holds=Holds(dispute_open=True)), "CO", LEGAL, at)
    assert (disputed.verdict, disputed.rules_checked[-1]) == (Verdict.SUPPRESS, ("dispute_open", FAIL))
    assert (
        _judged(loan, "CO", Step("email-d10", 10, Channel.EMAIL, "email_overdue"), at).verdict is Verdict.SEND
    )
    ny = rule_pack_in_force("US-REGF", at, address_state="NY")
    assert ny.limitation is not None
    assert ny.limitation.years == 3
    assert ny.decided_by(LIMITATION_RULE) == "US-NY@2026.1"
    judged = _judged(loan, "NY", LEGAL, at)
    assert (LIMITATION_RULE, PASS) in judged.rules_checked
    assert (LIMITATION_RULE, FAIL) not in judged.rules_checked
