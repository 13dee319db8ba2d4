"""Collection strategy: which contact, on which day of an instalment's collection, for which loan.

A strategy is versioned data (YAML in `arrears/config/bundled/`, see `arrears.config.playbook`):
an ordered list of steps, each with an offset in days from the oldest unsettled instalment's due
date (negative = before it), a channel, a template and the conditions under which it applies
(bucket, risk band, amount threshold, covered regions for field visits). The risk band also moves a
step (`band_offsets`: high risk calls earlier, low risk later). Loans are split between strategy
arms (champion / challenger) deterministically by a hash of the borrower id, with configured weights,
once, at registration (`CollectionPlaybook.assign_arm`); the loan carries its arm from then on.

**Branches: what the borrower said changes the strategy.** A strategy may carry branches, each with
its own steps and the conditions it is taken under (`when`, any of): the hardship the borrower
reported (`hardship`, or one reason: `hardship:job_loss`, `hardship:reduced_income`,
`hardship:illness`, `hardship:disaster`, `hardship:other`), an open dispute (`dispute_open`), or the
loan's repayment plan (`plan_active`, `plan_broken`, `plan_completed`). `Strategy.for_loan` answers the
first branch whose conditions hold (else the main steps, branch `main`); the planner plans its steps
and names the branch on every receipt. The shipped strategies give a borrower who reported hardship
a plan offer and a softer cadence instead of the next escalation step (no field visit, no legal
referral). Facts come from the loan only (`loan_facts`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from arrears.domain.loans import Loan


class Channel(StrEnum):
    SMS = "SMS"
    EMAIL = "EMAIL"
    CALL_TASK = "CALL_TASK"
    FIELD_VISIT = "FIELD_VISIT"
    LEGAL = "LEGAL"
    BUREAU = "BUREAU"
    # A posted letter: the validation notice to a borrower without e-mail (never a strategy step).
    LETTER = "LETTER"


RISK_BANDS = ("LOW", "MEDIUM", "HIGH")


@dataclass(frozen=True, slots=True)
class Step:
    step_id: str
    offset: int
    channel: Channel
    template_id: str
    min_amount_minor: int = 0
    buckets: frozenset[str] = frozenset()  # empty = every bucket
    risk_bands: frozenset[str] = frozenset()  # empty = every band
    regions: frozenset[str] = frozenset()  # field visits: regions covered by collectors (empty = all)
    band_offsets: Mapping[str, int] = field(default_factory=dict)

    def offset_for(self, band: str) -> int:
        return self.band_offsets.get(band, self.offset)

    def applies_to_band(self, band: str) -> bool:
        return not self.risk_bands or band in self.risk_bands


MAIN_BRANCH = "main"
HARDSHIP_REASONS = ("job_loss", "reduced_income", "illness", "disaster", "other")
CONDITIONS = frozenset(
    {
        "hardship",
        *(f"hardship:{reason}" for reason in HARDSHIP_REASONS),
        "dispute_open",
        "plan_active",
        "plan_broken",
        "plan_completed",
    }
)
"""Every condition a branch may name (`Branch.when`)."""


def loan_facts(loan: Loan) -> frozenset[str]:
    """The conditions that hold for `loan` (a subset of `CONDITIONS`): what its borrower said (the
    hardship reason on record), an open dispute, and its repayment plan's state."""
    facts: set[str] = set()
    if loan.hardship_reason:
        facts.update(("hardship", f"hardship:{loan.hardship_reason}"))
    if loan.holds.dispute_open:
        facts.add("dispute_open")
    if loan.plan is not None:
        facts.add(f"plan_{loan.plan.status.value}")
    return frozenset(facts)


@dataclass(frozen=True, slots=True)
class Branch:
    """Steps taken instead of the main ones when any of `when` holds for the loan (`loan_facts`)."""

    branch_id: str
    when: frozenset[str]
    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        unknown = sorted(self.when - CONDITIONS)
        if not self.when or unknown:
            raise ValueError(f"branch {self.branch_id}: conditions must be some of {sorted(CONDITIONS)}")
        if [s.offset for s in self.steps] != sorted(s.offset for s in self.steps):
            raise ValueError(f"branch {self.branch_id}: steps must be ordered by offset")


@dataclass(frozen=True, slots=True)
class Strategy:
    strategy_id: str
    version: str
    steps: tuple[Step, ...]
    broken_promise_step: Step | None = None
    branches: tuple[Branch, ...] = ()
    branch_id: str = MAIN_BRANCH  # which branch these steps are (`for_loan`)

    def __post_init__(self) -> None:
        # Step ids key the planned actions: unique across the main steps and every branch.
        ids = [s.step_id for s in self.steps] + [s.step_id for b in self.branches for s in b.steps]
        if len(ids) != len(set(ids)):
            raise ValueError(f"strategy {self.strategy_id}: duplicate step ids")
        if [s.offset for s in self.steps] != sorted(s.offset for s in self.steps):
            raise ValueError(f"strategy {self.strategy_id}: steps must be ordered by offset")

    @property
    def offsets(self) -> tuple[int, ...]:
        """Every day a step of these steps can fall on, whatever the loan's risk band (the sweep's
        milestones; a loan on a branch gets the branch's: `for_loan(loan).offsets`)."""
        values = {s.offset for s in self.steps}
        values.update(o for s in self.steps for o in s.band_offsets.values())
        return tuple(sorted(values))

    def for_loan(self, loan: Loan) -> Strategy:
        """The strategy as it applies to `loan`: the first branch whose conditions hold (its steps,
        `branch_id` its id, the same broken-promise step), else this strategy (`branch_id` "main")."""
        facts = loan_facts(loan)
        for branch in self.branches:
            if branch.when & facts:
                return Strategy(
                    self.strategy_id,
                    self.version,
                    branch.steps,
                    self.broken_promise_step,
                    branch_id=branch.branch_id,
                )
        return self

    def steps_for(self, band: str) -> tuple[tuple[int, Step], ...]:
        """(effective offset, step) for the steps that run for `band`, in offset order."""
        chosen = [(s.offset_for(band), s) for s in self.steps if s.applies_to_band(band)]
        return tuple(sorted(chosen, key=lambda pair: pair[0]))


@dataclass(frozen=True, slots=True)
class Arm:
    name: str
    weight: int
    strategy: Strategy


@dataclass(frozen=True, slots=True)
class StrategySet:
    """The arms of one jurisdiction: the champion first, then challengers, with weights."""

    arms: tuple[Arm, ...]

    def __post_init__(self) -> None:
        if not self.arms:
            raise ValueError("a strategy set needs at least one arm")
        names = [a.name for a in self.arms]
        if len(names) != len(set(names)):
            raise ValueError("duplicate arm names")
        if any(a.weight < 0 for a in self.arms) or sum(a.weight for a in self.arms) <= 0:
            raise ValueError("arm weights must be non-negative and add up to more than zero")

    def arm_for(self, unit_id: str) -> Arm:
        """A stable arm for a unit of randomisation (the playbook passes the borrower id): SHA-256
        of `arm|<unit_id>` into [0, total weight), walked by weight. A zero-weight arm gets nobody."""
        total = sum(a.weight for a in self.arms)
        point = int.from_bytes(hashlib.sha256(f"arm|{unit_id}".encode()).digest()[:8], "big") % total
        for arm in self.arms:
            if point < arm.weight:
                return arm
            point -= arm.weight
        raise AssertionError("unreachable: point is below the total weight")  # pragma: no cover

    def named(self, name: str) -> Arm:
        """The arm called `name`; the champion (the first arm) when the set no longer has it (a
        challenger retired from the playbook: its loans continue under the champion's strategy)."""
        return next((arm for arm in self.arms if arm.name == name), self.arms[0])


def single(strategy: Strategy) -> StrategySet:
    return StrategySet((Arm("champion", 1, strategy),))


DEFAULT_STRATEGY = Strategy(
    strategy_id="default",
    version="1",
    steps=(
        Step("sms-d1", 1, Channel.SMS, "sms_overdue"),
        Step("field-d60", 60, Channel.FIELD_VISIT, "field_visit"),
    ),
)


def steps_crossed(
    strategy: Strategy,
    before: Loan | None,
    after: Loan,
    band: str | None = None,
    band_before: str | None = None,
) -> tuple[Step, ...]:
    """Steps whose day the loan reached between two assessments, latest per channel.

    A step is crossed when it is reached now (its offset for the loan's band today is at most the
    loan's offset) and was not reached at the previous assessment of the same instalment in
    collection (under the band of that day), so a change of band neither skips nor repeats a step.
    A loan that skipped days (a missed sweep, a loan loaded late) catches up, but a borrower never
    gets three SMS at once: of the steps crossed on one channel only the latest is planned. A step of
    the days up to the due date (offset 0 or less) is never planned once the loan is past due: a
    reminder of a due date to come would be false (a late sweep, or a band change that made it apply
    only after the due date).
    """
    if not after.is_open or after.due_offset is None:
        return ()
    now_band = band or after.risk_band
    low: int | None = None
    if before is not None and before.is_open and before.collection_instalment == after.collection_instalment:
        low = before.due_offset
    then_band = band_before or (before.risk_band if before is not None else now_band)
    latest: dict[Channel, tuple[int, Step]] = {}
    for offset, step in strategy.steps_for(now_band):
        if offset > after.due_offset or (offset <= 0 < after.due_offset):
            continue
        if low is not None and step.applies_to_band(then_band) and step.offset_for(then_band) <= low:
            continue
        latest[step.channel] = (offset, step)
    return tuple(step for _, step in sorted(latest.values(), key=lambda pair: pair[0]))
