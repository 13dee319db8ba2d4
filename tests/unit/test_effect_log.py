"""What the run's invariants count as an external effect of an action (localcloud.invariants)."""

from __future__ import annotations

import json

import pytest

from localcloud.invariants import _action_id


@pytest.mark.parametrize("kind", ["CANCEL_CALL_TASK", "CANCEL_FIELD_VISIT"])
def test_a_withdrawal_of_a_handed_off_task_is_no_effect_of_its_action(kind: str) -> None:
    """The planner withdraws a queued call or visit with a message naming the action: counting it
    would report the action as delivered twice (a cure after a field visit did, in the demo)."""
    body = json.dumps({"type": kind, "action_id": "A-1", "loan_id": "L-1", "reason": "loan cured or closed"})
    assert _action_id(body) == ""


def test_a_task_or_message_counts_for_the_action_it_names() -> None:
    assert _action_id(json.dumps({"type": "FIELD_VISIT", "action_id": "A-2"})) == "A-2"
    assert _action_id(json.dumps({"action_id": "A-3", "channel": "EMAIL"})) == "A-3"
    assert _action_id("not json") == ""
