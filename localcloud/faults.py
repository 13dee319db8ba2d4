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

A fourth kind is injected *below* botocore's retries, on the wire:

* ``lost``: the service applied the request, and its answer was lost on the way back: botocore's
  HTTP exchange (`botocore.endpoint.Endpoint._do_get_response`) returns a `ReadTimeoutError` or a
  `ConnectionClosedError` after the request was applied, and botocore's own retry handler decides
  what to do with it, as it would in Lambda (retry a DynamoDB write, whose condition or
  idempotency absorbs the repeat; stop at once for a send, `arrears.adapters.channels`). A retry's
  backoff is counted, not slept: the simulated clock does not move inside an invocation. Drawn from
  its own seeded stream, so adding it changes no other kind's draws.

`rate` is the chance per call of a ``before`` fault, per call of an ``after`` fault, per HTTP
attempt of a ``lost`` one, and per invocation of a kill, for each service in `services` (and, when
given, only for the `operations` and inside the `functions` named). ``before`` faults may be
limited to throttling (`throttles_only`), the service's own throttling code. Calls the harness makes
outside a handler (loading the book, polling queues, reading streams, the final checks) are never
faulted.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import botocore.endpoint
from botocore.client import BaseClient
from botocore.endpoint import Endpoint
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from arrears.adapters import retrying

KINDS = ("before", "after", "kill", "lost")
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
    operations: tuple[str, ...] = ()
    """Only these operations (`Publish`, `SendMessage`...); empty: every operation."""
    functions: tuple[str, ...] = ()
    """Only inside these functions (logical ids); empty: every function."""
    throttles_only: bool = False
    """``before`` faults are the service's throttling code only (no 5xx, no connection error)."""

    def applies(self, function: str, service: str, operation: str) -> bool:
        """Whether a call of `service.operation` made by `function` may be faulted."""
        return (
            service in self.services
            and (not self.operations or operation in self.operations)
            and (not self.functions or function in self.functions)
        )

    def __post_init__(self) -> None:
        if not 0 <= self.rate < 1:
            raise ValueError(f"fault rate must be in [0, 1), got {self.rate}")
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {', '.join(KINDS)}")


SENDS = ("Publish", "SendMessage")
SENDING_FUNCTIONS = ("DispatcherFunction", "DeferredReleaseFunction")
DEMO_SEND_THROTTLE_RATE = 0.05


def send_throttles(rate: float = DEMO_SEND_THROTTLE_RATE, seed: int = 0) -> FaultPlan:
    """The default demo's faults: a seeded share `rate` of the sends of the functions that contact
    borrowers (SNS Publish, SQS SendMessage of the dispatcher and the 15-minute release) refused with
    the service's throttling code before the call (SNS `Throttled`, SQS `RequestThrottled`), above
    botocore's retries so the handler sees them. Nothing else fails. The send outbox gives the claim
    back, the action stays open, and its retry (the stream's, or the next release run 15 minutes
    later) is judged again at the instant it is really made: a retry after the contact window closed
    is deferred to the next lawful instant, not sent."""
    return FaultPlan(
        rate,
        seed,
        kinds=("before",),
        services=("sns", "sqs"),
        operations=SENDS,
        functions=SENDING_FUNCTIONS,
        throttles_only=True,
    )


_CURRENT: FaultInjector | None = None
_ORIGINAL: Any = None
_ORIGINAL_HTTP: Any = None


def _install() -> None:
    """Wrap `BaseClient._make_api_call` (once, unless something put another function in its place
    since: a `mock.patch` that began before the wrapping and ended after it undoes it); the wrapper
    routes each call to the injector of the invocation in progress (none: untouched)."""
    global _ORIGINAL
    current = getattr(BaseClient, "_make_api_call")  # noqa: B009 (private to botocore, not typed)
    if getattr(current, "_arrears_faults", False):
        return
    original = current
    _ORIGINAL = original

    def _make_api_call(client: BaseClient, operation_name: str, api_params: Any) -> Any:
        injector = _CURRENT
        if injector is None:
            return original(client, operation_name, api_params)
        return injector._call(original, client, operation_name, api_params)

    _make_api_call._arrears_faults = True  # type: ignore[attr-defined]
    setattr(BaseClient, "_make_api_call", _make_api_call)  # noqa: B010
    _install_wire()


class _BackoffClock:
    """`time` as botocore's endpoint sees it: a retry's backoff inside a faulted invocation is
    counted by the injector instead of slept (the simulated clock stands still in a handler).
    `ours`: the clock of Arrears' own retries of one call (`arrears.adapters.retrying`), whose
    pauses are also counted as `calls_retried_alone`."""

    def __init__(self, *, ours: bool = False) -> None:
        self._ours = ours

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def sleep(self, seconds: float) -> None:
        injector = _CURRENT
        if injector is None:
            time.sleep(seconds)
            return
        injector.backoff_seconds += float(seconds)
        if self._ours:
            injector.calls_retried_alone += 1


def _install_wire() -> None:
    """Wrap botocore's HTTP exchange (below its retries) once per process, for ``lost`` faults."""
    global _ORIGINAL_HTTP
    current = getattr(Endpoint, "_do_get_response")  # noqa: B009 (private to botocore, not typed)
    if getattr(current, "_arrears_faults", False):
        return
    original = current
    _ORIGINAL_HTTP = original

    def _do_get_response(endpoint: Endpoint, request: Any, operation_model: Any, context: Any) -> Any:
        result = original(endpoint, request, operation_model, context)
        injector = _CURRENT
        if injector is None:
            return result
        return injector._on_the_wire(result, request, operation_model)

    _do_get_response._arrears_faults = True  # type: ignore[attr-defined]
    setattr(Endpoint, "_do_get_response", _do_get_response)  # noqa: B010
    setattr(botocore.endpoint, "time", _BackoffClock())  # noqa: B010
    # The same for the long jobs' own retries of one call (arrears.adapters.retrying).
    setattr(retrying, "time", _BackoffClock(ours=True))  # noqa: B010


@dataclass
class _Armed:
    function: str
    kill_at: int | None
    kill_after: bool
    calls: int = 0
    outbox_key: str = ""
    """The last send the invocation claimed in the outbox (`outbox#<action id>`): the send's action."""


@dataclass
class FaultInjector:
    """Wraps `_make_api_call` while `invocation()` is active; counts every call and every fault."""

    plan: FaultPlan | None
    injected: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """(kind, service, detail) -> faults injected."""
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(function, service.operation) -> AWS calls made by handlers (faulted or not)."""
    backoff_seconds: float = 0.0
    """botocore's retry backoff inside faulted invocations (counted, not slept)."""
    calls_retried_alone: int = 0
    """Calls a handler made again alone after a transient error (`retry_transient`'s pauses)."""
    clock: Callable[[], datetime] | None = None
    """The local cloud's simulated clock: when a send was refused."""
    refused_sends: list[tuple[str, datetime | None]] = field(default_factory=list)
    """(action id, instant) of each send refused by a ``before`` fault."""
    _random: random.Random = field(init=False)
    _wire_random: random.Random = field(init=False)
    _armed: _Armed | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.plan.seed if self.plan else 0)
        self._wire_random = random.Random(f"wire-{self.plan.seed if self.plan else 0}")

    # -- installation ------------------------------------------------------------------------

    @contextlib.contextmanager
    def invocation(self, function: str) -> Iterator[None]:
        """Inject into the AWS calls made inside this block (one handler invocation)."""
        _install()
        plan = self.plan
        kill_at = None
        killable = plan is not None and (not plan.functions or function in plan.functions)
        if plan and killable and "kill" in plan.kinds and self._random.random() < plan.rate:
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
        claimed = _outbox_claim(operation, params)
        if claimed is not None:
            armed.outbox_key = claimed
        plan = self.plan
        if plan is None or not plan.applies(armed.function, service, operation):
            return original(client, operation, params)
        armed.calls += 1
        endpoint = client.meta.endpoint_url
        if armed.kill_at == armed.calls:
            self.injected[("kill", service, "after call" if armed.kill_after else "before call")] += 1
            if armed.kill_after:
                original(client, operation, params)
            raise InvocationKilled(f"{armed.function} killed at {service}.{operation}")
        if "before" in plan.kinds and self._random.random() < plan.rate:
            if operation in SENDS and armed.outbox_key:
                self.refused_sends.append((armed.outbox_key, self.clock() if self.clock else None))
            raise self._before(service, operation, endpoint, plan.throttles_only)
        response = original(client, operation, params)
        if "after" in plan.kinds and self._random.random() < plan.rate:
            if self._random.random() < 0.5:
                self.injected[("after", service, "ReadTimeoutError")] += 1
                raise ReadTimeoutError(endpoint_url=endpoint)
            self.injected[("after", service, "ConnectionClosedError")] += 1
            raise ConnectionClosedError(endpoint_url=endpoint)
        return response

    def _on_the_wire(self, result: Any, request: Any, operation_model: Any) -> Any:
        """A ``lost`` fault: the request was applied (`result` is its answer), the answer is lost."""
        armed, plan = self._armed, self.plan
        if armed is None or plan is None or "lost" not in plan.kinds:
            return result
        service = operation_model.service_model.service_name
        if not plan.applies(armed.function, service, operation_model.name) or result[1] is not None:
            return result
        if getattr(result[0][0], "status_code", 500) >= 300:
            return result  # an error answer: nothing was applied
        if self._wire_random.random() >= plan.rate:
            return result
        url = getattr(request, "url", "")
        if self._wire_random.random() < 0.5:
            self.injected[("lost", service, "ReadTimeoutError")] += 1
            return None, ReadTimeoutError(endpoint_url=url)
        self.injected[("lost", service, "ConnectionClosedError")] += 1
        return None, ConnectionClosedError(endpoint_url=url)

    def _before(self, service: str, operation: str, endpoint: str, throttles_only: bool = False) -> Exception:
        draw = 0.0 if throttles_only else self._random.random()
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
            "limited_to": {
                "operations": list(self.plan.operations),
                "functions": list(self.plan.functions),
                "throttles_only": self.plan.throttles_only,
            }
            if self.plan
            else {},
            "injected_total": sum(self.injected.values()),
            "injected": by_kind,
            "retry_backoff_seconds_not_slept": round(self.backoff_seconds, 3),
            "calls_retried_alone": self.calls_retried_alone,
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


def _outbox_claim(operation: str, params: Any) -> str | None:
    """The action id of a send-outbox claim this request writes (`outbox#<action id>`, a PutItem or a
    Put inside TransactWriteItems, typed or not), else None: which send a refusal that follows is of."""
    if not isinstance(params, Mapping):
        return None
    if operation == "PutItem":
        items = [params.get("Item") or {}]
    elif operation == "TransactWriteItems":
        items = [(entry.get("Put") or {}).get("Item") or {} for entry in params.get("TransactItems") or ()]
    else:
        return None
    for item in items:
        key = item.get("id", "")
        key = key.get("S", "") if isinstance(key, Mapping) else str(key)
        if key.startswith("outbox#"):
            return str(key).removeprefix("outbox#")
    return None


def refused_sends_outcome(
    refused: Iterable[tuple[str, datetime | None]], contacts: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """What became of the sends refused before the call, from the Contacts table's records.

    For each refused send (an action's, or a loan's validation notice: `validation-notice#<loan id>`),
    its first contact record made at or after the refusal: the
    outcome its retry was judged to (`SENT`, `DEFERRED`...), and whether it was judged at a later
    instant than the refusal (the instant the contact was really made, not the record that
    triggered it). `deferred_at_retry` lists the deferrals, with the refusal's and the retry's
    instants and the reason (the contact window had closed in between, a cap was reached...).
    """
    by_action: dict[str, list[Mapping[str, Any]]] = {}
    for record in contacts:
        by_action.setdefault(str(record.get("action_id", "")), []).append(record)
        if record.get("template_id") == "validation_notice":  # its send's key names the loan
            by_action.setdefault(f"validation-notice#{record.get('loan_id')}", []).append(record)
    outcomes: Counter[str] = Counter()
    later = 0
    deferred: list[dict[str, str]] = []
    for action_id, at in refused:
        records = sorted(by_action.get(action_id, []), key=lambda r: str(r.get("occurred_at", "")))
        after = [
            r
            for r in records
            if at is None or str(r.get("occurred_at", "")) >= at.strftime("%Y-%m-%dT%H:%M:%S")
        ]
        if not after:
            outcomes["no record yet"] += 1
            continue
        first = after[0]
        status = str(first.get("status", ""))
        outcomes[status] += 1
        occurred = str(first.get("occurred_at", ""))
        if at is not None and occurred > at.strftime("%Y-%m-%dT%H:%M:%SZ"):
            later += 1
        if status == "DEFERRED":
            deferred.append(
                {
                    "refused_at": at.strftime("%Y-%m-%dT%H:%M:%SZ") if at else "",
                    "judged_at": occurred,
                    "reason": str(first.get("reason", "")),
                }
            )
    return {
        "refused": sum(outcomes.values()),
        "then": dict(sorted(outcomes.items())),
        "judged_at_a_later_instant": later,
        "deferred_at_retry": deferred,
    }
