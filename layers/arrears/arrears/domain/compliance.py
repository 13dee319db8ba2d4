"""The contact rules: the hold rules every judge applies, and the gate applied at send time.

`check_holds` is the one ordered table of hold rules; the planner (`arrears.domain.planning`) and
the dispatcher's gate (`gate`) both call it, so an action planned before a hold was recorded is
judged by the hold exactly as a new one would be, and every receipt lists the rules in one order:

1. `stop_hold`: bankruptcy or death recorded: SUPPRESS everything;
2. `cease_contact`: SUPPRESS all but the notices the pack allows (legal remedy, bureau;
   Reg F 12 CFR 1006.6(c));
3. `dispute_open`: SUPPRESS collection contact (the pack may allow some channels);
4. `channel_opt_out`: the borrower opted out of this channel: SUPPRESS it;
5. `hardship` (until a date): DEFER to the day after it ends;
6. `repayment_plan` (until a date): a plan in force (`arrears.domain.plans`): DEFER to the day
   after its last instalment's grace ends (the hold lifts earlier when the plan breaks or completes);
7. `promise_to_pay` (until a date): DEFER to the day after the promised date.

Pure: no clock reads, no I/O; times are aware datetimes, dates are business dates of the pack.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from arrears.domain.borrowers import Borrower
from arrears.domain.business_time import business_date
from arrears.domain.delinquency import due_offset
from arrears.domain.limitation import (
    LIMITATION_KNOWN_RULE,
    LIMITATION_RULE,
    UNKNOWN_PERIOD_RECHECK,
    barred_reason,
    threatens_suit,
    time_barred,
    unknown_period_reason,
)
from arrears.domain.loans import Loan
from arrears.domain.messages import ANNOUNCES_DUE_DATE, DUE_DATE_AHEAD_RULE
from arrears.domain.rulepacks import RulePack
from arrears.domain.strategy import Channel
from arrears.domain.validation_notice import VALIDATION_PERIOD_RULE, in_validation_period
from arrears.domain.verdicts import FAIL, PASS, RulesChecked, Verdict

__all__ = [
    "CONTACT_POINT_RULE",
    "HOLD_RULES",
    "NOTICE_CANNOT_GO_REASON",
    "NOTICE_FIRST_REASON",
    "ONE_CALL_TASK_RULE",
    "OWN_CHECKS",
    "HoldCheck",
    "SendDecision",
    "after_validation_period",
    "cancellation",
    "check_holds",
    "closes_everywhere",
    "contact_windows",
    "contact_zones",
    "format_windows",
    "gate",
    "is_stopped",
    "next_contact_instant",
    "next_instant_open_everywhere",
    "next_window_instant",
    "window_at",
    "zone_windows_for",
]

HOLD_RULES = (
    "stop_hold",
    "cease_contact",
    "dispute_open",
    "channel_opt_out",
    "hardship",
    "repayment_plan",
    "promise_to_pay",
)
"""The hold rules in the order `check_holds` applies them (stored rule names)."""


@dataclass(frozen=True, slots=True)
class HoldCheck:
    """The hold rules checked for one contact, and the first that stops it (if any).

    `verdict` is None when every rule passed, else SUPPRESS or DEFER; `paused_until` is the last
    day of the pause for DEFER (the contact may go out from the next business day on).
    """

    rules_checked: RulesChecked
    verdict: Verdict | None = None
    reason: str = ""
    paused_until: date | None = None


def is_stopped(loan: Loan) -> bool:
    """Bankruptcy or death: all collection stops and open actions are cancelled."""
    return loan.holds.bankruptcy or loan.holds.deceased


def cancellation(loan: Loan, collection_instalment: int) -> tuple[str, RulesChecked] | None:
    """Why an open action planned for `collection_instalment` must be cancelled now, with the rules
    checked (in the gate's order and names), or None when it still applies.

    `loan_open` fails for a closed loan (repaid, written off); `stop_hold` for bankruptcy or death;
    `still_overdue` when the instalment it was planned for is no longer the one in collection.
    """
    if not loan.is_open:
        return "loan cured or closed before contact", (("loan_open", FAIL),)
    if is_stopped(loan):
        return "bankruptcy or death recorded: all collection stopped", (
            ("loan_open", PASS),
            ("stop_hold", FAIL),
        )
    if loan.collection_instalment != collection_instalment:
        return "loan cured or closed before contact", (("loan_open", PASS), ("still_overdue", FAIL))
    return None


def check_holds(
    *, channel: Channel, loan: Loan, pack: RulePack, opted_out_channels: Collection[str], on: date
) -> HoldCheck:
    """Apply `HOLD_RULES`, in order, to a contact on `channel` on business date `on`.

    A pause (hardship, repayment plan, promise to pay) holds on every day up to and including its date.
    """
    holds = loan.holds

    def failure(rule: str) -> tuple[Verdict, str, date | None] | None:
        """(verdict, reason, last day of a pause) when `rule` stops the contact, else None."""
        match rule:
            case "stop_hold" if is_stopped(loan):
                return Verdict.SUPPRESS, "bankruptcy or death recorded: all collection stopped", None
            case "cease_contact" if holds.cease_contact and channel not in pack.cease_contact_allows:
                return Verdict.SUPPRESS, "borrower asked to cease contact", None
            case "dispute_open" if holds.dispute_open and channel not in pack.dispute_allows:
                return Verdict.SUPPRESS, "debt under dispute: collection contact suppressed", None
            case "channel_opt_out" if channel.value in opted_out_channels:
                return Verdict.SUPPRESS, f"borrower opted out of {channel.value}", None
            case "hardship" if holds.hardship_until is not None and on <= holds.hardship_until:
                return (
                    Verdict.DEFER,
                    f"hardship pause until {holds.hardship_until.isoformat()}",
                    holds.hardship_until,
                )
            case "repayment_plan" if holds.plan_until is not None and on <= holds.plan_until:
                return Verdict.DEFER, f"repayment plan until {holds.plan_until.isoformat()}", holds.plan_until
            case "promise_to_pay" if (
                holds.promise_to_pay_until is not None and on <= holds.promise_to_pay_until
            ):
                until = holds.promise_to_pay_until
                return Verdict.DEFER, f"promise to pay until {until.isoformat()}", until
        return None

    checked: list[tuple[str, str]] = []
    for rule in HOLD_RULES:
        stop = failure(rule)
        if stop is not None:
            checked.append((rule, FAIL))
            return HoldCheck(tuple(checked), *stop)
        checked.append((rule, PASS))
    return HoldCheck(tuple(checked))


@dataclass(frozen=True, slots=True)
class SendDecision:
    """The gate's verdict on a planned contact at the instant it would go out.

    `verdict`: SEND, DEFER, SUPPRESS or CANCEL; `reason` is empty for SEND. `not_before` (aware
    UTC) is when a DEFER may be tried again: the end of a pause, or the opening of the contact window.
    """

    verdict: Verdict
    reason: str
    rules_checked: RulesChecked
    not_before: datetime | None = None
    # The layer of the pack whose rule stopped the contact (`US-MA@2026.1`), `borrower` for the
    # borrower's own preferred hours, "" when it went out or no pack rule decided (loan closed).
    decided_by: str = ""
    # The IANA zones the contact hours were checked in: the address zone first, then the zones of
    # the borrower's phone numbers (never the numbers themselves).
    zones_checked: tuple[str, ...] = ()
    # DEFER of a step held for the validation period on a debt no notice was ever sent for: the
    # dispatcher sends the notice (by post) now and defers the step past its period.
    notice_first: bool = False


NOTICE_FIRST_REASON = (
    "no validation notice was ever sent for this debt: it goes by post now, and this step waits "
    "until its validation period ends"
)


NOTICE_CANNOT_GO_REASON = (
    "no validation notice was ever sent for this debt and the borrower refused letters too: nothing "
    "can carry it, and this step waits"
)


def after_validation_period(period_ends: date, pack: RulePack, at: datetime) -> datetime:
    """The first instant a step held for the validation period may go: the opening of the pack's
    contact hours on the business day after `period_ends` (in `at`'s zone)."""
    return datetime.combine(
        period_ends + timedelta(days=1), pack.contact_start, tzinfo=ZoneInfo(pack.business_timezone)
    ).astimezone(at.tzinfo)


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


Window = tuple[time, time]
"""A local window [start, end) within one day; `END_OF_DAY` as end means up to midnight."""


def _hour(hour: int) -> time:
    return END_OF_DAY if hour == 24 else time(hour)


def format_windows(windows: tuple[Window, ...]) -> str:
    """`08:00-10:00,20:00-21:00` (a window that runs to midnight ends at `24:00`)."""
    return ",".join(
        f"{start:%H:%M}-" + ("24:00" if end == END_OF_DAY else f"{end:%H:%M}") for start, end in windows
    )


def contact_windows(pack: RulePack, borrower: Borrower) -> tuple[tuple[Window, ...], bool]:
    """The local windows a timed contact may use, earliest first: the pack's hours narrowed by the
    borrower's preferred hours, and whether the preference narrowed them.

    Preferred hours are whole hours `(from, to)`, [from, to), 24 = end of day; `from > to` crosses
    midnight (`(19, 1)` is 19:00-01:00), so narrowing can leave two windows (`(20, 10)` under 08:00-21:00
    leaves 08:00-10:00 and 20:00-21:00). A preference never widens the pack's hours; one that leaves no
    lawful time at all (no overlap, `from == to`, hours outside 0-24) is ignored: the pack's hours apply.
    """
    law: Window = (pack.contact_start, pack.contact_end)
    if borrower.preferred_hours is None:
        return (law,), False
    first, last = borrower.preferred_hours
    if not (0 <= first <= 24 and 0 <= last <= 24) or first == last:
        return (law,), False
    if first < last:
        preferred = [(_hour(first), _hour(last))]
    else:  # crosses midnight
        preferred = [(time(0), _hour(last)), (_hour(first), END_OF_DAY)]
    narrowed = tuple(
        (max(law[0], start), min(law[1], end))
        for start, end in preferred
        if max(law[0], start) < min(law[1], end)
    )
    if not narrowed:
        return (law,), False
    return narrowed, narrowed != (law,)


def next_window_instant(at: datetime, tz_name: str, windows: tuple[Window, ...]) -> datetime | None:
    """None when `at` is inside one of `windows` (local time in `tz_name`); else the earliest next
    opening of any of them, as UTC (each keeps its local hours across DST, see `next_contact_instant`)."""
    openings = [next_contact_instant(at, tz_name, start, end) for start, end in windows]
    if any(opening is None for opening in openings):
        return None
    return min(opening for opening in openings if opening is not None)


def window_at(at: datetime, tz_name: str, windows: tuple[Window, ...]) -> Window:
    """The window `at` falls in, else the next one to open (the first of the day when none is left)."""
    local = at.astimezone(ZoneInfo(tz_name)).time()
    for start, end in windows:
        if local < end:
            return (start, end)
    return windows[0]


def contact_zones(borrower: Borrower, phone_zones: Collection[str] = ()) -> tuple[str, ...]:
    """Every zone the borrower may be in: their address zone first, then their phones' zones
    (deduplicated, in the order given)."""
    zones = [borrower.timezone]
    for zone in phone_zones:
        if zone not in zones:
            zones.append(zone)
    return tuple(zones)


MAX_ZONE_ROUNDS = 16


def next_instant_open_everywhere(
    at: datetime, zone_windows: tuple[tuple[str, tuple[Window, ...]], ...]
) -> tuple[datetime | None, bool]:
    """(None, True) when `at` is inside the windows of every zone; else (the earliest later instant
    inside all of them, True), or (None, False) when the zones' windows never overlap (a contact
    can never be lawful everywhere at once).

    Each zone keeps its windows' local hours (see `next_contact_instant`). Found by moving to the
    latest next opening until every zone is open at once (at most `MAX_ZONE_ROUNDS` moves).
    """
    candidate = at
    for _ in range(MAX_ZONE_ROUNDS):
        latest = candidate
        for zone, windows in zone_windows:
            opening = next_window_instant(candidate, zone, windows)
            if opening is not None and opening > latest:
                latest = opening
        if latest == candidate:
            return (None if candidate == at else candidate), True
        candidate = latest
    return None, False


def closes_everywhere(at: datetime, zone_windows: tuple[tuple[str, tuple[Window, ...]], ...]) -> datetime:
    """The instant (in `at`'s zone) the first of the zones' current windows closes: until then a
    contact open everywhere at `at` stays lawful everywhere (what a dialer is told to call before).
    A zone whose window `at` is not inside counts from the window `window_at` names."""
    ends = []
    for zone, windows in zone_windows:
        local = at.astimezone(ZoneInfo(zone))
        _, end = window_at(at, zone, windows)
        if end == END_OF_DAY:
            closes = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone))
        else:
            closes = datetime.combine(local.date(), end, tzinfo=ZoneInfo(zone))
        ends.append(closes.astimezone(at.tzinfo))
    return min(ends)


def zone_windows_for(
    pack: RulePack, borrower: Borrower, phone_zones: Collection[str] = ()
) -> tuple[tuple[str, tuple[Window, ...]], ...]:
    """Per zone the borrower may be in, its lawful windows: the address zone's narrowed by the
    borrower's preferred hours, the phones' zones the pack's hours."""
    zones = contact_zones(borrower, phone_zones)
    law: tuple[Window, ...] = ((pack.contact_start, pack.contact_end),)
    home, _ = contact_windows(pack, borrower)
    return tuple((zone, home if zone == zones[0] else law) for zone in zones)


def _closed_bound(at: datetime, zone: str, pack: RulePack) -> str:
    """Which bound of the pack's hours `at` is outside of in `zone`: `contact_hours.start` (too early)
    or `contact_hours.end` (too late)."""
    local = at.astimezone(ZoneInfo(zone)).time()
    return "contact_hours.start" if local < pack.contact_start else "contact_hours.end"


# The borrower's contact point each channel needs (the Borrower attribute, and how a reason names it).
# A channel without one on file is skipped (SUPPRESSED, "borrower has no phone number on file"), not
# sent and FAILED: the send-failure alarm (`sms-failure-rate`) counts the channel's refusals, never
# a gap in the lending core's data. Lender policy, not law: no layer decides it.
CONTACT_POINT_RULE = "contact_point_on_file"
CONTACT_POINTS: dict[Channel, tuple[str, str]] = {
    Channel.SMS: ("phone", "phone number"),
    Channel.CALL_TASK: ("phone", "phone number"),
    Channel.EMAIL: ("email", "e-mail address"),
}


ONE_CALL_TASK_RULE = "one_call_task"
"""One call task open per borrower at a time (the dialer works one): a second waits (DEFERRED)."""

OWN_CHECKS: dict[str, str] = {
    "loan_open": "the loan is still open (not repaid or written off), else the contact is CANCELLED",
    "still_overdue": (
        "the instalment the contact was planned for is still the one in collection, else CANCELLED"
    ),
    DUE_DATE_AHEAD_RULE: "a reminder that announces a due date goes only before that date, else CANCELLED",
    CONTACT_POINT_RULE: "the borrower has the contact point the channel needs on file, else SUPPRESSED",
    ONE_CALL_TASK_RULE: "one call task open per borrower at a time, else DEFERRED until it closes",
    "preferred_hours": "the borrower's own preferred hours, inside the law's, else DEFERRED",
}
"""Arrears' own checks, rule name -> what it requires: receipts record them like rules, but they are
the product's (a contact must still be true, reachable and workable), not a rule of any pack, so no
layer decides them (`decided_by` "" or, for `preferred_hours`, "borrower") and no law is cited.
Every other rule a receipt records belongs to a layer that cites its source (docs/compliance.md)."""


def missing_contact_point(channel: Channel, borrower: Borrower) -> str:
    """Why `borrower` cannot be reached on `channel` ("borrower has no phone number on file"), or ""
    when the contact point it needs is on file or it needs none (a visit, a hand-off). Judged by
    the dispatcher after `gate` (rule `CONTACT_POINT_RULE`, for the channels in `CONTACT_POINTS`)."""
    point = CONTACT_POINTS.get(channel)
    if point is None or getattr(borrower, point[0]):
        return ""
    return f"borrower has no {point[1]} on file"


def gate(
    *,
    channel: Channel,
    collection_instalment: int,
    loan: Loan,
    borrower: Borrower,
    at: datetime,
    pack: RulePack,
    phone_zones: Collection[str] = (),
    template_id: str = "",
) -> SendDecision:
    """Decide, on fresh state at the aware instant `at`, whether a planned contact may go out now.

    `collection_instalment` is the instalment the contact was planned for; `pack` the composed pack
    (`arrears.domain.rulepacks.compose`); `phone_zones` the zones of the borrower's phone numbers.
    Rules, in order: `loan_open` and `still_overdue` (CANCEL), `due_date_ahead` (a reminder announcing
    a due date, `ANNOUNCES_DUE_DATE`, once that date passed: CANCEL), `limitation_period` (a legal step,
    or a message whose `template_id` threatens suit, once the claim is time-barred: SUPPRESS;
    `arrears.domain.limitation`), the hold rules (`check_holds`, on the business date of `at`),
    `limitation_period_known` (such a step where the pack forbids suing on a time-barred debt but no
    layer states the borrower's period: DEFER a week),
    `validation_period` (Reg F debt collectors: a step that would overshadow
    the right to dispute waits until the validation period ends; DEFER; on a debt no notice was
    ever sent for, unless the consumer asked to cease contact, DEFER with `notice_first`: the
    notice goes first), `field_visits_enabled`
    (SUPPRESS), then for timed channels `contact_hours` in every zone the borrower may be in
    (`contact_zones`: lawful only when lawful in all of them; SUPPRESS when their windows never
    overlap) and `preferred_hours` in the address zone (DEFER to the first instant open everywhere).
    The decision names the deciding layer.
    """
    checked: list[tuple[str, str]] = []
    base = pack.layers[0] if pack.layers else pack.own_ref

    def stop(verdict: Verdict, rule: str, reason: str, decided_by: str = "") -> SendDecision:
        checked.append((rule, FAIL))
        return SendDecision(verdict, reason, tuple(checked), decided_by=decided_by)

    if not loan.is_open:
        return stop(Verdict.CANCEL, "loan_open", f"loan is {loan.status.value}")
    checked.append(("loan_open", PASS))
    if loan.collection_instalment != collection_instalment or (
        loan.due_offset is not None and loan.due_offset > 0 and loan.dpd == 0
    ):
        return stop(Verdict.CANCEL, "still_overdue", "the instalment this contact was planned for is settled")
    checked.append(("still_overdue", PASS))
    if template_id in ANNOUNCES_DUE_DATE:
        # "Due in N days" is false once the due date passed (the reminder waited past it: hours,
        # caps, a hold): never sent late.
        offset = due_offset(loan, business_date(at, pack))
        if offset is not None and offset > 0:
            return stop(
                Verdict.CANCEL, DUE_DATE_AHEAD_RULE, "the due date this reminder announces has passed"
            )
        checked.append((DUE_DATE_AHEAD_RULE, PASS))
    # A suit, or a threat of one, on a time-barred claim is barred whatever else holds it; where
    # the pack forbids it (US: 12 CFR 1006.26(b)) but no layer states the borrower's period, whether
    # the claim is time-barred cannot be told, and the step waits for the state's overlay.
    if pack.limitation is not None and threatens_suit(channel, template_id):
        if time_barred(loan, pack.limitation, business_date(at, pack)):
            return stop(
                Verdict.SUPPRESS,
                LIMITATION_RULE,
                barred_reason(loan, pack.limitation),
                pack.decided_by(LIMITATION_RULE),
            )
        checked.append((LIMITATION_RULE, PASS))
    held = check_holds(
        channel=channel,
        loan=loan,
        pack=pack,
        opted_out_channels=borrower.opted_out_channels,
        on=business_date(at, pack),
    )
    checked.extend(held.rules_checked)
    if held.verdict is Verdict.DEFER and held.paused_until is not None:
        # Re-checked at send time: a pause agreed after the action was planned still holds it.
        paused_until = datetime.combine(
            held.paused_until + timedelta(days=1), pack.contact_start, tzinfo=ZoneInfo(pack.business_timezone)
        ).astimezone(at.tzinfo)
        return SendDecision(Verdict.DEFER, held.reason, tuple(checked), paused_until, decided_by=base)
    if held.verdict is not None:
        return SendDecision(held.verdict, held.reason, tuple(checked), decided_by=base)
    if pack.limitation is None and pack.time_barred_citation and threatens_suit(channel, template_id):
        # Whether the claim is time-barred cannot be told: the step waits for the state's overlay.
        # After the holds (a hold that suppresses it still does), before the validation notice
        # (no notice is posted ahead of a step that cannot go).
        checked.append((LIMITATION_KNOWN_RULE, FAIL))
        return SendDecision(
            Verdict.DEFER,
            unknown_period_reason(borrower.region),
            tuple(checked),
            at + UNKNOWN_PERIOD_RECHECK,
            decided_by=pack.decided_by(LIMITATION_KNOWN_RULE),
        )
    notice = pack.validation_notice
    if notice is not None and channel in notice.defer_until_period_end:
        today = business_date(at, pack)
        if in_validation_period(loan, today) and loan.validation_period_ends is not None:
            checked.append((VALIDATION_PERIOD_RULE, FAIL))
            return SendDecision(
                Verdict.DEFER,
                f"validation period open until {loan.validation_period_ends.isoformat()} "
                "(the consumer may dispute until then)",
                tuple(checked),
                after_validation_period(loan.validation_period_ends, pack, at),
                decided_by=pack.decided_by(VALIDATION_PERIOD_RULE),
            )
        if loan.validation_notice_at is None and not loan.holds.cease_contact:
            # Never communicated with (opted out everywhere, unreachable): the consumer never had
            # the notice nor a period to dispute in. The notice goes first, by post, and the step
            # waits for its period (the dispatcher sends it: `notice_first`); a borrower who refused
            # letters too cannot be sent it (12 CFR 1006.14(h)(1)): the step waits a week at a time.
            checked.append((VALIDATION_PERIOD_RULE, FAIL))
            if Channel.LETTER.value in borrower.opted_out_channels:
                return SendDecision(
                    Verdict.DEFER,
                    NOTICE_CANNOT_GO_REASON,
                    tuple(checked),
                    at + UNKNOWN_PERIOD_RECHECK,
                    decided_by=pack.decided_by(VALIDATION_PERIOD_RULE),
                )
            return SendDecision(
                Verdict.DEFER,
                NOTICE_FIRST_REASON,
                tuple(checked),
                decided_by=pack.decided_by(VALIDATION_PERIOD_RULE),
                notice_first=True,
            )
        checked.append((VALIDATION_PERIOD_RULE, PASS))
    if channel is Channel.FIELD_VISIT and not pack.field_visits_enabled:
        return stop(
            Verdict.SUPPRESS,
            "field_visits_enabled",
            f"{pack.pack_id} rules do not use field visits",
            pack.decided_by("field_visits_enabled"),
        )
    if channel is Channel.FIELD_VISIT:
        checked.append(("field_visits_enabled", PASS))
    if channel not in pack.timed_channels:
        return SendDecision(Verdict.SEND, "", tuple(checked))
    zones = contact_zones(borrower, phone_zones)
    law: tuple[Window, ...] = ((pack.contact_start, pack.contact_end),)
    home_windows, preferred = contact_windows(pack, borrower)
    zone_windows = zone_windows_for(pack, borrower, phone_zones)
    resume, overlap = next_instant_open_everywhere(at, zone_windows)
    if not overlap and preferred:  # the preference would leave no time lawful everywhere: ignored
        home_windows, preferred = law, False
        zone_windows = tuple((zone, law) for zone in zones)
        resume, overlap = next_instant_open_everywhere(at, zone_windows)
    if resume is None and overlap:
        checked.append(("contact_hours", PASS))
        if preferred:
            checked.append(("preferred_hours", PASS))
        return SendDecision(Verdict.SEND, "", tuple(checked), zones_checked=zones)
    closed = [zone for zone in zones if next_contact_instant(at, zone, *law[0]) is not None]
    window = format_windows(law)
    if not overlap:
        checked.append(("contact_hours", FAIL))
        return SendDecision(
            Verdict.SUPPRESS,
            f"contact hours {window} never open at once in all of {', '.join(zones)}",
            tuple(checked),
            decided_by=pack.decided_by("contact_hours.start"),
            zones_checked=zones,
        )
    if closed:  # the law stops it, whatever the preference
        zone = closed[0]
        local = at.astimezone(ZoneInfo(zone))
        checked.append(("contact_hours", FAIL))
        return SendDecision(
            Verdict.DEFER,
            f"outside contact hours {window} in {zone} ({local:%H:%M} local); "
            f"zones checked: {', '.join(zones)}",
            tuple(checked),
            resume,
            decided_by=pack.decided_by(_closed_bound(at, zone, pack)),
            zones_checked=zones,
        )
    checked.append(("contact_hours", PASS))
    checked.append(("preferred_hours", FAIL))
    return SendDecision(
        Verdict.DEFER,
        f"outside borrower's preferred hours {format_windows(home_windows)} {borrower.timezone}",
        tuple(checked),
        resume,
        decided_by="borrower",
        zones_checked=zones,
    )
