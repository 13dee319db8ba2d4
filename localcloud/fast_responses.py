"""DynamoDB responses of the local cloud written with `json.dumps` instead of moto's generic serialiser.

moto builds a DynamoDB result as DynamoDB JSON already (`{"S": "..."}`, `{"N": "12"}`) and then
walks every attribute of every item through the service model to serialise it: on the demo that
walk is about a third of all the CPU. The results of the calls below are written as they are, with
the standard library's encoder, which is what the model-driven walk produces for them, except:

* binary values (`B`, `BS`: the archive chain's hashes), which moto keeps as raw bytes for its
  serialiser to base64-encode: the encoder refuses bytes, and the result goes the generic way;
* anything else the encoder cannot write (timestamps of table descriptions): the generic way too.

So a response is either byte-for-byte what the JSON encoder makes of moto's own result, or moto's
own response. `install()` is idempotent and lasts for the process (the local cloud runs in one).

botocore then parses a body written here with `json.loads` alone, without its walk of the output
shape (`parsed_like_botocore`): for these results the walk returns what `json.loads` does (no blob or
timestamp to convert: the encoder refused them; DynamoDB JSON's attribute values are kept as they
are): the items, keys and counts are taken as `json.loads` gives them, and only the small rest
(consumed capacity, unprocessed keys) is walked (`_like_walk`: members in the shape's order, no
nulls, no unknown keys). A body with a blob or timestamp there is parsed by botocore's walk.

The demo turns it on through `localcloud.lean.fast_moto` (`run_demo(lean=True)`, the default);
tests/integration/test_lean_local_cloud.py runs the same book both ways and compares the outcome.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

# Operations whose result is items, keys and counts (DynamoDB JSON and plain numbers).
FAST_OPERATIONS = frozenset(
    {"Query", "Scan", "GetItem", "BatchGetItem", "PutItem", "DeleteItem", "UpdateItem"}
)
HEADERS = {"Content-Type": "application/x-amz-json-1.0"}
_installed: dict[str, Any] = {}


def _no_fallback_needed(value: Any) -> Any:
    raise TypeError(type(value).__name__)


ATTRIBUTE_MEMBERS = frozenset(
    {"Items", "Item", "Attributes", "LastEvaluatedKey", "Responses", "Count", "ScannedCount"}
)
"""Output members that hold DynamoDB JSON (maps and lists of attribute values) or a count: what the
walk returns for them is what `json.loads` does, so they are taken as they are. The others
(ConsumedCapacity, UnprocessedKeys...) are small: `_like_walk` rebuilds them as the walk does."""

_WRITTEN: OrderedDict[bytes, str] = OrderedDict()
"""Bodies written here and not parsed yet -> their output shape's name (the last few only: a body
whose answer a fault drops is never parsed)."""
_WRITTEN_KEPT = 8


class _NotPlain(Exception):
    """A value the walk would convert (a blob, a timestamp): the body goes the walk's way."""


def _like_walk(shape: Any, value: Any) -> Any:
    """botocore's JSON walk of `value` for `shape`, for values without blobs or timestamps:
    structures keep their members in the shape's order, without nulls and unknown keys; a whole
    number where the shape says double is a float, as moto's serialiser would have written it."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise _NotPlain(shape.name)
        if getattr(shape, "is_tagged_union", False) and any(k not in shape.members for k in value):
            raise _NotPlain(shape.name)
        return {
            name: _like_walk(member, value[name])
            for name, member in shape.members.items()
            if value.get(name) is not None
        }
    if kind == "list":
        return [_like_walk(shape.member, v) for v in value]
    if kind == "map":
        return {k: _like_walk(shape.value, v) for k, v in value.items()}
    if kind in ("blob", "timestamp"):
        raise _NotPlain(kind)
    if kind in ("double", "float") and isinstance(value, int) and not isinstance(value, bool):
        return float(value)  # moto's serialiser writes a double as one (consumed capacity: 2.0)
    return value


def parsed_like_botocore(body: bytes, shape: Any) -> dict[str, Any] | None:
    """What botocore's JSON parser makes of `body` (a DynamoDB result written here for an operation
    whose output is `shape`), with `json.loads` and the walk only where it could change something
    (`ATTRIBUTE_MEMBERS` are taken as they are); None when the body was not written here or holds
    a value the walk converts."""
    if shape is None or _WRITTEN.pop(body, None) != shape.name:
        return None
    parsed = json.loads(body)
    if not isinstance(parsed, dict):
        return None
    result: dict[str, Any] = {}
    try:
        for name, member in shape.members.items():
            value = parsed.get(name)
            if value is not None:
                result[name] = value if name in ATTRIBUTE_MEMBERS else _like_walk(member, value)
    except _NotPlain:
        return None
    return result


def install() -> None:
    """Route the results of `FAST_OPERATIONS` through `json.dumps` (falling back as the module says),
    and botocore's parse of those bodies through `parsed_like_botocore`."""
    if _installed:
        return
    from botocore.parsers import JSONParser
    from moto.dynamodb.responses import DynamoResult

    generic = DynamoResult.execute_result
    _installed["generic"] = generic
    walk = vars(JSONParser)["_handle_json_body"]
    _installed["walk"] = walk

    def execute_result(self: Any, context: Any) -> Any:
        operation = context.operation_model
        if operation.name in FAST_OPERATIONS:
            try:
                body = json.dumps(self.result, separators=(",", ":"), default=_no_fallback_needed)
            except (TypeError, ValueError):
                return generic(self, context)
            if operation.output_shape is not None:
                _WRITTEN[body.encode()] = operation.output_shape.name
                while len(_WRITTEN) > _WRITTEN_KEPT:
                    _WRITTEN.popitem(last=False)
            return 200, dict(HEADERS), body
        return generic(self, context)

    def handle_json_body(self: Any, raw_body: Any, shape: Any) -> Any:
        if _WRITTEN and isinstance(raw_body, bytes):
            parsed = parsed_like_botocore(raw_body, shape)
            if parsed is not None:
                return parsed
        return walk(self, raw_body, shape)

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]
    setattr(JSONParser, "_handle_json_body", handle_json_body)  # noqa: B010 (botocore's, untyped)


def uninstall() -> None:
    """Put moto's serialiser and botocore's parse back (tests compare both)."""
    generic = _installed.pop("generic", None)
    walk = _installed.pop("walk", None)
    _WRITTEN.clear()
    if generic is not None:
        from moto.dynamodb.responses import DynamoResult

        DynamoResult.execute_result = generic  # type: ignore[method-assign]
    if walk is not None:
        from botocore.parsers import JSONParser

        setattr(JSONParser, "_handle_json_body", walk)  # noqa: B010 (botocore's, untyped)
