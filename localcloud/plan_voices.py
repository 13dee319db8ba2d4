"""Simulated borrowers' plan requests, complaints and hardship over HTTP; a supervisor; plan payments.

The behaviour model (`localcloud.behaviour_model`) decides *when* a borrower asks for a repayment plan,
complains or reports hardship; `ApiVoice` sends each through the borrower API over HTTP on 127.0.0.1
(`localcloud.borrower_voice.reach_arrears`, a token minted for the borrower):

* **a plan asked for**: the borrower reads the offers (`GET /me/loans/{id}/plans`) and asks for one
  (`POST /me/loans/{id}/plan-requests`): most ask for 2 or 3 instalments (agreed at once inside the
  auto-approval limits), one in three for the longest plan on offer (queued for a supervisor);
* **a complaint** (`contact_conduct`: they were contacted too often) and **hardship** (a reason code
  drawn per borrower: job loss, reduced income, illness, disaster, other), each once per loan.

So that a short run reaches every path, four borrowers behind on their loan are scripted: once past due
they ask for a short plan (2 instalments a week apart: agreed at once; one keeps it, one stops after the
first instalment), a longer one (4 instalments 5 days apart: queued for the supervisor), and a collector
agrees one with a fourth on a call (`POST /staff/loans/{id}/plans`, role agent, 3 instalments a week apart).

`daily(now)` once a simulated day: the scripted borrowers act, the supervisor decides the queued
requests of the day before (`POST /staff/plan-requests/{id}/decision`: three in four approved), and
each borrower on a plan pays the plan instalment that falls due (a keeper pays every instalment; the
others stop after the first, so their plan breaks), as a `PaymentReceived` from the lending core with
the instalment's amount.

`summary(archive)`: requests by outcome, decisions, and from the archive alone (`plans/`) plans agreed
(by who agreed them), instalments kept and missed, plans broken and completed; and the contacts the
planner made on the hardship branch (the receipts' `strategy.branch`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import boto3

from arrears.adapters.items import plain
from arrears.adapters.tables import all_items
from localcloud.behaviour_model import hardship_reason
from localcloud.book import BookEntry
from localcloud.borrower_voice import BEHIND, BorrowerIntent, IntentKind, SimulatedVoices, reach_arrears
from localcloud.cloud import LocalCloud
from localcloud.http_api import HttpAnswer, LocalHttpApi, http_call

LENDING_CORE = "arrears.lending-core"


def _draw(*parts: str) -> int:
    """A stable number in [0, 100) for these parts (the run is reproducible without a shared RNG)."""
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:4], "big") % 100


@dataclass
class _OnPlan:
    loan_id: str
    borrower_id: str
    timezone: str
    keeper: bool | None  # scripted: pays every instalment or stops after the first; None: the model says
    paid: set[int] = field(default_factory=set)
    missed: set[int] = field(default_factory=set)  # instalments the model said are not paid


class PlanPayers(Protocol):
    """The borrowers' model (`localcloud.reactions.ReactingBorrowers`): who pays a plan instalment."""

    def keeps_plan_instalment(self, loan_id: str, day: date) -> bool | None: ...
    def plan_agreed(self, loan_id: str) -> None: ...
    def plan_ended(self, loan_id: str, completed_on: date | None) -> None: ...


@dataclass
class PlanVoiceStats:
    calls: Counter[str] = field(default_factory=Counter)  # "<what> <status or outcome>" -> count


# (who asks, instalments, every_days, keeps paying): the scripted plans of a short run.
SCRIPT = (
    ("borrower", 2, 7, True),
    ("borrower", 2, 7, False),
    ("borrower", 4, 5, True),
    ("agent", 3, 7, True),
)


class ApiVoice:
    def __init__(
        self, cloud: LocalCloud, api: LocalHttpApi, book: Sequence[BookEntry], voices: SimulatedVoices
    ) -> None:
        self.cloud = cloud
        self.api = api
        # borrower id -> IANA zone (plan instalments fall on the borrower's dates)
        self.timezones = {e.borrower.borrower_id: e.borrower.timezone for e in book}
        self.stats = PlanVoiceStats()
        self.queued: list[tuple[str, datetime]] = []  # (request id, when asked)
        self.on_plan: dict[str, _OnPlan] = {}
        self.payers: PlanPayers | None = None  # the borrowers' model; None: the scripted draws
        self.referred_by_agents: set[str] = set()  # request ids an agent referred to the supervisor
        self._spoken: set[tuple[str, str]] = set()  # (kind, loan id): one complaint, one hardship per loan
        taken = {v.entry.borrower.borrower_id for v in voices.voices}
        # The loans behind that fall due first (a short run reaches their plans' instalments), the
        # smallest first: the shortest plans fit the auto-approval limits.
        # Not a borrower who opted out of every channel: the book's untold borrower (loan 2) shows the
        # bureau precondition holding their report, which a plan's hold would hide.
        behind = [
            e
            for e in book
            if e.behaviour in BEHIND
            and e.borrower.borrower_id not in taken
            and not e.borrower.opted_out_channels
        ]
        early = sorted(behind, key=lambda e: (e.loan.instalments[0].due_on, e.loan.loan_id))[
            : 2 * len(SCRIPT)
        ]
        early.sort(key=lambda e: (e.loan.principal_minor, e.loan.loan_id))
        self.scripted = list(zip(early, SCRIPT, strict=False))

    def _count(self, what: str, answer: HttpAnswer, detail: str = "") -> None:
        self.stats.calls[f"{what} {detail or answer.status}"] += 1

    # -- intents from the behaviour model ---------------------------------------------------------------

    def deliver(self, kind: str, borrower_id: str, loan_ids: Sequence[str], at: datetime) -> str:
        """Send one intent (`plan_request`, `complaint`, `hardship`) for each of the borrower's loans."""
        for loan_id in loan_ids:
            if kind == "plan_request":
                self._ask_plan(borrower_id, loan_id, at)
            elif (kind, loan_id) not in self._spoken:
                self._spoken.add((kind, loan_id))
                if kind == "complaint":
                    body: dict[str, Any] = {
                        "category": "contact_conduct",
                        "text": "You contact me too often.",
                    }
                    intent = BorrowerIntent(
                        IntentKind.COMPLAINT, borrower_id, loan_id, body, f"sim-cmp-{loan_id}"
                    )
                else:
                    reason = hardship_reason(borrower_id)
                    body = {"reason": reason, "text": "My situation changed."}
                    intent = BorrowerIntent(
                        IntentKind.HARDSHIP, borrower_id, loan_id, body, f"sim-hs-{loan_id}"
                    )
                self._count(kind, reach_arrears(self.api, intent))
        return "borrower_api"

    def _ask_plan(self, borrower_id: str, loan_id: str, at: datetime) -> None:
        token = self.api.issuer.borrower_token(borrower_id)
        seen = http_call("GET", f"{self.api.url}/me/loans/{loan_id}/plans", token=token)
        if seen.status != 200 or not seen.json()["offers"]:
            self._count("plan_request", seen, "no_offer" if seen.status == 200 else "")
            return
        offers = seen.json()["offers"]
        longest = _draw("longest", loan_id) < 34
        chosen = offers[-1] if longest else offers[min(len(offers) - 1, _draw("count", loan_id) % 2)]
        key = f"sim-plan-{loan_id}-{at.date().isoformat()}"
        answer = http_call(
            "POST",
            f"{self.api.url}/me/loans/{loan_id}/plan-requests",
            token=token,
            body={"instalments": chosen["instalments"]},
            headers={"Idempotency-Key": key},
        )
        if answer.status not in (200, 201):
            self._count(
                "plan_request", answer, answer.json().get("error", {}).get("code", str(answer.status))
            )
            return
        status = answer.json()["details"]["status"]
        self._count("plan_request", answer, status)
        if status == "queued":
            self.queued.append((answer.json()["request_id"], at))
        else:
            self._follow(loan_id, borrower_id)

    def _follow(self, loan_id: str, borrower_id: str, keeper: bool | None = None) -> None:
        """Follow the loan's plan: its instalments are paid as the borrower's model says (or `keeper`,
        scripted; without a model, three borrowers in four keep it)."""
        if keeper is None and self.payers is None:
            keeper = _draw("keeper", loan_id) >= 25
        self.on_plan[loan_id] = _OnPlan(loan_id, borrower_id, self.timezones.get(borrower_id, "UTC"), keeper)
        if self.payers is not None:
            self.payers.plan_agreed(loan_id)

    def negotiated(
        self, loan_id: str, borrower_id: str, request_id: str, details: dict[str, Any], at: datetime
    ) -> None:
        """A plan a desk agent negotiated on a call (`localcloud.desk`): followed when agreed, decided
        by the supervisor with the borrowers' requests when the agent referred it."""
        status = str(details.get("status", ""))
        self.stats.calls[f"desk_plan {status}"] += 1
        if status == "queued":
            self.queued.append((request_id, at))
            self.referred_by_agents.add(request_id)
        elif status == "active" and loan_id not in self.on_plan:
            self._follow(loan_id, borrower_id)

    # -- the supervisor and the plan payments, once a day ---------------------------------------------

    def _scripted(self, now: datetime) -> None:
        for entry, script in list(self.scripted):
            who, count, every, keeper = script
            borrower, loan_id = entry.borrower.borrower_id, entry.loan.loan_id
            token = self.api.issuer.borrower_token(borrower)
            seen = http_call("GET", f"{self.api.url}/me/loans/{loan_id}", token=token)
            if seen.status != 200 or seen.json()["status"] != "OPEN" or seen.json()["dpd"] <= 0:
                continue
            self.scripted.remove((entry, script))
            body = {"instalments": count, "every_days": every}
            key = f"sim-script-{loan_id}"
            if who == "agent":
                agent = self.api.issuer.staff_token("S-AGENT", "agent")
                answer = http_call(
                    "POST",
                    f"{self.api.url}/staff/loans/{loan_id}/plans",
                    token=agent,
                    body={**body, "beyond_agent_limits": "refer"},
                    headers={"Idempotency-Key": key},
                )
                label = "agent_plan"
            else:
                answer = http_call(
                    "POST",
                    f"{self.api.url}/me/loans/{loan_id}/plan-requests",
                    token=token,
                    body=body,
                    headers={"Idempotency-Key": key},
                )
                label = "plan_request"
            if answer.status not in (200, 201):
                self._count(label, answer, answer.json().get("error", {}).get("code", str(answer.status)))
                continue
            status = answer.json()["details"]["status"]
            self._count(label, answer, status)
            if status == "queued":
                self.queued.append((answer.json()["request_id"], now))
                if who == "agent":
                    self.referred_by_agents.add(answer.json()["request_id"])
            self._follow(loan_id, borrower, keeper)

    def daily(self, now: datetime) -> None:
        self._scripted(now)
        supervisor = self.api.issuer.staff_token("S-SUPERVISOR", "supervisor")
        waiting = [(rid, at) for rid, at in self.queued if now - at >= timedelta(hours=12)]
        for rid, at in waiting:
            self.queued.remove((rid, at))
            approve = _draw("approve", rid) >= 25
            answer = http_call(
                "POST",
                f"{self.api.url}/staff/plan-requests/{rid}/decision",
                token=supervisor,
                body={"approve": approve},
                headers={"Idempotency-Key": f"sim-decide-{rid[:16]}"},
            )
            details = answer.json().get("details", {}) if answer.status in (200, 201) else {}
            # A refused approval says why (`nothing_due`: paid while queued; the request lapsed).
            refused = answer.json().get("error", {}).get("code", "") if answer.status >= 400 else ""
            self._count(
                "supervisor_decision", answer, details.get("status", "") or refused or str(answer.status)
            )
            if rid in self.referred_by_agents:
                self._count("supervisor_decision_on_agent_referral", answer, details.get("status", ""))
            if details.get("plan_id") and str(details["loan_id"]) not in self.on_plan:
                self._follow_decided(str(details["loan_id"]))
        for plan in list(self.on_plan.values()):
            self._pay_due(plan, now)

    def _follow_decided(self, loan_id: str) -> None:
        loans = boto3.resource("dynamodb").Table(self.cloud.stack.physical["LoansTable"])
        item = loans.get_item(Key={"loan_id": loan_id}).get("Item")
        if item is not None:
            self._follow(loan_id, str(item["borrower_id"]))

    def _pay_due(self, plan: _OnPlan, now: datetime) -> None:
        token = self.api.issuer.borrower_token(plan.borrower_id)
        seen = http_call("GET", f"{self.api.url}/me/loans/{plan.loan_id}/plans", token=token)
        if seen.status != 200 or seen.json()["plan"] is None:
            return  # not agreed yet (queued for the supervisor), or declined
        view = seen.json()["plan"]
        if view["status"] != "active":
            del self.on_plan[plan.loan_id]
            if self.payers is not None:
                ended = date.fromisoformat(view["ended_on"]) if view.get("ended_on") else None
                self.payers.plan_ended(plan.loan_id, ended if view["status"] == "completed" else None)
            return
        local_today = now.astimezone(ZoneInfo(plan.timezone)).date()
        today = local_today.isoformat()
        for instalment in view["instalments"]:
            seq = int(instalment["seq"])
            settled = seq in plan.paid or seq in plan.missed
            if instalment["outcome"] != "due" or settled or instalment["due_on"] > today:
                continue
            if plan.keeper is False and seq > 1:
                return  # this borrower stops paying after the first instalment: the plan breaks
            payers = self.payers if plan.keeper is None else None
            if payers is not None and not payers.keeps_plan_instalment(plan.loan_id, local_today):
                plan.missed.add(seq)  # not paid: judged missed once its grace days are over
                self.stats.calls["plan_instalment_not_paid"] += 1
                return
            plan.paid.add(seq)
            detail = {
                "payment_id": f"P-{plan.loan_id}-plan-{view['plan_id'][:8]}-{seq}",
                "loan_id": plan.loan_id,
                "amount_minor": int(instalment["amount_minor"]),
                "currency": view["currency"],
                "paid_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            self.cloud.put_event("LoanEventsBus", LENDING_CORE, "PaymentReceived", detail)
            self.stats.calls["plan_instalment_paid"] += 1

    # -- the summary -----------------------------------------------------------------------------------

    def summary(self, archive: Path) -> dict[str, Any]:
        records = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(archive.glob("plans/**/*.json"))]
        events = Counter(r["event"] for r in records)
        approvals = Counter(r["plan"]["approval"] for r in records if r["event"] == "agreed")
        calls = self.stats.calls
        actions = boto3.resource("dynamodb").Table(self.cloud.stack.physical["ActionsTable"])
        branch: Counter[str] = Counter()
        for item in all_items(actions.scan):
            action = plain(item)
            if (action.get("receipt") or {}).get("strategy", {}).get("branch") == "hardship":
                branch[str(action.get("status", ""))] += 1
        return {
            "requested": sum(n for k, n in calls.items() if k.startswith("plan_request ")),
            "auto_approved": calls.get("plan_request active", 0),
            "agreed_by_agents": calls.get("agent_plan active", 0) + calls.get("desk_plan active", 0),
            # plans agents negotiated on desk calls (localcloud.desk): agreed inside the agent's
            # limits, referred to the supervisor beyond them, and what the supervisor decided
            "negotiated_on_desk_calls": calls.get("desk_plan active", 0) + calls.get("desk_plan queued", 0),
            "referred_by_agents": len(self.referred_by_agents),
            "supervisor_approved_agent_referrals": calls.get(
                "supervisor_decision_on_agent_referral approved", 0
            ),
            "supervisor_queued": calls.get("plan_request queued", 0),
            "supervisor_approved": calls.get("supervisor_decision approved", 0),
            "supervisor_declined": calls.get("supervisor_decision declined", 0),
            "by_answer": dict(sorted(calls.items())),
            # From the archive alone (plans/): each plan's records, written by the planner.
            "agreed": events.get("agreed", 0),
            "agreed_by": dict(sorted(approvals.items())),
            "instalments_kept": events.get("instalment_kept", 0),
            "instalments_missed": events.get("instalment_missed", 0),
            "broken": events.get("broken", 0),
            "completed": events.get("completed", 0),
            # Actions the planner took on the hardship branch, by status (SENT: contacts made).
            "hardship_branch_actions": dict(sorted(branch.items())),
        }
