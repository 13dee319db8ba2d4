"""The demo's view of what its sends stated about the debt, against what their actions planned.

A contact states the DPD and the amount due as of the instant it is made
(`arrears.domain.actions.figures_at`; docs/compliance.md, "The amount and the days past due a
contact states"). Read from the Actions table: a SENT action keeps the figures its send stated
(`last_outcome.stated`) beside the ones it was planned with (`dpd`, `amount_due_minor`), so the
summary shows how many sends would have misstated the debt had they used the plan day's figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def stated_figures_summary(actions: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """`{"sends": n, "dpd_moved": n, "amount_changed": n, "amount_lower": n, "without_figures": n}`
    over the SENT actions: sends whose stated DPD / amount differ from the planned ones, those whose
    amount is lower (a payment between the plan and the send), and sends whose outcome stated nothing
    (stored before outcomes carried figures)."""
    sends = dpd_moved = amount_changed = amount_lower = without = 0
    for action in actions:
        if action.get("status") != "SENT":
            continue
        sends += 1
        stated = (action.get("last_outcome") or {}).get("stated")
        if not stated:
            without += 1
            continue
        dpd_moved += int(stated["dpd"]) != int(action["dpd"])
        amount = int(stated["amount_due_minor"])
        amount_changed += amount != int(action["amount_due_minor"])
        amount_lower += amount < int(action["amount_due_minor"])
    return {
        "sends": sends,
        "dpd_moved": dpd_moved,
        "amount_changed": amount_changed,
        "amount_lower": amount_lower,
        "without_figures": without,
    }
