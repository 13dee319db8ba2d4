"""Rule packs and the planner's decision per step: one row per rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from arrears.config.rulepacks import rule_pack_for
from arrears.domain.loans import Holds, Instalment, Loan
from arrears.domain.planning import BorrowerFacts, broken_promise, decide_step
from arrears.domain.rulepacks import RulePack, RulePackHistory
from arrears.domain.strategy import Channel, Step
from arrears.domain.verdicts import Verdict

CN_PACK, US_REGF_PACK = rule_pack_for("CN"), rule_pack_for("US-REGF")

ON = date(2026, 3, 10)
SMS = Step("sms-d9", 9, Channel.SMS, "sms_overdue")
VISIT = Step(
    "field-d60",
    60,
    Channel.FIELD_VISIT,
    "field_visit",
    min_amount_minor=1_000,
    regions=frozenset({"Shanghai"}),
)
LEGAL = Step("legal-d90", 90, Channel.LEGAL, "legal_referral")
M3_ONLY = Step("m3", 9, Channel.SMS, "sms_overdue", buckets=frozenset({"M3"}))
HIGH_ONLY = Step("high", 9, Channel.SMS, "sms_overdue", risk_bands=frozenset({"HIGH"}))


def _loan(**holds: object) -> Loan:
    return Loan(
        "L",
        "B",
        "CN",
        "CNY",
        10_000,
        date(2026, 1, 1),
        (Instalment(1, date(2026, 3, 1), 10_000, 0),),
        0,
        0,
        dpd=9,
        bucket="M1",
        due_offset=9,
        collection_instalment=1,
        evaluated_on=ON,
        holds=Holds(**holds),  # type: ignore[arg-type]
    )


SHANGHAI = BorrowerFacts("Shanghai")


@pytest.mark.parametrize(
    ("step", "holds", "borrower", "pack", "amount", "verdict", "failed_rule"),
    [
        (SMS, {}, SHANGHAI, CN_PACK, 5_000, Verdict.PLAN, None),
        (M3_ONLY, {}, SHANGHAI, CN_PACK, 5_000, Verdict.SKIP, "bucket"),
        (HIGH_ONLY, {}, SHANGHAI, CN_PACK, 5_000, Verdict.SKIP, "risk_band"),
        (VISIT, {}, SHANGHAI, CN_PACK, 999, Verdict.SKIP, "min_amount"),
        (VISIT, {}, BorrowerFacts("Xinjiang"), CN_PACK, 5_000, Verdict.SKIP, "region_covered"),
        (VISIT, {}, SHANGHAI, CN_PACK, 5_000, Verdict.PLAN, None),
        (VISIT, {}, SHANGHAI, US_REGF_PACK, 5_000, Verdict.SUPPRESS, "field_visits_enabled"),
        (SMS, {"bankruptcy": True}, SHANGHAI, CN_PACK, 5_000, Verdict.SUPPRESS, "stop_hold"),
        (LEGAL, {"deceased": True}, SHANGHAI, CN_PACK, 5_000, Verdict.SUPPRESS, "stop_hold"),
        (SMS, {"cease_contact": True}, SHANGHAI, US_REGF_PACK, 5_000, Verdict.SUPPRESS, "cease_contact"),
        (VISIT, {"cease_contact": True}, SHANGHAI, CN_PACK, 5_000, Verdict.SUPPRESS, "cease_contact"),
        (
            LEGAL,
            {"cease_contact": True},
            SHANGHAI,
            US_REGF_PACK,
            5_000,
            Verdict.PLAN,
            None,
        ),  # allowed notice
        (SMS, {"dispute_open": True}, SHANGHAI, CN_PACK, 5_000, Verdict.SUPPRESS, "dispute_open"),
        (LEGAL, {"dispute_open": True}, SHANGHAI, CN_PACK, 5_000, Verdict.SUPPRESS, "dispute_open"),
        (
            SMS,
            {},
            BorrowerFacts("Shanghai", frozenset({"SMS"})),
            CN_PACK,
            5_000,
            Verdict.SUPPRESS,
            "channel_opt_out",
        ),
        (SMS, {}, BorrowerFacts("Shanghai", frozenset({"EMAIL"})), CN_PACK, 5_000, Verdict.PLAN, None),
        (
            SMS,
            {"hardship_until": ON + timedelta(days=20)},
            SHANGHAI,
            CN_PACK,
            5_000,
            Verdict.DEFER,
            "hardship",
        ),
        (SMS, {"hardship_until": ON - timedelta(days=1)}, SHANGHAI, CN_PACK, 5_000, Verdict.PLAN, None),
        (SMS, {"promise_to_pay_until": ON}, SHANGHAI, CN_PACK, 5_000, Verdict.DEFER, "promise_to_pay"),
        (
            SMS,
            {"promise_to_pay_until": ON - timedelta(days=1)},
            SHANGHAI,
            CN_PACK,
            5_000,
            Verdict.PLAN,
            None,
        ),
    ],
)
def test_each_rule(
    step: Step,
    holds: dict[str, object],
    borrower: BorrowerFacts,
    pack: RulePack,
    amount: int,
    verdict: Verdict,
    failed_rule: str | None,
) -> None:
    decision = decide_step(
        step, loan=_loan(**holds), on=ON, pack=pack, band="MEDIUM", amount_minor=amount, borrower=borrower
    )
    assert decision.verdict is verdict
    failed = [rule for rule, v in decision.rules_checked if v == "FAIL"]
    assert failed == ([failed_rule] if failed_rule else [])
    assert decision.rules_checked[:2] == (("loan_open", "PASS"), ("step_reached", "PASS"))
    if verdict is Verdict.PLAN:
        assert not decision.reason
    else:
        assert decision.reason


def test_pauses_resume_the_day_after_they_end() -> None:
    promised = decide_step(
        SMS,
        loan=_loan(promise_to_pay_until=ON + timedelta(days=3)),
        on=ON,
        pack=CN_PACK,
        band="MEDIUM",
        amount_minor=1,
        borrower=SHANGHAI,
    )
    assert promised.resume_on == ON + timedelta(days=4)
    hardship = decide_step(
        SMS,
        loan=_loan(hardship_until=ON + timedelta(days=30), promise_to_pay_until=ON),
        on=ON,
        pack=CN_PACK,
        band="MEDIUM",
        amount_minor=1,
        borrower=SHANGHAI,
    )
    assert (hardship.resume_on, hardship.rules_checked[-1][0]) == (ON + timedelta(days=31), "hardship")


def test_a_broken_promise_is_named_by_the_change_that_counted_it_only() -> None:
    # The assessment judges the promise (tests/unit/test_behaviour.py); the planner names the one
    # this change counted, so its escalation is planned once.
    promised = ON - timedelta(days=1)
    before = _loan(promise_to_pay_until=promised)
    counted = before.with_changes(broken_promises=1, last_broken_promise=promised)
    assert broken_promise(before, counted) == promised
    assert broken_promise(None, counted) == promised
    assert broken_promise(counted, counted.with_changes(dpd=10)) is None  # counted before: once
    assert broken_promise(before, before) is None  # passed but not counted (yet): nothing
    assert broken_promise(None, before.with_changes(last_kept_promise=promised)) is None  # kept
    assert broken_promise(before, counted.with_changes(evaluated_on=None)) is None
    assert broken_promise(None, _loan()) is None


@pytest.mark.parametrize(
    ("pack", "start", "end", "retention", "field_visits"),
    [(CN_PACK, 8, 22, 5, True), (US_REGF_PACK, 8, 21, 3, False)],
)
def test_packs_hold_the_numbers_of_the_design(
    pack: RulePack, start: int, end: int, retention: int, field_visits: bool
) -> None:
    assert (pack.contact_start.hour, pack.contact_end.hour) == (start, end)
    assert pack.retention_years == retention
    assert pack.field_visits_enabled is field_visits
    assert pack.ref == f"{pack.pack_id}@{pack.version}"
    assert Channel.SMS not in pack.cease_contact_allows
    assert not pack.dispute_allows


def test_caps_of_each_pack() -> None:
    assert (CN_PACK.call_limits.connected_per_day, CN_PACK.call_limits.attempts_per_day_per_number) == (3, 6)
    assert (
        US_REGF_PACK.call_limits.attempts_per_7_days,
        US_REGF_PACK.call_limits.quiet_days_after_conversation,
    ) == (7, 7)
    assert CN_PACK.field_visit_min_collectors == 2
    assert US_REGF_PACK.email_opt_out_required


def test_the_pack_in_force_on_a_date() -> None:
    newer = replace(CN_PACK, version="2027.1", effective_from=date(2027, 1, 1))
    older = replace(CN_PACK, effective_to=date(2027, 1, 1))
    history = RulePackHistory({"CN": (older, newer)})
    assert history.in_force("CN", date(2026, 6, 1)).version == "2026.1"
    assert history.in_force("CN", date(2027, 1, 1)).version == "2027.1"
    assert history.in_force("CN", date(2025, 1, 1)).version == "2026.1"  # before the first: the first
    assert history.in_force("CN").version == "2027.1"  # no date: the latest
    with pytest.raises(ValueError, match="no rule pack"):
        history.in_force("XX", date(2026, 1, 1))
