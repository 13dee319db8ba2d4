"""The delinquency history: one item per loan in the DelinquencyHistory table, its bucket transitions.

Item (key `loan_id`): the loan's reporting dimensions, written with every transition (`jurisdiction`,
`strategy_arm`, `disbursed_on` ISO date, `currency`, `principal_minor`), `transitions`, a list of maps
`{on, from_state, to_state, dpd, version}` in the order they happened, and `versions`, the number set
of the loan versions already recorded, and `append_token`, the token of the last append. A transition
is appended by one UpdateItem conditional on its version not being in `versions`: a replayed stream
record adds nothing and is told so; a write botocore retried after its first attempt was applied finds
its own token and is still told it appended (the caller counts the transition once, not never).

Kept apart from the loan item so the loan stays small (the sweep and the planner read it all day)
and the history grows without touching the loan's write cost; the per-bucket stock and the roll-rate
flows can be kept from these appends as they happen.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

from arrears.adapters.items import plain
from arrears.adapters.tables import all_items, conditional_write
from arrears.domain.loans import Loan
from arrears.domain.transitions import Transition


def transition_to_item(transition: Transition) -> dict[str, Any]:
    return {
        "on": transition.on.isoformat(),
        "from_state": transition.from_state,
        "to_state": transition.to_state,
        "dpd": transition.dpd,
        "version": transition.version,
    }


def transition_from_item(raw: dict[str, Any]) -> Transition:
    return Transition(
        on=date.fromisoformat(str(raw["on"])),
        from_state=None if raw.get("from_state") is None else str(raw["from_state"]),
        to_state=str(raw["to_state"]),
        dpd=int(raw["dpd"]),
        version=int(raw["version"]),
    )


def append_update(loan: Loan, transition: Transition) -> tuple[dict[str, str], dict[str, Any], str]:
    """What appending `transition` adds to an UpdateExpression: (SET clauses by attribute, values, the
    condition that the loan version is not recorded yet); the caller adds `ADD versions :v`."""
    sets = {
        "jurisdiction": ":j",
        "strategy_arm": ":a",
        "disbursed_on": ":d",
        "currency": ":c",
        "principal_minor": ":p",
        "transitions": "list_append(if_not_exists(transitions, :none), :t)",
    }
    values = {
        ":j": loan.jurisdiction,
        ":a": loan.strategy_arm,
        ":d": loan.disbursed_on.isoformat(),
        ":c": loan.currency,
        ":p": loan.principal_minor,
        ":none": [],
        ":t": [transition_to_item(transition)],
        ":v": {transition.version},
        ":n": transition.version,
    }
    return sets, values, "(attribute_not_exists(versions) OR NOT contains(versions, :n))"


class DelinquencyHistoryRepository:
    """Appends and reads loans' bucket transitions (a boto3 Table of the DelinquencyHistory table)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def append(self, loan: Loan, transition: Transition, *, token: str | None = None) -> bool:
        """Append `transition` to `loan`'s history; False when that loan version is recorded already.

        `token`: this write's own token (a fresh one when None). A caller that retries the call
        (`arrears.adapters.retrying.retry_transient`) passes one token to every attempt, so an attempt
        whose write was applied but whose answer was lost is still recognised as its own."""
        # A refused append means the version is there already: recorded by a replayed record (nothing
        # more to do), or by this call's own first attempt (its token is stored: still ours).
        token = token or uuid.uuid4().hex
        sets, values, condition = append_update(loan, transition)
        sets["append_token"] = ":token"  # noqa: S105 (a placeholder of the write's token, no secret)
        response = conditional_write(
            self._table.update_item,
            Key={"loan_id": loan.loan_id},
            UpdateExpression="SET " + ", ".join(f"{k} = {v}" for k, v in sets.items()) + " ADD versions :v",
            ConditionExpression=condition,
            ExpressionAttributeValues={**values, ":token": token},
            ours=lambda item: item.get("append_token") == token,
        )
        return response is not None

    def transitions(self, loan_id: str) -> list[Transition]:
        """The loan's transitions in the order they were recorded ([] when it has none)."""
        item = self._table.get_item(Key={"loan_id": loan_id}, ConsistentRead=True).get("Item")
        return [transition_from_item(plain(raw)) for raw in (item or {}).get("transitions", [])]

    def items(self) -> Iterator[dict[str, Any]]:
        """Every history item as plain values (a full scan: for exports and reports, not for Lambdas)."""
        for item in all_items(self._table.scan):
            yield plain(item)


__all__ = ["DelinquencyHistoryRepository", "append_update", "transition_from_item", "transition_to_item"]
