"""The call caps proven from the contact archive alone: every attempt the dialer reported, per borrower.

Reads archive lines (`arrears.domain.archive.ARCHIVE_FIELDS`), never the hot tables nor the call ledger,
and recounts each cap independently of the code that enforced it (`arrears.domain.call_limits`):

* CN (docs/architecture.md "Collection rules"): at most `connected_per_day` answered calls and
  `attempts_per_day_per_number` attempts per borrower per calendar day in the borrower's zone;
* US Regulation F 12 CFR 1006.14(b)(2): at most `attempts_per_7_days` attempts in any 7 consecutive
  days, and no attempt within `quiet_days_after_conversation` days after a telephone conversation.

Counted per borrower (`borrower_token`, the same for all of a borrower's loans), across loans: stricter
than Reg F's "per debt". An attempt's rules are those of the pack version in force at its instant.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from arrears.domain.calendar import parse_utc
from arrears.domain.call_attempts import ANSWERED, CallResult
from arrears.domain.call_limits import ContactLimit, Scope
from arrears.domain.rulepacks import RulePack
from arrears.domain.strategy import Channel


@dataclass(frozen=True, slots=True)
class _Call:
    at: datetime
    zone: str
    jurisdiction: str
    result: str
    answered: bool
    conversation: bool


@dataclass
class CallAudit:
    """What the archive shows: attempts, connections, conversations, the highest figure each cap
    limits, and the violations of each rule (0 everywhere when the caps held)."""

    borrowers: int = 0
    attempts: int = 0
    connected: int = 0
    conversations: int = 0
    results: Counter[str] = field(default_factory=Counter)
    max_attempts_per_borrower_day: int = 0  # CN cap: 6
    max_connected_per_borrower_day: int = 0  # CN cap: 3
    max_attempts_in_7_days: int = 0  # US cap: 7
    min_hours_from_conversation_to_next_attempt: float | None = None  # US rule: >= 168
    violations: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "borrowers_called": self.borrowers,
            "attempts": self.attempts,
            "connected": self.connected,
            "conversations": self.conversations,
            "attempts_by_result": dict(sorted(self.results.items())),
            "cn_max_attempts_per_borrower_day": self.max_attempts_per_borrower_day,
            "cn_max_connected_per_borrower_day": self.max_connected_per_borrower_day,
            "us_max_attempts_in_7_days": self.max_attempts_in_7_days,
            "us_min_hours_after_conversation": self.min_hours_from_conversation_to_next_attempt,
            "violations": {
                rule: self.violations.get(rule, 0)
                for rule in (
                    "call_attempts_per_day",
                    "call_connected_per_day",
                    "call_attempts_7_days",
                    "call_after_conversation",
                )
            },
            "violations_total": sum(self.violations.values()),
        }


def _calls(lines: Iterable[Mapping[str, Any]]) -> dict[str, list[_Call]]:
    by_borrower: dict[str, list[_Call]] = defaultdict(list)
    for line in lines:
        if line.get("channel") != Channel.CALL_TASK.value or not line.get("result"):
            continue  # a queued task's record, not an attempt
        result = CallResult(str(line["result"]))
        by_borrower[str(line["borrower_token"])].append(
            _Call(
                parse_utc(str(line["occurred_at"])),
                str(line["borrower_timezone"]),
                str(line["jurisdiction"]),
                result.value,
                result in ANSWERED,
                bool(line.get("conversation")),
            )
        )
    return {token: sorted(calls, key=lambda c: c.at) for token, calls in by_borrower.items()}


def audit_calls(
    lines: Iterable[Mapping[str, Any]], pack_for: Callable[[str, datetime], RulePack]
) -> CallAudit:
    """Recount every call cap per borrower from archive `lines` (each contact once: deduplicate by
    `contact_id` first). `pack_for(jurisdiction, at)` is the pack in force at an instant."""
    audit = CallAudit()
    for calls in _calls(lines).values():
        audit.borrowers += 1
        per_day: Counter[tuple[str, object]] = Counter()
        for n, call in enumerate(calls):
            limits = pack_for(call.jurisdiction, call.at).call_limits
            audit.attempts += 1
            audit.results[call.result] += 1
            audit.connected += call.answered
            audit.conversations += call.conversation
            day = call.at.astimezone(ZoneInfo(call.zone)).date()
            per_day[("attempts", day)] += 1
            per_day[("connected", day)] += call.answered
            attempts_today, connected_today = per_day[("attempts", day)], per_day[("connected", day)]
            cap = limits.attempts_per_day_per_number
            if cap is not None:
                audit.max_attempts_per_borrower_day = max(audit.max_attempts_per_borrower_day, attempts_today)
                audit.violations["call_attempts_per_day"] += attempts_today > cap
            cap = limits.connected_per_day
            if cap is not None:
                audit.max_connected_per_borrower_day = max(
                    audit.max_connected_per_borrower_day, connected_today
                )
                audit.violations["call_connected_per_day"] += call.answered and connected_today > cap
            window = [c for c in calls[: n + 1] if c.at > call.at - timedelta(days=7)]
            if limits.attempts_per_7_days is not None:
                audit.max_attempts_in_7_days = max(audit.max_attempts_in_7_days, len(window))
                if len(window) > limits.attempts_per_7_days:
                    audit.violations["call_attempts_7_days"] += 1
            quiet = limits.quiet_days_after_conversation
            # A conversation reported at the same instant (a desk agent's two calls, stamped when
            # received) is not one before this attempt: only strictly earlier ones start a quiet period.
            talked = [c.at for c in calls[:n] if c.conversation and c.at < call.at]
            if quiet is not None and talked:
                hours = (call.at - talked[-1]).total_seconds() / 3600
                least = audit.min_hours_from_conversation_to_next_attempt
                audit.min_hours_from_conversation_to_next_attempt = (
                    hours if least is None else min(least, hours)
                )
                if call.at < talked[-1] + timedelta(days=quiet):
                    audit.violations["call_after_conversation"] += 1
    return audit


@dataclass
class VisitAudit:
    """Field visits in the archive: how many, by outcome, and how many broke a rule (by rule)."""

    visits: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    breaches: Counter[str] = field(default_factory=Counter)
    visits_with_breach: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "reported": self.visits,
            "by_outcome": dict(sorted(self.outcomes.items())),
            "with_breach": self.visits_with_breach,
            "breaches_by_rule": dict(sorted(self.breaches.items())),
        }


def audit_visits(lines: Iterable[Mapping[str, Any]]) -> VisitAudit:
    """Count the field visits of archive `lines` and the rules each broke (its `rules_checked` FAILs)."""
    audit = VisitAudit()
    for line in lines:
        if line.get("channel") != Channel.FIELD_VISIT.value or not line.get("result"):
            continue  # a queued visit task's record, not a reported visit
        audit.visits += 1
        audit.outcomes[str(line["result"])] += 1
        failed = [str(r).rsplit(":", 1)[0] for r in line.get("rules_checked", []) if str(r).endswith(":FAIL")]
        audit.visits_with_breach += bool(failed)
        audit.breaches.update(failed)
    return audit


@dataclass(frozen=True, slots=True)
class _Counted:
    at: datetime
    channel: str  # "" for a record that counts on no limit (kept for the layers it names)
    loan_id: str
    rule_pack: str
    judged_by_dispatcher: bool  # the dispatcher's own judgement (no `result`: not a report)


def _counted_contact(line: Mapping[str, Any]) -> str:
    """The channel a frequency limit counts this archive line on, "" when it counts none: a reported
    call attempt (a call task's record with a `result`), a text or e-mail sent (the e-mailed
    validation notice included), a field-visit task queued (its reported visit is not a second one)."""
    channel, result = str(line.get("channel", "")), line.get("result")
    if line.get("status") != "SENT":
        return ""
    if channel == Channel.CALL_TASK.value:
        return channel if result else ""
    if channel == Channel.EMAIL.value or (
        channel in (Channel.SMS.value, Channel.FIELD_VISIT.value) and not result
    ):
        return channel
    return ""


@dataclass
class ContactLimitAudit:
    """The frequency limits of the rule-pack layers (Massachusetts' 2 calls and texts per debt in 7
    days, Washington's 3 communications a week, ...) recounted from the archive: contacts judged, the
    highest count each limit saw, and the contacts that exceeded one (0 when every limit held)."""

    judged: int = 0
    highest: dict[str, int] = field(default_factory=dict)
    violations: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "contacts_judged": self.judged,
            "highest_count_by_rule": dict(sorted(self.highest.items())),
            "violations": dict(sorted(self.violations.items())),
            "violations_total": sum(self.violations.values()),
        }


def audit_contact_limits(
    lines: Iterable[Mapping[str, Any]], limits_of: Callable[[str], tuple[ContactLimit, ...]]
) -> ContactLimitAudit:
    """Recount every frequency limit per borrower from archive `lines` (each contact once).

    Each counted contact (`_counted_contact`) is judged by the limits of the layers its own record
    names (`rule_pack`, e.g. `US-REGF@2026.1+US-MA@2026.1`; `limits_of` resolves them) and those of
    the dispatcher's latest judgement of the borrower before it (a dialer's attempt is recorded by
    another function, which must not be the one to say which state's limits bind it), counting the
    borrower's contacts before it on the limit's channels in the limit's rolling window (per debt:
    the same loan), itself included: more than the limit's maximum is a violation.
    """
    audit = ContactLimitAudit()
    by_borrower: dict[str, list[_Counted]] = defaultdict(list)
    for line in lines:
        by_borrower[str(line["borrower_token"])].append(
            _Counted(
                parse_utc(str(line["occurred_at"])),
                _counted_contact(line),
                str(line["loan_id"]),
                str(line["rule_pack"]),
                not line.get("result"),
            )
        )
    for records in by_borrower.values():
        records.sort(key=lambda c: c.at)
        contacts = [c for c in records if c.channel]
        latest = ""  # the layers of the dispatcher's latest judgement of this borrower so far
        counted = 0  # how many of `contacts` this record and those before it are
        for record in records:
            if record.judged_by_dispatcher:
                latest = record.rule_pack
            if not record.channel:
                continue
            counted += 1
            refs = f"{record.rule_pack}+{latest}" if latest else record.rule_pack
            limits = {limit.rule: limit for limit in limits_of(refs) if record.channel in limit.channels}
            audit.judged += bool(limits)
            for limit in limits.values():
                since = record.at - timedelta(days=limit.days)
                count = sum(
                    1
                    for earlier in contacts[:counted]
                    if earlier.channel in limit.channels
                    and earlier.at > since
                    and (limit.scope is Scope.PER_BORROWER or earlier.loan_id == record.loan_id)
                )
                audit.highest[limit.rule] = max(audit.highest.get(limit.rule, 0), count)
                audit.violations[limit.rule] += count > limit.max_contacts
    return audit
