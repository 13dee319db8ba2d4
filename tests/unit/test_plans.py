"""Repayment plans: the split is exact and inside the policy; payments keep, miss or complete a plan."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.adapters.archive_store import ArchiveStore
from arrears.adapters.items import loan_from_item, loan_to_item
from arrears.config.plans import plan_policy, plan_policy_named
from arrears.config.playbook import bundled_playbook
from arrears.config.rulepacks import rule_pack_for
from arrears.domain.assessment import assess, collection_state_changed
from arrears.domain.borrower_requests import RequestRefused
from arrears.domain.compliance import check_holds
from arrears.domain.holds import HoldChange, HoldKind, apply_hold_change
from arrears.domain.loans import Instalment, Loan, LoanStatus
from arrears.domain.money import amount_due, payoff_quote
from arrears.domain.payments import Payment, apply_payment
from arrears.domain.planning import broken_promise
from arrears.domain.plans import (
    Approval,
    InstalmentOutcome,
    PlanEvent,
    PlanStatus,
    approval_needed,
    judge_terms,
    offers,
    plan_events,
    plan_record,
    propose,
    received_minor,
    split,
    start_plan,
)
from arrears.domain.risk import score
from arrears.domain.strategy import Channel
from arrears.domain.verdicts import Verdict
from arrears.usecases.plans import archive_plan_events

DUE = date(2026, 3, 1)
CN = plan_policy("CN", DUE)
US = plan_policy("US-REGF", DUE)


def overdue_loan() -> Loan:
    """A CN cash loan of CNY 1,000 (+ CNY 30 interest) due 1 March, assessed 10 days past due."""
    loan = Loan(
        "L-P", "B-P", "CN", "CNY", 100_000, date(2026, 2, 1), (Instalment(1, DUE, 100_000, 3_000),), 500, 3600
    )
    return assess(loan, DUE + timedelta(days=10), bundled_playbook())


def on_plan(count: int = 3) -> tuple[Loan, date]:
    loan = overdue_loan()
    today = loan.evaluated_on
    assert today is not None
    plan = propose(
        CN,
        plan_id="PL-1",
        loan=loan,
        arrears_minor=amount_due(loan, today),
        today=today,
        count=count,
        every_days=10,
    )
    at = datetime(2026, 3, 11, 4, tzinfo=UTC)
    held = apply_hold_change(
        start_plan(loan, plan),
        HoldChange("R-1", loan.loan_id, HoldKind.PLAN, True, at, plan.hold_until),
        today,
    ).loan
    return assess(held, today, bundled_playbook()), today


def pay(loan: Loan, amount: int, on: date, pid: str) -> Loan:
    return assess(
        apply_payment(loan, Payment(pid, loan.loan_id, amount, "CNY", on)).loan, on, bundled_playbook()
    )


# -- the split and the policy ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    arrears=st.integers(min_value=1, max_value=10**9),
    count=st.integers(min_value=2, max_value=6),
    every=st.integers(min_value=1, max_value=31),
)
def test_instalments_sum_to_the_arrears_exactly_and_differ_by_at_most_one_unit(
    arrears: int, count: int, every: int
) -> None:
    if arrears < count:
        return
    parts = split(arrears, count, DUE, every)
    assert sum(p.amount_minor for p in parts) == arrears
    assert max(p.amount_minor for p in parts) - min(p.amount_minor for p in parts) <= 1
    assert [p.due_on for p in parts] == [DUE + timedelta(days=every * k) for k in range(1, count + 1)]


@settings(max_examples=200, deadline=None)
@given(arrears=st.integers(min_value=0, max_value=10**8), jurisdiction=st.sampled_from(["CN", "US-REGF"]))
def test_every_offer_is_inside_the_policy(arrears: int, jurisdiction: str) -> None:
    policy = plan_policy(jurisdiction, DUE)
    for offer in offers(policy, arrears, DUE):
        amounts = [i.amount_minor for i in offer.instalments]
        assert sum(amounts) == arrears
        assert min(amounts) >= policy.min_instalment_minor  # no instalment below the minimum
        assert policy.min_instalments <= len(amounts) <= policy.max_instalments
        assert offer.instalments[-1].due_on <= DUE + timedelta(days=policy.max_plan_days)  # never past policy
        gaps = [b.due_on - a.due_on for a, b in zip(offer.instalments, offer.instalments[1:], strict=False)]
        assert all(g.days <= policy.max_days_between for g in gaps)


def test_too_small_arrears_get_no_offer_and_a_cited_refusal() -> None:
    assert offers(CN, 15_000, DUE) == ()  # CNY 150 cannot make two instalments of CNY 100
    with pytest.raises(RequestRefused) as refused:
        judge_terms(CN, 15_000, 2, 30)
    assert refused.value.code == "plan_instalment_too_small"
    assert "LENDER-CN-PLAN-2" in str(refused.value)


@pytest.mark.parametrize(
    ("count", "every", "code"),
    [
        (1, 30, "plan_instalments_out_of_range"),
        (7, 20, "plan_instalments_out_of_range"),
        (3, 31, "plan_spacing_too_wide"),
        (6, 30, None),
        (2, 30, None),
    ],
)
def test_terms_outside_the_policy_are_refused(count: int, every: int, code: str | None) -> None:
    if code is None:
        judge_terms(CN, 600_000, count, every)
        return
    with pytest.raises(RequestRefused) as refused:
        judge_terms(CN, 600_000, count, every)
    assert refused.value.code == code


def test_a_plan_past_the_policy_length_is_refused() -> None:
    judge_terms(US, 600_000, 6, 31)  # 186 days is the limit: 6 x 31 = 186 passes
    shorter = replace(US, max_plan_days=120)
    judge_terms(shorter, 600_000, 4, 30)
    with pytest.raises(RequestRefused) as refused:
        judge_terms(shorter, 600_000, 5, 30)
    assert refused.value.code == "plan_too_long"


def test_who_may_agree_a_plan() -> None:
    assert approval_needed(CN, 300_000, 3) is Approval.AUTO
    assert approval_needed(CN, 300_001, 3) is Approval.AGENT
    assert approval_needed(CN, 300_000, 4) is Approval.AGENT
    assert approval_needed(CN, 1_000_001, 2) is Approval.SUPERVISOR
    assert CN.allows(Approval.AGENT, Approval.SUPERVISOR)
    assert not CN.allows(Approval.SUPERVISOR, Approval.AGENT)


# -- a plan in force ---------------------------------------------------------------------------------------


def test_a_plan_holds_escalation_until_its_last_grace_day() -> None:
    loan, today = on_plan()
    assert loan.plan_active
    assert loan.holds.plan_until == today + timedelta(days=33)
    held = check_holds(
        channel=Channel.CALL_TASK, loan=loan, pack=rule_pack_for("CN"), opted_out_channels=(), on=today
    )
    assert held.verdict is Verdict.DEFER
    assert held.paused_until == loan.holds.plan_until
    assert ("repayment_plan", "FAIL") in held.rules_checked


def test_a_missed_instalment_breaks_the_plan_like_a_broken_promise() -> None:
    loan, _today = on_plan()
    first = loan.plan.instalments[0]  # type: ignore[union-attr]
    before = assess(loan, first.due_on + timedelta(days=3), bundled_playbook())  # last grace day
    assert before.plan_active
    assert before.broken_promises == 0
    after = assess(before, first.due_on + timedelta(days=4), bundled_playbook())
    assert after.plan is not None
    assert after.plan.status is PlanStatus.BROKEN
    assert after.plan.instalments[0].outcome is InstalmentOutcome.MISSED
    assert (after.broken_promises, after.last_broken_promise) == (1, first.due_on)
    assert after.holds.plan_until is None
    assert collection_state_changed(before, after)
    assert broken_promise(before, after) == first.due_on  # the strategy's broken_promise_step fires
    assert [e for e, _ in plan_events(before, after)] == [PlanEvent.INSTALMENT_MISSED, PlanEvent.BROKEN]
    assert assess(after, first.due_on + timedelta(days=5), bundled_playbook()).broken_promises == 1  # once


def test_the_first_instalment_paid_is_kept_and_the_milestone_comes_for_it() -> None:
    loan, today = on_plan()
    plan = loan.plan
    assert plan is not None
    assert loan.next_review_on is not None
    assert loan.next_review_on <= plan.instalments[0].due_on + timedelta(days=4)
    paid = pay(loan, plan.instalments[0].amount_minor, today + timedelta(days=9), "P-1")
    assert paid.plan is not None
    assert paid.plan.instalments[0].outcome is InstalmentOutcome.KEPT
    assert paid.plan_active
    assert paid.holds.plan_until == loan.holds.plan_until
    assert [e for e, _ in plan_events(loan, paid)] == [PlanEvent.INSTALMENT_KEPT]
    assert score(paid, today + timedelta(days=9)).score < score(loan, today + timedelta(days=9)).score


def test_a_plan_paid_in_full_completes_and_cures_the_arrears() -> None:
    loan, _today = on_plan(2)
    plan = loan.plan
    assert plan is not None
    for seq, instalment in enumerate(plan.instalments):
        loan = pay(loan, instalment.amount_minor, instalment.due_on, f"P-{seq}")
    assert loan.plan is not None
    assert loan.plan.status is PlanStatus.COMPLETED
    assert loan.holds.plan_until is None
    assert loan.broken_promises == 0
    # The arrears of the agreement day are paid to the minor unit; what accrued during the plan (the
    # contract's penalty) stays owed, and collection resumes on it.
    assert received_minor(loan) - plan.received_at_start_minor == plan.arrears_minor
    assert [e for e, _ in plan_events(None, loan)][-1] is PlanEvent.COMPLETED


def test_the_plan_survives_the_loans_table() -> None:
    loan, _ = on_plan()
    again = loan_from_item(loan_to_item(loan, shard_count=4))
    assert again.plan == loan.plan
    assert again.holds == loan.holds
    assert again.plan is not None
    assert again.plan.policy == "CN@2026.1", "the version that judged it, named on the plan"


def test_a_plan_stored_before_plans_named_their_version_loads_and_is_archived_under_its_days() -> None:
    loan, _ = on_plan()
    item = loan_to_item(loan, shard_count=4)
    del item["plan"]["policy"]
    legacy = loan_from_item(item)
    assert legacy.plan is not None
    assert legacy.plan.policy == ""
    store = _Store()
    assert archive_plan_events(None, legacy, datetime(2026, 3, 11, tzinfo=UTC), store) == 1
    (record,) = store.records
    assert record["policy"] == plan_policy("CN", legacy.plan.agreed_on).ref == "CN@2026.1"


def test_a_plan_policy_version_is_found_by_its_name_and_an_unknown_name_is_refused() -> None:
    assert plan_policy_named("CN@2026.1") is CN
    assert plan_policy_named("US-REGF@2026.1") is US
    with pytest.raises(LookupError, match=r"no repayment-plan policy version 'CN@1999\.9'"):
        plan_policy_named("CN@1999.9")


class _Store(ArchiveStore):
    """The archive's `put` and `retain_until`, keeping the records put (no bucket: unit scope)."""

    def __init__(self) -> None:
        self.records: list[dict[str, object]] = []

    def put(self, key: str, body: bytes, *, content_type: str, retain_until: date) -> None:
        self.records.append(json.loads(body))

    def retain_until(self, day: date, years: int) -> date:
        return day.replace(year=day.year + years)


def test_the_plan_record_has_no_personal_data() -> None:
    loan, _ = on_plan()
    assert loan.plan is not None
    record = plan_record(loan, loan.plan, PlanEvent.AGREED, 0, datetime(2026, 3, 11, tzinfo=UTC), CN.sources)
    text = str(record)
    assert loan.borrower_id not in text
    assert record["plan"]["arrears_minor"] == loan.plan.arrears_minor


# -- a plan outlives the loan's charge-off --------------------------------------------------------------


def charged_off(loan: Loan, on: date) -> Loan:
    """`loan` charged off on `on` (its plan in force), as the sweep leaves it."""
    return assess(loan.with_changes(status=LoanStatus.CHARGED_OFF, charged_off_on=on), on, bundled_playbook())


def test_a_plan_kept_after_the_charge_off_completes_on_the_recovery_that_pays_it() -> None:
    # The demo's loan L007000003: a plan's first instalment kept, the loan charged off the next day,
    # the second instalment paid on time after it: the plan stayed ACTIVE for good, never completed.
    loan, _today = on_plan(2)
    plan = loan.plan
    assert plan is not None
    first, second = plan.instalments
    loan = pay(loan, first.amount_minor, first.due_on, "P-1")
    gone = charged_off(loan, first.due_on + timedelta(days=1))
    assert gone.plan_active
    # reviewed on the plan's next judge day alone, while the plan runs
    assert gone.next_review_on == second.due_on + timedelta(days=plan.grace_days + 1)
    paid = pay(gone, second.amount_minor, second.due_on, "P-2")
    assert (paid.status, paid.recovered_minor) == (LoanStatus.CHARGED_OFF, second.amount_minor)
    assert paid.plan is not None
    assert paid.plan.status is PlanStatus.COMPLETED
    assert [e for e, _ in plan_events(gone, paid)] == [PlanEvent.INSTALMENT_KEPT, PlanEvent.COMPLETED]
    assert (paid.next_review_on, paid.holds.plan_until) == (None, None)


def test_a_plan_missed_after_the_charge_off_breaks_on_its_judge_day() -> None:
    loan, _today = on_plan(2)
    first = loan.plan.instalments[0]  # type: ignore[union-attr]
    gone = charged_off(loan, first.due_on - timedelta(days=1))
    judge_day = gone.next_review_on
    assert judge_day == first.due_on + timedelta(days=4)
    broken = assess(gone, judge_day, bundled_playbook())
    assert broken.plan is not None
    assert broken.plan.status is PlanStatus.BROKEN
    assert (broken.broken_promises, broken.next_review_on, broken.holds.plan_until) == (1, None, None)
    assert collection_state_changed(gone, broken)  # the sweep writes the judgement


def test_a_loan_repaid_in_full_completes_its_plan() -> None:
    loan, today = on_plan(3)
    paid = pay(loan, payoff_quote(loan, today).total_minor, today, "P-all")  # the payoff: the loan closes
    assert paid.status is LoanStatus.CLOSED
    assert paid.plan is not None
    assert paid.plan.status is PlanStatus.COMPLETED
    assert paid.next_review_on is None
