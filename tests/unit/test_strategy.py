"""Strategies as data: the bundled documents, loading errors, steps per day, bands and arms."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from arrears.config.bundled import STRATEGIES, document_path
from arrears.config.playbook import PlaybookDocumentError, PlaybookSource, bundled_playbook, parse_playbook
from arrears.domain.loans import Holds, Instalment, Loan, LoanStatus
from arrears.domain.messages import TEMPLATES
from arrears.domain.strategy import (
    DEFAULT_STRATEGY,
    Arm,
    Channel,
    Step,
    Strategy,
    StrategySet,
    steps_crossed,
)

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = document_path(STRATEGIES)
DUE = date(2026, 2, 1)


def _loan(
    offset: int | None,
    collection_instalment: int = 1,
    status: LoanStatus = LoanStatus.OPEN,
    band: str = "MEDIUM",
    jurisdiction: str = "CN",
    loan_id: str = "L",
) -> Loan:
    return Loan(
        loan_id,
        "B",
        jurisdiction,
        "CNY",
        100,
        date(2026, 1, 1),
        (Instalment(1, DUE, 100, 0),),
        0,
        0,
        status=status,
        due_offset=offset,
        dpd=max(0, offset or 0),
        collection_instalment=collection_instalment,
        risk_band=band,
    )


def _champion(jurisdiction: str) -> Strategy:
    return bundled_playbook().strategy_set_for(jurisdiction).arms[0].strategy


# --- the documents -----------------------------------------------------------------------------


def test_every_template_a_default_strategy_names_exists() -> None:
    for jurisdiction in ("CN", "US-REGF"):
        for arm in bundled_playbook().strategy_set_for(jurisdiction).arms:
            steps = [*arm.strategy.steps]
            if arm.strategy.broken_promise_step:
                steps.append(arm.strategy.broken_promise_step)
            for step in steps:
                assert (step.template_id, "en") in TEMPLATES, (arm.name, step.step_id)


def test_cn_champion_has_the_documented_ladder() -> None:
    steps = {(s.offset, s.channel) for s in _champion("CN").steps}
    assert steps >= {
        (-3, Channel.SMS),
        (-1, Channel.SMS),
        (0, Channel.SMS),
        (1, Channel.SMS),
        (3, Channel.SMS),
        (3, Channel.EMAIL),
        (5, Channel.CALL_TASK),
        (15, Channel.CALL_TASK),
        (60, Channel.FIELD_VISIT),
        (90, Channel.LEGAL),
        (90, Channel.BUREAU),
    }
    visit = next(s for s in _champion("CN").steps if s.channel is Channel.FIELD_VISIT)
    assert visit.min_amount_minor > 0
    assert "Shanghai" in visit.regions
    assert bundled_playbook().buckets.charge_off_dpd == 180


def test_us_strategy_has_no_field_visits() -> None:
    for arm in bundled_playbook().strategy_set_for("US-REGF").arms:
        assert all(s.channel is not Channel.FIELD_VISIT for s in arm.strategy.steps)


_GOOD = DOCUMENT.read_text()


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda t: t.replace("channel: EMAIL", "channel: FAX", 1), "channel: Input should be"),
        (lambda t: t.replace("offset: 60", "offset: 2", 1), "steps must be ordered by offset"),
        (lambda t: t.replace("weight: 50", "weight: -1", 1), "weight: Input should be greater than"),
        (lambda t: t.replace("id: sms-d3", "id: sms-d1", 1), "duplicate step ids ['sms-d1']"),
        (lambda t: t.replace("min_amount_minor: 100000", "min_amount_minor: lots", 1), "min_amount_minor"),
        (lambda t: t.replace("charge_off_dpd: 180", "charge_off_dpd: 80", 1), "would never run"),
        (lambda t: t.replace("template: sms_overdue}", "template: sms_overdue, colour: red}", 1), "colour"),
        (lambda t: t.replace("risk_bands: [MEDIUM, HIGH]", "risk_bands: [EXTREME]", 1), "risk_bands"),
        (lambda t: t.replace("schema: 1", "schema: 2", 1), "schema"),
        (lambda t: "- just a list", "expected a mapping"),
        (lambda t: "a: [unclosed", "not valid YAML"),
    ],
)
def test_a_bad_document_names_the_source_the_field_and_the_problem(mutate: object, expected: str) -> None:
    assert callable(mutate)
    with pytest.raises(PlaybookDocumentError) as error:
        parse_playbook(mutate(_GOOD), "strategies-under-test.yaml")
    message = str(error.value)
    assert message.startswith("strategies-under-test.yaml: ")
    assert expected in message


def test_the_field_path_is_named() -> None:
    with pytest.raises(
        PlaybookDocumentError, match=r"jurisdictions\.CN\.arms\.0\.strategy\.steps\.\d+\.channel"
    ):
        parse_playbook(_GOOD.replace("channel: EMAIL", "channel: FAX", 1), "s.yaml")


# --- steps crossed, day by day -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (0, 1, ["sms-d1"]),
        (1, 2, []),
        (59, 60, ["field-d60"]),
        (0, 70, ["sms-d1", "field-d60"]),  # a missed stretch catches up, once per channel
        (None, 5, ["sms-d1"]),
        (-3, 0, []),
    ],
)
def test_default_strategy_steps(before: int | None, after: int, expected: list[str]) -> None:
    previous = None if before is None else _loan(before)
    assert [s.step_id for s in steps_crossed(DEFAULT_STRATEGY, previous, _loan(after))] == expected


CN_DAYS = [
    # (day, band, steps planned when the loan moves from day-1 to day)
    (-3, "MEDIUM", ["reminder-d-3"]),
    (-3, "LOW", []),  # low risk: gentler, no D-3 reminder
    (-1, "MEDIUM", ["reminder-d-1"]),
    (0, "MEDIUM", ["reminder-d0"]),
    (1, "MEDIUM", ["sms-d1"]),
    (2, "HIGH", ["call-d5"]),  # high risk: the first call comes earlier
    (3, "MEDIUM", ["sms-d3", "email-d3"]),
    (5, "MEDIUM", ["call-d5"]),
    (5, "LOW", []),
    (8, "LOW", ["call-d5"]),  # low risk: later
    (10, "HIGH", ["call-d15"]),
    (15, "MEDIUM", ["call-d15"]),
    (20, "LOW", ["call-d15"]),
    (60, "MEDIUM", ["field-d60"]),
    (90, "MEDIUM", ["legal-d90", "bureau-d90"]),
    (4, "MEDIUM", []),
    (91, "HIGH", []),
]


@pytest.mark.parametrize(("day", "band", "expected"), CN_DAYS)
def test_cn_champion_per_step_and_band(day: int, band: str, expected: list[str]) -> None:
    strategy = _champion("CN")
    crossed = steps_crossed(strategy, _loan(day - 1, band=band), _loan(day, band=band), band, band)
    assert sorted(s.step_id for s in crossed) == sorted(expected)


def test_a_change_of_band_neither_skips_nor_repeats_a_step() -> None:
    strategy = _champion("CN")
    # MEDIUM yesterday at day 9 (call-d15 not reached), HIGH today at day 11: call-d15 (HIGH: 10) is due
    assert [
        s.step_id for s in steps_crossed(strategy, _loan(9), _loan(11, band="HIGH"), "HIGH", "MEDIUM")
    ] == ["call-d15"]
    # HIGH yesterday at day 2 (call-d5 planned), MEDIUM today at day 5: not again
    crossed = steps_crossed(strategy, _loan(2, band="HIGH"), _loan(5), "MEDIUM", "HIGH")
    assert [s.step_id for s in crossed] == ["sms-d3", "email-d3"]


def test_a_reminder_of_the_days_before_the_due_date_is_never_planned_once_past_due() -> None:
    """The demo's fault: LOW at the due date (no D-3 reminder for it), MEDIUM the next day. D-3 is
    newly applicable but its day passed: "due in 3 days" to a borrower 1 day past due. A late sweep
    catching up from before the due date plans the overdue steps only, not D0's reminder."""
    strategy = _champion("US-REGF")
    crossed = steps_crossed(strategy, _loan(0, band="LOW"), _loan(1), "MEDIUM", "LOW")
    assert "reminder-d-3" not in [s.step_id for s in crossed]
    late = steps_crossed(strategy, _loan(-2), _loan(2), "MEDIUM", "MEDIUM")
    assert [s.step_id for s in late] == ["email-d1"]
    on_the_day = steps_crossed(strategy, _loan(-1), _loan(0), "MEDIUM", "MEDIUM")
    assert [s.step_id for s in on_the_day] == ["reminder-d0"]


def test_catch_up_plans_only_the_latest_step_of_a_channel() -> None:
    strategy = Strategy("s", "1", (Step("a", 1, Channel.SMS, "t"), Step("b", 3, Channel.SMS, "t")))
    assert [s.step_id for s in steps_crossed(strategy, _loan(0), _loan(5))] == ["b"]


def test_a_new_cycle_starts_over_and_closed_loans_plan_nothing() -> None:
    assert [
        s.step_id
        for s in steps_crossed(
            DEFAULT_STRATEGY, _loan(40, collection_instalment=1), _loan(1, collection_instalment=2)
        )
    ] == ["sms-d1"]
    assert steps_crossed(DEFAULT_STRATEGY, _loan(0), _loan(1, status=LoanStatus.CLOSED)) == ()


def test_strategy_rejects_unordered_or_duplicate_steps() -> None:
    with pytest.raises(ValueError, match="ordered"):
        Strategy("s", "1", (Step("a", 5, Channel.SMS, "t"), Step("b", 1, Channel.SMS, "t")))
    with pytest.raises(ValueError, match="duplicate"):
        Strategy("s", "1", (Step("a", 1, Channel.SMS, "t"), Step("a", 2, Channel.SMS, "t")))


# --- arms and milestones -----------------------------------------------------------------------


def test_arms_are_deterministic_and_follow_the_weights() -> None:
    arms = StrategySet((Arm("champion", 80, DEFAULT_STRATEGY), Arm("challenger", 20, DEFAULT_STRATEGY)))
    names = [arms.arm_for(f"L-{n}").name for n in range(5000)]
    assert names == [arms.arm_for(f"L-{n}").name for n in range(5000)]
    assert 0.17 < names.count("challenger") / len(names) < 0.23
    assert {StrategySet((Arm("only", 1, DEFAULT_STRATEGY),)).arm_for(f"x{n}").name for n in range(50)} == {
        "only"
    }


def test_a_zero_weight_arm_gets_nobody_and_bad_sets_are_refused() -> None:
    arms = StrategySet((Arm("champion", 1, DEFAULT_STRATEGY), Arm("paused", 0, DEFAULT_STRATEGY)))
    assert {arms.arm_for(f"L-{n}").name for n in range(500)} == {"champion"}
    with pytest.raises(ValueError, match="weights"):
        StrategySet((Arm("a", 0, DEFAULT_STRATEGY),))
    with pytest.raises(ValueError, match="duplicate"):
        StrategySet((Arm("a", 1, DEFAULT_STRATEGY), Arm("a", 1, DEFAULT_STRATEGY)))


def test_the_borrower_is_the_unit_of_randomisation() -> None:
    playbook = bundled_playbook()
    by_borrower = {
        b: {
            playbook.assign_arm(_loan(1, loan_id=f"L-{b}-{n}").with_changes(borrower_id=b)).name
            for n in range(6)
        }
        for b in (f"B-{k}" for k in range(200))
    }
    # Every loan of one borrower lands in the same arm, whatever its id; the borrowers split over both
    assert all(len(arms) == 1 for arms in by_borrower.values())
    assert {arm for arms in by_borrower.values() for arm in arms} == {"champion", "challenger"}


def test_a_loan_keeps_the_arm_it_was_registered_into() -> None:
    playbook = bundled_playbook()
    challenger = _loan(1, loan_id="L-42").with_changes(strategy_arm="challenger")
    assert playbook.arm_for(challenger).name == "challenger"
    assert playbook.strategy_for(challenger) is playbook.arm_for(challenger).strategy
    # Not recomputed from the borrower id (an erasure replaces it by a pseudonym)
    moved = next(
        f"B-{k}"
        for k in range(100)
        if playbook.assign_arm(challenger.with_changes(borrower_id=f"B-{k}")).name == "champion"
    )
    assert playbook.arm_for(challenger.with_changes(borrower_id=moved)).name == "challenger"
    # An arm the playbook no longer has continues under the champion
    assert playbook.arm_for(challenger.with_changes(strategy_arm="retired-2025")).name == "champion"
    loan = _loan(1, loan_id="L-42")
    assert playbook.strategy_for(loan) is playbook.arm_for(loan).strategy
    assert bundled_playbook().strategy_for(_loan(1, jurisdiction="US-REGF")).strategy_id == "us-regf"


def test_milestones_hold_every_step_day_of_every_band_and_the_ends_of_pauses() -> None:
    loan = _loan(1, loan_id="L-42")
    offsets = set(bundled_playbook().milestones_for(loan).offsets)
    strategy = bundled_playbook().strategy_for(loan)
    for band in ("LOW", "MEDIUM", "HIGH"):
        assert {offset for offset, _ in strategy.steps_for(band)} <= offsets
    assert {0, 1, 31, 61, 91, 180} <= offsets
    held = loan.with_changes(
        holds=Holds(promise_to_pay_until=DUE + timedelta(days=11), hardship_until=DUE + timedelta(days=40))
    )
    assert {12, 41} <= set(bundled_playbook().milestones_for(held).offsets)


# --- the policy source (SSM in AWS) ------------------------------------------------------------


def test_the_policy_source_falls_back_caches_and_reports_bad_documents_once() -> None:
    values: dict[str, str | None] = {"p": None}
    calls: list[tuple[str, int]] = []
    reports: list[str] = []

    def fetch(name: str, max_age: int) -> str | None:
        calls.append((name, max_age))
        return values[name]

    source = PlaybookSource("p", max_age=60, fetch=fetch, report=reports.append)
    assert source.current() is bundled_playbook()  # absent
    values["p"] = "bundled"
    assert source.current() is bundled_playbook()
    values["p"] = _GOOD.replace("id: us-regf\n", "id: us-ops\n")
    custom = source.current()
    assert custom.strategy_set_for("US-REGF").arms[0].strategy.strategy_id == "us-ops"
    assert source.current() is custom  # parsed once per distinct document
    values["p"] = _GOOD.replace("channel: EMAIL", "channel: FAX", 1)
    assert source.current() is custom  # the last good policy stays in force
    assert source.current() is custom
    assert len(reports) == 1
    assert reports[0].startswith("ssm:p: jurisdictions.CN")
    assert calls[0] == ("p", 60)
    assert PlaybookSource("").current() is bundled_playbook()  # no parameter configured: no call at all


def test_registration_puts_every_loan_of_a_borrower_in_one_arm() -> None:
    from arrears.usecases.onboarding import registered_contract
    from localcloud.book import generate_book

    playbook = bundled_playbook()
    arms: dict[tuple[str, str], list[str]] = {}
    for entry in generate_book(200, 7, date(2026, 3, 1)):
        registered = registered_contract(entry.loan, entry.borrower, playbook)
        assert registered.strategy_arm == playbook.assign_arm(registered).name
        arms.setdefault((registered.borrower_id, registered.jurisdiction), []).append(registered.strategy_arm)
    assert sum(1 for names in arms.values() if len(names) > 1) >= 10  # the demo book's multi-loan borrowers
    assert all(len(set(names)) == 1 for names in arms.values())
    assert {name for names in arms.values() for name in names} == {"champion", "challenger"}
