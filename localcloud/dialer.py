"""The simulated dialer and field collectors of the local cloud: the other side of the dialer contract.

The dialer consumes call tasks from moto's `CallTaskQueue` (and their withdrawals), makes attempts
with seeded outcomes inside what each task allows (attempts and connected calls left today, the
contact window, the expiry) and reports **every** attempt as a `CallAttempted` event on
LoanEventsBus, through the real `call-outcomes` handler. The field collectors consume
`FieldVisitQueue`, visit inside the task's lawful windows with seeded crews (now and then one
collector short or no recording, so the pack check has something to flag) and report each visit as
`FieldVisitReported`. Everything derives from the run's seed; nothing here decides a rule: the
handlers judge and the archive proves (docs/contracts.md, "The dialer contract").

The field team takes visit tasks once a day (`FIELD_POLL`): the desk's field collector
(`localcloud.desk`) claims the ones queued before their shift from the same queue.

The simulation drives it: `polls` are its queue reads (every `POLL_EVERY`), each handled event returns
the later events it schedules (`(moment, kind, args)`), which the simulation queues by time.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import boto3

from arrears.domain.calendar import format_utc, parse_utc
from arrears.events.dialer import DIALER_SOURCE, FIELD_SOURCE, CallTask
from localcloud.cloud import LocalCloud, visible_messages
from localcloud.stack import LocalStack

POLL_EVERY = timedelta(minutes=30)
# The field team (an agency) takes the visit tasks once a day, at 07:30 in Shanghai, for its next days'
# routes; the desk's own field collector claims from the same queue on their shifts (localcloud.desk).
FIELD_POLL = time(23, 30)
ATTEMPTS_PER_TASK = 3  # the dialer's own policy, within what the task allows
RESULTS = (  # (result, weight): a collections dialer's typical mix
    ("no_answer", 34),
    ("busy", 8),
    ("voicemail", 14),
    ("connected_borrower", 28),
    ("connected_other", 7),
    ("wrong_number", 3),
    ("refused", 6),
)
VISIT_OUTCOMES = (("met_borrower", 30), ("promise_to_pay", 25), ("not_home", 35), ("refused", 10))
SHORT_CREW, UNRECORDED = 0.08, 0.06  # how often a crew is one collector short / forgets to record

Scheduled = tuple[datetime, str, tuple[Any, ...]]


class BorrowerSide(Protocol):
    """The called borrowers (`localcloud.reactions.ReactingBorrowers`)."""

    def call_result(self, task: CallTask, now: datetime) -> tuple[str, bool] | None: ...
    def call_attempted(self, task: CallTask, result: str, conversation: bool, now: datetime) -> None: ...
    def field_visited(self, body: dict[str, Any], outcome: str, now: datetime) -> None: ...


KINDS = ("dialer-poll", "call-attempt", "field-visit")


@dataclass
class DialerStats:
    call_tasks_received: int = 0
    call_tasks_withdrawn: int = 0
    attempts_reported: int = 0
    attempts_accepted: int = 0
    attempts_rejected: int = 0
    connected: int = 0
    conversations: int = 0
    visit_tasks_received: int = 0
    visits_withdrawn: int = 0
    visits_reported: int = 0
    visits_accepted: int = 0
    visits_flagged: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(vars(self).items()))


@dataclass
class _Task:
    task: CallTask
    made: int = 0
    connected: int = 0
    withdrawn: bool = False
    calls: list[str] = field(default_factory=list)


def _local_instant(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    if hhmm == "24:00":
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)


class SimulatedDialer:
    """The dialer and the field collectors, seeded: see the module docstring."""

    def __init__(self, cloud: LocalCloud, stack: LocalStack, seed: int) -> None:
        self.cloud = cloud
        self.rng = random.Random(seed * 7919 + 13)
        self.sqs = boto3.client("sqs")
        self.call_queue = stack.physical["CallTaskQueue"]
        self.visit_queue = stack.physical["FieldVisitQueue"]
        self.tasks: dict[str, _Task] = {}
        self.visits: dict[str, dict[str, Any]] = {}
        self.stats = DialerStats()
        # The borrowers' side (localcloud.reactions): who answers a call, and what each attempt and
        # visit was; None: the dialer's own seeded mix, nobody listening.
        self.borrowers: BorrowerSide | None = None

    def polls(self, begin: datetime, end: datetime) -> Iterator[Scheduled]:
        moment = begin + POLL_EVERY
        while moment < end:
            yield moment, "dialer-poll", ()
            moment += POLL_EVERY

    def handle(self, kind: str, args: tuple[Any, ...], now: datetime) -> list[Scheduled]:
        if kind == "dialer-poll":
            return self._poll(now)
        if kind == "call-attempt":
            return self._attempt(args[0], now)
        return self._visit(args[0], now)

    # -- queues -----------------------------------------------------------------------------

    def _receive(self, url: str) -> Iterator[dict[str, Any]]:
        if visible_messages(url.rsplit("/", 1)[-1]) == 0:
            return
        while True:
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return
            for message in messages:
                yield json.loads(message["Body"])
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def _poll(self, now: datetime) -> list[Scheduled]:
        later: list[Scheduled] = []
        for body in self._receive(self.call_queue):
            if body.get("type") == "CANCEL_CALL_TASK":
                held = self.tasks.get(str(body["action_id"]))
                if held is not None:
                    held.withdrawn = True
                    self.stats.call_tasks_withdrawn += 1
                continue
            task = CallTask.model_validate(body)  # the contract: a task that does not parse fails the demo
            if task.task_id in self.tasks:
                continue  # a redelivered task: the dialer deduplicates on the task id
            self.tasks[task.task_id] = _Task(task)
            self.stats.call_tasks_received += 1
            first = self._next_slot(task, max(now, parse_utc(task.queued_at)) + self._gap(1, 20))
            if first is not None:
                later.append((first, "call-attempt", (task.task_id,)))
        for body in self._receive(self.visit_queue) if now.time() == FIELD_POLL else ():
            if body.get("type") == "CANCEL_FIELD_VISIT":
                if self.visits.pop(str(body["action_id"]), None) is not None:
                    self.stats.visits_withdrawn += 1
                continue
            self.stats.visit_tasks_received += 1
            when = self._visit_time(body, now)
            if when is not None:
                self.visits[str(body["action_id"])] = body
                later.append((when, "field-visit", (str(body["action_id"]),)))
        return later

    # -- calls ------------------------------------------------------------------------------

    def _gap(self, low: int, high: int) -> timedelta:
        return timedelta(minutes=self.rng.randrange(low, high))

    def _next_slot(self, task: CallTask, at: datetime) -> datetime | None:
        """`at` if the task may still be dialled then (inside its window, before it expires), else None."""
        zone = ZoneInfo(task.timezone)
        day = at.astimezone(zone).date()
        opens, closes = (_local_instant(day, hhmm, zone) for hhmm in task.call_window_local)
        at = max(at, opens)
        if at >= closes or at >= parse_utc(task.expires_at):
            return None
        return at

    def _attempt(self, task_id: str, now: datetime) -> list[Scheduled]:
        held = self.tasks[task_id]
        task = held.task
        if held.withdrawn:
            return []
        allowed = task.attempts_left_today if task.attempts_left_today is not None else ATTEMPTS_PER_TASK
        names = [r for r, _ in RESULTS]
        weights = [w for _, w in RESULTS]
        result = self.rng.choices(names, weights)[0]
        answer = self.borrowers.call_result(task, now) if self.borrowers is not None else None
        if answer is not None:
            result = answer[0]
        answered = result in ("connected_borrower", "connected_other", "wrong_number", "refused")
        connected_left = task.connected_left_today
        if answered and connected_left is not None and held.connected >= connected_left:
            result = "no_answer"  # never over the connected cap: the dialer stops once reached (below)
            answered = False
        conversation = result == "connected_borrower" and self.rng.random() < 0.7
        if answer is not None:
            conversation = result == "connected_borrower" and answer[1]
        held.made += 1
        held.connected += answered
        last = (
            held.made >= min(allowed, ATTEMPTS_PER_TASK)
            or conversation
            or result in ("wrong_number", "refused")
            or (connected_left is not None and held.connected >= connected_left)
        )
        call_id = f"CALL-{task_id[:12]}-{held.made}"
        held.calls.append(call_id)
        detail = {
            "call_id": call_id,
            "task_id": task_id,
            "attempt": held.made,
            "started_at": format_utc(now),
            "result": result,
            "conversation": conversation,
            "task_done": last,
        }
        self.stats.attempts_reported += 1
        responses = self.cloud.put_event("LoanEventsBus", DIALER_SOURCE, "CallAttempted", detail)
        if any(isinstance(r, dict) for r in responses):
            self.stats.attempts_accepted += 1
            self.stats.connected += answered
            self.stats.conversations += conversation
            if self.borrowers is not None:
                self.borrowers.call_attempted(task, result, conversation, now)
        else:
            self.stats.attempts_rejected += 1
        if last:
            return []
        following = self._next_slot(task, now + self._gap(45, 150))
        return [] if following is None else [(following, "call-attempt", (task_id,))]

    # -- field visits -----------------------------------------------------------------------

    def _visit_time(self, body: dict[str, Any], now: datetime) -> datetime | None:
        """A time inside the task's lawful local windows on one of the next two days, before its deadline."""
        zone = ZoneInfo(str(body["timezone"]))
        day = now.astimezone(zone).date() + timedelta(days=self.rng.choice((1, 1, 2)))
        start, end = self.rng.choice(body["visit_windows_local"])
        opens, closes = _local_instant(day, start, zone), _local_instant(day, end, zone)
        span = int((closes - opens).total_seconds() // 60)
        if span <= 30:
            return None
        when = opens + timedelta(minutes=self.rng.randrange(0, span - 30))
        return when if when < parse_utc(str(body["deadline"])) else None

    def _visit(self, action_id: str, now: datetime) -> list[Scheduled]:
        body = self.visits.pop(action_id, None)
        if body is None:
            return []  # withdrawn in the meantime
        needed = int(body["requirements"]["min_collectors"])
        crew = needed - 1 if needed > 1 and self.rng.random() < SHORT_CREW else needed
        recorded = not body["requirements"]["recording_required"] or self.rng.random() >= UNRECORDED
        visit_id = f"VISIT-{action_id[:16]}"
        first = self.rng.randrange(1, 40)  # a crew of distinct collectors of the region
        collectors = [f"COL-{body['region']}-{first + n:02d}" for n in range(crew)]
        detail = {
            "visit_id": visit_id,
            "task_id": action_id,
            "visited_at": format_utc(now),
            "collector_ids": collectors,
            "recording_ref": f"REC-{visit_id}" if recorded else None,
            "outcome": self.rng.choices([o for o, _ in VISIT_OUTCOMES], [w for _, w in VISIT_OUTCOMES])[0],
        }
        self.stats.visits_reported += 1
        responses = self.cloud.put_event("LoanEventsBus", FIELD_SOURCE, "FieldVisitReported", detail)
        answers = [r for r in responses if isinstance(r, dict)]
        self.stats.visits_accepted += bool(answers)
        if answers and self.borrowers is not None:
            self.borrowers.field_visited(body, str(detail["outcome"]), now)
        self.stats.visits_flagged += any(a.get("breaches") for a in answers)
        return []
