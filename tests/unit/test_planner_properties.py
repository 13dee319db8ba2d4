"""Properties of the planner, on in-memory repositories (no AWS, no sockets).

- no action is planned for a closed loan, nor under a stopping hold (bankruptcy, death);
- replaying any sequence of stream records (any order, any repetition) plans nothing twice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.config.playbook import bundled_playbook
from arrears.domain.actions import Action, ActionStatus, ContactRecord
from arrears.domain.assessment import assess
from arrears.domain.borrowers import Borrower
from arrears.domain.loans import Holds, Loan, LoanStatus
from arrears.usecases.planning import PlanResult, plan_for_change
from tests.unit.strategies import loans


class FakeActions:
    def __init__(self) -> None:
        self.items: dict[str, Action] = {}
        self.refused = 0

    def create(self, action: Action) -> bool:
        if action.action_id in self.items:
            self.refused += 1
            return False
        self.items[action.action_id] = action
        return True

    def for_loan(self, loan_id: str) -> list[Action]:
        return [a for a in self.items.values() if a.loan_id == loan_id]

    def get(self, action_id: str) -> Action | None:
        return self.items.get(action_id)

    def transition(self, action: Action, to: ActionStatus, **kwargs: Any) -> Action | None:
        stored = self.items.get(action.action_id)
        if stored is None or stored.status is not action.status or stored.version != action.version:
            return None
        moved = replace(stored, status=to, version=stored.version + 1, last_outcome=kwargs.get("outcome"))
        self.items[action.action_id] = moved
        return moved


class FakeContacts:
    def __init__(self) -> None:
        self.ids: set[str] = set()

    def record(self, contact: ContactRecord, expires_at: int | None = None) -> bool:
        if contact.contact_id in self.ids:
            return False
        self.ids.add(contact.contact_id)
        return True


class FakeBorrowers:
    def get(self, borrower_id: str) -> Borrower | None:
        return Borrower(borrower_id, "Asia/Shanghai", region="Shanghai")


class FakeQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, Any], str | None, str | None]] = []

    def send(self, body: dict[str, Any], *, group: str | None = None, dedup_id: str | None = None) -> None:
        self.sent.append((body, group, dedup_id))


class FakeLedger:
    def __init__(self) -> None:
        self.closed: list[tuple[str, str]] = []

    def close_call_task(self, borrower_id: str, task_id: str, at: datetime) -> None:
        self.closed.append((borrower_id, task_id))


class World:
    def __init__(self) -> None:
        self.actions = FakeActions()
        self.contacts = FakeContacts()
        self.queue = FakeQueue()
        self.calls = FakeQueue()
        self.ledger = FakeLedger()

    def plan(self, before: Loan | None, after: Loan) -> PlanResult:
        on = after.evaluated_on or date(2026, 1, 1)
        ports: dict[str, Any] = {
            "actions": self.actions,
            "contacts": self.contacts,
            "borrowers": FakeBorrowers(),
            "field_visits": self.queue,
            "call_tasks": self.calls,
            "call_ledger": self.ledger,
        }
        return plan_for_change(
            before,
            after,
            datetime.combine(on, time(16, 30), tzinfo=UTC),
            playbook=bundled_playbook(),
            **ports,
        )


holds = st.builds(
    Holds,
    promise_to_pay_until=st.none() | st.dates(date(2026, 1, 1), date(2027, 6, 1)),
    dispute_open=st.booleans(),
    hardship_until=st.none() | st.dates(date(2026, 1, 1), date(2027, 6, 1)),
    cease_contact=st.booleans(),
    bankruptcy=st.booleans(),
    deceased=st.booleans(),
)


def _states(loan: Loan, days: list[int], hold_draws: list[Holds]) -> list[Loan]:
    """The loan as assessed on each day (sorted), with the holds of that day."""
    first_due = loan.instalments[0].due_on
    states = []
    for offset, hold in zip(sorted(days), hold_draws, strict=False):
        states.append(
            assess(loan.with_changes(holds=hold), first_due + timedelta(days=offset), bundled_playbook())
        )
    return states


@settings(max_examples=60, deadline=None)
@given(
    loan=loans(),
    days=st.lists(st.integers(min_value=-5, max_value=200), min_size=1, max_size=8),
    hold=holds,
    status=st.sampled_from([LoanStatus.CLOSED, LoanStatus.CHARGED_OFF]),
)
def test_no_action_is_planned_for_a_closed_loan(
    loan: Loan, days: list[int], hold: Holds, status: LoanStatus
) -> None:
    world = World()
    previous: Loan | None = None
    for state in _states(loan, days, [hold] * len(days)):
        closed = state.with_changes(status=status)
        result = world.plan(previous, closed)
        assert result.planned == result.deferred == result.suppressed == []
        previous = closed
    assert world.actions.items == {}


@settings(max_examples=60, deadline=None)
@given(
    loan=loans(),
    days=st.lists(st.integers(min_value=-5, max_value=179), min_size=1, max_size=8),
    hold=holds,
    which=st.sampled_from(["bankruptcy", "deceased"]),
)
def test_no_action_is_planned_under_a_stopping_hold(
    loan: Loan, days: list[int], hold: Holds, which: str
) -> None:
    world = World()
    stopped = replace(hold, bankruptcy=True) if which == "bankruptcy" else replace(hold, deceased=True)
    previous: Loan | None = None
    for state in _states(loan, days, [stopped] * len(days)):
        world.plan(previous, state)
        previous = state
    assert world.actions.items == {}


@settings(max_examples=60, deadline=None)
@given(
    loan=loans(),
    days=st.lists(st.integers(min_value=-5, max_value=200), min_size=1, max_size=10),
    hold_draws=st.lists(holds, min_size=10, max_size=10),
    replay=st.lists(st.integers(min_value=0, max_value=9), max_size=15),
)
def test_replaying_any_sequence_of_records_plans_no_duplicate(
    loan: Loan, days: list[int], hold_draws: list[Holds], replay: list[int]
) -> None:
    world = World()
    states = _states(loan, days, hold_draws)
    records = list(zip([None, *states[:-1]], states, strict=True))
    for before, after in records:
        world.plan(before, after)
    first_pass = dict(world.actions.items)
    # Every planned action is unique per (loan, step, instalment in collection) and records its computed arm
    keys = [(a.loan_id, a.step_id, a.collection_instalment) for a in first_pass.values()]
    assert len(keys) == len(set(keys))
    arm = bundled_playbook().arm_for(loan).name
    assert all(a.strategy_arm == arm and a.receipt["strategy"]["arm"] == arm for a in first_pass.values())

    # When any of the records is delivered again, in any order, any number of times
    contacts_before = set(world.contacts.ids)
    for index in replay:
        before, after = records[index % len(records)]
        result = world.plan(before, after)
        # Then nothing new is planned, held or suppressed
        assert result.planned == result.deferred == result.suppressed == []
    assert set(world.actions.items) == set(first_pass)
    assert world.contacts.ids >= contacts_before
