"""moto's TransactWriteItems with a rollback of the items it touched, not a copy of whole tables.

moto (5.x) deep-copies every table a TransactWriteItems names before it runs, on every transaction,
and puts the copies back in place of the tables when the transaction is cancelled (a condition failed,
two operations on one item, a validation error). The archive chain's every batch is a transaction
(its head and the batch's claim), so each archived batch copied the whole chain table, claims and
records included: CPU and a transient second copy of the table that grow with the simulated days.

`transact_write_items` runs moto's own code (its checks, its order of operations, its errors) with the
tables' copies replaced by a marker, and saves beforehand only what the transaction can change: the
items at the keys its operations name (a deep copy each, or their absence), the order of the dict an
item is deleted from, and the length of each table's stream. When moto rolls back (it puts its
"copies", the markers, in place of the tables), those are restored: the same items, at the same
positions (a scan reads them in the same order), the same stream records and sequence numbers, and
the empty hash-key entries moto's reads of a hash-and-range table create dropped again, as the copy
had them. Answers and errors are moto's own (`tests/integration/test_lean_rollback.py` runs the same
transactions both ways and compares tables, streams and errors).
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_ABSENT = object()


class _Copy:
    """What moto's backup of a table becomes: a marker naming the table itself (nothing copied)."""

    def __init__(self, table: Any) -> None:
        self.table = table


def _copy_as_marker(table: Any, memo: dict[int, Any]) -> _Copy:
    return _Copy(table)


@dataclass
class _TableSave:
    """What a transaction can change in one moto table, as it was before the transaction."""

    table: Any
    stream_length: int | None
    # (hash, range) -> the item's deep copy, or _ABSENT; hash keys that had no entry before (range tables)
    items: dict[tuple[Any, Any], Any] = field(default_factory=dict)
    new_hash_entries: set[Any] = field(default_factory=set)
    # id(dict) -> (the dict, its keys in order) for each dict an item may be deleted from
    orders: dict[int, tuple[dict[Any, Any], list[Any]]] = field(default_factory=dict)

    def save(self, hash_key: Any, range_key: Any, deleting: bool) -> None:
        if (hash_key, range_key) in self.items:
            return
        top = self.table.items
        if range_key is None:
            holder: dict[Any, Any] | None = top
            key = hash_key
        else:
            if hash_key not in top:
                self.new_hash_entries.add(hash_key)
            holder, key = top.get(hash_key), range_key
        if holder is None or key not in holder:
            self.items[(hash_key, range_key)] = _ABSENT
            return
        self.items[(hash_key, range_key)] = copy.deepcopy(holder[key])
        if deleting and id(holder) not in self.orders:
            self.orders[id(holder)] = (holder, list(holder))

    def restore(self) -> None:
        top = self.table.items
        for (hash_key, range_key), saved in self.items.items():
            if range_key is None:
                holder: dict[Any, Any] | None = top
                key = hash_key
            else:
                holder = top[hash_key] if saved is not _ABSENT else top.get(hash_key)
                key = range_key
            if saved is not _ABSENT:
                holder[key] = saved  # type: ignore[index]
            elif holder is not None:
                holder.pop(key, None)
        # an item deleted and put back went to the end of its dict: moto's copy kept it in its place
        for holder, order in self.orders.values():
            if list(holder) != order:
                ordered = {key: holder[key] for key in order}
                holder.clear()
                holder.update(ordered)
        for hash_key in self.new_hash_entries:
            if hash_key in top and not top[hash_key]:
                del top[hash_key]
        shard = self.table.stream_shard
        if shard is not None and self.stream_length is not None:
            del shard.items[self.stream_length :]


def _keys(table: Any, kind: str, operation: dict[str, Any]) -> tuple[Any, Any] | None:
    """The (hash, range) `DynamoType`s an operation names, or None when it names no whole key (moto
    then refuses the operation before touching an item)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        source = operation["Item"] if kind == "Put" else operation["Key"]
        hash_key = DynamoType(source[table.hash_key_attr])
        if table.range_key_attr is None:
            return hash_key, None
        return hash_key, DynamoType(source[table.range_key_attr])
    except (KeyError, TypeError, AttributeError):
        return None


def _saves(backend: Any, transact_items: list[dict[str, Any]]) -> dict[str, _TableSave] | None:
    """What each table moto would back up holds at the transaction's keys (each entry's first
    operation, as moto reads them); None, and moto's own copies are made, when an operation names no
    whole key (moto's error paths are then its own) or a table has a moto-managed Lambda mapping on
    its stream (moto may then empty the stream mid-transaction)."""
    saves: dict[str, _TableSave] = {}
    try:
        for entry in transact_items:
            kind, operation = next(iter(entry.items()))
            name = operation.get("TableName")
            table = backend.tables.get(name) if name else None
            if table is None:
                continue
            if table.lambda_event_source_mappings:
                return None
            if name not in saves:
                shard = table.stream_shard
                saves[name] = _TableSave(table, len(shard.items) if shard is not None else None)
            keys = _keys(table, kind, operation)
            if keys is None:
                return None
            saves[name].save(*keys, deleting=kind == "Delete")
    except Exception:  # a malformed request: moto's own code answers it
        return None
    return saves


def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's `DynamoDBBackend.transact_write_items` with its whole-table backups replaced by the saves
    above; the same writes, answers and errors (see the module docstring)."""
    from moto.dynamodb.models.table import Table

    moto_transaction = _MOTO["transact_write_items"]
    saves = _saves(backend, transact_items) if len(transact_items) <= 100 else None
    if saves is None:
        COUNTS["copied_by_moto"] += 1
        moto_transaction(backend, transact_items)
        return
    COUNTS["without_copies"] += 1
    own = vars(Table).get("__deepcopy__")
    Table.__deepcopy__ = _copy_as_marker  # type: ignore[attr-defined]
    try:
        moto_transaction(backend, transact_items)
    finally:
        if own is None:
            del Table.__deepcopy__  # type: ignore[attr-defined]
        else:
            Table.__deepcopy__ = own  # type: ignore[attr-defined]
        rolled_back = [name for name, table in backend.tables.items() if isinstance(table, _Copy)]
        for name in rolled_back:
            backend.tables[name] = backend.tables[name].table
            saves[name].restore()
        if rolled_back:
            COUNTS["rolled_back"] += 1


_MOTO: dict[str, Any] = {}
COUNTS: Counter[str] = Counter()
"""Since `install`: transactions run `without_copies` (of which `rolled_back`), and `copied_by_moto`
(moto's own path: a key not named whole, a moto-managed stream mapping)."""


def counts() -> dict[str, int]:
    """`COUNTS` as summary.json shows them (`local_cloud.transactions`)."""
    return dict(sorted(COUNTS.items()))


def install() -> None:
    """Replace moto's `transact_write_items` by `transact_write_items` (until `uninstall`)."""
    from moto.dynamodb.models import DynamoDBBackend

    if _MOTO:
        return
    COUNTS.clear()
    _MOTO["transact_write_items"] = vars(DynamoDBBackend)["transact_write_items"]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    """Put moto's own `transact_write_items` back."""
    from moto.dynamodb.models import DynamoDBBackend

    if _MOTO:
        DynamoDBBackend.transact_write_items = _MOTO.pop("transact_write_items")  # type: ignore[method-assign]


__all__ = ["COUNTS", "counts", "install", "transact_write_items", "uninstall"]
