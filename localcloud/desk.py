"""The collector's desk of the local world: agents, a field collector, a supervisor and a compliance
officer working through the staff API over HTTP on 127.0.0.1 (docs/api.md, "The collector's desk").

`SimulatedDesk` is seeded from the run's seed; nothing here decides a rule (the API's use cases do):

* day one, 00:15 UTC: the supervisor records certifications (`PUT /staff/members/{id}/certifications/{kind}`):
  a CN and a US agent for calls, a field collector for visits, and an agent whose training expired
  (every claim of theirs answers 403 `certification_expired`);
* shifts at fixed UTC hours (`Agent.shifts_utc`: mornings and early afternoons in Shanghai and New
  York; the lapsed agent once a day): each agent claims up to `CLAIMS_PER_SHIFT` call tasks of their
  regions (`POST /staff/tasks/claim`), reads the talk track, and when the borrower's local time is in the
  task's window reports the call (`POST /staff/tasks/{id}/attempts`): the borrower's answer comes from
  the behaviour model the dialer asks too (`localcloud.reactions.ReactingBorrowers.desk_call`: who
  answers, and on a conversation a promise for the borrower's date (capped at the policy's latest),
  hardship with its reason code, a dispute); a borrower the model does not drive answers with the
  dialer's mix. Outside the window, or once after the first day (the agent is called away), the task
  is left and its lease runs out (back 45 minutes later, the agent claims that pool again and gets it
  `reclaimed`);
* a borrower who does not promise to pay in full on a conversation (hardship, a plan asked for, an
  income shock, or no promise) is offered a plan on the call (`POST /staff/loans/{id}/plans`,
  `PLAN_INSTALMENTS` weekly instalments); the model says whether they take it; beyond the agent's
  limits it is referred to the supervisor (`localcloud.plan_voices` decides it and pays the
  instalments as the model says);
* the first `COMPLAINERS` borrowers a desk agent reached complain about the call
  (`POST /me/loans/{id}/complaints`, `contact_conduct`);
* the field collector claims CN visits and reports each with a partner and a recording, the outcome
  drawn from the field team's mix (`localcloud.dialer.VISIT_OUTCOMES`) and told to the model;
* compliance, daily at 03:00 UTC, reads the complaints due within 60 days and answers all but the
  first CN one (left open near its 15-day deadline: the daily check's `ComplaintsNearDeadline` counts
  it), extending the next CN one (+30 days) before answering it.

`desk_summary` is summary.json's `desk` block.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from arrears.config.borrower_requests import borrower_request_policy
from localcloud.behaviour_model import hardship_reason
from localcloud.borrower_voice import BorrowerIntent, IntentKind, reach_arrears
from localcloud.dialer import RESULTS, VISIT_OUTCOMES
from localcloud.http_api import HttpAnswer, LocalHttpApi, http_call
from localcloud.reactions import DeskCallAnswer

RETURN_AFTER = timedelta(minutes=45)  # an agent called away comes back (the 30-minute lease has run out)
SHIFT_MINUTE = 0  # with the dialer's polls (the simulation runs the desk first): both take from the queue
CLAIMS_PER_SHIFT = 2  # per agent: the desk takes a share, the dialer the rest
COMPLAINERS = 3
COMPLIANCE_AT_UTC = time(3, 0)
NOT_REACHED = {"connected_other": "wrong_party"}  # the dialer contract's result -> the desk's disposition
PLAN_EVERY_DAYS = 7  # a plan offered on a call: weekly instalments (a pay cycle)
PLAN_INSTALMENTS = {False: 2, True: 4}  # how many: 4 for a borrower in a shock or hardship, else 2


@dataclass(frozen=True)
class Agent:
    staff_id: str
    kind: str  # "call" or "visit"
    regions: tuple[str, ...]
    certified_on: str
    shifts_utc: tuple[int, ...]  # the UTC hours a shift starts (at minute SHIFT_MINUTE)
    expires_on: str | None = None


CN_REGIONS = ("Shanghai", "Beijing", "Guangdong", "Sichuan", "Xinjiang")
US_REGIONS = ("NY", "MA", "WA", "IL", "CO", "CA", "AK", "HI")
AGENTS = (
    # 08:00 (as the contact window opens and the morning's tasks are queued) and 14:00 in Shanghai;
    # 19:00 and 09:00 (EST) in New York.
    Agent("S-AGENT-CN-01", "call", CN_REGIONS, "2026-01-05", (0, 6)),
    Agent("S-AGENT-US-01", "call", US_REGIONS, "2026-01-05", (0, 14)),
    Agent("S-AGENT-LAPSED", "call", ("NY",), "2025-01-02", (0,), "2025-12-31"),
    # 08:00, 10:00 and 19:00 in Shanghai (a borrower's own hours may be the evening's)
    Agent("S-FIELD-CN-01", "visit", CN_REGIONS, "2026-01-05", (0, 2, 11)),
)
SUPERVISOR, COMPLIANCE = "S-SUPERVISOR-01", "S-COMPLIANCE-01"


@dataclass
class DeskStats:
    calls: Counter[str] = field(default_factory=Counter)  # "<route> <status>"
    claims: Counter[str] = field(default_factory=Counter)  # leased / reclaimed / <refusal code>
    dispositions: Counter[str] = field(default_factory=Counter)
    breaches: int = 0
    leases_left_to_expire: int = 0
    visits: Counter[str] = field(default_factory=Counter)
    talk_tracks: Counter[str] = field(default_factory=Counter)  # "<track_id>@<version>"
    certifications: int = 0
    complaints_made: int = 0
    complaints_answered: int = 0
    complaints_extended: int = 0
    complaints_left_open: list[str] = field(default_factory=list)
    deadline_checks: list[dict[str, Any]] = field(default_factory=list)
    plans: Counter[str] = field(default_factory=Counter)  # plans offered on calls, by answer


class Borrowers(Protocol):
    """The called borrowers (`localcloud.reactions.ReactingBorrowers`): the dialer's and the desk's."""

    def desk_call(self, borrower_id: str, timezone: str, now: datetime) -> DeskCallAnswer | None: ...
    def takes_plan(self, borrower_id: str) -> bool: ...
    def field_visited(self, body: dict[str, Any], outcome: str, now: datetime) -> None: ...


class Plans(Protocol):
    """Who follows a negotiated plan (`localcloud.plan_voices.ApiVoice`): payments, the supervisor."""

    def negotiated(
        self, loan_id: str, borrower_id: str, request_id: str, details: dict[str, Any], at: datetime
    ) -> None: ...


class SimulatedDesk:
    def __init__(self, api: LocalHttpApi, seed: int, owners: dict[str, str]) -> None:
        self.api = api
        self.borrowers: Borrowers | None = None  # None: the dialer's mix, nobody listening
        self.plans: Plans | None = None
        self.owners = owners  # loan id -> borrower id (the book's: a complaint is the borrower's own)
        self.retry: tuple[Agent, str] | None = None
        self.rng = random.Random(seed * 104729 + 7)
        self.stats = DeskStats()
        self.certified = False
        self.first_day: date | None = None
        self.abandoned = False
        self.complained: set[str] = set()
        self.seen_complaints: list[str] = []

    # -- when ------------------------------------------------------------------------------------

    def moments(self, begin: datetime, end: datetime) -> Iterator[tuple[datetime, str]]:
        hours = sorted({hour for agent in AGENTS for hour in agent.shifts_utc})
        day = begin.date()
        while (midnight := datetime.combine(day, time(0), tzinfo=UTC)) < end:
            for hour in hours:
                moment = midnight + timedelta(hours=hour, minutes=SHIFT_MINUTE)
                if begin < moment < end:
                    yield moment, "desk-shift"
                if begin < moment + RETURN_AFTER < end:
                    yield moment + RETURN_AFTER, "desk-return"
            day += timedelta(days=1)
        day = begin.date()
        while (at := datetime.combine(day, COMPLIANCE_AT_UTC, tzinfo=UTC)) < end:
            if at > begin:
                yield at, "desk-compliance"
            day += timedelta(days=1)

    def handle(self, kind: str) -> None:
        if not self.certified:
            self._certify()
        if kind == "desk-shift":
            self._shift()
        elif kind == "desk-return":
            self._return()
        else:
            self._compliance()

    def _return(self) -> None:
        """The agent called away is back: one claim in the region they left (the task, reclaimed)."""
        if self.retry is None:
            return
        (agent, region), self.retry = self.retry, None
        token = self.api.issuer.staff_token(agent.staff_id, "agent")
        now = self.api.cloud.clock
        answer = self._call(
            "claim",
            "POST",
            "/staff/tasks/claim",
            token,
            {"kind": agent.kind, "region": region},
            self._key("claim-back", agent.staff_id[-8:], now.strftime("%Y%m%dT%H%M")),
        )
        if answer.status == 200:
            task = answer.json()
            self.stats.claims["reclaimed" if task["reclaimed"] else "leased"] += 1
            self._work_call(agent, token, task, now)

    def observe_deadline_check(self, response: Any) -> None:
        """The daily complaint-deadlines check's answer (counts only), for the summary."""
        if isinstance(response, dict) and "due_soon" in response:
            self.stats.deadline_checks.append(dict(response))

    # -- HTTP --------------------------------------------------------------------------------------

    def _call(
        self, label: str, method: str, path: str, token: str, body: Any = None, key: str = ""
    ) -> HttpAnswer:
        answer = http_call(
            method,
            self.api.url + path,
            token=token,
            body=body,
            headers={"Idempotency-Key": key} if key else {},
        )
        self.stats.calls[f"{label} {answer.status}"] += 1
        return answer

    def _key(self, *parts: str) -> str:
        return "-".join(["desk", *parts])[:64]

    # -- the supervisor ---------------------------------------------------------------------------

    def _certify(self) -> None:
        boss = self.api.issuer.staff_token(SUPERVISOR, "supervisor")
        for agent in AGENTS:
            body = {
                "certified_on": agent.certified_on,
                **({"expires_on": agent.expires_on} if agent.expires_on else {}),
            }
            answer = self._call(
                "certify",
                "PUT",
                f"/staff/members/{agent.staff_id}/certifications/{agent.kind}",
                boss,
                body,
                self._key("cert", agent.staff_id),
            )
            self.stats.certifications += answer.status == 200
        self.certified = True

    # -- agents and the field collector -----------------------------------------------------------

    def _shift(self) -> None:
        now = self.api.cloud.clock
        self.first_day = self.first_day or now.date()
        for agent in AGENTS:
            if now.hour in agent.shifts_utc:
                self._agent_shift(agent, now)

    def _agent_shift(self, agent: Agent, now: datetime) -> None:
        role = "agent" if agent.kind == "call" else "field"
        token = self.api.issuer.staff_token(agent.staff_id, role)
        claims = 0
        for region in agent.regions:
            while claims < CLAIMS_PER_SHIFT:
                stamp = now.strftime("%Y%m%dT%H%M")
                answer = self._call(
                    "claim",
                    "POST",
                    "/staff/tasks/claim",
                    token,
                    {"kind": agent.kind, "region": region},
                    self._key("claim", agent.staff_id[-8:], region[:8], stamp, str(claims)),
                )
                if answer.status != 200:
                    # A 5xx (a fault the run injected, or a defect) has no machine-readable code: the
                    # agent counts it by status and ends the shift, as a person facing an error would.
                    body = answer.json() if answer.status < 500 else {}
                    code = str(body.get("error", {}).get("code") or f"http_{answer.status}")
                    if code != "no_task":
                        self.stats.claims[code] += 1
                    if answer.status == 403:
                        return  # not trained (or no longer): no task is offered in any region
                    break
                claims += 1
                task = answer.json()
                self.stats.claims["reclaimed" if task["reclaimed"] else "leased"] += 1
                if agent.kind == "call":
                    self._work_call(agent, token, task, now)
                else:
                    self._work_visit(token, task)

    def _in_window(self, task: dict[str, Any], now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(task["timezone"])).strftime("%H:%M")
        start, end = task["call_window_local"]
        before = datetime.strptime(task["call_before"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return start <= local < end and now < before - timedelta(minutes=10)

    def _work_call(self, agent: Agent, token: str, task: dict[str, Any], now: datetime) -> None:
        task_id = task["task_id"]
        track = self._call("talk_track", "GET", f"/staff/tasks/{task_id}/talk-track", token)
        if track.status == 200:
            self.stats.talk_tracks[f"{track.json()['track_id']}@{track.json()['version']}"] += 1
        later_day = self.first_day is not None and now.date() > self.first_day
        if not self.abandoned and later_day:
            self.abandoned = True
            self.retry = (agent, task["region"])  # back 45 minutes later, once the lease has run out
            self.stats.leases_left_to_expire += 1
            return  # the agent is called away: the lease runs out and the task is offered again
        if not self._in_window(task, now):
            self.stats.leases_left_to_expire += 1
            return
        borrower_id = self._borrower_of(task["loan_id"]) or ""
        heard = self.borrowers.desk_call(borrower_id, task["timezone"], now) if self.borrowers else None
        if heard is None:  # a borrower the model does not drive: the dialer's own mix, nobody listening
            result = self.rng.choices([r for r, _ in RESULTS], [w for _, w in RESULTS])[0]
            heard = DeskCallAnswer(result, result == "connected_borrower")
        body = self._disposition(heard, task, borrower_id, now)
        disposition = str(body["disposition"])
        answer = self._call(
            "attempt",
            "POST",
            f"/staff/tasks/{task_id}/attempts",
            token,
            body,
            self._key("att", task_id[:24], now.strftime("%Y%m%dT%H%M"), str(self.stats.calls["attempt 200"])),
        )
        if answer.status != 200:
            return
        self.stats.dispositions[disposition] += 1
        self.stats.breaches += bool(answer.json()["breach"])
        said = {intent.kind for intent in heard.said}
        if heard.conversation and not said & {"promise_to_pay", "dispute"}:
            # No promise to pay in full: the agent offers a plan (longer for a borrower in a shock).
            self._offer_plan(token, task, borrower_id, now, long=not heard.pays_in_full or "hardship" in said)
        reached = disposition in ("right_party", "refused", "promise_to_pay")
        if reached and len(self.complained) < COMPLAINERS and task["loan_id"] not in self.complained:
            self._complain_about_the_call(task)

    def _disposition(
        self, heard: DeskCallAnswer, task: dict[str, Any], borrower_id: str, now: datetime
    ) -> dict[str, Any]:
        """The attempt's body: the call's result as a disposition and what the borrower said on it."""
        if heard.result != "connected_borrower":
            return {"disposition": NOT_REACHED.get(heard.result, heard.result)}
        said = {intent.kind: intent for intent in heard.said}
        if "dispute" in said:
            return {"disposition": "dispute", "dispute_reason": "wrong_amount"}
        if "hardship" in said:
            return {"disposition": "hardship", "hardship_reason": hardship_reason(borrower_id)}
        promise = said.get("promise_to_pay")
        if promise is not None and promise.until is not None:
            # The agent takes the borrower's date, or the latest the policy allows (agreed on the call).
            today = now.astimezone(ZoneInfo(task["timezone"])).date()
            policy = borrower_request_policy(task["jurisdiction"], today)
            latest = today + timedelta(days=policy.promise_max_days)
            return {
                "disposition": "promise_to_pay",
                "pay_on": min(promise.until, latest).isoformat(),
                "amount_minor": task["amount_due_minor"],
            }
        return {"disposition": "right_party"}

    def _offer_plan(
        self, token: str, task: dict[str, Any], borrower_id: str, now: datetime, *, long: bool
    ) -> None:
        """The borrower did not promise to pay in full: the agent offers a plan (`PLAN_EVERY_DAYS`
        apart, longer for a borrower in a shock); taken or not is the model's answer. Too small to
        split that many ways (400 `plan_instalment_too_small`): one instalment fewer. Beyond the
        agent's limits: referred to the supervisor (`localcloud.plan_voices` decides it)."""
        if self.borrowers is None or not self.borrowers.takes_plan(borrower_id):
            self.stats.plans["declined_by_borrower"] += 1
            return
        loan_id = task["loan_id"]
        for count in range(PLAN_INSTALMENTS[long], 1, -1):
            body = {"instalments": count, "every_days": PLAN_EVERY_DAYS, "beyond_agent_limits": "refer"}
            answer = self._call(
                "plan",
                "POST",
                f"/staff/loans/{loan_id}/plans",
                token,
                body,
                self._key("plan", loan_id, now.strftime("%Y%m%dT%H%M"), str(count)),
            )
            code = answer.json().get("error", {}).get("code", "") if 400 <= answer.status < 500 else ""
            if code == "plan_instalment_too_small":
                continue
            if answer.status not in (200, 201):
                self.stats.plans[code or f"http_{answer.status}"] += 1
                return
            details = answer.json()["details"]
            self.stats.plans[f"{details['status']}"] += 1
            if self.plans is not None:
                self.plans.negotiated(loan_id, borrower_id, answer.json()["request_id"], details, now)
            return
        self.stats.plans["too_small_to_split"] += 1

    def _complain_about_the_call(self, task: dict[str, Any]) -> None:
        loan_id = task["loan_id"]
        owner = self._borrower_of(loan_id)
        if owner is None:
            return
        intent = BorrowerIntent(
            IntentKind.COMPLAINT,
            owner,
            loan_id,
            {"category": "contact_conduct", "text": "The collector called me at work."},
            self._key("complaint", loan_id),
        )
        answer = reach_arrears(self.api, intent)
        self.stats.calls[f"borrower_complaint {answer.status}"] += 1
        if answer.status in (200, 201):
            self.complained.add(loan_id)
            self.stats.complaints_made += 1

    def _borrower_of(self, loan_id: str) -> str | None:
        return self.owners.get(loan_id)

    def _work_visit(self, token: str, task: dict[str, Any]) -> None:
        """The visit, with the field team's outcome mix (`localcloud.dialer.VISIT_OUTCOMES`); the
        borrower's model hears of it as of any visit. Outside the task's lawful local windows the
        collector leaves it (the lease runs out; a later shift claims it again, `reclaimed`)."""
        now = self.api.cloud.clock
        local = now.astimezone(ZoneInfo(task["timezone"])).strftime("%H:%M")
        if not any(start <= local < end for start, end in task["visit_windows_local"]):
            self.stats.visits["left_outside_its_windows"] += 1
            return
        partner = f"S-FIELD-CN-{self.rng.randrange(2, 9):02d}"
        outcome = self.rng.choices([o for o, _ in VISIT_OUTCOMES], [w for _, w in VISIT_OUTCOMES])[0]
        body = {
            "outcome": outcome,
            "collector_ids": [partner],
            "recording_ref": f"REC-DESK-{task['task_id'][:16]}",
        }
        answer = self._call(
            "visit",
            "POST",
            f"/staff/tasks/{task['task_id']}/visit",
            token,
            body,
            self._key("visit", task["task_id"][:24]),
        )
        if answer.status == 200:
            self.stats.visits["flagged" if answer.json()["breaches"] else "kept_the_rules"] += 1
            self.stats.visits[f"outcome:{outcome}"] += 1
            if self.borrowers is not None:
                self.borrowers.field_visited({"loan_id": task["loan_id"]}, outcome, self.api.cloud.clock)

    # -- compliance --------------------------------------------------------------------------------

    def _compliance(self) -> None:
        officer = self.api.issuer.staff_token(COMPLIANCE, "compliance")
        due = self._call("complaints_due", "GET", "/staff/complaints/due?warn_days=60", officer)
        if due.status != 200:
            return
        for complaint in due.json()["complaints"]:
            rid = complaint["request_id"]
            if rid not in self.seen_complaints:
                self.seen_complaints.append(rid)
            if not self.stats.complaints_left_open and complaint["jurisdiction"] == "CN":
                self.stats.complaints_left_open.append(rid)
            if rid in self.stats.complaints_left_open:
                continue  # left open: the daily check counts it once it is near its deadline (15 days)
            if complaint["jurisdiction"] == "CN" and not self.stats.complaints_extended:
                extended = self._call(
                    "complaint_extension",
                    "POST",
                    f"/staff/complaints/{rid}/extension",
                    officer,
                    {"reason": "complex_case"},
                    self._key("ext", rid),
                )
                self.stats.complaints_extended += extended.status == 200
            answered = self._call(
                "complaint_response",
                "POST",
                f"/staff/complaints/{rid}/response",
                officer,
                {
                    "outcome": self.rng.choice(("upheld", "partly_upheld", "not_upheld")),
                    "text": "Reviewed the call.",
                },
                self._key("ans", rid),
            )
            self.stats.complaints_answered += answered.status == 200


def desk_summary(desk: SimulatedDesk) -> dict[str, Any]:
    """summary.json's `desk` block: what the desk did over HTTP and what it caused."""
    s = desk.stats
    last = s.deadline_checks[-1] if s.deadline_checks else {}
    return {
        "api_calls": dict(sorted(s.calls.items())),
        "claims": dict(sorted(s.claims.items())),
        "lease_expiries": s.claims.get("reclaimed", 0),
        "leases_left_to_expire": s.leases_left_to_expire,
        "claims_refused": {
            k: v for k, v in sorted(s.claims.items()) if k.startswith(("certification", "no_cert"))
        },
        "dispositions": dict(sorted(s.dispositions.items())),
        "attempts_in_breach": s.breaches,
        "talk_tracks": dict(sorted(s.talk_tracks.items())),
        "visits": dict(sorted(s.visits.items())),
        # plans the agents offered on calls where the borrower could not pay in full, by answer:
        # active (agreed inside the agent's limits), queued (referred to the supervisor), declined...
        "plans_offered_on_calls": dict(sorted(s.plans.items())),
        "certifications_recorded": s.certifications,
        "complaints": {
            "made_after_desk_calls": s.complaints_made,
            "answered": s.complaints_answered,
            "extended": s.complaints_extended,
            "left_open": len(s.complaints_left_open),
            "deadline_checks": len(s.deadline_checks),
            "near_deadline_at_last_check": int(last.get("due_soon", 0)),
            "overdue_at_last_check": int(last.get("overdue", 0)),
            "max_near_deadline": max((int(c["due_soon"]) for c in s.deadline_checks), default=0),
        },
    }
