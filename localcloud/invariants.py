"""What must hold after every run of the local cloud, faults or not, checked on what moto really holds.

`EffectLog` counts the external effects moto's SNS and SQS really received (an SMS to a phone, a
message on a topic, a task on a queue), each keyed by the action it carries out; `recover` does what
an operator does after the failure-queue alarms (docs/runbooks): replays stream failures, re-sends
failed asynchronous events, redrives the dead-letter queues; `check` then reads the tables, the
exported archive and the queues and returns the invariants block of summary.json:

* every planned action is in exactly one terminal status with its contact record, or legitimately
  waiting (DEFERRED to a later instant);
* each external effect happened at most once per action, and once for every action SENT (an action
  recorded SENT "unconfirmed" may have no effect: docs/reliability.md, "the window that remains");
* every contact record is in the archive exactly once, and the archive verifies (`arrears-audit
  verify`, the auditors' own tool, and the chain heads against the newest manifests);
* nothing is left in a failure queue after the redrive;
* money is conserved: every loan reflects exactly the payments of its ledger in force.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from arrears.adapters.items import action_from_item, loan_from_item, plain
from arrears.adapters.payments_ledger import entry_from_item
from arrears.adapters.tables import all_items
from arrears.domain.actions import Action, ActionStatus, last_contact
from arrears.domain.archive import Manifest
from arrears.domain.ledger import reflects
from arrears.domain.loans import Loan
from localcloud.dialer_audit import archive_audit
from localcloud.wheel import loans_off_the_wheel

if TYPE_CHECKING:
    from localcloud.simulation import Simulation

TERMINAL = frozenset(
    {ActionStatus.SENT, ActionStatus.SUPPRESSED, ActionStatus.CANCELLED, ActionStatus.FAILED}
)
UNCONFIRMED = "unconfirmed"
"""Reason prefix of a SENT action whose send may or may not have reached the channel."""
FAILURE_QUEUES = (
    "StreamFailureQueue",
    "AsyncFailureQueue",
    "CallTaskDLQ",
    "FieldVisitDLQ",
    "SweepTasksDLQ",
    "ReportingSegmentsDLQ",
)
REDRIVE_ROUNDS = 12
"""How many times the operator redrives while a failure queue still holds something (the alarm stays
on). A replayed stream batch makes progress record by record (each record before the first one
that fails again is done), so a long batch replayed under faults needs several rounds: 6 left a
100-record planner batch of transient failures behind in a 100-loan run at 5 % (fault seed 5). A
failure that no redrive can clear stays, named in `left_in_failure_queues`, whatever the rounds."""
DEAD_LETTER_SOURCES = (
    ("CallTaskDLQ", "CallTaskQueue"),
    ("FieldVisitDLQ", "FieldVisitQueue"),
    ("SweepTasksDLQ", "SweepTasksQueue"),
    ("ReportingSegmentsDLQ", "ReportingSegmentsQueue"),
)
RELEASE_EVERY = timedelta(minutes=15)
OPERATOR_DELAY = timedelta(hours=1)
"""How long after the run the operator redrives (past every in-progress claim of a dead invocation)."""


@dataclass
class EffectLog:
    """External effects as moto's SNS and SQS applied them: (kind, target, key) -> count.

    kind SMS: key = (phone, SHA-256 of the body) (an SMS carries no action id); TOPIC and QUEUE:
    key = the message's `action_id`. Only the task queues named in `queues` count (not the failure
    queues, not the sweep's own tasks).
    """

    queues: frozenset[str] = frozenset()
    effects: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    @contextlib.contextmanager
    def recording(self) -> Iterator[EffectLog]:
        from moto.sns.models import SNSBackend
        from moto.sqs.models import Queue

        publish, add_message = SNSBackend.publish, Queue.add_message
        log = self

        def recorded_publish(backend: Any, message: str, arn: str | None, *args: Any, **kwargs: Any) -> str:
            message_id = publish(backend, message, arn, *args, **kwargs)
            phone = kwargs.get("phone_number") or (args[0] if args else None)
            if phone:
                log.effects[("SMS", str(phone), hashlib.sha256(message.encode()).hexdigest())] += 1
            else:
                action_id = _action_id(message)
                if action_id:
                    log.effects[("TOPIC", str(arn).rsplit(":", 1)[-1], action_id)] += 1
            return str(message_id)

        def recorded_add(queue: Any, message: Any) -> None:
            add_message(queue, message)
            if queue.name in log.queues and message in queue._messages:
                action_id = _action_id(message.body)
                if action_id:
                    log.effects[("QUEUE", queue.name, action_id)] += 1

        SNSBackend.publish = recorded_publish  # type: ignore[method-assign,assignment]
        Queue.add_message = recorded_add  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            SNSBackend.publish = publish  # type: ignore[method-assign]
            Queue.add_message = add_message  # type: ignore[method-assign]


WITHDRAWALS = frozenset({"CANCEL_CALL_TASK", "CANCEL_FIELD_VISIT"})
"""The planner's messages withdrawing a task already handed off (docs/contracts.md): not a contact."""


def _action_id(body: str) -> str:
    try:
        parsed = json.loads(body)
    except (TypeError, ValueError):
        return ""
    if not isinstance(parsed, dict) or parsed.get("type") in WITHDRAWALS:
        return ""  # a withdrawal tells the dialer or the collectors to drop a task: no contact of its own
    return str(parsed.get("action_id", ""))


def _scan(table: str) -> list[dict[str, Any]]:
    return list(all_items(boto3.resource("dynamodb").Table(table).scan))


def _queue_depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


# -- the operator's redrive --------------------------------------------------------------------


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)


def _redrive_once(sim: Simulation, sqs: Any, moved: Counter[str]) -> None:
    cloud = sim.cloud
    physical = sim.stack.physical
    for message in _drain(sqs, physical["StreamFailureQueue"]):
        moved["StreamFailureQueue"] += 1
        cloud.replay_stream_failure(json.loads(message["Body"]))
    for message in _drain(sqs, physical["AsyncFailureQueue"]):
        moved["AsyncFailureQueue"] += 1
        failure = json.loads(message["Body"])
        function = str(failure["requestContext"]["functionArn"]).split(":")[6]
        if function not in ("DeferredReleaseFunction", "SweepDeadlineFunction"):
            cloud.invoke_async(function, failure["requestPayload"])
    for dlq, source in DEAD_LETTER_SOURCES:
        if dlq not in physical:
            continue
        for message in _drain(sqs, physical[dlq]):
            moved[dlq] += 1
            request: dict[str, Any] = {"QueueUrl": physical[source], "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                request["MessageAttributes"] = message["MessageAttributes"]
            if physical[source].endswith(".fifo"):
                attributes = message.get("Attributes", {})
                request["MessageGroupId"] = attributes.get("MessageGroupId", "redrive")
                request["MessageDeduplicationId"] = attributes.get(
                    "MessageDeduplicationId", message["MessageId"]
                )
            sqs.send_message(**request)


def redrive_during_run(sim: Simulation, moved: Counter[str]) -> bool:
    """The operator's answer to a failure-queue alarm during the run (`OPERATOR_DELAY` after it, as
    docs/runbooks say), so a fault run is compared with the fault-free run on what the faults delay by
    an hour, not by the rest of the run: whatever the failure queues hold is redriven once (`moved`
    counts it by queue) and the cloud settles. False, and nothing done, when every queue is empty."""
    sqs = boto3.client("sqs")
    physical = sim.stack.physical
    if not any(_queue_depth(sqs, physical[q]) for q in FAILURE_QUEUES if q in physical):
        return False
    _redrive_once(sim, sqs, moved)
    sim.cloud.settle()
    return True


def recover(sim: Simulation) -> dict[str, int]:
    """The operator's response to the failure-queue alarms, as docs/runbooks describe it, an hour
    after the run: each stream batch replayed through its consumer (`arrears-ops
    replay-stream-failures`), each failed asynchronous event sent again (a sweep re-run for its
    date, a payment, hold or call outcome re-published; a deferred release or deadline check left to
    the next run), each dead-letter queue redriven to its source (`arrears-ops redrive`). The
    15-minute release keeps firing meanwhile. Repeated while a round still leaves something in a
    failure queue or a deferred action due (faults keep happening during the redrive). Returns what
    was redriven, by queue."""
    cloud = sim.cloud
    sqs = boto3.client("sqs")
    physical = sim.stack.physical
    moved: Counter[str] = Counter()
    ticks = int(OPERATOR_DELAY / RELEASE_EVERY)
    for round_ in range(REDRIVE_ROUNDS + ticks):
        # The 15-minute release keeps firing meanwhile (it may fail too: the next tick retries).
        cloud.advance_to(cloud.clock + RELEASE_EVERY)
        cloud.schedule("DeferredReleaseFunction")
        if round_ < ticks - 1:
            continue  # the operator comes an hour after the run
        if not any(_queue_depth(sqs, physical[q]) for q in FAILURE_QUEUES if q in physical):
            if round_ >= ticks and sim._deferred_tick_is_idle(cloud.clock):
                break
            continue
        _redrive_once(sim, sqs, moved)
        cloud.settle()
    return dict(sorted(moved.items()))


# -- the checks --------------------------------------------------------------------------------


def failure_kind(queue: str, body: str) -> tuple[str, str, str]:
    """(function, event kind, error) of one failure-queue message, for the operator's tally.

    The event kind is the bus event's `detail-type` (a schedule: `Scheduled Event`), a stream
    failure's table stream, or a queue message's `type`/`kind`; the error is the failure's exception
    name only (an error message may quote an id or a value, never put in summary.json)."""
    try:
        failure = json.loads(body)
    except (TypeError, ValueError):
        return "", "not JSON", ""
    if not isinstance(failure, dict):
        return "", "not an object", ""
    context = failure.get("requestContext") or {}
    function = str(context.get("functionArn", "")).split(":")[6:7]
    if "DDBStreamBatchInfo" in failure:
        stream = str(failure["DDBStreamBatchInfo"].get("streamArn", ""))
        return (function or [""])[0], "stream " + stream.split("/")[1 if "/" in stream else 0], ""
    if "requestPayload" in failure:
        payload = failure.get("requestPayload") or {}
        kind = str(payload.get("detail-type", "")) or (
            "SNS" if "Records" in payload else "schedule" if "schedule" in payload else "?"
        )
        message = str((failure.get("responsePayload") or {}).get("errorMessage", ""))
        return (function or [""])[0], kind, message.split(":", 1)[0]
    return queue, str(failure.get("type") or failure.get("kind") or "?"), ""


def failure_queue_contents(sim: Simulation) -> list[dict[str, Any]]:
    """What is still in the failure queues, by queue, function, event kind and error, with a count:
    each failure that the redrive did not clear, named (never hidden behind a depth)."""
    from moto.sqs.models import sqs_backends

    from localcloud.cloud import ACCOUNT, REGION

    queues = sqs_backends[ACCOUNT][REGION].queues
    tally: Counter[tuple[str, str, str, str]] = Counter()
    for logical in FAILURE_QUEUES:
        physical = sim.stack.physical.get(logical)
        if physical is None:
            continue
        queue = queues.get(physical.rsplit("/", 1)[-1])
        for message in getattr(queue, "_messages", []):
            tally[(logical, *failure_kind(logical, message.body))] += 1
    return [
        {"queue": q, "function": f, "event": e, "error": err, "count": n}
        for (q, f, e, err), n in sorted(tally.items())
    ]


def _archive_lines(archive: Path) -> tuple[Counter[str], list[Manifest]]:
    archived: Counter[str] = Counter()
    manifests: list[Manifest] = []
    for path in sorted(archive.rglob("*.manifest.json")):
        manifest = Manifest.from_bytes(path.read_bytes())
        manifests.append(manifest)
        data = archive / manifest.object_key
        if data.is_file():
            for line in gzip.decompress(data.read_bytes()).splitlines():
                if line.strip():
                    archived[str(json.loads(line)["contact_id"])] += 1
    return archived, manifests


def _verify(archive: Path) -> tuple[bool, str]:
    """`arrears-audit verify --dir <archive>`: the auditors' own check, run as they run it."""
    argv = [sys.executable, "-m", "arrears_cli.audit"]
    # The same code as this process (its sys.path), whichever checkout or install that is
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run(  # noqa: S603 (our own console script, fixed arguments)
        [*argv, "verify", "--dir", str(archive)], capture_output=True, text=True, check=False, env=env
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return done.returncode == 0, lines[-1] if lines else done.stderr.strip()[-300:]


def arm_assignment(loans: Sequence[Loan], actions: Sequence[Action]) -> dict[str, int]:
    """summary.json's `invariants.arms`: the borrowers (per jurisdiction), those with several loans,
    and what must be 0: borrowers whose loans are split across champion/challenger arms (the borrower
    is the unit of randomisation, `CollectionPlaybook.assign_arm`) and actions planned under another
    arm than their loan's."""
    arms_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    loans_of: Counter[tuple[str, str]] = Counter()
    for loan in loans:
        arms_of[(loan.borrower_id, loan.jurisdiction)].add(loan.strategy_arm)
        loans_of[(loan.borrower_id, loan.jurisdiction)] += 1
    arm_of_loan = {loan.loan_id: loan.strategy_arm for loan in loans}
    return {
        "borrowers": len(arms_of),
        "borrowers_with_several_loans": sum(1 for n in loans_of.values() if n > 1),
        "borrowers_split_across_arms": sum(1 for names in arms_of.values() if len(names) > 1),
        "actions_in_another_arm_than_their_loan": sum(
            1 for a in actions if a.loan_id in arm_of_loan and a.strategy_arm != arm_of_loan[a.loan_id]
        ),
    }


def check(sim: Simulation, archive: Path, effects: EffectLog) -> dict[str, Any]:
    """The invariants block of summary.json: each figure, and `ok` when every one holds."""
    settings = sim.settings
    now = sim.cloud.clock
    actions = [action_from_item(item) for item in _scan(settings.actions_table)]
    contacts = [plain(item) for item in _scan(settings.contacts_table)]
    records = {str(c["contact_id"]) for c in contacts}
    # An action's own record: the dispatch's (a call attempt or a field visit reported later is a record
    # of its own, with its `result`, and does not settle the action again)
    terminal_records: Counter[str] = Counter(
        str(c["action_id"])
        for c in contacts
        if c["status"] in {s.value for s in TERMINAL} and not c.get("result")
    )
    # Every number a borrower had during the run: the current one, an erased borrower's (localcloud.erasures)
    # and the ones the lending core replaced (localcloud.lending_core): a text went to the number of its day.
    phones: dict[str, set[str]] = defaultdict(set)
    for borrower in map(plain, _scan(settings.borrowers_table)):
        phones[str(borrower["borrower_id"])].add(str(borrower.get("phone", "")))
    for pseudonym, number in sim.erasures.phones_by_pseudonym.items():
        phones[pseudonym].add(number)
    for borrower_id, old, _new in sim.lending_core.stats.phone_changes:
        phones[borrower_id].add(old)

    by_status: Counter[str] = Counter()
    stuck: Counter[str] = Counter()
    without_record = 0
    per_action: dict[str, int] = {}
    sms_keys: dict[tuple[str, str], list[str]] = defaultdict(list)
    for action in actions:
        by_status[action.status.value] += 1
        contact = last_contact(action)
        if action.status in TERMINAL and (contact is None or contact.contact_id not in records):
            without_record += 1
        if action.record_pending:
            stuck["record_pending"] += 1
        elif action.status is ActionStatus.PENDING:
            stuck["PENDING"] += 1
        elif action.status is ActionStatus.DEFERRED and action.not_before <= now - timedelta(minutes=15):
            stuck["DEFERRED_past_due"] += 1
        if action.channel.value == "SMS" and action.last_outcome and action.last_outcome.message_sha256:
            for number in phones.get(action.borrower_id) or {""}:
                sms_keys[(number, action.last_outcome.message_sha256)].append(action.action_id)
        per_action[action.action_id] = 0
    unattributed = 0
    for (kind, _target, key), count in effects.effects.items():
        if kind == "SMS":
            owners = sms_keys.get((_target, key), [])
            # Identical bodies to one phone (never seen in the demo) are shared among their actions.
            for n, owner in enumerate(owners):
                per_action[owner] += count // len(owners) + (1 if n < count % len(owners) else 0)
            unattributed += count if not owners else 0
        elif key in per_action:
            per_action[key] += count
        else:
            unattributed += count
    duplicates = sum(n - 1 for n in per_action.values() if n > 1)
    status = {a.action_id: a for a in actions}
    lost = unconfirmed_delivered = unconfirmed_not_delivered = effect_without_send = 0
    for action_id, n in per_action.items():
        action = status[action_id]
        if action.status is ActionStatus.SENT:
            if action.reason.startswith(UNCONFIRMED):
                unconfirmed_delivered += int(n >= 1)
                unconfirmed_not_delivered += int(n == 0)
            elif n == 0:
                lost += 1
        elif n:
            effect_without_send += 1

    archived, manifests = _archive_lines(archive)
    verified, verify_line = _verify(archive)
    # The caps and frequency limits recounted from the archive alone (localcloud.dialer_audit).
    audited = archive_audit(archive)
    exceeded = {
        "call_caps": audited["call_caps_from_archive"]["violations_total"],
        "contact_limits": audited["contact_limits_from_archive"]["violations_total"],
    }
    newest: dict[str, int] = {}
    for manifest in manifests:
        newest[manifest.jurisdiction] = max(newest.get(manifest.jurisdiction, 0), manifest.seq)
    chain = boto3.resource("dynamodb").Table(sim.stack.physical["ArchiveChainTable"])
    heads_behind = 0
    for jurisdiction, seq in newest.items():
        head = chain.get_item(Key={"jurisdiction": jurisdiction}, ConsistentRead=True).get("Item")
        heads_behind += int(head is None or int(str(head["seq"])) != seq)

    sqs = boto3.client("sqs")
    left = {q: _queue_depth(sqs, sim.stack.physical[q]) for q in FAILURE_QUEUES if q in sim.stack.physical}

    ledgers: dict[str, list[Any]] = defaultdict(list)
    for item in _scan(settings.payments_table):
        ledgers[str(item["loan_id"])].append(entry_from_item(item))
    loans = [loan_from_item(item) for item in _scan(settings.loans_table)]
    unbalanced = sum(1 for loan in loans if not reflects(loan, ledgers.get(loan.loan_id, [])))
    paid_in: Counter[str] = Counter()
    for entries in ledgers.values():
        for entry in entries:
            if not entry.reversed:
                paid_in[entry.currency] += entry.amount_minor

    arms = arm_assignment(loans, actions)
    figures: dict[str, Any] = {
        "actions": {
            "total": len(actions),
            "by_status": dict(sorted(by_status.items())),
            "terminal_without_contact_record": without_record,
            "more_than_one_terminal_record": sum(1 for n in terminal_records.values() if n > 1),
            "stuck": dict(sorted(stuck.items())),
        },
        "effects": {
            "delivered": sum(effects.effects.values()),
            "by_kind": dict(sorted(Counter(k for k, _, _ in effects.effects.elements()).items())),
            "duplicates": duplicates,
            # The actions delivered more than once (ids only, no personal data): where to look first.
            "duplicated_actions": sorted(a for a, n in per_action.items() if n > 1)[:20],
            "sent_without_effect": lost,
            "effect_without_sent_action": effect_without_send,
            "unattributed": unattributed,
            "sent_unconfirmed_delivered": unconfirmed_delivered,
            "sent_unconfirmed_not_delivered": unconfirmed_not_delivered,
        },
        "archive": {
            "contact_records": len(records),
            "records_archived": sum(archived.values()),
            "missing": len(records - set(archived)),
            "archived_more_than_once": sum(1 for n in archived.values() if n > 1),
            # Their contact ids (no personal data) and the archive objects holding them: where to look.
            "archived_more_than_once_ids": sorted(c for c, n in archived.items() if n > 1)[:20],
            "not_a_contact_record": len(set(archived) - records),
            "verifies": verified,
            "verify": verify_line,
            "chain_heads_not_at_newest_manifest": heads_behind,
        },
        "limits_exceeded_in_archive": exceeded,
        "failure_queues_after_redrive": left,
        "left_in_failure_queues": failure_queue_contents(sim),
        # open loans with a milestone that neither ReviewIndex nor the sweep's due list holds
        "loans_off_the_timer_wheel": loans_off_the_wheel(
            _scan(settings.loans_table), _scan(sim.stack.physical["ReviewDueTable"])
        ),
        "arms": arms,
        "money": {
            "loans_not_reflecting_their_ledger": unbalanced,
            "paid_in_minor": dict(sorted(paid_in.items())),
        },
    }
    problems = [
        name
        for name, broken in (
            ("terminal_without_contact_record", without_record),
            ("more_than_one_terminal_record", figures["actions"]["more_than_one_terminal_record"]),
            ("stuck_actions", sum(stuck.values())),
            ("duplicate_effects", duplicates),
            ("sent_without_effect", lost),
            ("effect_without_sent_action", effect_without_send),
            ("unattributed_effects", unattributed),
            ("records_missing_from_archive", figures["archive"]["missing"]),
            ("records_archived_more_than_once", figures["archive"]["archived_more_than_once"]),
            ("archive_does_not_verify", not verified),
            ("chain_heads_behind", heads_behind),
            ("borrowers_split_across_arms", arms["borrowers_split_across_arms"]),
            ("actions_in_another_arm", arms["actions_in_another_arm_than_their_loan"]),
            ("call_caps_exceeded", exceeded["call_caps"]),
            ("contact_limits_exceeded", exceeded["contact_limits"]),
            ("failure_queues_not_empty", sum(left.values())),
            ("money_not_conserved", unbalanced),
            ("loans_off_the_timer_wheel", figures["loans_off_the_timer_wheel"]),
        )
        if broken
    ]
    return {"ok": not problems, "broken": problems, **figures}
