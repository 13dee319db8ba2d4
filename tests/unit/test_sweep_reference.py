"""The timer-wheel sweep against a brute-force reference, over random books, payments and missed days.

The sweep under test reads only the loans whose `next_review_on` has arrived (an in-memory sparse
index with the ReviewIndex's semantics). The reference ignores the index: it assesses every loan
every single day, and it finds the loans that must change on a sweep day by walking each day since
the loan's last assessment and checking the milestone offsets one by one. After every sweep the two
must agree on which loans changed and on every loan's status, DPD, bucket, instalment in collection
and penalty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.adapters.items import loan_to_item
from arrears.config.playbook import bundled_playbook
from arrears.domain.assessment import assess
from arrears.domain.delinquency import DelinquencyBuckets, loan_dpd
from arrears.domain.loans import Loan, LoanStatus, build_schedule
from arrears.domain.payments import Payment, apply_payment
from arrears.domain.penalties import penalty_charged
from arrears.domain.playbook import CollectionPlaybook
from arrears.domain.strategy import Channel, Step, Strategy
from arrears.usecases.sweep import ShardSweep, SweepTask, run_sweep_task
from tests.unit.memory_loans import WheelLoans
from tests.unit.sweep_fakes import ListQueue, MemoryRuns

SHARDS = 4
START = date(2026, 1, 1)
HORIZON = 230  # past the 180-DPD charge-off of the earliest loans


def review_shard(loan: Loan) -> int | None:
    """The ReviewIndex shard the Loans table adapter would store `loan` under (None: not indexed)."""
    shard: int | None = loan_to_item(loan, shard_count=SHARDS).get("review_shard")
    return shard


class IndexedLoans(WheelLoans):
    def __init__(self, loans: Mapping[str, Loan]) -> None:
        super().__init__(loans, shard_count=SHARDS)


def reference_offsets(loan: Loan) -> set[int]:
    """The loan's milestone offsets written out from their definition (not from `Milestones`)."""
    buckets = bundled_playbook().buckets
    steps = bundled_playbook().strategy_for(loan).steps
    values = {0, buckets.charge_off_dpd}
    values |= {low for _, low in buckets.buckets if low > 0}
    values |= {step.offset for step in steps}
    values |= {offset for step in steps for offset in step.band_offsets.values()}
    return {v for v in values if v <= buckets.charge_off_dpd}


def must_change(loan: Loan, on: date) -> bool:
    """Brute force: does a milestone fall on any day since the loan was last assessed?"""
    offsets = reference_offsets(loan)
    oldest = loan.oldest_unsettled
    if not loan.is_open or oldest is None or loan.evaluated_on is None:
        return False
    day = loan.evaluated_on + timedelta(days=1)
    while day <= on:
        if (day - oldest.due_on).days in offsets:
            return True
        day += timedelta(days=1)
    return False


@dataclass(frozen=True)
class Scenario:
    loans: tuple[Loan, ...]
    payments: tuple[tuple[int, int, int], ...]  # (day, loan index, amount)
    sweep_days: frozenset[int]
    layouts: tuple[tuple[int, ...], ...]  # per sweep day (cycled): the first shard of each task


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    count = draw(st.integers(1, 8))
    loans = []
    for n in range(count):
        disbursed = START + timedelta(days=draw(st.integers(0, 40)))
        principal = draw(st.integers(10, 500)) * 1_000
        plan = draw(st.sampled_from([1, 1, 3, 6]))
        schedule = build_schedule(
            principal,
            disbursed_on=disbursed,
            instalments=plan,
            monthly_interest_bps=draw(st.integers(0, 300)),
            fee_minor=draw(st.sampled_from([0, 500])),
            cash_loan_days=draw(st.integers(7, 30)),
        )
        loans.append(
            Loan(
                loan_id=f"L-{n}",
                borrower_id=f"B-{n}",
                jurisdiction="CN",
                currency="CNY",
                principal_minor=principal,
                disbursed_on=disbursed,
                instalments=schedule,
                penalty_daily_ppm=draw(st.sampled_from([0, 500, 1_000])),
                apr_cap_bps=draw(st.sampled_from([2_400, 3_600])),
                risk_band=draw(st.sampled_from(["LOW", "MEDIUM", "HIGH"])),
            )
        )
    payments = draw(
        st.lists(
            st.tuples(
                st.integers(0, HORIZON),
                st.integers(0, count - 1),
                st.integers(1, 600).map(lambda k: k * 1_000),
            ),
            max_size=12,
        )
    )
    missed = draw(st.sampled_from([0.0, 0.3, 0.8, 0.97]))
    chance = draw(st.randoms(use_true_random=False))
    sweep_days = frozenset(day for day in range(1, HORIZON + 1) if chance.random() >= missed)
    # the tasks' layout changes from day to day (the book's size sets how many tasks cover the shards)
    layouts = draw(
        st.lists(
            st.sets(st.integers(1, SHARDS - 1)).map(lambda cuts: (0, *sorted(cuts))), min_size=1, max_size=4
        )
    )
    return Scenario(tuple(loans), tuple(sorted(payments)), sweep_days, tuple(layouts))


def sweep_time(on: date) -> datetime:
    """00:30 Asia/Shanghai on `on`, in UTC (the daily schedule)."""
    return datetime.combine(on - timedelta(days=1), time(16, 30), tzinfo=UTC)


def pay(loan: Loan, payment_id: str, amount: int, on: date) -> Loan:
    """What the payments use case does: apply the waterfall, then re-assess on the payment date."""
    outcome = apply_payment(loan, Payment(payment_id, loan.loan_id, amount, "CNY", on))
    return assess(outcome.loan, on, bundled_playbook())


def sweep_all(index: IndexedLoans, on: date, layout: tuple[int, ...] = (0,)) -> ShardSweep:
    """Sweep every shard as the worker does: one task per run of consecutive shards starting at each
    of `layout`, a page of 2 and no time left, so every page boundary and every shard boundary is a
    continuation (re-enqueued and run as a new invocation)."""
    total = ShardSweep(-1)
    queue, runs = ListQueue(), MemoryRuns()
    ends = [*layout[1:], SHARDS]
    queue.send(
        [
            SweepTask(sweep_time(on), first, SHARDS, None, end - 1 if end - 1 > first else None).to_body()
            for first, end in zip(layout, ends, strict=True)
        ]
    )
    while queue.bodies:
        outcome = run_sweep_task(
            SweepTask.from_body(queue.bodies.pop(0)),
            loans=index,
            playbook=bundled_playbook(),
            queue=queue,
            runs=runs,
            has_time_left=lambda: False,
            page_size=2,
        )
        part = outcome.result
        for name in ShardSweep.COUNTERS:
            setattr(total, name, getattr(total, name) + getattr(part, name))
        total.changed_loan_ids.extend(part.changed_loan_ids)
    assert runs.heartbeats == 1  # every shard recorded done, the heartbeat claimed once
    return total


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_the_sweep_matches_a_brute_force_daily_assessment(scenario: Scenario) -> None:
    registered = {loan.loan_id: assess(loan, START, bundled_playbook()) for loan in scenario.loans}
    index = IndexedLoans(registered)
    daily = dict(registered)  # the reference: every loan assessed every day, no index
    payments = list(scenario.payments)

    for day in range(1, HORIZON + 1):
        on = START + timedelta(days=day)
        for n, (when, which, amount) in enumerate(payments):
            if when != day:
                continue
            loan_id = scenario.loans[which].loan_id
            # money for a loan one side has charged off but the other has not yet is not applied,
            # so both books keep the same payments (the sweep side may charge off a few days late)
            if index.items[loan_id].is_open and daily[loan_id].is_open:
                index.write_by_event(
                    pay(index.items[loan_id], f"P-{n}", amount, on).with_changes(
                        version=index.items[loan_id].version + 1
                    )
                )
                daily[loan_id] = pay(daily[loan_id], f"P-{n}", amount, on)
        daily = {k: assess(v, on, bundled_playbook()) if v.is_open else v for k, v in daily.items()}
        if day not in scenario.sweep_days:
            continue

        expected = {k for k, v in index.items.items() if must_change(v, on)}
        result = sweep_all(index, on, scenario.layouts[day % len(scenario.layouts)])

        assert set(result.changed_loan_ids) == expected, on
        assert len(result.changed_loan_ids) == len(expected)  # none written twice
        assert result.conflicts == 0
        # every loan with a milestone is in the index or listed under its date in the due list
        assert index.unreachable(on) == set(), on
        for loan_id, loan in index.items.items():
            ref = daily[loan_id]
            assert loan.status == ref.status, (loan_id, on)
            if ref.status is LoanStatus.CHARGED_OFF:
                assert loan.closed_on is not None
                assert ref.closed_on is not None
                assert ref.closed_on <= loan.closed_on <= on
                assert loan.next_review_on is None
                continue
            assert loan_dpd(loan, on) == loan_dpd(ref, on), (loan_id, on)
            assert penalty_charged(loan, on) == penalty_charged(ref, on), (loan_id, on)
            if not loan.is_open:
                # repaid: out of the index (its stored DPD and bucket are those of its last day)
                assert review_shard(loan) is None
                assert loan.next_review_on is None
                continue
            assert loan.bucket == ref.bucket, (loan_id, on)
            assert loan.collection_instalment == ref.collection_instalment, (loan_id, on)
            if loan_id in result.changed_loan_ids:
                assert (loan.dpd, loan.evaluated_on, loan.due_offset) == (ref.dpd, on, ref.due_offset)
            # in the index exactly while open, and its milestone is still ahead
            assert loan.next_review_on is not None
            assert loan.next_review_on > on

        # re-running the same business date writes nothing
        again = sweep_all(index, on, scenario.layouts[(day + 1) % len(scenario.layouts)])
        assert again.writes == 0
        assert again.items_read == 0


# --------------------------------------------------------------------------------------------------
# Milestones: pre-due offsets, the due day, band offsets, bucket boundaries, charge-off, cures
# --------------------------------------------------------------------------------------------------
PRE_DUE = Strategy(
    strategy_id="pre-due",
    version="1",
    steps=(
        Step("remind-d3", -3, Channel.SMS, "sms_overdue"),
        Step("remind-d1", -1, Channel.SMS, "sms_overdue"),
        Step("call-d5", 5, Channel.CALL_TASK, "sms_overdue", band_offsets={"HIGH": 2, "LOW": 8}),
    ),
)
PRE_DUE_POLICY = CollectionPlaybook(buckets=DelinquencyBuckets(), strategy=PRE_DUE)
DUE_1 = date(2026, 3, 10)


def _plan() -> Loan:
    schedule = build_schedule(90_000, disbursed_on=date(2026, 2, 10), instalments=3, monthly_interest_bps=100)
    # "L-N": the bundled CN champion's arm (pay() re-assesses with the bundled playbook: D-3, D-1)
    return Loan("L-N", "B-N", "CN", "CNY", 90_000, date(2026, 2, 10), schedule, 500, 3600)


def _walk(loan: Loan, start: date, days: int, playbook: CollectionPlaybook = PRE_DUE_POLICY) -> list[date]:
    """The dates the sweep would touch the loan, assessing it on each of them (no payments)."""
    touched = []
    loan = assess(loan, start, playbook)
    for day in range(1, days + 1):
        on = start + timedelta(days=day)
        if loan.next_review_on is not None and loan.next_review_on <= on:
            touched.append(on)
            loan = assess(loan, on, playbook)
    return touched


def test_milestones_include_pre_due_days_band_offsets_bounds_and_charge_off() -> None:
    offsets = PRE_DUE_POLICY.milestones_for(_plan()).offsets
    assert offsets == (-3, -1, 0, 1, 2, 5, 8, 31, 61, 91, 180)


def test_next_after_walks_pre_due_days_then_due_day_then_steps_and_bounds() -> None:
    loan = _plan()
    assert loan.instalments[0].due_on == DUE_1
    milestones = PRE_DUE_POLICY.milestones_for(loan)
    assert milestones.next_after(loan, date(2026, 2, 10)) == DUE_1 - timedelta(days=3)
    assert milestones.next_after(loan, DUE_1 - timedelta(days=3)) == DUE_1 - timedelta(days=1)
    assert milestones.next_after(loan, DUE_1 - timedelta(days=1)) == DUE_1
    assert milestones.next_after(loan, DUE_1) == DUE_1 + timedelta(days=1)
    assert milestones.next_after(loan, DUE_1 + timedelta(days=91)) == DUE_1 + timedelta(days=180)
    assert milestones.next_after(loan, DUE_1 + timedelta(days=180)) is None


def test_an_unpaid_loan_is_touched_exactly_on_its_milestones_until_charge_off() -> None:
    touched = _walk(_plan(), date(2026, 2, 10), 260)
    offsets = [(day - DUE_1).days for day in touched]
    assert offsets == [-3, -1, 0, 1, 2, 5, 8, 31, 61, 91, 180]


def test_charge_off_removes_the_loan_from_the_index_and_crystallises_its_penalty() -> None:
    on = DUE_1 + timedelta(days=180)
    charged = assess(_plan(), on, PRE_DUE_POLICY)
    assert charged.status is LoanStatus.CHARGED_OFF
    assert (review_shard(charged), charged.next_review_on) == (None, None)
    assert charged.money_through == on
    assert charged.penalty_accrued_minor == penalty_charged(_plan(), on)


def test_a_cured_instalment_moves_the_milestones_to_the_next_one() -> None:
    loan = assess(_plan(), DUE_1 + timedelta(days=4), PRE_DUE_POLICY)
    first = loan.instalments[0]
    paid = pay(
        loan,
        "P-CURE",
        first.outstanding + penalty_charged(loan, DUE_1 + timedelta(days=4)),
        DUE_1 + timedelta(days=4),
    )
    second_due = paid.instalments[1].due_on
    assert paid.collection_instalment == 2
    assert (paid.dpd, paid.bucket) == (0, "M0")
    assert paid.next_review_on == second_due - timedelta(days=3)


def test_a_missed_day_is_caught_up_in_one_assessment_with_the_latest_state() -> None:
    loan = assess(_plan(), DUE_1 - timedelta(days=10), PRE_DUE_POLICY)
    late = DUE_1 + timedelta(days=40)
    caught = assess(loan, late, PRE_DUE_POLICY)
    assert (caught.dpd, caught.bucket, caught.due_offset) == (40, "M2", 40)
    assert caught.next_review_on == DUE_1 + timedelta(days=61)
    # the planner sees before/after offsets spanning every step in between (D-3 .. D+8)
    assert (loan.due_offset, caught.due_offset) == (-10, 40)
