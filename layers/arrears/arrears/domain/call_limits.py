"""Call limits: how often a borrower may be called, as pure arithmetic on their call ledger.

A jurisdiction's rule pack names its limits (`CallLimits`, the YAML key `call_caps`); the ledger of
calls the dialer made lives in `ContactCapsTable` (`arrears.adapters.call_ledger`). The model
(docs/contracts.md, "The dialer contract"):

* The dispatcher hands the dialer at most **one open call task per borrower** (`OpenCallTask`):
  while it is open, further calls for the borrower's other loans wait (DEFERRED to its expiry). The
  task states what remains allowed (`Allowance`): attempts and connected calls left today, and the
  instant it expires.
* The dialer reports **every attempt** (`CallAttempted`); each is counted here when reported, at
  the instant it started: an attempt, a connected call (answered), a conversation (a telephone
  conversation with the borrower). The task closes when the dialer is done, when nothing more is
  allowed, or when it expires.
* Windows: CN limits count per calendar day in the borrower's zone; the US limit counts attempts in
  the 7 consecutive days (a rolling 168 h window) before the instant of the new attempt. All count
  per **borrower** (one number), across the borrower's loans: stricter than Reg F's "per debt".

The ledger is one item per borrower, updated by the adapter with an optimistic-lock conditional
write, so two dispatchers opening a task at once can never both open one. Each counted entry carries
the call id, so a redelivered report counts once.
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
    """One counted entry: when; which action reserved it (a text, an e-mail under a contact limit)
    or which dialer call it was (a reported call attempt, `call_id`); on which channel; about which
    debt (loan)."""

    at: datetime
    action_id: str
    channel: str = CALL_CHANNEL
    loan_id: str = ""

    @property
    def call_id(self) -> str:
        """The dialer's call id of a reported attempt (the same field as `action_id`)."""
        return self.action_id


@dataclass(frozen=True, slots=True)
class OpenCallTask:
    """The one call task a borrower has open with the dialer (`task_id` is the action's id)."""

    task_id: str
    opened_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CallLedger:
    """A borrower's calls of the last `KEEP_FOR`, across all their loans: attempts, connected
    (answered) calls and conversations, each an `Attempt`; and the open task, if any."""

    borrower_id: str
    attempts: tuple[Attempt, ...] = ()
    connected: tuple[Attempt, ...] = ()
    conversations: tuple[Attempt, ...] = ()
    open_task: OpenCallTask | None = None
    version: int = 0

    def holds(self, call_id: str) -> bool:
        """Whether the attempt `call_id` is counted already (a redelivered report)."""
        return any(a.call_id == call_id for a in self.attempts)

    @property
    def last_conversation_at(self) -> datetime | None:
        return max((c.at for c in self.conversations), default=None)

    def task_open(self, at: datetime) -> OpenCallTask | None:
        """The task open at `at` (None when there is none or it expired)."""
        task = self.open_task
        return task if task is not None and at < task.expires_at else None

    def before(self, at: datetime, call_id: str) -> CallLedger:
        """The ledger as it stood when the attempt `call_id` started at `at`: only what came before."""

        def earlier(entries: tuple[Attempt, ...]) -> tuple[Attempt, ...]:
            return tuple(e for e in entries if e.at < at and e.call_id != call_id)

        return replace(
            self,
            attempts=earlier(self.attempts),
            connected=earlier(self.connected),
            conversations=earlier(self.conversations),
        )


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


def rules_judging(
    limits: CallLimits, contact_limits: Iterable[ContactLimit], channel: str
) -> tuple[str, ...]:
    """The rule ids `check_call` judges a contact on `channel` by, in its order: each contact limit
    naming the channel, then for a call the call caps that are set. A retry that finds its slot (or
    its task) held already names these as passed, as the first try did."""
    rules = [limit.rule for limit in contact_limits if channel in limit.channels]
    if channel == CALL_CHANNEL:
        caps = (
            ("call_after_conversation", limits.quiet_days_after_conversation),
            ("call_attempts_7_days", limits.attempts_per_7_days),
            ("call_attempts_per_day", limits.attempts_per_day_per_number),
            ("call_connected_per_day", limits.connected_per_day),
        )
        rules += [rule for rule, value in caps if value is not None]
    return tuple(rules)


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
    names. Under a limit naming calls too, a text or e-mail waits while the borrower's call task is
    open (it may use the limit's last slots, `allowance`), until the task expires.
    `timezone` is the borrower's IANA zone: the per-day limits count calendar days there.
    Sources are those of `CallLimits`; rule ids `call_after_conversation`, `call_attempts_7_days`,
    `call_attempts_per_day`, `call_connected_per_day`, and each contact limit's `rule`.
    """
    zone = ZoneInfo(timezone)
    checked: list[tuple[str, str]] = []
    task = ledger.task_open(at)
    for limit in contact_limits:
        if channel not in limit.channels:
            continue
        if channel != CALL_CHANNEL and CALL_CHANNEL in limit.channels and task is not None:
            # The open call task was told how many attempts it may make under this limit when it was
            # queued (`allowance`): a text now could take one of those slots, and the dialer's
            # attempt would then exceed the limit (Massachusetts: a call, a text, a voicemail). The
            # text waits until the task ends (its attempts counted, the room known again).
            checked.append((limit.rule, "FAIL"))
            return LimitCheck(
                False,
                limit.rule,
                f"a call task is open and may use the last of {limit.max_contacts} contacts "
                f"({'/'.join(sorted(limit.channels))}) in {limit.days} days",
                task.expires_at,
                tuple(checked),
            )
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
        connected = [c for c in ledger.connected if _same_local_day(c.at, at, zone)]
        if len(connected) >= limits.connected_per_day:
            return stop(
                "call_connected_per_day",
                f"{limits.connected_per_day} connected calls today reached",
                _next_local_midnight(at, zone),
            )
        checked.append(("call_connected_per_day", "PASS"))
    return LimitCheck(True, rules_checked=tuple(checked))


@dataclass(frozen=True, slots=True)
class Allowance:
    """What a call task may still do (None = no such limit): attempts and connected calls left on
    the borrower's local day, and until when (the earliest of the end of the contact window, the
    end of the local day and the task lifetime)."""

    attempts_left_today: int | None
    connected_left_today: int | None
    expires_at: datetime

    @property
    def exhausted(self) -> bool:
        return self.attempts_left_today == 0 or self.connected_left_today == 0


def allowance(
    ledger: CallLedger,
    limits: CallLimits,
    at: datetime,
    timezone: str,
    until: datetime,
    *,
    contact_limits: tuple[ContactLimit, ...] = (),
    loan_id: str = "",
) -> Allowance:
    """What one more task may do from `at` to `until` (the window's end), by the ledger so far.

    Attempts left = the smaller of the CN per-day count and the US 7-in-7 count (both per borrower);
    connected left = the CN connected-per-day count. A conversation under a quiet-days rule leaves
    nothing (`check_call` defers the task then, this only says so). The task expires at `until` or
    at the borrower's next local midnight, whichever is first (the per-day counts restart there).
    """
    zone = ZoneInfo(timezone)
    expires_at = min(until, _next_local_midnight(at, zone))
    left: list[int] = []
    if limits.attempts_per_day_per_number is not None:
        today = sum(
            1 for a in ledger.attempts if a.channel == CALL_CHANNEL and _same_local_day(a.at, at, zone)
        )
        left.append(max(0, limits.attempts_per_day_per_number - today))
    if limits.attempts_per_7_days is not None:
        recent = sum(1 for a in ledger.attempts if a.channel == CALL_CHANNEL and a.at > at - ROLLING_WINDOW)
        left.append(max(0, limits.attempts_per_7_days - recent))
    connected_left: int | None = None
    if limits.connected_per_day is not None:
        connected = sum(1 for c in ledger.connected if _same_local_day(c.at, at, zone))
        connected_left = max(0, limits.connected_per_day - connected)
    last = ledger.last_conversation_at
    for limit in contact_limits:  # e.g. Massachusetts: 2 calls and texts per debt in 7 days
        if CALL_CHANNEL not in limit.channels:
            continue
        counted = sum(
            1
            for a in ledger.attempts
            if a.channel in limit.channels
            and a.at > at - timedelta(days=limit.days)
            and (limit.scope is Scope.PER_BORROWER or a.loan_id == loan_id)
        )
        left.append(max(0, limit.max_contacts - counted))
    quiet = limits.quiet_days_after_conversation
    if quiet is not None and last is not None and at < last + timedelta(days=quiet):
        left.append(0)
    return Allowance(min(left) if left else None, connected_left, expires_at)


def _pruned(ledger: CallLedger, at: datetime) -> CallLedger:
    horizon = at - KEEP_FOR

    def kept(entries: tuple[Attempt, ...]) -> tuple[Attempt, ...]:
        return tuple(e for e in entries if e.at > horizon)

    return replace(
        ledger,
        attempts=kept(ledger.attempts),
        connected=kept(ledger.connected),
        conversations=kept(ledger.conversations),
    )


def with_task(ledger: CallLedger, task: OpenCallTask) -> CallLedger:
    """The ledger with `task` open (unchanged if that task is open already)."""
    if ledger.open_task == task:
        return ledger
    return replace(_pruned(ledger, task.opened_at), open_task=task)


def without_task(ledger: CallLedger, task_id: str) -> CallLedger:
    """The ledger with `task_id` closed (done, expired, or never queued); others are left open."""
    if ledger.open_task is None or ledger.open_task.task_id != task_id:
        return ledger
    return replace(ledger, open_task=None)


def with_attempt(
    ledger: CallLedger,
    call_id: str,
    at: datetime,
    *,
    channel: str = CALL_CHANNEL,
    loan_id: str = "",
    connected: bool = False,
    conversation: bool = False,
) -> CallLedger:
    """The ledger after the contact `call_id` at `at` (unchanged if counted already): the dialer's
    reported attempt (a call), or an action's reserved contact on another channel (a text under a
    contact limit, given back by `without_attempt` if never sent).

    `connected`: the call was answered (the CN connected-per-day cap); `conversation`: a telephone
    conversation with the borrower (the US quiet days). A conversation is always a connected call.
    """
    if ledger.holds(call_id):
        return ledger
    pruned = _pruned(ledger, max(at, *(a.at for a in ledger.attempts)) if ledger.attempts else at)
    entry = Attempt(at, call_id, channel, loan_id)
    return replace(
        pruned,
        attempts=(*pruned.attempts, entry),
        connected=(*pruned.connected, entry) if connected or conversation else pruned.connected,
        conversations=(*pruned.conversations, entry) if conversation else pruned.conversations,
    )


def without_attempt(ledger: CallLedger, action_id: str) -> CallLedger:
    """Give a reserved contact back: the text or e-mail was never sent (permanent send failure)."""
    return replace(ledger, attempts=tuple(a for a in ledger.attempts if a.action_id != action_id))


def restamped(ledger: CallLedger, action_id: str, at: datetime) -> CallLedger | None:
    """The ledger with the contact `action_id` reserved earlier moved to `at`, the instant a retry
    makes it (a text refused before the call, throttled, and sent on the retry); None when there is
    nothing to move (no such reservation, or one at `at` or later).

    The slot then counts over the window the contact's own instant opens, as the archive record of
    the send states it: a slot left at the first try expired up to the retry's delay early, and a
    contact a week later could take a fourth slot in Washington's week. Moving a held slot later never
    puts its own instant over a limit: every contact taken meanwhile counted the slot, and the later
    window only drops contacts from its start.
    """
    held = next((a for a in ledger.attempts if a.action_id == action_id), None)
    if held is None or held.at >= at:
        return None
    return replace(
        ledger, attempts=tuple(replace(a, at=at) if a.action_id == action_id else a for a in ledger.attempts)
    )
