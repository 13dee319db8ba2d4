"""The lean local cloud: the same run on moto with less CPU, and memory that does not grow with days.

What it changes, none of it visible to the handlers (the bench `benchmarks/local_cloud.py` and the
equivalence test run the same seed both ways and compare summary.json and the archive byte for byte):

* moto's DynamoDB results are written by `json.dumps` (localcloud.fast_responses) instead of moto's
  model-driven serialiser, falling back on it for what the encoder cannot write (binary values);
* moto's `DynamoType.to_regular_json` (every nested attribute of every item read, written or
  streamed) builds its result without first deep-copying the value it then rebuilds anyway
  (`regular_json`: the same result, each nested level copied once instead of once per level above it);
* the stream records every consumer has read are dropped from moto's shards (`trim_streams`): moto
  keeps every record of every write, each with the item's old and new image, for the whole run.
  A record is kept while a stream failure sent to the on-failure queue still names it (the operator's
  replay reads it again), and the count of records ever written (`written`) does not move, so
  "has the table changed since" checks still see every write;
* the items whose DynamoDB TTL has passed are deleted once a simulated day (`expire_ttl_items`), as
  DynamoDB's TTL does: the idempotency and send-outbox records, the sweep runs and the call ledger's
  windows no longer pile up for the whole run (they grew by every invocation and every contact);
* moto's per-request and per-item bookkeeping computed the same way for less (`speedups`): an item's
  size (read by every Query, Scan and BatchGetItem for their page limits, and on every write for the
  400 KB limit) by one walk instead of one new `DynamoType` per nested value, an item's 400 KB check
  once per item instead of once per attribute, the handler's method names once per class instead of
  `inspect.getmembers` on every request, and moto's random request ids drawn in one call;
* a TransactWriteItems saves and, when cancelled, restores only the items it names
  (`localcloud.rollback`): moto deep-copies every table a transaction names, on every transaction,
  and puts the copies in place of the tables when it is cancelled (the archive chain's every batch
  copied the whole chain table).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import inspect
import json
import string
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from localcloud import fast_responses, rollback

TRIMMED = "localcloud_trimmed"
"""Attribute set on a moto stream shard: how many records were dropped from its head."""


def trimmed(shard: Any) -> int:
    """How many records of `shard` the lean local cloud dropped (0 for an untouched shard)."""
    return int(getattr(shard, TRIMMED, 0))


def written(shard: Any) -> int:
    """How many records `shard` has received since the table was created, dropped ones included."""
    return trimmed(shard) + len(shard.items)


def position(shard: Any, sequence_number: str | int) -> int:
    """The record's index among all records `shard` ever received (its sequence number's offset)."""
    first = int(shard.starting_sequence_number) - trimmed(shard)
    return int(sequence_number) - first


def trim_stream(shard: Any, upto: int) -> int:
    """Drop the records of `shard` before the absolute index `upto`; returns how many were dropped.

    moto numbers a new record `len(items) + starting_sequence_number`: moving the starting number by
    the count dropped keeps every sequence number (old and new) what it would have been.
    """
    drop = min(upto - trimmed(shard), len(shard.items))
    if drop <= 0:
        return 0
    del shard.items[:drop]
    shard.starting_sequence_number += drop
    setattr(shard, TRIMMED, trimmed(shard) + drop)
    return drop


_IMMUTABLE = (str, bytes, int, float, bool, type(None))


def regular_json(attribute: Any) -> dict[str, Any]:
    """What moto's `DynamoType.to_regular_json` returns for `attribute` (`{type: value}`, nested
    attributes likewise, binary values as bytes), built without its initial deep copy: maps and lists
    are rebuilt here, immutable leaves shared, anything else deep-copied as moto does."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    value = attribute.value
    if isinstance(value, dict):
        value = {
            k: regular_json(v) if isinstance(v, DynamoType) else copy.deepcopy(v) for k, v in value.items()
        }
    elif isinstance(value, list):
        value = [
            regular_json(v)
            if isinstance(v, DynamoType)
            else v
            if isinstance(v, _IMMUTABLE)
            else copy.deepcopy(v)
            for v in value
        ]
    elif not isinstance(value, _IMMUTABLE):
        value = copy.deepcopy(value)
    if attribute.is_binary() and isinstance(value, str):
        value = base64.b64decode(value)
    return {attribute.type: value}


_SETS = frozenset({"SS", "NS", "BS"})
ITEM_SIZE_LIMIT = 405_000
"""moto's item size limit in bytes (`LimitedSizeDict`: DynamoDB's 400 KB, as moto measured it)."""


def attribute_size(attribute: Any) -> int:
    """What moto's `DynamoType.size()` returns for `attribute` (bytes, by moto's rules: a number's
    digits, a string's UTF-8 bytes, a binary's bytes, 1 for a boolean or null, a map's names and
    values, a list's or set's elements), in one walk: moto's own builds a new `DynamoType` for every
    nested map value and set element it measures."""
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import bytesize

    kind, value = attribute.type, attribute.value
    if kind == "N":
        return len(str(value))
    if kind in _SETS:
        if kind == "NS":
            return sum(len(str(v)) for v in value)
        return sum(1 if isinstance(v, bool) else bytesize(v) for v in value)
    if kind == "L":
        return sum(attribute_size(v) for v in value)
    if kind == "M":
        return sum(
            bytesize(k) + attribute_size(v if type(v) is DynamoType else DynamoType(v))
            for k, v in value.items()
        )
    if isinstance(value, bool):
        return 1
    return int(bytesize(value))


def item_init(item: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    """moto's `Item.__init__` with the 400 KB check made once for the whole item: moto checks the
    item's total size again at each attribute it adds (quadratic in attributes). An item over the
    limit raises `ItemSizeTooLarge` as before (the last attribute's check is the whole item's)."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    item.hash_key = hash_key
    item.range_key = range_key
    built = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.__init__(built)
    for key, value in attrs.items():
        dict.__setitem__(built, key, DynamoType(value))
    if built and sum(bytesize(k) + v.size() for k, v in built.items()) > ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    item.attrs = built


@functools.cache
def _method_names(clazz: type) -> frozenset[str]:
    return frozenset(name for name, _ in inspect.getmembers(clazz, predicate=inspect.isfunction))


def method_names_from_class(clazz: object) -> frozenset[str]:
    """moto's `method_names_from_class` (the response class's functions: the actions it implements),
    computed once per class instead of on every request."""
    return _method_names(clazz if isinstance(clazz, type) else type(clazz))


def random_string(self: Any, length: int = 20, include_digits: bool = True, lower_case: bool = False) -> str:
    """moto's `MotoRandom.get_random_string` (request ids, receipt handles) drawn in one call:
    the same alphabet and length, one `choices` instead of one `choice` per character."""
    pool = string.ascii_letters + (string.digits if include_digits else "")
    drawn = "".join(self.choices(pool, k=length))
    return drawn.lower() if lower_case else drawn


@contextlib.contextmanager
def speedups() -> Iterator[None]:
    """While the block runs: moto's item sizes, item construction, action lookup and random strings
    by the equivalents above (`attribute_size`, `item_init`, `method_names_from_class`,
    `random_string`), and its TransactWriteItems rolled back item by item instead of by copies of
    whole tables (`localcloud.rollback`); each gives what moto's own gives."""
    from moto.core import responses
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.moto_api._internal.moto_random import MotoRandom

    patches = [
        (DynamoType, "size", attribute_size),
        (Item, "__init__", item_init),
        (responses, "method_names_from_class", method_names_from_class),
        (MotoRandom, "get_random_string", random_string),
    ]
    originals = [(owner, name, vars(owner)[name]) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    rollback.install()
    try:
        yield
    finally:
        rollback.uninstall()
        for owner, name, original in originals:
            setattr(owner, name, original)


@contextlib.contextmanager
def fast_moto(enabled: bool) -> Iterator[None]:
    """While the block runs (when `enabled`): moto's DynamoDB results written by `json.dumps`,
    `DynamoType.to_regular_json` without its deep copy (`regular_json`), and moto's bookkeeping by
    the equivalents of `speedups`."""
    if not enabled:
        yield
        return
    from moto.dynamodb.models.dynamo_type import DynamoType

    generic = DynamoType.to_regular_json
    fast_responses.install()
    DynamoType.to_regular_json = regular_json  # type: ignore[method-assign,assignment]
    try:
        with speedups():
            yield
    finally:
        DynamoType.to_regular_json = generic  # type: ignore[method-assign]
        fast_responses.uninstall()


NOT_COMPARED = ("elapsed_seconds", "local_cloud")
"""summary.json keys that differ between two runs of the same book: wall-clock time, and what the
lean local cloud dropped (its own bookkeeping, not the run's outcome)."""


def without_timings(value: Any) -> Any:
    """summary.json without the keys of `NOT_COMPARED`, at any depth."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in NOT_COMPARED}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def archive_layout(folder: Path) -> list[tuple[str, int]]:
    """The exported archive's contact objects as (key, records): what two runs of the same book must
    share. Object bytes are not compared: their lines carry ids drawn at random in each run (event
    ids, preference-change ids, which also name `preferences/` objects, left out here)."""
    layout = []
    for path in sorted(folder.rglob("*.manifest.json")):
        key = str(path.relative_to(folder))
        if not key.startswith("preferences/"):
            layout.append((key, int(json.loads(path.read_text()).get("records", 0))))
    return layout


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    """The paths (a.b.c) at which two JSON values differ."""
    if isinstance(left, dict) and isinstance(right, dict):
        found: list[str] = []
        for key in sorted(set(left) | set(right)):
            found += differences(left.get(key), right.get(key), f"{path}.{key}" if path else key)
        return found
    return [] if left == right else [path or "(root)"]


def expire_ttl_items(now: datetime, account: str, region: str) -> dict[str, int]:
    """Delete from moto's tables the items whose TTL attribute (epoch seconds) is before `now`, as
    DynamoDB's TTL does (it deletes an expired item within a few days; reads may still see it until
    then, so no reader relies on the deletion). Returns the count deleted per table.

    Only tables without a stream: DynamoDB writes a TTL deletion to the stream as a service REMOVE,
    which moto does not model, and the streamed tables' TTL (the Contacts table's 90 days) is longer
    than a demo. An item whose TTL attribute is missing or not a number never expires (DynamoDB's rule).
    """
    from moto.dynamodb.models import dynamodb_backends

    cutoff = now.timestamp()
    expired: dict[str, int] = {}
    for name, table in dynamodb_backends[account][region].tables.items():
        ttl = table.ttl
        if ttl.get("TimeToLiveStatus") != "ENABLED" or table.stream_shard is not None:
            continue
        attribute = ttl["AttributeName"]
        for item in table.all_items():
            value = item.attrs.get(attribute)
            if value is None or value.type != "N" or float(value.value) >= cutoff:
                continue
            table.delete_item(item.hash_key, item.range_key)
            expired[name] = expired.get(name, 0) + 1
    return expired


__all__ = [
    "archive_layout",
    "attribute_size",
    "differences",
    "expire_ttl_items",
    "fast_moto",
    "item_init",
    "method_names_from_class",
    "position",
    "random_string",
    "regular_json",
    "speedups",
    "trim_stream",
    "trimmed",
    "without_timings",
    "written",
]
