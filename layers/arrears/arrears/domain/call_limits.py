"""Call limits: how often a borrower may be called, as pure arithmetic on their call ledger.

A jurisdiction's rule pack names its limits (`CallLimits`, the YAML key `call_caps`); the ledger of
calls made and reported lives in `ContactCapsTable` (`arrears.adapters.call_ledger`). The model
(docs/contracts.md, "Call limits"):

* A call task counts as one **attempt** when the dispatcher queues it (the dialer may dial it
  at any time in the contact window; counting at queue time can only over-count, never under-count).
* The dialer reports **connected** voice contacts and **conversations** back (`CallOutcome`); those
  feed the CN connected-per-day cap and the US "none within 7 days after a conversation" rule.
* Windows: CN limits count per calendar day in the borrower's zone; the US limit counts attempts in
  the 7 consecutive days (a rolling 168 h window) before the instant of the new attempt.

The ledger is one item per borrower, updated by the adapter with an optimistic-lock conditional
write, so two dispatchers reserving at once can never both take the last slot. Each attempt carries
its action id, so re-reserving for the same action (a retried record) takes no second slot.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class CallLimits:
    """Voice-contact frequency limits of one jurisdiction (None = no such limit there).

    Sources: CN, docs/architecture.md "Collection rules" (3 connected voice contacts a day per debtor, 6 call
    attempts a day to one number); US, Regulation F 12 CFR 1006.14(b)(2) (7 call attempts in 7
    consecutive days per debt, none within 7 days after a telephone conversation).
    """

    connected_per_day: int | None = None  # CN: 3 connected voice contacts a day per debtor
    attempts_per_day_per_number: int | None = None  # CN: 6 call attempts a day to one number
    attempts_per_7_days: int | None = None  # US Reg F: 7 call attempts in 7 consecutive days per debt
    quiet_days_after_conversation: int | None = None  # US Reg F: none within 7 days after a conversation

    @property
    def limited(self) -> bool:
        """Whether any limit applies (else calls are not counted at all)."""
        return any(
            value is not None
            for value in (
                self.connected_per_day,
                self.attempts_per_day_per_number,
                self.attempts_per_7_days,
                self.quiet_days_after_conversation,
            )
        )


ROLLING_WINDOW = timedelta(days=7)
KEEP_FOR = timedelta(days=8)  # older entries never matter to any cap


@dataclass(frozen=True, slots=True)
class Attempt:
    at: datetime
    action_id: str


@dataclass(frozen=True, slots=True)
class CallLedger:
    borrower_id: str
    attempts: tuple[Attempt, ...] = ()
    connected: tuple[datetime, ...] = ()
    last_conversation_at: datetime | None = None
    version: int = 0

    def holds(self, action_id: str) -> bool:
        return any(a.action_id == action_id for a in self.attempts)


@dataclass(frozen=True, slots=True)
class LimitCheck:
    """Whether one more call may be queued; if not, the `rule` that stops it and when to retry."""

    allowed: bool
    rule: str = ""
    reason: str = ""
    retry_at: datetime | None = None
    rules_checked: tuple[tuple[str, str], ...] = field(default=())


def _next_local_midnight(at: datetime, zone: ZoneInfo) -> datetime:
    local = at.astimezone(zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return midnight.astimezone(at.tzinfo)


def _same_local_day(a: datetime, b: datetime, zone: ZoneInfo) -> bool:
    return a.astimezone(zone).date() == b.astimezone(zone).date()


def check_call(ledger: CallLedger, limits: CallLimits, at: datetime, timezone: str) -> LimitCheck:
    """May one more call attempt be queued at `at` (aware)? If not, which rule stops it and until when.

    `timezone` is the borrower's IANA zone: the per-day limits count calendar days there.
    """
    zone = ZoneInfo(timezone)
    checked: list[tuple[str, str]] = []

    def stop(rule: str, reason: str, retry_at: datetime) -> LimitCheck:
        checked.append((rule, "FAIL"))
        return LimitCheck(False, rule, reason, retry_at, tuple(checked))

    if limits.quiet_days_after_conversation is not None and ledger.last_conversation_at is not None:
        quiet_until = ledger.last_conversation_at + timedelta(days=limits.quiet_days_after_conversation)
        if at < quiet_until:
            days = limits.quiet_days_after_conversation
            return stop(
                "call_after_conversation", f"phone conversation within the last {days} days", quiet_until
            )
        checked.append(("call_after_conversation", "PASS"))
    elif limits.quiet_days_after_conversation is not None:
        checked.append(("call_after_conversation", "PASS"))
    if limits.attempts_per_7_days is not None:
        # Attempts stamped after `at` (a dispatcher a little ahead) count too: never under-count.
        recent = sorted(a.at for a in ledger.attempts if a.at > at - ROLLING_WINDOW)
        if len(recent) >= limits.attempts_per_7_days:
            # The slot frees when the attempt that makes the count too high leaves the window.
            frees = recent[len(recent) - limits.attempts_per_7_days] + ROLLING_WINDOW
            return stop(
                "call_attempts_7_days", f"{limits.attempts_per_7_days} call attempts in 7 days reached", frees
            )
        checked.append(("call_attempts_7_days", "PASS"))
    if limits.attempts_per_day_per_number is not None:
        today = [a for a in ledger.attempts if _same_local_day(a.at, at, zone)]
        if len(today) >= limits.attempts_per_day_per_number:
            return stop(
                "call_attempts_per_day",
                f"{limits.attempts_per_day_per_number} call attempts today reached",
                _next_local_midnight(at, zone),
            )
        checked.append(("call_attempts_per_day", "PASS"))
    if limits.connected_per_day is not None:
        connected = [c for c in ledger.connected if _same_local_day(c, at, zone)]
        if len(connected) >= limits.connected_per_day:
            return stop(
                "call_connected_per_day",
                f"{limits.connected_per_day} connected calls today reached",
                _next_local_midnight(at, zone),
            )
        checked.append(("call_connected_per_day", "PASS"))
    return LimitCheck(True, rules_checked=tuple(checked))


def _pruned(ledger: CallLedger, at: datetime) -> CallLedger:
    horizon = at - KEEP_FOR
    return replace(
        ledger,
        attempts=tuple(a for a in ledger.attempts if a.at > horizon),
        connected=tuple(c for c in ledger.connected if c > horizon),
    )


def with_attempt(ledger: CallLedger, action_id: str, at: datetime) -> CallLedger:
    """The ledger after queuing `action_id`'s call at `at` (unchanged if it already holds a slot)."""
    if ledger.holds(action_id):
        return ledger
    pruned = _pruned(ledger, at)
    return replace(pruned, attempts=(*pruned.attempts, Attempt(at, action_id)))


def without_attempt(ledger: CallLedger, action_id: str) -> CallLedger:
    """Give the slot back: the call task was never queued (permanent send failure)."""
    return replace(ledger, attempts=tuple(a for a in ledger.attempts if a.action_id != action_id))


def with_outcome(ledger: CallLedger, at: datetime, *, connected: bool, conversation: bool) -> CallLedger:
    """The dialer's report of one call: connected (CN cap) and/or a conversation (US quiet days)."""
    pruned = _pruned(ledger, at)
    if connected:
        pruned = replace(pruned, connected=(*pruned.connected, at))
    if conversation and (pruned.last_conversation_at is None or at > pruned.last_conversation_at):
        pruned = replace(pruned, last_conversation_at=at)
    return pruned
