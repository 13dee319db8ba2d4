"""What the borrower said changes the strategy: a hardship branch instead of the next escalation step."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from arrears.config.playbook import (
    PlaybookDocumentError,
    bundled_playbook,
    bundled_playbook_text,
    parse_playbook,
)
from arrears.domain.assessment import assess
from arrears.domain.holds import HoldChange, HoldKind, InvalidHoldChange, apply_hold_change
from arrears.domain.loans import Instalment, Loan
from arrears.domain.strategy import Channel, loan_facts, steps_crossed

DUE = date(2026, 3, 1)
AT = datetime(2026, 3, 5, 4, tzinfo=UTC)


def cn_loan() -> Loan:
    return Loan(
        "L-HB",
        "B-HB",
        "CN",
        "CNY",
        500_000,
        date(2026, 2, 1),
        (Instalment(1, DUE, 500_000, 3_000),),
        500,
        3600,
    )


def on_day(loan: Loan, day: int) -> Loan:
    return assess(loan, DUE + timedelta(days=day), bundled_playbook())


def with_hardship(loan: Loan, reason: str) -> Loan:
    change = HoldChange("R-HS", loan.loan_id, HoldKind.HARDSHIP, True, AT, DUE + timedelta(days=7), reason)
    return apply_hold_change(loan, change, DUE + timedelta(days=4)).loan


def test_a_borrower_who_reported_job_loss_gets_the_hardship_branch_not_the_next_escalation() -> None:
    strategy = bundled_playbook().arm_for(cn_loan()).strategy
    before = on_day(with_hardship(on_day(cn_loan(), 4), "job_loss"), 14)
    after = on_day(before, 15)
    assert loan_facts(after) == {"hardship", "hardship:job_loss"}
    branch = strategy.for_loan(after)
    assert branch.branch_id == "hardship"
    crossed = steps_crossed(branch, before, after, "MEDIUM", "MEDIUM")
    # The main strategy calls again on day 15 (call-d15; the challenger's d10): the hardship branch does not.
    main = steps_crossed(strategy, on_day(cn_loan(), 9), on_day(cn_loan(), 15), "MEDIUM", "MEDIUM")
    assert any(s.channel is Channel.CALL_TASK for s in main)
    assert all(s.step_id.startswith("hs-") for s in crossed)
    every = [s for _, s in branch.steps_for("HIGH")]
    assert not any(s.channel in (Channel.FIELD_VISIT, Channel.LEGAL) for s in every)
    assert any(s.template_id.endswith("plan_offer") for s in every)


def test_without_a_reason_on_record_the_main_steps_apply() -> None:
    loan = on_day(cn_loan(), 15)
    strategy = bundled_playbook().arm_for(loan).strategy
    assert strategy.for_loan(loan).branch_id == "main"
    assert strategy.for_loan(loan) is strategy


def test_the_reason_is_set_with_the_hold_lifted_with_it_and_forgotten_once_current() -> None:
    held = with_hardship(on_day(cn_loan(), 4), "illness")
    assert held.hardship_reason == "illness"
    lift = HoldChange("R-LIFT", held.loan_id, HoldKind.HARDSHIP, False, AT + timedelta(hours=1))
    assert apply_hold_change(held, lift, DUE + timedelta(days=4)).loan.hardship_reason == ""
    with pytest.raises(InvalidHoldChange):
        HoldChange("R-X", held.loan_id, HoldKind.DISPUTE, True, AT, None, "job_loss")
    paid = held.with_changes(
        instalments=(
            Instalment(1, DUE, 500_000, 3_000, principal_paid=500_000, interest_paid=3_000, settled_on=DUE),
        )
    )
    assert on_day(paid, 5).hardship_reason == ""


def test_a_branch_with_an_unknown_condition_is_refused_with_its_path() -> None:
    text = bundled_playbook_text().replace("when: [hardship]", "when: [sad]", 1)
    with pytest.raises(PlaybookDocumentError, match=r"branches\.0\.when"):
        parse_playbook(text, "s.yaml")
