"""A seeded behaviour model per borrower: who pays, when, and how each contact changes it (pure).

The simulated book (`localcloud.book`) gives each borrower a starting profile (`Behaviour`); this
model turns it into a borrower who *reacts*:

* **ability** (can pay) and **willingness** (will pay). Ability falls to a fraction during an income
  shock (a job loss, an illness) that lasts weeks and then ends; a borrower may be in one when the
  run starts, and a new one strikes with a small monthly probability.
* **paying**: an instalment is paid on time with the profile's probability; once overdue, the
  borrower pays on each day with a *hazard* `BASE_HAZARD x ability x willingness`, raised in the
  days after a contact that reached them (`LIFT` by channel, decaying over `LIFT_DAYS`) and less so
  with repetition (*contact fatigue*: each contact beyond `FATIGUE_FREE` in 7 days cuts the lift).
* **reachability** per channel and local hour: whether a call is answered, by the borrower or by
  someone else, and whether it becomes a conversation (`call_result`).
* **on a conversation**: a promise to pay (`PROMISE`), kept or broken (decided when made, from
  ability and willingness); a payment plan asked for; hardship reported (during a shock); a dispute.
* **contacted too often**: a complaint, and an opt-out (a STOP reply), more likely with each contact
  beyond `FATIGUE_FREE` in 7 days.

Every draw comes from the borrower's own `random.Random` seeded by (run seed, borrower id), so the
same seed gives the same borrowers whatever order the events reach them in. The calibration, its
public sources and which numbers are assumptions are in docs/simulation.md; `calibrate` reproduces
the calibration targets from the model alone (tests/unit/test_behaviour_model.py holds it to them).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from localcloud.book import Behaviour

Channel = Literal["SMS", "EMAIL", "CALL", "FIELD_VISIT"]
IntentKind = Literal[
    "promise_to_pay", "plan_request", "hardship", "dispute", "dispute_closed", "complaint", "opt_out"
]

# -- calibration (docs/simulation.md gives the source or says "assumption" for each) ----------------
BASE_HAZARD = 0.11  # daily probability that an able, fully willing, overdue borrower pays
LIFT: dict[str, float] = {  # hazard multiplier - 1 on the day after a contact that reached them
    "SMS": 0.5,
    "EMAIL": 0.25,
    "CALL": 0.4,  # a call answered (no conversation): the borrower knows the lender called
    "CONVERSATION": 1.5,
    "FIELD_VISIT": 2.0,
}
LIFT_DAYS = 4  # the lift decays linearly to nothing over these days
FATIGUE_FREE = 3  # contacts in 7 days before fatigue sets in
FATIGUE_FACTOR = 0.6  # each contact beyond FATIGUE_FREE multiplies the lift by this
SHOCK_MONTHLY = 0.02  # probability of a new income shock in a 30-day month
SHOCK_ABILITY = 0.15  # ability during a shock
PROMISE = 0.45  # a conversation ends in a promise to pay
PROMISE_DAYS = (2, 10)  # the promised date, days after the conversation
PLAN_REQUEST = 0.08  # a conversation in which the borrower asks for a payment plan (no promise)
HARDSHIP_REPORT = 0.5  # a conversation during a shock in which the borrower reports it
DISPUTE = 0.01  # a first reached contact that the borrower disputes
DISPUTE_DAYS = 14  # until the lender answers the dispute and closes it
PLAN_TAKEN = (0.4, 0.5)  # a plan a collector offers is taken: 0.4 + 0.5 x willingness
PLAN_KEEP = (0.45, 0.4)  # a plan instalment is paid: (0.45 + 0.4 x willingness) x plan ability
PLAN_SHOCK_ABILITY = 0.7  # plan ability during a shock (the instalments are sized to what is left)
HARDSHIP_REASONS = ("job_loss", "reduced_income", "illness", "disaster", "other")
COMPLAINT_BEYOND = 0.01  # per contact beyond FATIGUE_FREE in 7 days
OPT_OUT_BEYOND = 0.03  # per SMS beyond FATIGUE_FREE in 7 days (a STOP reply)
# Call results by local hour band: (no_answer, busy, voicemail, connected_borrower, connected_other,
# wrong_number, refused); the borrower's own reach scales connected_borrower.
_RESULTS = (
    "no_answer",
    "busy",
    "voicemail",
    "connected_borrower",
    "connected_other",
    "wrong_number",
    "refused",
)
CALL_MIX: dict[str, tuple[int, ...]] = {
    "morning": (40, 6, 20, 22, 7, 3, 2),  # 08:00-12:00
    "afternoon": (42, 8, 20, 18, 7, 3, 2),  # 12:00-17:00 (at work)
    "evening": (30, 7, 14, 36, 8, 3, 2),  # 17:00-22:00
}
CONVERSATION = 0.7  # a connected_borrower call that becomes a conversation


def hardship_reason(borrower_id: str) -> str:
    """The borrower's hardship reason code (one of `HARDSHIP_REASONS`), the same whichever route they
    tell it on (the borrower API, a collector's call): drawn from the borrower id alone, so it moves
    none of the borrower's own draws."""
    draw = int.from_bytes(hashlib.sha256(f"reason|{borrower_id}".encode()).digest()[:4], "big") % 100
    return HARDSHIP_REASONS[draw % len(HARDSHIP_REASONS)]


@dataclass(frozen=True)
class Profile:
    """A starting profile: the chance of paying an instalment on time, willingness, and the chance of
    being in an income shock when the run starts (with its length in days)."""

    on_time: float
    willingness: tuple[float, float]
    shocked: float
    shock_days: tuple[int, int]
    reach: tuple[float, float]  # scales the chance a call reaches the borrower


PROFILES: dict[Behaviour, Profile] = {
    Behaviour.ON_TIME: Profile(0.97, (0.85, 1.0), 0.0, (14, 45), (0.9, 1.2)),
    Behaviour.LATE: Profile(0.25, (0.45, 0.85), 0.1, (7, 30), (0.7, 1.1)),
    Behaviour.PARTIAL: Profile(0.15, (0.35, 0.75), 0.4, (14, 45), (0.6, 1.0)),
    Behaviour.NEVER: Profile(0.02, (0.25, 0.7), 0.8, (15, 45), (0.3, 0.8)),
}


@dataclass(frozen=True)
class Contact:
    """One contact Arrears made: when, on which channel, and how far it got."""

    at: datetime
    channel: Channel
    reached: bool = True  # delivered to / answered by the borrower
    conversation: bool = False


@dataclass(frozen=True)
class Intent:
    """Something the borrower does towards the lender (`localcloud.intents` delivers it)."""

    kind: IntentKind
    at: datetime
    until: date | None = None  # a promise's date
    keep: bool | None = None  # a promise: whether the borrower will keep it
    channel: str | None = None  # what the intent answers (a complaint about calls, STOP to an SMS)


@dataclass
class BorrowerModel:
    """One borrower's state. `rng` is theirs alone (seeded by run seed and borrower id)."""

    borrower_id: str
    behaviour: Behaviour
    rng: random.Random
    willingness: float
    reach: float
    shock_until: date | None
    contacts: list[Contact] = field(default_factory=list)
    promise: Intent | None = None
    promises: list[Intent] = field(default_factory=list)
    disputed: bool = False
    dispute_until: date | None = None
    hardship_reported: bool = False
    complained: int = 0
    opted_out_sms: bool = False
    _shock_checked: date | None = None

    @classmethod
    def seeded(cls, seed: int, borrower_id: str, behaviour: Behaviour, today: date) -> BorrowerModel:
        rng = random.Random(f"behaviour|{seed}|{borrower_id}")
        profile = PROFILES.get(behaviour, PROFILES[Behaviour.NEVER])
        willingness = rng.uniform(*profile.willingness)
        reach = rng.uniform(*profile.reach)
        shocked = rng.random() < profile.shocked
        shock_until = today + timedelta(days=rng.randint(*profile.shock_days)) if shocked else None
        return cls(borrower_id, behaviour, rng, willingness, reach, shock_until)

    # -- ability over time -------------------------------------------------------------------------

    def ability(self, day: date) -> float:
        """1.0, or `SHOCK_ABILITY` during an income shock; a new shock may strike on each new day."""
        if self._shock_checked is None or day > self._shock_checked:
            days = 1 if self._shock_checked is None else (day - self._shock_checked).days
            self._shock_checked = day
            if (self.shock_until is None or day > self.shock_until) and self.rng.random() < (
                1 - (1 - SHOCK_MONTHLY) ** (days / 30)
            ):
                self.shock_until = day + timedelta(days=self.rng.randint(21, 70))
        return SHOCK_ABILITY if self.shock_until is not None and day <= self.shock_until else 1.0

    # -- paying ------------------------------------------------------------------------------------

    def pays_on_time(self, day: date) -> bool:
        """Whether an instalment due on `day` is paid by then (drawn once per instalment)."""
        profile = PROFILES.get(self.behaviour, PROFILES[Behaviour.NEVER])
        return self.rng.random() < profile.on_time * self.ability(day)

    def lift(self, day: date) -> float:
        """The hazard multiplier - 1 from recent contacts that reached the borrower, with fatigue."""
        total = 0.0
        for contact in self.contacts:
            age = (day - contact.at.date()).days
            if not contact.reached or age < 1 or age > LIFT_DAYS:
                continue
            key = "CONVERSATION" if contact.conversation else contact.channel
            total += LIFT[key] * (1 - (age - 1) / LIFT_DAYS)
        beyond = max(0, self.contacts_in_week(day) - FATIGUE_FREE)
        return total * FATIGUE_FACTOR**beyond

    def contacts_in_week(self, day: date) -> int:
        return sum(1 for c in self.contacts if 0 <= (day - c.at.date()).days < 7)

    def hazard(self, day: date) -> float:
        """Today's probability of paying what is overdue (before any promise)."""
        base = BASE_HAZARD * self.ability(day) * self.willingness
        return min(0.95, base * (1 + self.lift(day)))

    def pays_overdue(self, day: date) -> bool:
        """Whether the borrower pays what is overdue on `day`: a promise kept falls due, or the hazard."""
        promise = self.promise
        if promise is not None and promise.until is not None:
            if (
                promise.keep
                and day >= promise.at.date() + timedelta(days=1)
                and (day >= promise.until or self.rng.random() < 0.3)
            ):
                self.promise = None
                return True
            if day > promise.until:
                self.promise = None  # broken: back to the hazard
        if self.dispute_until is not None and day <= self.dispute_until:
            return False  # waits for the dispute's answer
        return self.rng.random() < self.hazard(day)

    # -- repayment plans -----------------------------------------------------------------------------

    def can_pay_in_full(self, day: date) -> bool:
        """What the borrower answers when a collector asks whether they can pay what is overdue in
        full: not during an income shock (ability below 1)."""
        return self.ability(day) >= 1.0

    def takes_plan(self) -> bool:
        """Whether the borrower takes a repayment plan a collector offers on a call (`PLAN_TAKEN`)."""
        base, per_willingness = PLAN_TAKEN
        return self.rng.random() < base + per_willingness * self.willingness

    def keeps_plan_instalment(self, day: date) -> bool:
        """Whether the plan instalment due on `day` is paid (drawn once per instalment, `PLAN_KEEP`):
        follows willingness, and ability (a shock leaves `PLAN_SHOCK_ABILITY` of a plan's small
        instalments affordable, where it leaves `SHOCK_ABILITY` of the whole arrears)."""
        base, per_willingness = PLAN_KEEP
        ability = 1.0 if self.ability(day) >= 1.0 else PLAN_SHOCK_ABILITY
        return self.rng.random() < (base + per_willingness * self.willingness) * ability

    def dispute_closed(self, day: date, at: datetime) -> Intent | None:
        """The dispute's closing at `at` (the lender answered it) once its days are over, else None."""
        if self.dispute_until is None or day <= self.dispute_until:
            return None
        self.dispute_until = None
        return Intent("dispute_closed", at)

    def paid(self) -> None:
        """What is overdue was paid (by the hazard or otherwise): an open promise is fulfilled."""
        self.promise = None

    # -- reachability --------------------------------------------------------------------------------

    def call_result(self, local_hour: int) -> tuple[str, bool]:
        """(result, conversation) of a call dialled at `local_hour`, the dialer contract's results."""
        band = "morning" if local_hour < 12 else "afternoon" if local_hour < 17 else "evening"
        weights = list(CALL_MIX[band])
        weights[3] = round(weights[3] * self.reach)
        result = self.rng.choices(_RESULTS, weights)[0]
        return result, result == "connected_borrower" and self.rng.random() < CONVERSATION

    # -- reacting to a contact -----------------------------------------------------------------------

    def contacted(self, contact: Contact) -> list[Intent]:
        """Record a contact; what the borrower does in answer (promise, plan, hardship, dispute,
        complaint, opt-out), each at the contact's instant."""
        first_reached = contact.reached and not any(c.reached for c in self.contacts)
        self.contacts.append(contact)
        day = contact.at.date()
        intents: list[Intent] = []
        beyond = self.contacts_in_week(day) - FATIGUE_FREE
        if beyond > 0 and self.rng.random() < 1 - (1 - COMPLAINT_BEYOND) ** beyond:
            self.complained += 1
            intents.append(Intent("complaint", contact.at, channel=contact.channel))
        if (
            contact.channel == "SMS"
            and not self.opted_out_sms
            and beyond > 0
            and self.rng.random() < 1 - (1 - OPT_OUT_BEYOND) ** beyond
        ):
            self.opted_out_sms = True
            intents.append(Intent("opt_out", contact.at, channel="SMS"))
        if first_reached and not self.disputed and self.rng.random() < DISPUTE:
            self.disputed = True
            self.dispute_until = day + timedelta(days=DISPUTE_DAYS)
            intents.append(Intent("dispute", contact.at, channel=contact.channel))
            return intents
        if not contact.conversation and contact.channel != "FIELD_VISIT":
            return intents
        shocked = self.ability(day) < 1.0
        if shocked and not self.hardship_reported and self.rng.random() < HARDSHIP_REPORT:
            self.hardship_reported = True
            intents.append(Intent("hardship", contact.at, until=self.shock_until, channel=contact.channel))
            return intents
        if self.promise is None and self.rng.random() < PROMISE:
            until = day + timedelta(days=self.rng.randint(*PROMISE_DAYS))
            keep_chance = 0.35 + 0.55 * self.willingness * (0.5 if shocked else 1.0)
            promise = Intent(
                "promise_to_pay",
                contact.at,
                until=until,
                keep=self.rng.random() < keep_chance,
                channel=contact.channel,
            )
            self.promise = promise
            self.promises.append(promise)
            intents.append(promise)
        elif self.rng.random() < PLAN_REQUEST:
            intents.append(Intent("plan_request", contact.at, channel=contact.channel))
        return intents


# -- calibration from the model alone -------------------------------------------------------------

BOOK_MIX = (
    (Behaviour.ON_TIME, 0.55),
    (Behaviour.LATE, 0.2),
    (Behaviour.PARTIAL, 0.1),
    (Behaviour.NEVER, 0.15),
)
# The shipped strategies' early cadence (config/bundled/strategies.yaml), as days past due: SMS on
# day 1 and 3, an e-mail on day 3, calls on day 5 and 15 (three attempts each), an e-mail on day 14,
# one call attempt on days 30 and 45.
STANDARD_CADENCE: tuple[tuple[int, Channel], ...] = (
    (1, "SMS"),
    (3, "SMS"),
    (3, "EMAIL"),
    (5, "CALL"),
    (5, "CALL"),
    (5, "CALL"),
    (14, "EMAIL"),
    (15, "CALL"),
    (15, "CALL"),
    (15, "CALL"),
    (30, "CALL"),
    (45, "CALL"),
)


@dataclass(frozen=True)
class Calibration:
    """What a seeded population of the model did: the figures docs/simulation.md compares with."""

    delinquent: int  # borrowers who missed their instalment (entered M1)
    cured_by_30: int  # of those, paid within 30 days past due
    reached_30: int
    reached_60: int  # of those that reached 30 DPD
    call_attempts: int
    right_party_contacts: int
    promises: int
    promises_kept: int
    complaints: int
    opt_outs: int
    contacts: int

    @property
    def cure_rate_30(self) -> float:
        return self.cured_by_30 / self.delinquent if self.delinquent else 0.0

    @property
    def roll_30_60(self) -> float:
        return self.reached_60 / self.reached_30 if self.reached_30 else 0.0

    @property
    def right_party_contact_rate(self) -> float:
        return self.right_party_contacts / self.call_attempts if self.call_attempts else 0.0

    @property
    def promise_kept_rate(self) -> float:
        return self.promises_kept / self.promises if self.promises else 0.0


def calibrate(
    borrowers: int, seed: int, cadence: Iterable[tuple[int, Channel]] = STANDARD_CADENCE, days: int = 90
) -> Calibration:
    """One instalment per borrower of the book's profile mix, due on day 0, followed for `days` days
    past due with the contacts of `cadence` (empty: no contact at all, the self-cure baseline)."""
    mix_rng = random.Random(f"calibration|{seed}")
    plan: dict[int, list[Channel]] = {}
    for dpd, channel in cadence:
        plan.setdefault(dpd, []).append(channel)
    start = date(2026, 1, 1)
    counts = dict.fromkeys(
        (
            "delinquent",
            "cured",
            "r30",
            "r60",
            "calls",
            "rpc",
            "promises",
            "kept",
            "complaints",
            "optouts",
            "contacts",
        ),
        0,
    )
    for n in range(borrowers):
        behaviour = mix_rng.choices([b for b, _ in BOOK_MIX], [w for _, w in BOOK_MIX])[0]
        model = BorrowerModel.seeded(seed, f"C{n:06d}", behaviour, start)
        if model.pays_on_time(start):
            continue
        counts["delinquent"] += 1
        paid_on: int | None = None
        for dpd in range(1, days + 1):
            day = start + timedelta(days=dpd)
            at = datetime(day.year, day.month, day.day, 18, tzinfo=UTC)
            for channel in plan.get(dpd, []):
                contact = Contact(at, channel)
                if channel == "CALL":
                    counts["calls"] += 1
                    result, conversation = model.call_result(18)
                    contact = Contact(
                        at, "CALL", reached=result == "connected_borrower", conversation=conversation
                    )
                    counts["rpc"] += result == "connected_borrower"
                    if result != "connected_borrower":
                        continue  # not reached: no contact, no lift
                counts["contacts"] += 1
                for intent in model.contacted(contact):
                    counts["promises"] += intent.kind == "promise_to_pay"
                    counts["kept"] += bool(intent.kind == "promise_to_pay" and intent.keep)
                    counts["complaints"] += intent.kind == "complaint"
                    counts["optouts"] += intent.kind == "opt_out"
            if dpd == 30:
                counts["r30"] += 1
            if dpd == 60:
                counts["r60"] += 1
            if model.pays_overdue(day):
                paid_on = dpd
                break
        counts["cured"] += paid_on is not None and paid_on <= 30
    return Calibration(
        counts["delinquent"],
        counts["cured"],
        counts["r30"],
        counts["r60"],
        counts["calls"],
        counts["rpc"],
        counts["promises"],
        counts["kept"],
        counts["complaints"],
        counts["optouts"],
        counts["contacts"],
    )
