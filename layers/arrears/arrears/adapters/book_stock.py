"""The book's stock and roll-rate flows as counters, kept from the bucket transitions as they happen.

One BookStock table (key `kind`, `key`), two kinds of item, both grown only by atomic ADDs:

* kind `stock`, key `<jurisdiction>`: one number attribute per delinquency state (`M0`, `M1`, ...,
  `CLOSED`, `CHARGED_OFF`): the loans of the jurisdiction in that state now. The open-loan stock of a
  bucket is its attribute; CLOSED and CHARGED_OFF count the loans that left the book.
* kind `flows#<business date>`, key `<jurisdiction>`: one number attribute per transition
  `<from>><to>` of that business date (`NEW>M0` for a loan entering the book): the numerators of the
  day's roll rates. Kept `FLOWS_TTL_DAYS` (TTL `expires_at`).

A transition is counted only after its append to the delinquency history succeeded (the history
item, guarded by the loan version, is what makes a replayed stream record count once). Counted one
at a time (`apply`), a transition costs two small UpdateItems (1 write unit each). The planner counts
a whole stream batch at once (`batched`): the batch's transitions are summed per counter item and
written at the batch's end, one UpdateItem per jurisdiction's stock item and one per (business date,
jurisdiction) flows item, so a batch of 100 records writes a handful of items whatever it holds (the
sweep's day of one jurisdiction: two). The price is the window a crash can lose: the counts of the
transitions appended since the batch began instead of one, corrected like any other drift by the
periodic reconciliation (`arrears.usecases.book_stock.reconcile`).
Each counter write is retried alone on a transient error (`arrears.adapters.retrying.retry_transient`)
and carries its own token (`write_token`), kept over its attempts: an ADD is not idempotent, so an
attempt applied whose answer was lost would count twice; its retry is conditional on the token not
being the item's last one, and a refusal that finds our token is our own write, counted once. What
remains: another writer of the same counter item between the applied attempt and its retry replaces
the token, and the retry counts again (a drift the census corrects like any other).
A stock item takes DynamoDB's per-item limit of 1,000 write units a second, far above what a day's
sweep spread over the stream's batches makes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any

from boto3.dynamodb.conditions import Key

from arrears.adapters.items import plain
from arrears.adapters.retrying import retry_transient
from arrears.adapters.tables import all_items, conditional_write
from arrears.domain.transitions import Transition, stock_change

FLOWS_TTL_DAYS = 400
NEW_STATE = "NEW"
WRITE_TOKEN = "write_token"  # noqa: S105 (an attribute name, no secret)
KEYS = frozenset({"kind", "key", "expires_at", WRITE_TOKEN})

Counts = dict[tuple[str, str], int]
"""(jurisdiction, state) -> loans."""


STOCK_KIND = "stock"


def flows_kind(on: date) -> str:
    return f"flows#{on.isoformat()}"


def flow_name(change: Transition) -> str:
    """`M0>M1`; `NEW>M0` for a loan's first state."""
    return f"{change.from_state or NEW_STATE}>{change.to_state}"


def _add_expression(deltas: Mapping[str, int]) -> tuple[str, dict[str, str], dict[str, int]]:
    """`ADD #s0 :v0, ...` for each non-zero delta (sorted), with its names and values."""
    deltas = {name: n for name, n in deltas.items() if n}
    names = {f"#s{n}": state for n, state in enumerate(sorted(deltas))}
    values = {f":v{n}": int(deltas[state]) for n, state in enumerate(sorted(deltas))}
    adds = ", ".join(f"#s{n} :v{n}" for n in range(len(names)))
    return f"ADD {adds}", names, values


@dataclass
class StockTally:
    """Transitions counted but not yet written: stock deltas per (jurisdiction, state), flows per
    (business date, jurisdiction) and `from>to`."""

    stock: dict[tuple[str, str], int] = field(default_factory=dict)
    flows: dict[tuple[date, str], dict[str, int]] = field(default_factory=dict)
    transitions: int = 0

    def add(self, jurisdiction: str, change: Transition) -> None:
        for state, n in stock_change(change).items():
            self.stock[(jurisdiction, state)] = self.stock.get((jurisdiction, state), 0) + n
        day = self.flows.setdefault((change.on, jurisdiction), {})
        day[flow_name(change)] = day.get(flow_name(change), 0) + 1
        self.transitions += 1


class BookStockRepository:
    """Counters of the book's stock per (jurisdiction, state) and its daily flows (a boto3 Table)."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._pending: StockTally | None = None

    def apply(self, jurisdiction: str, change: Transition) -> None:
        """Count `change` of a loan of `jurisdiction`: its stock move and its flow of the day (written
        now, or at the end of the enclosing `batched` block)."""
        if self._pending is not None:
            self._pending.add(jurisdiction, change)
            return
        tally = StockTally()
        tally.add(jurisdiction, change)
        self.write(tally)

    @contextmanager
    def batched(self, on_lost: Callable[[StockTally, Exception], None] | None = None) -> Iterator[StockTally]:
        """Sum the transitions `apply` counts inside the block and write them when it ends (even when it
        raised: what was appended must be counted). A write that fails (after botocore's retries) is
        passed to `on_lost` with the counts it lost, which the reconciliation census corrects; without
        `on_lost` it raises."""
        tally = self._pending = StockTally()
        try:
            yield tally
        finally:
            self._pending = None
            try:
                self.write(tally)
            except Exception as error:
                if on_lost is None:
                    raise
                on_lost(tally, error)

    def write(self, tally: StockTally) -> int:
        """ADD a tally to its counter items: one UpdateItem per jurisdiction's stock item and per
        (business date, jurisdiction) flows item. Returns the UpdateItems made."""
        self.add_stock(tally.stock)
        written = len({jurisdiction for (jurisdiction, _), n in tally.stock.items() if n})
        for (on, jurisdiction), flows in sorted(tally.flows.items()):
            expression, names, values = _add_expression(flows)
            values[":ttl"] = int((_epoch_day(on) + timedelta(days=FLOWS_TTL_DAYS)).total_seconds())
            self._add_once(
                {"kind": flows_kind(on), "key": jurisdiction},
                f"{expression} SET expires_at = if_not_exists(expires_at, :ttl)",
                names,
                values,
            )
            written += 1
        return written

    def _add_once(
        self, key: dict[str, str], update: str, names: dict[str, str], values: dict[str, Any]
    ) -> None:
        """One counter item's ADDs (`update`), retried alone on a transient error and applied once: the
        write sets its own token, and an attempt refused because the token is there already was
        applied by an earlier attempt of this call (see the module docstring for what remains)."""
        token = uuid.uuid4().hex
        separator = ", " if " SET " in update else " SET "
        request: dict[str, Any] = {
            "Key": key,
            "UpdateExpression": f"{update}{separator}#token = :token",
            "ConditionExpression": "attribute_not_exists(#token) OR #token <> :token",
            "ExpressionAttributeNames": {**names, "#token": WRITE_TOKEN},
            "ExpressionAttributeValues": {**values, ":token": token},
        }
        retry_transient(
            partial(
                conditional_write,
                self._table.update_item,
                ours=lambda item: item.get(WRITE_TOKEN) == token,
                **request,
            )
        )

    def add_stock(self, deltas: Mapping[tuple[str, str], int]) -> None:
        """ADD each (jurisdiction, state) delta to its stock item (one UpdateItem per jurisdiction with a
        non-zero delta)."""
        by_jurisdiction: dict[str, dict[str, int]] = {}
        for (jurisdiction, state), n in deltas.items():
            if n:
                by_jurisdiction.setdefault(jurisdiction, {})[state] = n
        for jurisdiction, states in sorted(by_jurisdiction.items()):
            expression, names, values = _add_expression(states)
            self._add_once({"kind": STOCK_KIND, "key": jurisdiction}, expression, names, values)

    def stock(self) -> Counts:
        """The stock per (jurisdiction, state) of every jurisdiction counted (one strongly consistent
        Query of the `stock` items; states never entered are absent)."""
        return self._counts(STOCK_KIND, lambda name: name not in KEYS)

    def flows(self, on: date) -> Counts:
        """The transitions of business date `on` per (jurisdiction, `from>to`)."""
        return self._counts(flows_kind(on), lambda name: ">" in name)

    def _counts(self, kind: str, counted: Callable[[str], bool]) -> Counts:
        counts: Counts = {}
        pages = all_items(self._table.query, KeyConditionExpression=Key("kind").eq(kind), ConsistentRead=True)
        for item in pages:
            for name, n in plain(item).items():
                if counted(name):
                    counts[(str(item["key"]), name)] = int(n)
        return counts


def _epoch_day(on: date) -> timedelta:
    return on - date(1970, 1, 1)


__all__ = [
    "FLOWS_TTL_DAYS",
    "NEW_STATE",
    "STOCK_KIND",
    "BookStockRepository",
    "StockTally",
    "flow_name",
    "flows_kind",
]
