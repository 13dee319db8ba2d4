"""The collector's desk: claim a task (leased), report a call or a visit, read the talk track,
record training.

* `claim_task`: a staff member with a current certification for the task kind leases the oldest
  task of their pool (`<kind>#<region>`) for `LEASE_FOR`. The pool is fed from the dispatcher's
  queue (`CallTaskQueue`, `FieldVisitQueue`): a claim that finds its pool empty takes messages into
  the Desk table one at a time until one is for its pool (at most `intake_batch`; a message is removed
  from its queue only once pooled). A task whose action is no
  longer SENT (withdrawn, superseded) or that expired is retired, never offered. The claim answers
  what the role needs to do the work: the phone number to call (agent) or the address to visit
  (field) read from the Borrowers table inside the function, never a name or an e-mail.
* `report_desk_attempt`: one call attempt through `arrears.usecases.call_outcomes.report_call_attempt`
  (the same path as the dialer's `CallAttempted`, judged at the instant it is reported), with the
  agent's staff id on the archived record; a promise, dispute or hardship the borrower gave on the call
  is recorded through the borrower-request use cases (the same policy, hold and archive as the
  borrower's own request). Then the lease ends: the task is closed, or given back to the pool.
* `report_desk_visit`: one visit through `arrears.usecases.field_visits.report_field_visit`.
* `desk_talk_track`: the talk track of a leased task (`arrears.domain.desk.TalkTracks`).
* `record_certification`: a supervisor records a staff member's training.

Complaint answers are `arrears.usecases.complaints`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from arrears.adapters.borrower_requests import BorrowerRequestRepository
from arrears.adapters.desk import DeskRepository, TaskIntake
from arrears.config.rulepacks import rule_pack_in_force
from arrears.config.talk_tracks import talk_tracks
from arrears.domain.actions import ActionStatus
from arrears.domain.borrower_requests import HardshipReason
from arrears.domain.calendar import format_utc
from arrears.domain.call_attempts import CallAttempt, CallResult
from arrears.domain.desk import (
    CERTIFICATION_VALID_DAYS,
    LEASE_FOR,
    TRAINING_SOURCE,
    Certification,
    TaskKind,
    TrackReason,
    certification_refusal,
    lease_expired,
)
from arrears.domain.field_visits import FieldVisit, VisitOutcome
from arrears.usecases import borrower_requests as requests_uc
from arrears.usecases.borrower_requests import BorrowerApiPorts, RequestOutcome
from arrears.usecases.call_outcomes import CallOutcomeResult, report_call_attempt
from arrears.usecases.dispatch import DispatchPorts
from arrears.usecases.field_visits import FieldVisitResult, report_field_visit


class DeskRefused(Exception):
    """A desk request that cannot be done: `status` (403, 404, 409), a machine-readable `code`."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.field = field


@dataclass(frozen=True)
class DeskPorts:
    desk: DeskRepository
    intake: TaskIntake
    dispatch: Callable[[], DispatchPorts]
    borrower_api: Callable[[], BorrowerApiPorts]
    requests: BorrowerRequestRepository
    now: Callable[[], datetime]
    intake_batch: int = field(default=10)


# -- claims -------------------------------------------------------------------------------------


def _pool(kind: TaskKind, region: str) -> str:
    return f"{kind.value}#{region}"


def _intake(ports: DeskPorts, kind: TaskKind, region: str, now: datetime) -> int:
    """Take messages of the kind's queue into the pool, one at a time, until one is for `pool` (the
    caller's) or `ports.intake_batch` were taken: the desk takes what it needs, and the tasks of other
    regions it passed over wait in their pools for those regions' collectors. The number pooled."""
    pooled = 0
    for _ in range(ports.intake_batch):
        received = ports.intake.receive(kind.value, 1)
        if not received:
            break
        body, receipt = received[0]
        kind_of = str(body.get("type", ""))
        if kind_of not in ("CALL_TASK", "FIELD_VISIT"):
            # A withdrawal: the pooled task is retired at claim time (its action is no longer SENT);
            # the message goes back for the dialer or the field team that may hold the task.
            ports.intake.put_back(kind.value, receipt)
            continue
        task_id = str(body.get("task_id") or body["action_id"])
        if kind is TaskKind.CALL:
            borrower = ports.dispatch().borrowers.get(str(body["borrower_id"]))
            task_region = borrower.region if borrower is not None else "unknown"
            expires = str(body["expires_at"])
        else:
            task_region = str(body.get("region") or "unknown")
            expires = str(body["deadline"])
        item = {
            "kind": kind.value,
            "pool": _pool(kind, task_region),
            "region": task_region,
            "available_at": format_utc(now),
            "state": "OPEN",
            "expires_at": expires,
            "message": body,  # the queue's message: ids, amounts, windows; no name, phone or address
        }
        pooled += ports.desk.add_task(task_id, item)
        ports.intake.remove(kind.value, receipt)
        if task_region == region:
            break
    return pooled


def _still_workable(ports: DeskPorts, task: dict[str, Any], now: datetime) -> bool:
    """False (and the task retired) when it expired or its action is no longer SENT."""
    if str(task["expires_at"]) <= format_utc(now):
        ports.desk.close(str(task["task_id"]), "EXPIRED", lease_id=None, handled_by=None)
        return False
    action = ports.dispatch().actions.get(str(task["task_id"]))
    if action is None or action.status is not ActionStatus.SENT:
        ports.desk.close(str(task["task_id"]), "WITHDRAWN", lease_id=None, handled_by=None)
        return False
    return True


@dataclass(frozen=True)
class Claimed:
    """A claim's answer: the task (what the role needs), whether a lease had run out on it before
    (`reclaimed`), whether this answers a retry of an earlier claim (`replayed`)."""

    task: dict[str, Any]
    reclaimed: bool
    replayed: bool


def certification_of(ports: DeskPorts, staff_id: str, kind: TaskKind) -> Certification | None:
    item = ports.desk.certification(staff_id, kind.value)
    if item is None:
        return None
    return Certification(
        staff_id,
        kind,
        date.fromisoformat(str(item["certified_on"])),
        date.fromisoformat(str(item["expires_on"])),
        str(item.get("recorded_by", "")),
    )


def _work_view(ports: DeskPorts, task: dict[str, Any], kind: TaskKind) -> dict[str, Any]:
    """The task as its worker sees it: the queue message's working fields, the lease, and the one
    piece of personal data the role needs (agent: the phone number; field: the address)."""
    message = dict(task["message"])
    view: dict[str, Any] = {
        "task_id": task["task_id"],
        "kind": kind.value,
        "region": task["region"],
        "leased_until": task.get("leased_until"),
        "loan_id": message["loan_id"],
        "jurisdiction": message["jurisdiction"],
        "amount_due_minor": message["amount_due_minor"],
        "currency": message["currency"],
        "dpd": message["dpd"],
        "bucket": message["bucket"],
        "timezone": message["timezone"],
    }
    action = ports.dispatch().actions.get(str(task["task_id"]))
    borrower_id = action.borrower_id if action is not None else str(message.get("borrower_id", ""))
    borrower = ports.dispatch().borrowers.get(borrower_id)
    if kind is TaskKind.CALL:
        view.update(
            {
                "language": message["language"],
                "step": action.step_id if action is not None else "",
                "call_window_local": list(message["call_window_local"]),
                "call_before": message["call_before"],
                "attempts_left_today": message["attempts_left_today"],
                "connected_left_today": message["connected_left_today"],
                "expires_at": message["expires_at"],
                "phone": borrower.phone if borrower is not None else "",
            }
        )
    else:
        view.update(
            {
                "language": borrower.language if borrower is not None else "",
                "step": action.step_id if action is not None else "",
                "visit_windows_local": [list(w) for w in message["visit_windows_local"]],
                "requirements": dict(message["requirements"]),
                "expires_at": message["deadline"],
                "address": borrower.address if borrower is not None else "",
            }
        )
    return view


def claim_task(ports: DeskPorts, staff_id: str, kind: TaskKind, region: str, request_id: str) -> Claimed:
    """Lease the oldest claimable task of the pool `kind`/`region` to `staff_id`.

    Raises `DeskRefused`: 403 `no_certification` / `certification_expired` /
    `certification_not_yet_valid` (`arrears.domain.desk.certification_refusal`), 404 `no_task` when
    the pool has nothing to offer now. A retry with the same request id answers the same task while
    the lease it took holds.
    """
    now = ports.now()
    refusal = certification_refusal(certification_of(ports, staff_id, kind), kind, now.date())
    if refusal is not None:
        raise DeskRefused(
            403, refusal, f"a current {kind.value} certification is required ({TRAINING_SOURCE})", "kind"
        )
    earlier = ports.desk.claimed(request_id)
    if earlier is not None:
        task = ports.desk.task(earlier)
        if task is not None and task.get("lease_id") == request_id and task.get("state") == "OPEN":
            return Claimed(_work_view(ports, task, kind), False, True)
    until = format_utc(now + LEASE_FOR)
    for _ in range(3):  # a page lost to other claims is read again, a few times
        offered = ports.desk.offered(_pool(kind, region), format_utc(now))
        if not offered and _intake(ports, kind, region, now):
            offered = ports.desk.offered(_pool(kind, region), format_utc(now))
        if not offered:
            break
        for candidate in offered:
            if not _still_workable(ports, candidate, now):
                continue
            leased = ports.desk.lease(
                str(candidate["task_id"]),
                str(candidate["available_at"]),
                staff_id=staff_id,
                lease_id=request_id,
                until=until,
            )
            if leased is None:
                continue  # another claim took it first
            ports.desk.remember_claim(request_id, str(candidate["task_id"]))
            reclaimed = lease_expired(candidate.get("leased_until"), now)
            return Claimed(_work_view(ports, leased, kind), reclaimed, False)
    raise DeskRefused(404, "no_task", "no task to offer in this pool now", "region")


def _leased_task(
    ports: DeskPorts, staff_id: str, task_id: str, kind: TaskKind, report: str = ""
) -> tuple[dict[str, Any], bool]:
    """The task `staff_id` holds the lease of (a run-out lease nobody else took still counts: the
    call was made), and whether `report` is a retry of the report that ended the lease (then it is
    replayed: each of its writes is idempotent). `DeskRefused` 404 `no_task` / 409 `not_leased_to_you`."""
    task = ports.desk.task(task_id)
    if task is None or task.get("kind") != kind.value:
        raise DeskRefused(404, "no_task", "no such desk task")
    last = str(task.get("last_report") or "")
    if report and task.get("last_staff") == staff_id and last.partition("|")[0] == report.partition("|")[0]:
        if last != report:
            raise DeskRefused(
                409,
                "idempotency_key_reused",
                "this Idempotency-Key was used for another report",
                "idempotency-key",
            )
        return task, True
    if task.get("state") != "OPEN" or task.get("staff_id") != staff_id:
        raise DeskRefused(409, "not_leased_to_you", "the task is not leased to the caller (claim it first)")
    return task, False


# -- call attempts ------------------------------------------------------------------------------

DISPOSITION_RESULTS: dict[str, tuple[CallResult, bool]] = {
    # disposition -> (the dialer contract's result, a conversation held)
    "right_party": (CallResult.CONNECTED_BORROWER, True),
    "promise_to_pay": (CallResult.CONNECTED_BORROWER, True),
    "dispute": (CallResult.CONNECTED_BORROWER, True),
    "hardship": (CallResult.CONNECTED_BORROWER, True),
    "wrong_party": (CallResult.CONNECTED_OTHER, False),
    "wrong_number": (CallResult.WRONG_NUMBER, False),
    "no_answer": (CallResult.NO_ANSWER, False),
    "busy": (CallResult.BUSY, False),
    "voicemail": (CallResult.VOICEMAIL, False),
    "refused": (CallResult.REFUSED, False),
}
"""Each desk disposition as the dialer contract's result: one counting and judging path for both."""


@dataclass(frozen=True)
class DeskAttempt:
    """What an agent reports about one call: the disposition and, for a promise, dispute or hardship,
    what the borrower said (`pay_on` + `amount_minor`, `dispute_reason`, `hardship_reason`)."""

    disposition: str
    task_done: bool = False
    pay_on: date | None = None
    amount_minor: int | None = None
    dispute_reason: str | None = None
    hardship_reason: HardshipReason | None = None


@dataclass(frozen=True)
class DeskAttemptResult:
    call_id: str
    outcome: CallOutcomeResult
    request: RequestOutcome | None
    lease: str  # "closed" (the task is done) or "released" (back in the pool)
    replayed: bool = False  # a retry of a report already applied


def _request(
    ports: DeskPorts, borrower_id: str, loan_id: str, rid: str, report: DeskAttempt, at: datetime
) -> RequestOutcome | None:
    api = ports.borrower_api()
    if report.disposition == "promise_to_pay" and report.pay_on is not None and report.amount_minor:
        return requests_uc.promise_to_pay(
            api, borrower_id, loan_id, rid, pay_on=report.pay_on, amount_minor=report.amount_minor, at=at
        )
    if report.disposition == "dispute" and report.dispute_reason:
        return requests_uc.dispute(api, borrower_id, loan_id, rid, reason=report.dispute_reason, at=at)
    if report.disposition == "hardship" and report.hardship_reason is not None:
        return requests_uc.report_hardship(
            api, borrower_id, loan_id, rid, reason=report.hardship_reason, text="", at=at
        )
    return None


def report_desk_attempt(
    ports: DeskPorts, staff_id: str, task_id: str, report: DeskAttempt, request_id: str
) -> DeskAttemptResult:
    """Count, judge and archive the agent's call on its leased task, record what the borrower said,
    and end the lease (closed when the task is done, else given back to the pool).

    The call id is fixed by the request id, so a retry counts the call once. Raises `DeskRefused`,
    `RequestRefused` (a promise outside the policy: nothing is counted), `RejectedAttempt`.
    """
    now = ports.now()
    tag = f"{request_id}|{report.disposition}"  # a retry must report the same thing
    task, replayed = _leased_task(ports, staff_id, task_id, TaskKind.CALL, tag)
    message = dict(task["message"])
    result, conversation = DISPOSITION_RESULTS[report.disposition]
    # What the borrower said first: a promise outside the policy is refused (`RequestRefused`) before
    # anything is written, so the agent corrects it and reports again with nothing to undo.
    request = _request(ports, str(message["borrower_id"]), str(message["loan_id"]), request_id, report, now)
    call_id = f"DESK-{hashlib.sha256(request_id.encode()).hexdigest()[:24]}"
    attempt = CallAttempt(
        call_id,
        task_id,
        None,
        now,
        result,
        conversation,
        report.task_done,
        staff_ids=(staff_id,),
    )
    outcome = report_call_attempt(attempt, ports.dispatch())
    done = report.task_done or result.ends_task or conversation or outcome.task_closed
    if not replayed:
        lease_id = str(task.get("lease_id", ""))
        if done:
            ports.desk.close(task_id, "DONE", lease_id=lease_id, handled_by=staff_id, report=tag)
        else:
            ports.desk.release(task_id, lease_id, format_utc(now), report=tag, staff_id=staff_id)
    return DeskAttemptResult(call_id, outcome, request, "closed" if done else "released", replayed)


# -- field visits -------------------------------------------------------------------------------


def report_desk_visit(
    ports: DeskPorts,
    staff_id: str,
    task_id: str,
    *,
    collector_ids: tuple[str, ...],
    recording_ref: str | None,
    outcome: VisitOutcome,
    request_id: str,
) -> FieldVisitResult:
    """The collector's visit on its leased field task, through `report_field_visit` (checked against
    the pack in force now: hours, collectors present, recording). The reporting collector is always
    among the collectors present. The task is closed."""
    now = ports.now()
    tag = f"{request_id}|{outcome.value}"
    task, replayed = _leased_task(ports, staff_id, task_id, TaskKind.FIELD, tag)
    crew = tuple(sorted({staff_id, *collector_ids}))
    visit = FieldVisit(f"DESK-{request_id[:24]}", task_id, now, crew, recording_ref, outcome)
    result = report_field_visit(visit, ports.dispatch())
    if not replayed:
        lease_id = str(task.get("lease_id", ""))
        ports.desk.close(task_id, "DONE", lease_id=lease_id, handled_by=staff_id, report=tag)
    return result


# -- talk tracks --------------------------------------------------------------------------------


def _reason_of(ports: DeskPorts, loan_id: str, step: str, on: date) -> TrackReason:
    loan = ports.borrower_api().loans.get(loan_id)
    if loan is not None:
        holds = loan.holds
        if holds.dispute_open:
            return TrackReason.DISPUTE
        if holds.hardship_until is not None and holds.hardship_until >= on:
            return TrackReason.HARDSHIP
    if step.startswith("ptp-broken"):
        return TrackReason.BROKEN_PROMISE
    return TrackReason.STANDARD


def desk_talk_track(
    ports: DeskPorts, staff_id: str, task_id: str, reason: TrackReason | None
) -> dict[str, Any]:
    """The talk track of the caller's leased call task: the script for its step, the borrower's
    language and `reason` (by default from the loan: an open dispute, a hardship pause, a broken
    promise, else standard), with the compliance lines of every layer of the borrower's composed pack
    in force now. Placeholders the desk knows (`{amount_due}`, `{dpd}`) are filled."""
    now = ports.now()
    task, _ = _leased_task(ports, staff_id, task_id, TaskKind.CALL)
    message = dict(task["message"])
    action = ports.dispatch().actions.get(task_id)
    step = action.step_id if action is not None else ""
    borrower = ports.dispatch().borrowers.get(str(message["borrower_id"]))
    pack = rule_pack_in_force(
        str(message["jurisdiction"]), now, address_state=borrower.region if borrower is not None else ""
    )
    chosen = reason or _reason_of(ports, str(message["loan_id"]), step, now.date())
    track = talk_tracks().track_for(
        step, chosen, str(message["language"]), pack.layers or (pack.ref,), pack.ref
    )
    view = track.as_dict()
    amount = f"{int(message['amount_due_minor']) / 100:.2f} {message['currency']}"
    view["script"] = [
        line.replace("{amount_due}", amount).replace("{dpd}", str(message["dpd"])) for line in view["script"]
    ]
    return view


# -- training -----------------------------------------------------------------------------------


def record_certification(
    ports: DeskPorts,
    staff_id: str,
    kind: TaskKind,
    *,
    certified_on: date,
    expires_on: date | None,
    recorded_by: str,
) -> Certification:
    """Record `staff_id`'s training for `kind` (by the supervisor `recorded_by`); valid for a year
    unless `expires_on` says otherwise (`CERTIFICATION_VALID_DAYS`, `TRAINING_SOURCE`). Raises
    `DeskRefused` 400 `expiry_before_training` or `validity_too_long` (over the yearly retraining)."""
    until = expires_on or certified_on + timedelta(days=CERTIFICATION_VALID_DAYS)
    if until < certified_on:
        raise DeskRefused(400, "expiry_before_training", "expires_on is before certified_on", "expires_on")
    if until > certified_on + timedelta(days=CERTIFICATION_VALID_DAYS):
        raise DeskRefused(
            400, "validity_too_long", f"training is renewed yearly ({TRAINING_SOURCE})", "expires_on"
        )
    ports.desk.put_certification(
        staff_id,
        kind.value,
        {
            "certified_on": certified_on.isoformat(),
            "expires_on": until.isoformat(),
            "recorded_by": recorded_by,
            "recorded_at": format_utc(ports.now()),
            "source": TRAINING_SOURCE,
        },
    )
    return Certification(staff_id, kind, certified_on, until, recorded_by)
