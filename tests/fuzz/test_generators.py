"""The fuzz generators themselves: at the suite's full count, every event is a tree of bounded depth and
the corpus is left as it was (tests/fuzz/corpus.py, events.py).

A corpus value handed out twice (a list or a map among the hostile times) and then changed in one event
changed every later event too, until one was put into itself: at 10,000 events the schedule generator
built a cycle and the suite died of a RecursionError before reaching a handler.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fuzz import corpus, events
from tests.fuzz.corpus import Fuzz

pytestmark = pytest.mark.unit

COUNT = 10_000
MAX_DEPTH = 16
"""Deeper than any sample event (13 levels for a stream record) plus the junk the mutations add."""

GENERATORS: dict[str, Callable[[], Iterator[tuple[Any, Any]]]] = {
    "payments": lambda: events.payments(Fuzz(1), COUNT),
    "holds": lambda: events.holds(Fuzz(2), COUNT),
    "erasures": lambda: events.erasures(Fuzz(3), COUNT),
    "call_outcomes": lambda: events.call_outcomes(Fuzz(4), COUNT),
    "sweep": lambda: events.scheduler_invocations(Fuzz(5), COUNT, well_formed=0.001),
    "sweep_deadline": lambda: events.scheduler_invocations(Fuzz(6), COUNT, well_formed=0.05),
    "deferred_release": lambda: events.scheduled_events(Fuzz(7), COUNT),
    "sweep_tasks": lambda: events.sweep_tasks(Fuzz(8), COUNT),
    "book_objects": lambda: events.book_objects(Fuzz(15), COUNT, files=("imports/fz-1.csv",)),
    "inbound_sms": lambda: events.inbound_sms(Fuzz(14), COUNT),
    "retention": lambda: events.scheduler_invocations(Fuzz(13), COUNT, well_formed=0.002),
    # the stream generators cost ~0.2 ms a record (a mutated DynamoDB image): 2,000 records each here
    "loan_changes": lambda: events.loan_changes(Fuzz(9), 2_000),
    "action_records": lambda: events.action_records(Fuzz(10), 2_000),
    "contact_records": lambda: events.contact_records(Fuzz(11), 2_000),
}


def tree_depth(value: Any, seen: set[int]) -> int:
    """The nesting depth of `value`; raises if a container is reached twice (shared, or a cycle)."""
    if not isinstance(value, (dict, list)):
        return 0
    assert id(value) not in seen, f"a container reached twice: {str(value)[:200]}"
    seen.add(id(value))
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((tree_depth(child, seen) for child in children), default=0)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_events_are_trees_of_bounded_depth(name: str) -> None:
    constants = copy.deepcopy((corpus.HOSTILE_TIMES, corpus.HOSTILE_STRINGS, corpus.HOSTILE_NUMBERS))
    seen: set[int] = set()  # across events too: no two events share a container
    kept = []  # alive, so that no id is reused
    for event, _ in GENERATORS[name]():
        assert tree_depth(event, seen) <= MAX_DEPTH
        kept.append(event)
    after = (corpus.HOSTILE_TIMES, corpus.HOSTILE_STRINGS, corpus.HOSTILE_NUMBERS)
    assert repr(after) == repr(constants), "a generator changed the corpus"


def test_pick_hands_out_a_copy_of_a_container() -> None:
    shared = {"S": "2026-03-01T00:00:00Z"}
    picked = Fuzz(0).pick((shared,))
    assert picked == shared
    assert picked is not shared
