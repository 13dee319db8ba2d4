"""Fault injection for the local cloud: AWS calls that fail, and invocations that die, on purpose.

Installed by `LocalCloud` only (never in the layer): while a handler runs, every AWS call its
boto3 clients make goes through `botocore.client.BaseClient._make_api_call`, which this module
wraps. That method sits *above* botocore's own retries, so an injected fault is what the handler
really sees, never absorbed by a retry below it. Three kinds, each drawn from one seeded
`random.Random` so a run is reproducible (same seed, same book, same faults):

* ``before``: the call fails before it reaches the service, nothing applied: the service's own
  throttling code (HTTP 400), a 5xx (``ServiceUnavailable``, HTTP 503), or a connection refused or
  reset while connecting (``EndpointConnectionError``).
* ``after``: the service applied the call but its response was lost: a read timeout
  (``ReadTimeoutError``) or a connection closed before the answer (``ConnectionClosedError``).
* ``kill``: the invocation dies mid-way, as Lambda ends one at its timeout: at a random AWS call of
  the invocation, before it or after it was applied. `InvocationKilled` derives from
  `BaseException`, so no handler's ``except Exception`` sees it (a killed process runs no error
  path); the local cloud turns it into a function error and the trigger retries by its own rules.

`rate` is the chance per call of a ``before`` fault, per call of an ``after`` fault, and per
invocation of a kill, for each service in `services`. Calls the harness makes outside a handler
(loading the book, polling queues, reading streams, the final checks) are never faulted.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

KINDS = ("before", "after", "kill")
SERVICES = ("dynamodb", "sns", "sqs", "s3", "secretsmanager")
THROTTLING_CODES = {
    "dynamodb": "ThrottlingException",
    "sns": "Throttled",
    "sqs": "RequestThrottled",
    "s3": "SlowDown",
    "secretsmanager": "ThrottlingException",
}
KILL_WITHIN_CALLS = 8
"""A killed invocation dies at its n-th AWS call, n drawn from 1..this (fewer calls: not killed)."""


class InvocationKilled(BaseException):
    """The invocation was ended mid-way (Lambda's timeout): nothing after this point runs."""


@dataclass(frozen=True)
class FaultPlan:
    """What to inject: `rate` for each kind in `kinds` and each service in `services`, from `seed`."""

    rate: float
    seed: int = 0
    kinds: tuple[str, ...] = KINDS
    services: tuple[str, ...] = SERVICES

    def __post_init__(self) -> None:
        if not 0 <= self.rate < 1:
            raise ValueError(f"fault rate must be in [0, 1), got {self.rate}")
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {', '.join(KINDS)}")


_CURRENT: FaultInjector | None = None
_ORIGINAL: Any = None


def _install() -> None:
    """Wrap `BaseClient._make_api_call` once per process; the wrapper routes each call to the
    injector of the invocation in progress (none: the call goes through untouched)."""
    global _ORIGINAL
    if _ORIGINAL is not None:
        return
    original = getattr(BaseClient, "_make_api_call")  # noqa: B009 (private to botocore, not typed)
    _ORIGINAL = original

    def _make_api_call(client: BaseClient, operation_name: str, api_params: Any) -> Any:
        injector = _CURRENT
        if injector is None:
            return original(client, operation_name, api_params)
        return injector._call(original, client, operation_name, api_params)

    setattr(BaseClient, "_make_api_call", _make_api_call)  # noqa: B010


@dataclass
class _Armed:
    function: str
    kill_at: int | None
    kill_after: bool
    calls: int = 0


@dataclass
class FaultInjector:
    """Wraps `_make_api_call` while `invocation()` is active; counts every call and every fault."""

    plan: FaultPlan | None
    injected: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """(kind, service, detail) -> faults injected."""
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(function, service.operation) -> AWS calls made by handlers (faulted or not)."""
    _random: random.Random = field(init=False)
    _armed: _Armed | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.plan.seed if self.plan else 0)

    # -- installation ------------------------------------------------------------------------

    @contextlib.contextmanager
    def invocation(self, function: str) -> Iterator[None]:
        """Inject into the AWS calls made inside this block (one handler invocation)."""
        _install()
        plan = self.plan
        kill_at = None
        if plan and "kill" in plan.kinds and self._random.random() < plan.rate:
            kill_at = self._random.randint(1, KILL_WITHIN_CALLS)
        global _CURRENT
        previous = _CURRENT
        self._armed = _Armed(function, kill_at, self._random.random() < 0.5)
        _CURRENT = self
        try:
            yield
        finally:
            _CURRENT = previous
            self._armed = None

    # -- the wrapped call --------------------------------------------------------------------

    def _call(self, original: Any, client: BaseClient, operation: str, params: Any) -> Any:
        armed = self._armed
        if armed is None:  # pragma: no cover (only reached through an active invocation)
            return original(client, operation, params)
        service = client.meta.service_model.service_name
        self.calls[(armed.function, f"{service}.{operation}")] += 1
        plan = self.plan
        if plan is None or service not in plan.services:
            return original(client, operation, params)
        armed.calls += 1
        endpoint = client.meta.endpoint_url
        if armed.kill_at == armed.calls:
            self.injected[("kill", service, "after call" if armed.kill_after else "before call")] += 1
            if armed.kill_after:
                original(client, operation, params)
            raise InvocationKilled(f"{armed.function} killed at {service}.{operation}")
        if "before" in plan.kinds and self._random.random() < plan.rate:
            raise self._before(service, operation, endpoint)
        response = original(client, operation, params)
        if "after" in plan.kinds and self._random.random() < plan.rate:
            if self._random.random() < 0.5:
                self.injected[("after", service, "ReadTimeoutError")] += 1
                raise ReadTimeoutError(endpoint_url=endpoint)
            self.injected[("after", service, "ConnectionClosedError")] += 1
            raise ConnectionClosedError(endpoint_url=endpoint)
        return response

    def _before(self, service: str, operation: str, endpoint: str) -> Exception:
        draw = self._random.random()
        if draw < 1 / 3:
            code = THROTTLING_CODES.get(service, "ThrottlingException")
            self.injected[("before", service, code)] += 1
            throttled: Any = {
                "Error": {"Code": code, "Message": "Rate exceeded"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
            return ClientError(throttled, operation)
        if draw < 2 / 3:
            self.injected[("before", service, "ServiceUnavailable")] += 1
            unavailable: Any = {
                "Error": {"Code": "ServiceUnavailable", "Message": "Service unavailable"},
                "ResponseMetadata": {"HTTPStatusCode": 503},
            }
            return ClientError(unavailable, operation)
        self.injected[("before", service, "EndpointConnectionError")] += 1
        return EndpointConnectionError(endpoint_url=endpoint)

    # -- figures -----------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Faults injected by kind, service and detail, and handlers' AWS calls, for summary.json."""
        by_kind: dict[str, dict[str, dict[str, int]]] = {}
        for (kind, service, detail), count in sorted(self.injected.items()):
            by_kind.setdefault(kind, {}).setdefault(service, {})[detail] = count
        return {
            "rate": self.plan.rate if self.plan else 0.0,
            "seed": self.plan.seed if self.plan else None,
            "kinds": list(self.plan.kinds) if self.plan else [],
            "injected_total": sum(self.injected.values()),
            "injected": by_kind,
            "handler_aws_calls": sum(self.calls.values()),
            "handler_aws_calls_by_function": {
                function: sum(n for (f, _), n in self.calls.items() if f == function)
                for function in sorted({f for f, _ in self.calls})
            },
            # The dispatcher's calls by API (BatchGetItem, PutItem, UpdateItem, Publish, SendMessage):
            # with its contacts in `dispatch`, the calls a contact costs in the whole run.
            "dispatcher_aws_calls_by_api": {
                api: n for (f, api), n in sorted(self.calls.items()) if f == "DispatcherFunction"
            },
        }
