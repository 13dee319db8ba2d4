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
    "contact_window",
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


END_OF_DAY = time.max


def next_contact_instant(at: datetime, tz_name: str, start: time, end: time) -> datetime | None:
    """None when `at` is inside [start, end) local time; else the next local `start`, as UTC.

    Wall-clock arithmetic in the borrower's zone: across a DST change the window keeps its local
    hours (08:00 stays 08:00), so the UTC instant moves by the offset change. A `start` that falls in
    a spring-forward gap resolves to the first instant after the gap (zoneinfo, fold=0).
    """
    zone = ZoneInfo(tz_name)
    local = at.astimezone(zone)
    if start <= local.time() < end:
        return None
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    resume = datetime.combine(day, start, tzinfo=zone)
    # A local start time skipped by DST maps back before `at` only in pathological windows; be safe.
    if resume.astimezone(at.tzinfo) <= at:
        resume = datetime.combine(day + timedelta(days=1), start, tzinfo=zone)
    return resume.astimezone(at.tzinfo)


def contact_window(pack: RulePack, borrower: Borrower) -> tuple[time, time, bool]:
    """The local window a timed contact may use: the pack's hours narrowed by the borrower's
    preferred hours (whole hours, [from, to), 24 = end of day). Preferences that leave no lawful
    time at all (no overlap, or an inverted pair) are ignored: the pack's hours still apply.
    Returns (start, end, preference_applied)."""
    start, end = pack.contact_start, pack.contact_end
    if borrower.preferred_hours is None:
        return start, end, False
    first, last = borrower.preferred_hours
    if not (0 <= first < last <= 24):
        return start, end, False
    pref_start = time(first)
    pref_end = END_OF_DAY if last == 24 else time(last)
    narrowed_start, narrowed_end = max(start, pref_start), min(end, pref_end)
    if narrowed_start >= narrowed_end:
        return start, end, False
    return narrowed_start, narrowed_end, True


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
    # The same channel rules as the planner's (`arrears.domain.planning.decide_step`): an action
    # planned before the hold was recorded is judged here by the hold, exactly as a new one would be.
    if holds.cease_contact and channel not in pack.cease_contact_allows:
        return stop(Verdict.SUPPRESS, "cease_contact", "borrower asked to cease contact")
    checked.append(("cease_contact", "PASS"))
    if holds.dispute_open and channel not in pack.dispute_allows:
        return stop(Verdict.SUPPRESS, "dispute_open", "debt under dispute: collection contact suppressed")
    checked.append(("dispute_open", "PASS"))
    today = at.astimezone(ZoneInfo(pack.business_timezone)).date()
    for rule, until, what in (
        ("promise_to_pay", holds.promise_to_pay_until, "promise to pay"),
        ("hardship", holds.hardship_until, "hardship pause"),
    ):
        if until is not None and today <= until:
            # Re-checked at send time: a pause agreed after the action was planned still holds it.
            checked.append((rule, "FAIL"))
            paused_until = datetime.combine(
                until + timedelta(days=1), pack.contact_start, tzinfo=ZoneInfo(pack.business_timezone)
            ).astimezone(at.tzinfo)
            return Decision(Verdict.DEFER, f"{what} until {until.isoformat()}", tuple(checked), paused_until)
        checked.append((rule, "PASS"))
    if channel.value in borrower.opted_out_channels:
        return stop(Verdict.SUPPRESS, "channel_opt_out", f"borrower opted out of {channel.value}")
    checked.append(("channel_opt_out", "PASS"))
    if channel is Channel.FIELD_VISIT and not pack.field_visits_enabled:
        return stop(Verdict.SUPPRESS, "field_visits_enabled", f"{pack.pack_id} rules do not use field visits")
    if channel is Channel.FIELD_VISIT:
        checked.append(("field_visits_enabled", "PASS"))
    if channel in pack.timed_channels:
        start, end, preferred = contact_window(pack, borrower)
        rule = "preferred_hours" if preferred else "contact_hours"
        resume = next_contact_instant(at, borrower.timezone, start, end)
        if resume is not None:
            inside_pack = next_contact_instant(at, borrower.timezone, pack.contact_start, pack.contact_end)
            if preferred and inside_pack is not None:
                rule = "contact_hours"  # the law stops it, whatever the preference
            if rule == "preferred_hours":
                checked.append(("contact_hours", "PASS"))
            checked.append((rule, "FAIL"))
            window = f"{start:%H:%M}-{end:%H:%M}" if end != END_OF_DAY else f"{start:%H:%M}-24:00"
            what = "borrower's preferred hours" if rule == "preferred_hours" else "contact hours"
            return Decision(
                Verdict.DEFER, f"outside {what} {window} {borrower.timezone}", tuple(checked), resume
            )
        checked.append(("contact_hours", "PASS"))
        if preferred:
            checked.append(("preferred_hours", "PASS"))
    return Decision(Verdict.SEND, "", tuple(checked))
