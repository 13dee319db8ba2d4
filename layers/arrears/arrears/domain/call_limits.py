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

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

CALL_CHANNEL = "CALL_TASK"


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


class Scope(StrEnum):
    """What a frequency limit counts: the contacts about one debt (loan), or all of one borrower's."""

    PER_DEBT = "per_debt"
    PER_BORROWER = "per_borrower"


@dataclass(frozen=True, slots=True)
class ContactLimit:
    """At most `max_contacts` contacts on `channels` (channel values) in any `days` consecutive days
    (a rolling window before the new contact's instant), counted per `scope`.

    A contact counts when the dispatcher makes it (queues the call task, sends the text); it is given
    back if the send fails permanently. `rule` names it in receipts; `citation` is its source, `layer`
    the pack or overlay (`<id>@<version>`) that set it. Example: Massachusetts, 2 calls and texts
    per debt in 7 days (940 CMR 7.04(1)(f)).
    """

    rule: str
    channels: frozenset[str]
    max_contacts: int
    days: int
    scope: Scope
    citation: str
    layer: str = ""


ROLLING_WINDOW = timedelta(days=7)
KEEP_FOR = timedelta(days=31)  # older entries never matter to any limit (the longest is 30 days)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One counted contact: when, which action, on which channel, about which debt (loan)."""

    at: datetime
    action_id: str
    channel: str = CALL_CHANNEL
    loan_id: str = ""


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


def counted_channels(limits: CallLimits, contact_limits: Iterable[ContactLimit]) -> frozenset[str]:
    """The channels whose contacts the ledger must count under these limits."""
    channels = {CALL_CHANNEL} if limits.limited else set()
    for limit in contact_limits:
        channels |= limit.channels
    return frozenset(channels)


def check_call(
    ledger: CallLedger,
    limits: CallLimits,
    at: datetime,
    timezone: str,
    *,
    contact_limits: tuple[ContactLimit, ...] = (),
    channel: str = CALL_CHANNEL,
    loan_id: str = "",
) -> LimitCheck:
    """May one more contact on `channel` about `loan_id` be made at `at` (aware)? If not, which rule
    stops it and until when.

    The call caps (`limits`) judge call tasks only; each of `contact_limits` judges the channels it
    names. `timezone` is the borrower's IANA zone: the per-day limits count calendar days there.
    """
    zone = ZoneInfo(timezone)
    checked: list[tuple[str, str]] = []
    for limit in contact_limits:
        if channel not in limit.channels:
            continue
        window = timedelta(days=limit.days)
        counted = sorted(
            a.at
            for a in ledger.attempts
            if a.channel in limit.channels
            and a.at > at - window
            and (limit.scope is Scope.PER_BORROWER or a.loan_id == loan_id)
        )
        if len(counted) >= limit.max_contacts:
            checked.append((limit.rule, "FAIL"))
            frees = counted[len(counted) - limit.max_contacts] + window
            what = "per debt" if limit.scope is Scope.PER_DEBT else "per borrower"
            return LimitCheck(
                False,
                limit.rule,
                f"{limit.max_contacts} contacts ({'/'.join(sorted(limit.channels))}) in {limit.days} days "
                f"{what} reached",
                frees,
                tuple(checked),
            )
        checked.append((limit.rule, "PASS"))
    if channel != CALL_CHANNEL:
        return LimitCheck(True, rules_checked=tuple(checked))

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
        recent = sorted(
            a.at for a in ledger.attempts if a.channel == CALL_CHANNEL and a.at > at - ROLLING_WINDOW
        )
        if len(recent) >= limits.attempts_per_7_days:
            # The slot frees when the attempt that makes the count too high leaves the window.
            frees = recent[len(recent) - limits.attempts_per_7_days] + ROLLING_WINDOW
            return stop(
                "call_attempts_7_days", f"{limits.attempts_per_7_days} call attempts in 7 days reached", frees
            )
        checked.append(("call_attempts_7_days", "PASS"))
    if limits.attempts_per_day_per_number is not None:
        today = [a for a in ledger.attempts if a.channel == CALL_CHANNEL and _same_local_day(a.at, at, zone)]
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


def with_attempt(
    ledger: CallLedger, action_id: str, at: datetime, *, channel: str = CALL_CHANNEL, loan_id: str = ""
) -> CallLedger:
    """The ledger after `action_id`'s contact at `at` (unchanged if it already holds a slot)."""
    if ledger.holds(action_id):
        return ledger
    pruned = _pruned(ledger, at)
    return replace(pruned, attempts=(*pruned.attempts, Attempt(at, action_id, channel, loan_id)))


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
