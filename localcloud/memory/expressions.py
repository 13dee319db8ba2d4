"""DynamoDB's expression language, evaluated over Python values: the fast path's tables' engine.

The in-memory tables (localcloud/memory/dynamodb.py) receive what the production adapters send a
boto3 Table: condition, key-condition, filter, projection and update expressions as strings with
`#name` / `:value` placeholders, or `boto3.dynamodb.conditions` objects (turned into the same strings
by boto3's own `ConditionExpressionBuilder`). This module parses them once (cached by text) and
evaluates them with DynamoDB's documented semantics
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.html):

* a comparison between values of different types is false, a missing attribute compares false
  (only `attribute_not_exists` and `<>` hold for it);
* `SET a = b + :n` adds numbers, `if_not_exists(a, :v)` and `list_append(a, b)` as documented;
* `ADD` adds to a number (0 when missing) or unites a set, `DELETE` removes from a set, and an
  emptied set is removed (DynamoDB stores no empty set).

Errors in an expression (a placeholder not supplied, a grammar this engine does not know) raise
`ExpressionError`, a `ValueError`: the table turns it into DynamoDB's `ValidationException`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from boto3.dynamodb.types import Binary


def raw(value: Any) -> bytes:
    """A `Binary`'s bytes."""
    return bytes(value.value)


class ExpressionError(ValueError):
    """An expression DynamoDB would refuse (ValidationException), or one this engine does not model."""


_TOKEN = re.compile(
    r"\s*(?:(?P<op><>|<=|>=|=|<|>|\(|\)|,|\.|\[|\]|\+|-)|(?P<name>#[A-Za-z0-9_]+)|"
    r"(?P<value>:[A-Za-z0-9_]+)|(?P<num>\d+)|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)
_KEYWORDS = frozenset({"AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE"})
_MISSING = object()


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    at = 0
    text = text.rstrip()
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise ExpressionError(f"cannot read the expression at {text[at : at + 20]!r}")
        at = match.end()
        kind = match.lastgroup or ""
        token = match.group(kind)
        if kind == "word" and token.upper() in _KEYWORDS:
            found.append(("kw", token.upper()))
        else:
            found.append((kind, token))
    return found


# A path is a tuple of parts: ("name" | "#placeholder", or an int list index).
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Operand:
    kind: str  # "path", "value", "size", "if_not_exists", "list_append", "plus", "minus"
    args: tuple[Any, ...]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        i = self.at + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def take(self, kind: str | None = None, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (kind and token[0] != kind) or (value and token[1] != value):
            raise ExpressionError(f"expected {value or kind}, found {token}")
        self.at += 1
        return token

    def accept(self, kind: str, value: str) -> bool:
        token = self.peek()
        if token == (kind, value):
            self.at += 1
            return True
        return False

    def done(self) -> bool:
        return self.at >= len(self.tokens)

    # -- operands ---------------------------------------------------------------------------

    def path(self) -> Path:
        kind, token = self.take()
        if kind not in ("name", "word"):
            raise ExpressionError(f"expected an attribute, found {token!r}")
        parts: list[str | int] = [token]
        while True:
            if self.accept("op", "."):
                kind, token = self.take()
                if kind not in ("name", "word"):
                    raise ExpressionError(f"expected an attribute after '.', found {token!r}")
                parts.append(token)
            elif self.accept("op", "["):
                parts.append(int(self.take("num")[1]))
                self.take("op", "]")
            else:
                return tuple(parts)

    def operand(self) -> Operand:
        token = self.peek()
        if token is None:
            raise ExpressionError("the expression ends where an operand was expected")
        if token[0] == "value":
            self.at += 1
            return Operand("value", (token[1],))
        following = self.peek(1)
        if token[0] == "word" and following == ("op", "("):
            function = token[1]
            self.at += 2
            if function == "size":
                path = self.path()
                self.take("op", ")")
                return Operand("size", (path,))
            if function == "if_not_exists":
                path = self.path()
                self.take("op", ",")
                fallback = self.set_value()
                self.take("op", ")")
                return Operand("if_not_exists", (path, fallback))
            if function == "list_append":
                first = self.set_value()
                self.take("op", ",")
                second = self.set_value()
                self.take("op", ")")
                return Operand("list_append", (first, second))
            raise ExpressionError(f"unknown function {function}")
        return Operand("path", (self.path(),))

    def set_value(self) -> Operand:
        left = self.operand()
        if self.accept("op", "+"):
            return Operand("plus", (left, self.operand()))
        if self.accept("op", "-"):
            return Operand("minus", (left, self.operand()))
        return left

    # -- conditions -------------------------------------------------------------------------

    def condition(self) -> tuple[Any, ...]:
        left = self.conjunction()
        while self.accept("kw", "OR"):
            left = ("or", left, self.conjunction())
        return left

    def conjunction(self) -> tuple[Any, ...]:
        left = self.negation()
        while self.accept("kw", "AND"):
            left = ("and", left, self.negation())
        return left

    def negation(self) -> tuple[Any, ...]:
        if self.accept("kw", "NOT"):
            return ("not", self.negation())
        return self.primary()

    def primary(self) -> tuple[Any, ...]:
        if self.accept("op", "("):
            inner = self.condition()
            self.take("op", ")")
            return inner
        token, following = self.peek(), self.peek(1)
        functions = ("attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains")
        if token and token[0] == "word" and token[1] in functions and following == ("op", "("):
            self.at += 2
            if token[1] in ("attribute_exists", "attribute_not_exists"):
                path = self.path()
                self.take("op", ")")
                return (token[1], path)
            first = self.operand()
            self.take("op", ",")
            second = self.operand()
            self.take("op", ")")
            return (token[1], first, second)
        left = self.operand()
        if self.accept("kw", "BETWEEN"):
            low = self.operand()
            self.take("kw", "AND")
            return ("between", left, low, self.operand())
        if self.accept("kw", "IN"):
            self.take("op", "(")
            options = [self.operand()]
            while self.accept("op", ","):
                options.append(self.operand())
            self.take("op", ")")
            return ("in", left, tuple(options))
        _, comparator = self.take("op")
        if comparator not in ("=", "<>", "<", "<=", ">", ">="):
            raise ExpressionError(f"expected a comparator, found {comparator!r}")
        return ("cmp", comparator, left, self.operand())

    # -- updates ----------------------------------------------------------------------------

    def update(self) -> dict[str, list[Any]]:
        clauses: dict[str, list[Any]] = {}
        while not self.done():
            _, clause = self.take("kw")
            if clause in clauses or clause not in ("SET", "REMOVE", "ADD", "DELETE"):
                raise ExpressionError(f"unexpected {clause} in an update expression")
            actions: list[Any] = []
            while True:
                path = self.path()
                if clause == "SET":
                    self.take("op", "=")
                    actions.append((path, self.set_value()))
                elif clause == "REMOVE":
                    actions.append((path, None))
                else:
                    actions.append((path, self.operand()))
                if not self.accept("op", ","):
                    break
            clauses[clause] = actions
        return clauses


@lru_cache(maxsize=4096)
def parse_condition(text: str) -> tuple[Any, ...]:
    parser = _Parser(text)
    tree = parser.condition()
    if not parser.done():
        raise ExpressionError(f"unexpected {parser.peek()} after the condition")
    return tree


@lru_cache(maxsize=4096)
def parse_update(text: str) -> dict[str, list[Any]]:
    return _Parser(text).update()


@lru_cache(maxsize=1024)
def parse_projection(text: str) -> tuple[Path, ...]:
    parser = _Parser(text)
    paths = [parser.path()]
    while parser.accept("op", ","):
        paths.append(parser.path())
    if not parser.done():
        raise ExpressionError(f"unexpected {parser.peek()} in a projection")
    return tuple(paths)


class Evaluator:
    """Evaluates parsed expressions against one item, with the request's placeholders."""

    def __init__(self, names: Mapping[str, str] | None, values: Mapping[str, Any] | None) -> None:
        self.names = names or {}
        self.values = values or {}
        self._resolved: dict[Path, tuple[str | int, ...]] = {}  # a query evaluates its paths per item

    def part(self, part: str | int) -> str | int:
        if isinstance(part, str) and part.startswith("#"):
            if part not in self.names:
                raise ExpressionError(f"the placeholder {part} has no ExpressionAttributeNames entry")
            return self.names[part]
        return part

    def resolve(self, path: Path) -> tuple[str | int, ...]:
        resolved = self._resolved.get(path)
        if resolved is None:
            resolved = self._resolved[path] = tuple(self.part(p) for p in path)
        return resolved

    def get(self, item: Mapping[str, Any], path: Path) -> Any:
        node: Any = item
        for part in self.resolve(path):
            if isinstance(part, int):
                if not isinstance(node, list) or part >= len(node):
                    return _MISSING
                node = node[part]
            else:
                if not isinstance(node, dict) or part not in node:
                    return _MISSING
                node = node[part]
        return node

    def value(self, name: str) -> Any:
        if name not in self.values:
            raise ExpressionError(f"the placeholder {name} has no ExpressionAttributeValues entry")
        return self.values[name]

    def operand(self, item: Mapping[str, Any], operand: Operand) -> Any:
        kind, args = operand.kind, operand.args
        if kind == "value":
            return self.value(args[0])
        if kind == "path":
            return self.get(item, args[0])
        if kind == "size":
            found = self.get(item, args[0])
            if found is _MISSING:
                return _MISSING
            return Decimal(len(raw(found) if isinstance(found, Binary) else found))
        if kind == "if_not_exists":
            found = self.get(item, args[0])
            return self.operand(item, args[1]) if found is _MISSING else found
        if kind == "list_append":
            first, second = self.operand(item, args[0]), self.operand(item, args[1])
            if not isinstance(first, list) or not isinstance(second, list):
                raise ExpressionError("list_append needs two lists")
            return [*first, *second]
        left, right = self.operand(item, args[0]), self.operand(item, args[1])
        if not isinstance(left, Decimal) or not isinstance(right, Decimal):
            raise ExpressionError(f"{kind} needs two numbers")
        return left + right if kind == "plus" else left - right

    def holds(self, item: Mapping[str, Any], tree: tuple[Any, ...]) -> bool:
        kind = tree[0]
        if kind == "and":
            return self.holds(item, tree[1]) and self.holds(item, tree[2])
        if kind == "or":
            return self.holds(item, tree[1]) or self.holds(item, tree[2])
        if kind == "not":
            return not self.holds(item, tree[1])
        if kind == "attribute_exists":
            return self.get(item, tree[1]) is not _MISSING
        if kind == "attribute_not_exists":
            return self.get(item, tree[1]) is _MISSING
        if kind == "attribute_type":
            return bool(_type_of(self.operand(item, tree[1])) == self.operand(item, tree[2]))
        if kind == "begins_with":
            whole, start = self.operand(item, tree[1]), self.operand(item, tree[2])
            return isinstance(whole, str) and isinstance(start, str) and whole.startswith(start)
        if kind == "contains":
            whole, part = self.operand(item, tree[1]), self.operand(item, tree[2])
            if isinstance(whole, str):
                return isinstance(part, str) and part in whole
            return isinstance(whole, list | set) and part in whole
        if kind == "between":
            value, low, high = (self.operand(item, t) for t in tree[1:])
            return _compare("<=", low, value) and _compare("<=", value, high)
        if kind == "in":
            value = self.operand(item, tree[1])
            return any(_compare("=", value, self.operand(item, option)) for option in tree[2])
        _, comparator, left, right = tree
        return _compare(comparator, self.operand(item, left), self.operand(item, right))


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "S"
    if isinstance(value, Decimal | int):
        return "N"
    if isinstance(value, Binary | bytes):
        return "B"
    if isinstance(value, list):
        return "L"
    if isinstance(value, dict):
        return "M"
    if isinstance(value, set):
        sample = next(iter(value), "")
        return "SS" if isinstance(sample, str) else "NS" if isinstance(sample, Decimal | int) else "BS"
    return "?"


def _compare(comparator: str, left: Any, right: Any) -> bool:
    if left is _MISSING or right is _MISSING:
        return comparator == "<>"
    if _type_of(left) != _type_of(right):
        return comparator == "<>"
    if comparator == "=":
        return bool(left == right)
    if comparator == "<>":
        return bool(left != right)
    if isinstance(left, Binary):
        left, right = raw(left), raw(right)
    if not isinstance(left, str | Decimal | int | bytes):
        raise ExpressionError(f"{comparator} compares numbers, strings or binaries")
    if comparator == "<":
        return bool(left < right)
    if comparator == "<=":
        return bool(left <= right)
    if comparator == ">":
        return bool(left > right)
    return bool(left >= right)


def apply_update(item: dict[str, Any], clauses: dict[str, list[Any]], evaluator: Evaluator) -> None:
    """Apply a parsed update expression to `item` in place (every operand read from the old item)."""
    before = dict(item)
    for path, operand in clauses.get("SET", []):
        _assign(item, evaluator.resolve(path), evaluator.operand(before, operand))
    for path, _ in clauses.get("REMOVE", []):
        _remove(item, evaluator.resolve(path))
    for path, operand in clauses.get("ADD", []):
        where = evaluator.resolve(path)
        current = evaluator.get(item, path)
        addition = evaluator.operand(before, operand)
        if isinstance(addition, set):
            _assign(item, where, (set() if current is _MISSING else set(current)) | addition)
        elif isinstance(addition, Decimal):
            _assign(item, where, (Decimal(0) if current is _MISSING else current) + addition)
        else:
            raise ExpressionError("ADD takes a number or a set")
    for path, operand in clauses.get("DELETE", []):
        where = evaluator.resolve(path)
        current = evaluator.get(item, path)
        if current is _MISSING:
            continue
        left = set(current) - set(evaluator.operand(before, operand))
        if left:
            _assign(item, where, left)
        else:
            _remove(item, where)


def _owned(node: Any, part: str | int) -> Any:
    """`node[part]` replaced by a shallow copy of itself: copy on write, since what readers hold
    shares the stored item's nested maps and lists (localcloud.memory.dynamodb.copied)."""
    child = node[part]
    child = dict(child) if isinstance(child, dict) else list(child) if isinstance(child, list) else child
    node[part] = child
    return child


def _assign(item: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = item
    for part in path[:-1]:
        node = _owned(node, part)
    last = path[-1]
    if isinstance(last, int) and isinstance(node, list) and last >= len(node):
        node.append(value)
    else:
        node[last] = value


def _remove(item: dict[str, Any], path: tuple[str | int, ...]) -> None:
    node: Any = item
    for part in path[:-1]:
        if (isinstance(node, dict) and part in node) or (isinstance(node, list) and int(part) < len(node)):
            node = _owned(node, part)
        else:
            return
    last = path[-1]
    if isinstance(node, dict):
        node.pop(last, None)
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        del node[last]


def project(item: Mapping[str, Any], paths: tuple[Path, ...], evaluator: Evaluator) -> dict[str, Any]:
    """The attributes of `item` a ProjectionExpression names (top-level paths kept whole)."""
    kept: dict[str, Any] = {}
    for path in paths:
        top = evaluator.part(path[0])
        if isinstance(top, str) and top in item:
            kept[top] = item[top]
    return kept
