"""summary.json's `stated_figures`: sends whose stated DPD or amount differ from their plan day's."""

from __future__ import annotations

from decimal import Decimal

from localcloud.stated_figures import stated_figures_summary


def _action(status: str, dpd: int, amount: int, stated: dict[str, object] | None) -> dict[str, object]:
    outcome: dict[str, object] = {"status": status}
    if stated is not None:
        outcome["stated"] = stated
    return {
        "status": status,
        "dpd": Decimal(dpd),
        "amount_due_minor": Decimal(amount),
        "last_outcome": outcome,
    }


def test_sends_are_compared_with_their_planned_figures_and_other_outcomes_are_left_out() -> None:
    actions = [
        _action("SENT", 8, 5_000, {"dpd": Decimal(8), "bucket": "M1", "amount_due_minor": Decimal(5_000)}),
        _action("SENT", 8, 5_000, {"dpd": Decimal(11), "bucket": "M1", "amount_due_minor": Decimal(5_300)}),
        _action("SENT", 8, 5_000, {"dpd": Decimal(9), "bucket": "M1", "amount_due_minor": Decimal(3_000)}),
        _action("SENT", 8, 5_000, None),
        _action("DEFERRED", 8, 5_000, None),
    ]

    assert stated_figures_summary(actions) == {
        "sends": 4,
        "dpd_moved": 2,
        "amount_changed": 2,
        "amount_lower": 1,
        "without_figures": 1,
    }
