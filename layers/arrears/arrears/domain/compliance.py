"""Jurisdiction rule packs and the contact gate applied at send time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from arrears.domain.borrowers import Borrower
from arrears.domain.loans import Loan
from arrears.domain.rulepacks import RULE_PACKS, TIMED_CHANNELS, RulePack, rule_pack_for
from arrears.domain.strategy import Channel

__all__ = [
    "RULE_PACKS",
    "TIMED_CHANNELS",
    "Decision",
    "RulePack",
    "Verdict",
    "gate",
    "next_contact_instant",
    "rule_pack_for",
]


class Verdict(StrEnum):
    SEND = "SEND"
    DEFER = "DEFER"
    SUPPRESS = "SUPPRESS"
    CANCEL = "CANCEL"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    reason: str
    rules_checked: tuple[tuple[str, str], ...]
    not_before: datetime | None = None


def next_contact_instant(at: datetime, tz_name: str, start: time, end: time) -> datetime | None:
    """None when `at` is inside [start, end) local time; else the next local `start`, as UTC."""
    zone = ZoneInfo(tz_name)
    local = at.astimezone(zone)
    if start <= local.time() < end:
        return None
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    return datetime.combine(day, start, tzinfo=zone).astimezone(at.tzinfo)


def gate(
    *, channel: Channel, cycle: int, loan: Loan, borrower: Borrower, at: datetime, pack: RulePack
) -> Decision:
    """Decide, on fresh state at `at`, whether a planned contact may go out now."""
    checked: list[tuple[str, str]] = []

    def stop(verdict: Verdict, rule: str, reason: str) -> Decision:
        checked.append((rule, "FAIL"))
        return Decision(verdict, reason, tuple(checked))

    if not loan.is_open:
        return stop(Verdict.CANCEL, "loan_open", f"loan is {loan.status.value}")
    checked.append(("loan_open", "PASS"))
    if loan.cycle != cycle or (loan.due_offset is not None and loan.due_offset > 0 and loan.dpd == 0):
        return stop(Verdict.CANCEL, "still_overdue", "the instalment this contact was planned for is settled")
    checked.append(("still_overdue", "PASS"))
    holds = loan.holds
    if holds.bankruptcy or holds.deceased:
        return stop(Verdict.SUPPRESS, "stop_hold", "bankruptcy or death recorded: all collection stopped")
    checked.append(("stop_hold", "PASS"))
    if holds.cease_contact and channel in TIMED_CHANNELS:
        return stop(Verdict.SUPPRESS, "cease_contact", "borrower asked to cease contact")
    checked.append(("cease_contact", "PASS"))
    if holds.dispute_open:
        return stop(Verdict.SUPPRESS, "dispute_open", "debt under dispute: collection contact suppressed")
    checked.append(("dispute_open", "PASS"))
    if channel.value in borrower.opted_out_channels:
        return stop(Verdict.SUPPRESS, "channel_opt_out", f"borrower opted out of {channel.value}")
    checked.append(("channel_opt_out", "PASS"))
    if channel is Channel.FIELD_VISIT and not pack.field_visits_enabled:
        return stop(Verdict.SUPPRESS, "field_visits_enabled", f"{pack.pack_id} rules do not use field visits")
    if channel is Channel.FIELD_VISIT:
        checked.append(("field_visits_enabled", "PASS"))
    if channel in pack.timed_channels:
        resume = next_contact_instant(at, borrower.timezone, pack.contact_start, pack.contact_end)
        if resume is not None:
            checked.append(("contact_hours", "FAIL"))
            window = f"{pack.contact_start:%H:%M}-{pack.contact_end:%H:%M}"
            return Decision(
                Verdict.DEFER, f"outside contact hours {window} {borrower.timezone}", tuple(checked), resume
            )
        checked.append(("contact_hours", "PASS"))
    return Decision(Verdict.SEND, "", tuple(checked))
