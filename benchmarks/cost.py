"""Request and capacity-unit counting on the wire, for the benchmark's cost model.

moto answers `ReturnConsumedCapacity` with a constant (1.0 for any item, and a made-up index
entry), so the units are computed here from the requests themselves, with DynamoDB's own rules:

* an item's size is the UTF-8 length of its attribute names plus the size of their values
  (strings: UTF-8 bytes; numbers: 1 byte per two significant digits plus 1; binary: bytes;
  booleans and nulls: 1; lists and maps: 3 bytes plus their elements plus 1 byte per element);
* a write costs 1 write unit per started KB of the larger of the old and the new item, on the table
  and on every global secondary index the item is in: a put into an index (the new item has the
  index's key attributes), a delete from it (the old one had them), both when the index key
  changes, an update when only projected attributes change, nothing when none of what the index
  holds changes; an index entry is its projected attributes plus DynamoDB's 100 bytes of overhead;
* a read costs 1 read unit per started 4 KB strongly consistent, half that eventually consistent
  (index reads always are): summed over the page for Query and Scan, per item for GetItem and
  BatchGetItem. A Query on an index is charged on the index entries it reads.

The meter keeps a shadow copy of every item of the tables it is told about (the old image a write
replaces), fed by the writes it sees and by `seed`. Tables it knows nothing about are counted at 1
unit a request (the sweep-run ledger's small items).
"""

from __future__ import annotations

import base64
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

INDEX_OVERHEAD_BYTES = 100


@dataclass(frozen=True, slots=True)
class IndexSchema:
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TableSchema:
    keys: tuple[str, ...]
    indexes: Mapping[str, IndexSchema] = field(default_factory=dict)


def schema_from_resource(properties: Mapping[str, Any]) -> TableSchema:
    """A TableSchema from an AWS::DynamoDB::Table's Properties (template.yaml)."""
    indexes = {}
    for index in properties.get("GlobalSecondaryIndexes", []):
        projection = index["Projection"]
        indexes[index["IndexName"]] = IndexSchema(
            tuple(k["AttributeName"] for k in index["KeySchema"]),
            projection["ProjectionType"],
            tuple(projection.get("NonKeyAttributes", ())),
        )
    return TableSchema(tuple(k["AttributeName"] for k in properties["KeySchema"]), indexes)


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0")
    return (max(len(digits), 1) + 1) // 2 + 1


def value_size(value: Mapping[str, Any]) -> int:
    """Size of one attribute value in DynamoDB JSON (`{"S": "..."}`)."""
    (kind, raw), *_ = value.items()
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return _number_size(str(raw))
    if kind == "B":
        return len(raw) if isinstance(raw, bytes | bytearray) else len(base64.b64decode(raw))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in raw)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in raw.items())
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "NS":
        return sum(_number_size(str(n)) for n in raw)
    if kind == "BS":
        return sum(len(b) for b in raw)
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def to_wire(value: Any) -> dict[str, Any]:
    """A Python value (as boto3's resource layer writes it) in DynamoDB JSON."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, int | float | Decimal):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": {k: to_wire(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_wire(v) for v in value]}
    if isinstance(value, set | frozenset):
        first = next(iter(value))
        return {"SS": sorted(value)} if isinstance(first, str) else {"NS": sorted(str(v) for v in value)}
    raise TypeError(f"cannot size {type(value).__name__}")


def _plain_key_value(value: Any) -> str:
    if isinstance(value, Mapping) and len(value) == 1:
        (_, raw), *_ = value.items()
        return str(raw)
    return str(value)


def index_entry(
    item: Mapping[str, Any] | None, table: TableSchema, index: IndexSchema
) -> dict[str, Any] | None:
    """What an index holds of `item`, or None when the item is not in it (a sparse index)."""
    if item is None or any(k not in item for k in index.keys):
        return None
    if index.projection == "ALL":
        return dict(item)
    names = set(index.keys) | set(table.keys) | set(index.included)
    return {k: v for k, v in item.items() if k in names}


def _kb(size: int) -> int:
    return max(1, math.ceil(size / 1024))


@dataclass
class CapacityMeter:
    """Counts requests per service and operation, and read/write units per table and index."""

    schemas: Mapping[str, TableSchema]
    requests: Counter[str] = field(default_factory=Counter)
    write_units: Counter[str] = field(default_factory=Counter)  # "table" or "table/index"
    read_units: dict[str, float] = field(default_factory=dict)
    shadow: dict[str, dict[tuple[str, ...], dict[str, Any]]] = field(default_factory=dict)
    _pending: dict[str, Any] | None = None

    def register(self, client: Any) -> None:
        service = client.meta.service_model.service_name
        client.meta.events.register(f"before-call.{service}", self._before)
        client.meta.events.register(f"after-call.{service}", self._after)

    def seed(self, table: str, items: Iterable[Mapping[str, Any]]) -> None:
        """Tell the meter what a table holds already (plain Python values, as boto3 writes them)."""
        for item in items:
            wire = {k: to_wire(v) for k, v in item.items()}
            self.shadow.setdefault(table, {})[self._key(table, wire)] = wire

    def total_write_units(self, prefix: str = "") -> float:
        return sum(v for k, v in self.write_units.items() if k.startswith(prefix))

    def total_read_units(self, prefix: str = "") -> float:
        return sum(v for k, v in self.read_units.items() if k.startswith(prefix))

    # --- hooks -------------------------------------------------------------------------------
    def _before(self, model: Any, params: Mapping[str, Any], **_: Any) -> None:
        body = params.get("body") or b"{}"
        try:
            self._pending = json.loads(body) if body else {}
        except (TypeError, ValueError):
            self._pending = {}

    def _after(self, http_response: Any, parsed: Mapping[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        service = model.service_model.service_name
        self.requests[f"{service}:{name}"] += 1
        request, self._pending = self._pending or {}, None
        if service != "dynamodb" or "Error" in parsed:
            return
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler(request, parsed)

    # --- DynamoDB operations -----------------------------------------------------------------
    def _key(self, table: str, item: Mapping[str, Any]) -> tuple[str, ...]:
        schema = self.schemas.get(table)
        names = schema.keys if schema else tuple(sorted(item))
        return tuple(_plain_key_value(item.get(k)) for k in names)

    def _write(self, table: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> None:
        schema = self.schemas.get(table)
        if schema is None:
            self.write_units[table] += 1
            return
        sizes = [item_size(i) for i in (old, new) if i is not None]
        self.write_units[table] += _kb(max(sizes, default=1))
        for name, index in schema.indexes.items():
            before, after = index_entry(old, schema, index), index_entry(new, schema, index)
            units = 0
            if before is not None and after is not None:
                if all(before.get(k) == after.get(k) for k in index.keys):
                    if before != after:
                        units = _kb(max(item_size(before), item_size(after)) + INDEX_OVERHEAD_BYTES)
                else:
                    units = _kb(item_size(before) + INDEX_OVERHEAD_BYTES)
                    units += _kb(item_size(after) + INDEX_OVERHEAD_BYTES)
            elif before is not None:
                units = _kb(item_size(before) + INDEX_OVERHEAD_BYTES)
            elif after is not None:
                units = _kb(item_size(after) + INDEX_OVERHEAD_BYTES)
            if units:
                self.write_units[f"{table}/{name}"] += units
        rows = self.shadow.setdefault(table, {})
        key = self._key(table, new if new is not None else old or {})
        if new is None:
            rows.pop(key, None)
        else:
            rows[key] = dict(new)

    def _stored(self, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        return self.shadow.get(table, {}).get(self._key(table, key))

    def _on_PutItem(self, request: Mapping[str, Any], parsed: Mapping[str, Any]) -> None:
        table, item = request["TableName"], request["Item"]
        self._write(table, self._stored(table, item), item)

    def _on_DeleteItem(self, request: Mapping[str, Any], parsed: Mapping[str, Any]) -> None:
        table = request["TableName"]
        self._write(table, self._stored(table, request["Key"]), None)

    def _on_UpdateItem(self, request: Mapping[str, Any], parsed: Mapping[str, Any]) -> None:
        # Only the sweep-run ledger, the stock's counters and the day's DelinquencyHistory items are
        # updated in the benchmark (items under 1 KB: the history starts empty): not shadowed, 1 unit a
        # request. A history item with months of transitions and snapshots past 1 KB costs more per
        # update, in both designs alike.
        self.write_units[request["TableName"]] += 1

    def _on_BatchWriteItem(self, request: Mapping[str, Any], parsed: Mapping[str, Any]) -> None:
        for table, writes in request.get("RequestItems", {}).items():
            for write in writes:
                if "PutRequest" in write:
                    item = write["PutRequest"]["Item"]
                    self._write(table, self._stored(table, item), item)
                else:
                    self._write(table, self._stored(table, write["DeleteRequest"]["Key"]), None)

    def _read(
        self, table: str, index: str | None, keys: Iterable[Mapping[str, Any]], consistent: bool
    ) -> int:
        schema = self.schemas.get(table)
        total = 0
        for key in keys:
            item = self._stored(table, key)
            if index is not None and schema is not None:
                item = index_entry(item, schema, schema.indexes[index])
            total += item_size(item) if item else 0
        return total

    def _charge(self, table: str, index: str | None, size: int, consistent: bool) -> None:
        units = max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)
        name = table if index is None else f"{table}/{index}"
        self.read_units[name] = self.read_units.get(name, 0.0) + units

    def _page(self, request: Mapping[str, Any], parsed: Mapping[str, Any]) -> None:
        table, index = request["TableName"], request.get("IndexName")
        consistent = bool(request.get("ConsistentRead")) and index is None
        size = self._read(table, index, parsed.get("Items", []), consistent)
        self._charge(table, index, size, consistent)

    _on_Query = _page
    _on_Scan = _page

    def _on_GetItem(self, request: Mapping[str, Any], parsed: Mapping[str, Any]) -> None:
        table = request["TableName"]
        consistent = bool(request.get("ConsistentRead"))
        self._charge(table, None, self._read(table, None, [request["Key"]], consistent), consistent)

    def _on_BatchGetItem(self, request: Mapping[str, Any], parsed: Mapping[str, Any]) -> None:
        for table, asked in request.get("RequestItems", {}).items():
            consistent = bool(asked.get("ConsistentRead"))
            for key in asked.get("Keys", []):
                self._charge(table, None, self._read(table, None, [key], consistent), consistent)
