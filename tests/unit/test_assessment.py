"""Assessment on a business date: milestones, charge-off, idempotence."""

from __future__ import annotations

from datetime import date, timedelta

from arrears.adapters.items import loan_to_item, shard_for
from arrears.config.playbook import bundled_playbook
from arrears.domain.assessment import assess, collection_state_changed
from arrears.domain.delinquency import DEFAULT_BUCKETS
from arrears.domain.loans import Instalment, Loan, LoanStatus
from arrears.domain.playbook import CollectionPlaybook
from arrears.domain.strategy import DEFAULT_STRATEGY

# A two-step strategy (SMS at D+1, field visit at D+60) keeps the milestone arithmetic readable;
# the bundled strategies are covered by tests/unit/test_strategy.py and test_sweep_reference.py.
TWO_STEP = CollectionPlaybook(buckets=DEFAULT_BUCKETS, strategy=DEFAULT_STRATEGY)

DUE = date(2026, 3, 1)


def _loan() -> Loan:
    return Loan(
        "L-8", "B-8", "CN", "CNY", 10_000, date(2026, 2, 1), (Instalment(1, DUE, 10_000, 300),), 500, 3600
    )


def _assess(loan: Loan, on: date) -> Loan:
    return assess(loan, on, TWO_STEP)


def test_milestones_are_due_day_steps_bucket_bounds_and_charge_off() -> None:
    assert TWO_STEP.milestones_for(_loan()).offsets == (0, 1, 31, 60, 61, 91, 180)


def test_the_bundled_cn_strategy_wakes_the_loan_for_pre_due_reminders() -> None:
    assert bundled_playbook().arm_for(_loan()).name == "champion"  # the arm whose reminders are D-3, D-1
    offsets = bundled_playbook().milestones_for(_loan()).offsets
    assert offsets[:3] == (-3, -1, 0)
    assert {1, 31, 60, 61, 90, 91, 180} <= set(offsets)
    first = assess(_loan(), date(2026, 2, 1), bundled_playbook())
    assert first.next_review_on == DUE - timedelta(days=3)


def test_next_review_is_the_next_milestone_and_the_loan_is_sharded() -> None:
    loan = _assess(_loan(), date(2026, 2, 1))
    assert loan.next_review_on == DUE
    assert loan_to_item(loan, shard_count=16)["review_shard"] == shard_for("L-8", 16)
    assert (loan.dpd, loan.bucket, loan.due_offset) == (0, "M0", -28)
    day2 = _assess(loan, DUE + timedelta(days=1))
    assert (day2.dpd, day2.bucket, day2.next_review_on) == (1, "M1", DUE + timedelta(days=31))


def test_assessing_twice_on_the_same_day_changes_nothing() -> None:
    once = _assess(_loan(), DUE + timedelta(days=5))
    assert not collection_state_changed(once, _assess(once, DUE + timedelta(days=5)))


def test_charge_off_at_180_dpd_leaves_the_review_index() -> None:
    charged = _assess(_loan(), DUE + timedelta(days=180))
    assert charged.status is LoanStatus.CHARGED_OFF
    assert "review_shard" not in loan_to_item(charged, shard_count=16)
    assert charged.next_review_on is None
    assert charged.money_through == DUE + timedelta(days=180)


def test_closed_loans_leave_the_index() -> None:
    closed = _assess(_loan(), DUE).with_changes(status=LoanStatus.CLOSED)
    assert _assess(closed, DUE + timedelta(days=3)).next_review_on is None


def test_assessment_stores_the_risk_score_band_and_features_on_the_loan() -> None:
    assessed = _assess(_loan(), DUE + timedelta(days=10))
    assert assessed.risk_score is not None
    assert assessed.risk_band in {"LOW", "MEDIUM", "HIGH"}
    assert assessed.risk_features
    assert all(isinstance(points, int) for _, _, points in assessed.risk_features)
