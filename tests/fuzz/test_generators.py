"""The fuzz generators themselves: at the suite's full count, every event is a tree of bounded depth and
the corpus is left as it was (tests/fuzz/corpus.py, events.py).

A corpus value handed out twice (a list or a map among the hostile times) and then changed in one event
changed every later event too, until one was put into itself: at 10,000 events the schedule generator
built a cycle and the suite died of a RecursionError before reaching a handler.
"""

from __future__ import annotations

import copy

import pytest

from tests.fuzz import corpus, events
from tests.fuzz.corpus import Fuzz
from tests.fuzz.harness import assert_trees

pytestmark = pytest.mark.unit

COUNT = 10_000


def test_the_schedule_generator_at_the_full_count_builds_trees() -> None:
    # the generator that built a cycle; every generator's events are checked the same way where the
    # handler suite generates them (test_fuzz_handlers.fuzz), at no second generation's cost
    constants = copy.deepcopy((corpus.HOSTILE_TIMES, corpus.HOSTILE_STRINGS, corpus.HOSTILE_NUMBERS))
    assert_trees(event for event, _ in events.scheduler_invocations(Fuzz(5), COUNT, well_formed=0.001))
    after = (corpus.HOSTILE_TIMES, corpus.HOSTILE_STRINGS, corpus.HOSTILE_NUMBERS)
    assert repr(after) == repr(constants), "a generator changed the corpus"


def test_pick_hands_out_a_copy_of_a_container() -> None:
    shared = {"S": "2026-03-01T00:00:00Z"}
    picked = Fuzz(0).pick((shared,))
    assert picked == shared
    assert picked is not shared
