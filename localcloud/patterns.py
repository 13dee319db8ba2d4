"""EventBridge / Lambda filter-criteria pattern matching (the subset AWS documents and we use).

A pattern is a JSON object whose leaves are lists of allowed values; a value may also be an
object: `{"exists": bool}`, `{"prefix": str}`, `{"anything-but": [..]}`, `{"numeric": [op, n, ...]}`.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

_MISSING = object()
_OPS = {"=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _leaf_matches(allowed: Any, value: Any) -> bool:
    if isinstance(allowed, Mapping):
        if "exists" in allowed:
            return (value is not _MISSING) == bool(allowed["exists"])
        if value is _MISSING:
            return False
        if "prefix" in allowed:
            return isinstance(value, str) and value.startswith(str(allowed["prefix"]))
        if "anything-but" in allowed:
            banned = allowed["anything-but"]
            banned = banned if isinstance(banned, list) else [banned]
            return value not in banned
        if "numeric" in allowed:
            terms = allowed["numeric"]
            try:
                number = float(value)
            except (TypeError, ValueError):
                return False
            return all(_OPS[terms[i]](number, float(terms[i + 1])) for i in range(0, len(terms), 2))
        raise ValueError(f"unsupported pattern operator {sorted(allowed)}")
    if value is _MISSING:
        return False
    if isinstance(value, list):
        return allowed in value
    return bool(allowed == value)


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """Whether `event` matches `pattern` (every key of the pattern must match)."""
    if not isinstance(event, Mapping):
        return False
    for key, expected in pattern.items():
        value = event.get(key, _MISSING)
        if isinstance(expected, Mapping):
            if not matches(expected, value if value is not _MISSING else {}):
                return False
        elif isinstance(expected, list):
            if not any(_leaf_matches(allowed, value) for allowed in expected):
                return False
        else:
            raise ValueError(f"pattern value for {key!r} must be a list or an object")
    return True
