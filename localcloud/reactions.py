"""Borrowers who react: the behaviour model (`localcloud.behaviour_model`) wired into the simulation.

The simulation calls this module in three places:

* `observe(now)` after every simulated event: the texts and e-mails Arrears sent since the last call
  (moto's SNS: the SMS it delivered, the messages on RemindersTopic) become contacts of the borrower
  at the instant they were sent, and the model answers with intents;
* the simulated dialer asks `call_result` who answers a call (reachability by local hour) and reports
  each attempt and each field visit (`call_attempted`, `field_visited`): a conversation may end in a
  promise to pay, hardship reported, a plan asked for;
* the desk's agents (`localcloud.desk`) ask `desk_call`: the same answer (`answer_call`, one path for
  the dialer and the desk) and, on a conversation, what the borrower said for the agent to record
  (promise, hardship with its reason, dispute, a plan asked for; `AGENT_RECORDS`) and whether they can
  pay in full; a complaint still goes the borrower's own way (the port);
* repayment plans (`localcloud.plan_voices`): `plan_agreed` / `plan_ended` take a loan off the overdue
  hazard while its plan is in force (the borrower pays the plan instead), `keeps_plan_instalment` asks
  the model whether a plan instalment is paid;
* `day(now)` once a simulated day: each borrower decides whether they pay what is due or overdue,
  and the payments are queued at the borrower's local paying hour (the simulation's "pay" events).

Intents reach Arrears through one port (`localcloud.intents.IntentPort`). Borrowers the book makes
for a particular path keep their fixed schedule (the returned payment, the recovery after charge-off,
the borrower opted out everywhere): `manages` says which.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from arrears.events.dialer import CallTask
from localcloud.behaviour_model import LIFT_DAYS, PROFILES, BorrowerModel, Contact, Intent
from localcloud.book import BookEntry
from localcloud.cloud import LocalCloud
from localcloud.intents import IntentPort

Scheduled = tuple[datetime, str, tuple[Any, ...]]
MET = ("met_borrower", "promise_to_pay")  # field-visit outcomes that reached the borrower
AGENT_RECORDS = frozenset({"promise_to_pay", "hardship", "dispute", "plan_request"})  # said to an agent


def manages(entry: BookEntry) -> bool:
    """Whether the model drives this loan (else it keeps the book's fixed schedule)."""
    return entry.behaviour in PROFILES and not entry.borrower.opted_out_channels


@dataclass
class PromiseRecord:
    loan_ids: tuple[str, ...]
    jurisdiction: str
    made_at: datetime
    until: date
    paid_on: date | None = None


@dataclass(frozen=True)
class DeskCallAnswer:
    """A desk call as the borrower answered it: the dialer contract's `result`, whether it became a
    `conversation`, what the borrower said for the agent to record (`said`: `AGENT_RECORDS` intents)
    and whether they say they can pay what is overdue in full (`pays_in_full`)."""

    result: str
    conversation: bool
    said: tuple[Intent, ...] = ()
    pays_in_full: bool = True


@dataclass
class ReactionStats:
    contacts: Counter[str] = field(default_factory=Counter)  # channel -> contacts that reached them
    intents: Counter[str] = field(default_factory=Counter)  # kind -> count
    payments_scheduled: int = 0
    paid_on_time: int = 0
    paid_overdue: int = 0
    paid_after_contact: int = 0  # overdue payments within LIFT_DAYS of a contact that reached them
    calls_answered_by_model: int = 0
    desk_calls_answered_by_model: int = 0
    recorded_by_agents: Counter[str] = field(default_factory=Counter)  # kind -> intents an agent recorded
    plan_instalments: Counter[str] = field(default_factory=Counter)  # paid / not_paid (the model's draw)


class ReactingBorrowers:
    """The book's borrowers as behaviour models; see the module docstring."""

    def __init__(
        self,
        book: list[BookEntry],
        seed: int,
        start: date,
        port: IntentPort,
        reminders_topic: str,
        sent: LocalCloud,
    ) -> None:
        self.port = port
        self.reminders_topic = reminders_topic
        self.sent = sent  # where what Arrears sent is read (`LocalCloud.sent_since`)
        self.entries = {e.loan.loan_id: e for e in book if manages(e)}
        self.loans_of: dict[str, list[BookEntry]] = {}
        for entry in self.entries.values():
            self.loans_of.setdefault(entry.borrower.borrower_id, []).append(entry)
        self.models = {
            bid: BorrowerModel.seeded(seed, bid, entries[0].behaviour, start)
            for bid, entries in self.loans_of.items()
        }
        self.by_phone = {
            es[0].borrower.phone: bid for bid, es in self.loans_of.items() if es[0].borrower.phone
        }
        self.by_email = {
            es[0].borrower.email: bid for bid, es in self.loans_of.items() if es[0].borrower.email
        }
        # The latest due date each loan has paid through (instalments settled before the run count).
        self.paid_through: dict[str, date] = {
            loan_id: max((i.due_on for i in e.loan.instalments if i.is_settled), default=date.min)
            for loan_id, e in self.entries.items()
        }
        self.decided_on_time: set[tuple[str, date]] = set()
        self.promises: list[PromiseRecord] = []
        self.intents_by_loan: dict[str, Counter[str]] = {}
        self.on_plan: set[str] = set()  # loans whose repayment plan is in force
        self.stats = ReactionStats()
        self._sms_seen = 0
        self._mail_seen = 0

    # -- the days -----------------------------------------------------------------------------------

    def days(self, begin: datetime, end: datetime) -> Iterator[datetime]:
        moment = begin
        while moment < end:
            yield moment
            moment += timedelta(days=1)

    def day(self, now: datetime) -> list[Scheduled]:
        """Each borrower's decision for their local day starting within 24 h of `now`: pay or not."""
        later: list[Scheduled] = []
        for bid, entries in self.loans_of.items():
            model = self.models[bid]
            first = entries[0]
            zone = ZoneInfo(first.borrower.timezone)
            local_now = now.astimezone(zone)
            day = local_now.date()
            pay_at = datetime.combine(day, time(first.pay_hour_local, 17), tzinfo=zone)
            if pay_at < local_now:
                day += timedelta(days=1)
                pay_at = datetime.combine(day, time(first.pay_hour_local, 17), tzinfo=zone)
            closed = model.dispute_closed(day, now)
            if closed is not None:
                self._deliver(bid, closed)
            overdue: list[BookEntry] = []
            for entry in entries:
                if entry.loan.loan_id in self.on_plan:
                    continue  # the borrower pays the plan's instalments (plan_voices), not the hazard
                unpaid = [
                    i for i in entry.loan.instalments if i.due_on > self.paid_through[entry.loan.loan_id]
                ]
                if not unpaid:
                    continue
                due_on = unpaid[0].due_on
                key = (entry.loan.loan_id, due_on)
                if day == due_on - timedelta(days=1) and key not in self.decided_on_time:
                    self.decided_on_time.add(key)
                    if model.pays_on_time(day):
                        later.append(self._pay(entry, pay_at, day, due_on, share=1.0))
                        self.stats.paid_on_time += 1
                elif day > due_on:
                    overdue.append(entry)
            if overdue and model.pays_overdue(day):
                model.paid()
                recent = any(c.reached and 0 < (day - c.at.date()).days <= LIFT_DAYS for c in model.contacts)
                for entry in overdue:
                    latest = max(i.due_on for i in entry.loan.instalments if i.due_on < day)
                    # A stretched borrower pays half now and then and again later.
                    share = 0.5 if entry.behaviour.value == "PARTIAL" and model.rng.random() < 0.5 else 1.0
                    later.append(self._pay(entry, pay_at, day, latest if share >= 1 else None, share))
                    self.stats.paid_overdue += 1
                    self.stats.paid_after_contact += recent
                paid_ids = {e.loan.loan_id for e in overdue}
                for record in self.promises:
                    if record.paid_on is None and paid_ids & set(record.loan_ids) and day <= record.until:
                        record.paid_on = day
        return later

    def _pay(
        self, entry: BookEntry, at: datetime, day: date, through: date | None, share: float
    ) -> Scheduled:
        loan_id = entry.loan.loan_id
        if through is not None:
            self.paid_through[loan_id] = max(self.paid_through[loan_id], through)
        self.stats.payments_scheduled += 1
        return at.astimezone(UTC), "pay", (loan_id, f"P-{loan_id}-m{day.isoformat()}", share)

    # -- contacts -----------------------------------------------------------------------------------

    def observe(self, now: datetime) -> None:
        """The texts and e-mails Arrears sent since the last look (`LocalCloud.sent_since`: moto's
        SNS or the fast path's), as contacts at `now`."""
        sms, notes = self.sent.sent_since(self.reminders_topic, self._sms_seen, self._mail_seen)
        for number, _ in sms:
            bid = self.by_phone.get(number)
            if bid is not None:
                self._contact(bid, Contact(now, "SMS"))
        self._sms_seen += len(sms)
        for note in notes:
            try:
                to = str(json.loads(note[1]).get("to", ""))
            except ValueError:
                continue
            bid = self.by_email.get(to)
            if bid is not None:
                self._contact(bid, Contact(now, "EMAIL"))
        self._mail_seen += len(notes)

    def answer_call(self, borrower_id: str, timezone: str, now: datetime) -> tuple[str, bool] | None:
        """Who answers a call to the borrower at `now` (the dialer contract's result, and whether it
        became a conversation), or None for a borrower the model does not drive. The dialer's calls
        and the desk's both ask here."""
        model = self.models.get(borrower_id)
        if model is None:
            return None
        self.stats.calls_answered_by_model += 1
        return model.call_result(now.astimezone(ZoneInfo(timezone)).hour)

    def call_result(self, task: CallTask, now: datetime) -> tuple[str, bool] | None:
        """Who answers the dialer's call of `task` (`answer_call`)."""
        return self.answer_call(task.borrower_id, task.timezone, now)

    def desk_call(self, borrower_id: str, timezone: str, now: datetime) -> DeskCallAnswer | None:
        """A desk agent's call (`answer_call`); when it reached the borrower, the contact is theirs
        (the model reacts as to any call) and what they said is answered for the agent to record."""
        answer = self.answer_call(borrower_id, timezone, now)
        if answer is None:
            return None
        self.stats.desk_calls_answered_by_model += 1
        result, conversation = answer
        if result != "connected_borrower":
            return DeskCallAnswer(result, False)
        call = Contact(now, "CALL", reached=True, conversation=conversation)
        said = self._contact(borrower_id, call, AGENT_RECORDS)
        in_full = self.models[borrower_id].can_pay_in_full(now.astimezone(ZoneInfo(timezone)).date())
        return DeskCallAnswer(result, conversation, tuple(said), in_full)

    def takes_plan(self, borrower_id: str) -> bool:
        """Whether the borrower takes the plan an agent offers (the model's `takes_plan`)."""
        model = self.models.get(borrower_id)
        return model is not None and model.takes_plan()

    def plan_agreed(self, loan_id: str) -> None:
        self.on_plan.add(loan_id)

    def plan_ended(self, loan_id: str, completed_on: date | None) -> None:
        """The loan's plan ended: broken (back to the overdue hazard) or completed on `completed_on`
        (the arrears of the agreement paid: the instalments due before then count as paid)."""
        self.on_plan.discard(loan_id)
        entry = self.entries.get(loan_id)
        if completed_on is not None and entry is not None:
            due = [i.due_on for i in entry.loan.instalments if i.due_on < completed_on]
            if due:
                self.paid_through[loan_id] = max(self.paid_through[loan_id], *due)

    def keeps_plan_instalment(self, loan_id: str, day: date) -> bool | None:
        """Whether the plan instalment of `loan_id` due on `day` is paid (the model's draw, once per
        instalment), or None for a loan the model does not drive."""
        entry = self.entries.get(loan_id)
        model = self.models.get(entry.borrower.borrower_id) if entry is not None else None
        if model is None:
            return None
        paid = model.keeps_plan_instalment(day)
        self.stats.plan_instalments["paid" if paid else "not_paid"] += 1
        return paid

    def call_attempted(self, task: CallTask, result: str, conversation: bool, now: datetime) -> None:
        if task.borrower_id in self.models and result == "connected_borrower":
            self._contact(task.borrower_id, Contact(now, "CALL", reached=True, conversation=conversation))

    def field_visited(self, body: dict[str, Any], outcome: str, now: datetime) -> None:
        entry = self.entries.get(str(body.get("loan_id", "")))
        bid = entry.borrower.borrower_id if entry is not None else ""
        if bid in self.models:
            self._contact(bid, Contact(now, "FIELD_VISIT", reached=outcome in MET))

    def _contact(
        self, bid: str, contact: Contact, caller_records: frozenset[str] = frozenset()
    ) -> list[Intent]:
        """Record the contact; deliver what the borrower does in answer, except the intents of
        `caller_records` kinds, which the caller (a desk agent) records: those are returned."""
        self.stats.contacts[contact.channel] += 1
        told: list[Intent] = []
        for intent in self.models[bid].contacted(contact):
            if intent.kind in caller_records:
                self._note(bid, intent)
                self.stats.recorded_by_agents[intent.kind] += 1
                told.append(intent)
            else:
                self._deliver(bid, intent)
        return told

    def _note(self, bid: str, intent: Intent) -> tuple[str, ...]:
        """Count the intent and follow a promise; the loans it is about (the borrower's still owing)."""
        entries = self.loans_of[bid]
        # The loans still owing (as the borrower knows them); a loan paid off takes no hold.
        owing = [
            e
            for e in entries
            if any(i.due_on > self.paid_through[e.loan.loan_id] for i in e.loan.instalments)
        ]
        loan_ids = tuple(e.loan.loan_id for e in owing or entries)
        jurisdiction = entries[0].loan.jurisdiction
        self.stats.intents[intent.kind] += 1
        # One intent is one complaint or opt-out of the borrower, however many loans it is about:
        # counted on the first (as a promise is), so the report's rates count borrowers' acts.
        self.intents_by_loan.setdefault(loan_ids[0], Counter())[intent.kind] += 1
        if intent.kind == "promise_to_pay" and intent.until is not None:
            self.promises.append(PromiseRecord(loan_ids, jurisdiction, intent.at, intent.until))
        return loan_ids

    def _deliver(self, bid: str, intent: Intent) -> None:
        loan_ids = self._note(bid, intent)
        entries = self.loans_of[bid]
        self.port.deliver(entries[0].borrower, entries[0].loan.jurisdiction, loan_ids, intent)

    # -- the summary ----------------------------------------------------------------------------------

    def promise_outcomes(self, end: date) -> dict[str, int]:
        kept = sum(1 for p in self.promises if p.paid_on is not None)
        broken = sum(1 for p in self.promises if p.paid_on is None and p.until < end)
        return {
            "made": len(self.promises),
            "kept": kept,
            "broken": broken,
            "pending": len(self.promises) - kept - broken,
        }

    def summary(self, end: date) -> dict[str, Any]:
        delivered = Counter(getattr(self.port, "delivered", Counter()))
        for kind, count in self.stats.recorded_by_agents.items():
            delivered[f"{kind}:desk_agent"] += count
        return {
            "borrowers_modelled": len(self.models),
            "loans_modelled": len(self.entries),
            "contacts_that_reached_them": dict(sorted(self.stats.contacts.items())),
            "intents": dict(sorted(self.stats.intents.items())),
            "intents_delivered": dict(sorted(delivered.items())),
            "promises": self.promise_outcomes(end),
            "complaints": self.stats.intents.get("complaint", 0),
            "payments": {
                "scheduled": self.stats.payments_scheduled,
                "on_time": self.stats.paid_on_time,
                "overdue": self.stats.paid_overdue,
                "overdue_within_4_days_of_a_contact": self.stats.paid_after_contact,
            },
            "calls_answered_by_model": self.stats.calls_answered_by_model,
            "desk_calls_answered_by_model": self.stats.desk_calls_answered_by_model,
            "plan_instalments_drawn": dict(sorted(self.stats.plan_instalments.items())),
        }

    def per_loan(self, end: date, *, intents: bool = False) -> dict[str, dict[str, int]]:
        """Counts per loan of what the modelled borrowers did that never reached Arrears, for the fast
        path's report (`localcloud.outcomes.report_outcomes`; a run through Arrears reads every count
        from its archive): the promises judged (kept, or their date passed before `end`) and kept,
        and with `intents` the complaints and opt-outs the borrowers made."""
        out: dict[str, dict[str, int]] = {}
        if intents:
            for loan_id, kinds in self.intents_by_loan.items():
                out[loan_id] = {"complaints": kinds.get("complaint", 0), "opt_outs": kinds.get("opt_out", 0)}
        for record in self.promises:
            # One promise per conversation, counted on the borrower's first loan (not once per loan).
            row = out.setdefault(record.loan_ids[0], {})
            if record.paid_on is not None or record.until < end:
                row["promises"] = row.get("promises", 0) + 1
                row["promises_kept"] = row.get("promises_kept", 0) + (record.paid_on is not None)
        return out


__all__ = ["ReactingBorrowers", "manages"]
