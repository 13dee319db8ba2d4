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

The demo turns it on through `localcloud.lean.fast_moto` (`run_demo(lean=True)`, the default);
tests/integration/test_lean_local_cloud.py runs the same book both ways and compares the outcome.
"""

from __future__ import annotations

import json
from typing import Any

# Operations whose result is items, keys and counts (DynamoDB JSON and plain numbers).
FAST_OPERATIONS = frozenset(
    {"Query", "Scan", "GetItem", "BatchGetItem", "PutItem", "DeleteItem", "UpdateItem"}
)
HEADERS = {"Content-Type": "application/x-amz-json-1.0"}
_installed: dict[str, Any] = {}


def _no_fallback_needed(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def install() -> None:
    """Route the results of `FAST_OPERATIONS` through `json.dumps` (falling back as the module says)."""
    if _installed:
        return
    from moto.dynamodb.responses import DynamoResult

    generic = DynamoResult.execute_result
    _installed["generic"] = generic

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name in FAST_OPERATIONS:
            try:
                body = json.dumps(self.result, separators=(",", ":"), default=_no_fallback_needed)
            except (TypeError, ValueError):
                return generic(self, context)
            return 200, dict(HEADERS), body
        return generic(self, context)

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


def uninstall() -> None:
    """Put moto's serialiser back (tests compare both)."""
    generic = _installed.pop("generic", None)
    if generic is not None:
        from moto.dynamodb.responses import DynamoResult

        DynamoResult.execute_result = generic  # type: ignore[method-assign]
