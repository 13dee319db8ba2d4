"""Running thousands of generated events through a handler and judging each answer (tests/fuzz).

`World.run` invokes a handler once per event under one environment and keeps, per invocation, the
answer, the exception and the Powertools log lines it wrote. The checks say what every handler owes
its trigger: an EventBridge or schedule handler returns an answer or raises with an ERROR line naming
the reason (Lambda retries it, then hands it to the on-failure destination); a batch handler never
raises for a bad record: it reports it in `batchItemFailures`, with an ERROR line naming the record
and the reason. No line carries personal data or the canary the generators plant.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from arrears.adapters.container import Container
from localcloud.cloud import LocalCloud
from localcloud.stack import LocalStack
from tests.fuzz.corpus import CANARY

START = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)
"""The local cloud's clock through the whole suite: the loans fell due on 1 March."""
KNOWN_LOANS = ("L-F-CN-0001", "L-F-US-0001")
KNOWN_BORROWERS = tuple(f"B-{loan_id}" for loan_id in KNOWN_LOANS)


@dataclass
class Outcome:
    """One invocation: the event, the answer or the exception, and the log lines it wrote."""

    event: Any
    response: Any
    error: Exception | None
    logs: list[dict[str, Any]]
    seconds: float = 0.0  # CPU time of the invocation

    def errors(self) -> list[dict[str, Any]]:
        return [line for line in self.logs if line.get("level") == "ERROR"]

    def describe(self) -> str:
        text = json.dumps(self.event, default=str, ensure_ascii=True)
        error = f"{type(self.error).__name__}: {self.error}" if self.error else None
        return f"event {text[:600]} -> {error or self.response!r}"[:1500]


@dataclass
class World:
    stack: LocalStack
    container: Container
    cloud: LocalCloud
    log: io.StringIO
    pii: tuple[str, ...]
    faults: list[str] = field(default_factory=list)
    streamed_loans: set[str] = field(default_factory=set)
    """Loans the planner accepted a Loans-stream record of: the table's own change feed says they
    exist, so actions planned for them are no fault (the dispatcher re-reads the loan and the
    borrower before any contact, and fails an action whose loan is not in the table)."""

    def run(self, function: str, events: Iterable[Any]) -> list[Outcome]:
        """Invoke `function` once per event; every log line checked for personal data."""
        outcomes: list[Outcome] = []
        # The handlers' records also propagate to the root logger, where pytest's log capture would
        # format and keep every one of them (the tracer's with a traceback): most of the suite's cost.
        # The lines the checks read are the Powertools logger's own, written to the local cloud's log.
        root = logging.getLogger()
        saved, root.handlers = root.handlers, [logging.NullHandler()]
        try:
            self._run(function, events, outcomes)
        finally:
            root.handlers = saved
        return outcomes

    def _run(self, function: str, events: Iterable[Any], outcomes: list[Outcome]) -> None:
        with self.cloud.invoker(function) as invoke:
            for event in events:
                response: Any = None
                error: Exception | None = None
                started = time.process_time()
                try:
                    response = invoke(event)
                except Exception as raised:  # judged by the checks: raising may be the contract
                    # kept without its traceback: 10,000 of them would keep every frame alive
                    error = raised.with_traceback(None)
                    error.__context__ = error.__cause__ = None
                text = self.log.getvalue()
                self.log.seek(0)
                self.log.truncate(0)
                # only the ERROR lines are kept: the checks read nothing else
                errors = [line for line in _lines(text) if line.get("level") == "ERROR"]
                outcome = Outcome(event, response, error, errors, time.process_time() - started)
                for secret in (CANARY, *self.pii):
                    if secret in text:
                        line = next(line for line in text.splitlines() if secret in line)
                        self.faults.append(
                            f"{function}: log carries {secret!r} in {line[:400]}: {outcome.describe()}"
                        )
                outcomes.append(outcome)

    def scan(self, table: str, **kwargs: Any) -> list[dict[str, Any]]:
        resource = self.container.client("dynamodb")  # a client: attribute values stay typed
        items: list[dict[str, Any]] = []
        pages = resource.get_paginator("scan").paginate(TableName=self.stack.physical[table], **kwargs)
        for page in pages:
            items.extend(page["Items"])
        return items

    def loan_ids(self, table: str) -> set[str]:
        return {str(next(iter(item["loan_id"].values()))) for item in self.scan(table) if "loan_id" in item}

    def queue_bodies(self, queue: str) -> list[str]:
        """The bodies of what `queue` holds, read from moto's state (receiving would hide them)."""
        from moto.sqs.models import sqs_backends

        name = self.stack.arns[queue].rsplit(":", 1)[-1]
        messages = sqs_backends["123456789012"]["us-east-1"].queues[name].messages
        return [message.body for message in messages]


def _lines(text: str) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for line in text.splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            parsed = {"raw": line}
        lines.append(parsed if isinstance(parsed, dict) else {"raw": line})
    return lines


def async_contract(function: str, outcomes: list[Outcome], bad: list[bool | None]) -> list[str]:
    """The faults of an EventBridge or schedule handler: an answer that is not JSON, a raise without an
    ERROR line naming the reason, a known-bad event accepted."""
    faults: list[str] = []
    for outcome, known_bad in zip(outcomes, bad, strict=True):
        if outcome.error is None:
            try:
                json.dumps(outcome.response)
            except (TypeError, ValueError):
                faults.append(f"{function}: answer is not JSON: {outcome.describe()}")
            if known_bad:
                faults.append(f"{function}: bad event accepted: {outcome.describe()}")
            continue
        if not any(line.get("reason") for line in outcome.errors()):
            faults.append(f"{function}: raised without an ERROR line naming the reason: {outcome.describe()}")
        if known_bad is False:
            faults.append(f"{function}: good event rejected: {outcome.describe()}")
    return faults


def batch_contract(
    function: str,
    outcomes: list[Outcome],
    bad: list[list[bool | None]],
    id_of: Callable[[Any], Any],
    reference: str,
    logged_as: Callable[[Any], Any],
    *,
    first_only: bool = False,
) -> list[str]:
    """The faults of a batch handler: a raise, an answer that is not a partial-batch response, a
    failed record without an ERROR line naming it (`reference`: the log key, `logged_as`: its value in
    the record) and the reason, a known-bad record not reported
    (`first_only`: a stream handler reporting the first bad record, from which Lambda retries)."""
    faults: list[str] = []
    for outcome, known in zip(outcomes, bad, strict=True):
        records = outcome.event.get("Records", []) if isinstance(outcome.event, Mapping) else []
        ids = [id_of(record) for record in records]
        log_ids = {id_of(record): str(logged_as(record)) for record in records}
        if outcome.error is not None:
            faults.append(f"{function}: raised on a batch: {outcome.describe()}")
            continue
        failures = outcome.response.get("batchItemFailures") if isinstance(outcome.response, dict) else None
        if not isinstance(failures, list) or not all(
            isinstance(f, dict) and set(f) == {"itemIdentifier"} for f in failures
        ):
            faults.append(f"{function}: not a partial-batch response: {outcome.describe()}")
            continue
        failed = [f["itemIdentifier"] for f in failures]
        logged = {
            str(line.get(reference)) for line in outcome.errors() if line.get("reason") or line.get("error")
        }
        for identifier in failed:
            if identifier not in ids:
                faults.append(f"{function}: failure {identifier!r} names no record: {outcome.describe()}")
            elif log_ids[identifier] not in logged:
                faults.append(
                    f"{function}: record {identifier} failed without a log line: {outcome.describe()}"
                )
        positions = [ids.index(i) for i in failed if i in ids]
        for index, known_bad in enumerate(known):
            if (
                known_bad
                and ids[index] not in failed
                and not (first_only and positions and min(positions) <= index)
            ):
                faults.append(f"{function}: bad record {ids[index]} not reported: {outcome.describe()}")
            if known_bad is False and ids[index] in failed and not first_only:
                faults.append(f"{function}: good record {ids[index]} reported failed: {outcome.describe()}")
    return faults


def unknown_loan_state(world: World) -> list[str]:
    """No loan item but the registered ones; no action, contact, payment, call task or field visit for
    any other loan. A loan the Loans stream announced (`World.streamed_loans`) may have actions, and
    the planner's record of a step it suppressed (a contact record that sent nothing); never a contact
    made."""
    faults: list[str] = []
    for table in ("LoansTable", "ActionsTable", "PaymentsTable"):
        known = {*KNOWN_LOANS, *(world.streamed_loans if table == "ActionsTable" else ())}
        extra = world.loan_ids(table) - known
        if extra:
            faults.append(f"{table} holds unknown loans: {sorted(extra)[:5]}")
    for item in world.scan("ContactsTable"):
        loan_id, status = item["loan_id"].get("S"), item.get("status", {}).get("S")
        if loan_id not in KNOWN_LOANS and not (loan_id in world.streamed_loans and status == "SUPPRESSED"):
            faults.append(f"ContactsTable holds a {status} contact for an unknown loan {loan_id}")
    for queue in ("CallTaskQueue", "FieldVisitQueue"):
        for body in world.queue_bodies(queue):
            if not any(loan_id in body for loan_id in KNOWN_LOANS):
                faults.append(f"{queue} holds a task for an unknown loan: {body[:300]}")
    return faults


MAX_DEPTH = 16
"""Deeper than any sample event (13 levels for a stream record) plus the junk the mutations add."""


def assert_trees(generated: Iterable[Any]) -> None:
    """Every event a tree of at most `MAX_DEPTH` levels, no container shared by two places or events."""
    seen: set[int] = set()
    kept = []  # alive, so that no id is reused
    for event in generated:
        assert tree_depth(event, seen) <= MAX_DEPTH
        kept.append(event)


def tree_depth(value: Any, seen: set[int]) -> int:
    """The nesting depth of `value`; raises if a container is reached twice (shared, or a cycle)."""
    if not isinstance(value, (dict, list)):
        return 0
    assert id(value) not in seen, f"a container reached twice: {str(value)[:200]}"
    seen.add(id(value))
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((tree_depth(child, seen) for child in children), default=0)
