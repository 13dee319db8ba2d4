"""The dialer's attempts (`CallAttempted`): what each result means, and each attempt judged at its instant.

Every attempt the dialer makes on a call task is reported, counted in the borrower's call ledger
(`arrears.domain.call_limits`) and archived as a contact record, so the archive alone proves the
call caps (docs/contracts.md, "The dialer contract"). An attempt is judged after the fact, on the
rule pack in force when it started and the ledger as it stood before it: a breach (outside the
contact window, beyond a cap) is still counted and archived, with the rule that failed, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from arrears.domain.call_limits import CallLedger, CallLimits, ContactLimit, check_call
from arrears.domain.compliance import Window, format_windows, next_window_instant
from arrears.domain.verdicts import FAIL, PASS, RulesChecked


class CallResult(StrEnum):
    """How one attempt ended, as the dialer reports it."""

    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    CONNECTED_BORROWER = "connected_borrower"  # right-party contact
    CONNECTED_OTHER = "connected_other"  # answered by someone else (never told of the debt)
    WRONG_NUMBER = "wrong_number"
    REFUSED = "refused"  # the borrower answered and refused to talk

    @property
    def connected(self) -> bool:
        """Answered by a person: counts against the CN connected-calls-per-day cap (conservatively,
        whoever answered: the cap counts connected voice contacts on the debtor's number)."""
        return self in ANSWERED

    @property
    def right_party(self) -> bool:
        """The borrower themself answered (right-party contact): resets `unanswered_contacts`."""
        return self in (CallResult.CONNECTED_BORROWER, CallResult.REFUSED)

    @property
    def ends_task(self) -> bool:
        """No further attempt on this task makes sense (the number is wrong, or the borrower refused)."""
        return self in (CallResult.WRONG_NUMBER, CallResult.REFUSED)


ANSWERED = frozenset(
    {CallResult.CONNECTED_BORROWER, CallResult.CONNECTED_OTHER, CallResult.WRONG_NUMBER, CallResult.REFUSED}
)


@dataclass(frozen=True, slots=True)
class CallAttempt:
    """One attempt as the dialer reported it. `conversation` (a telephone conversation with the
    borrower, Reg F 1006.14(b)(2)(i)(B)) only with `CONNECTED_BORROWER`; `attempt` is the attempt's
    number on its task (1-based; None for a legacy `CallOutcome`); `task_done`: the dialer makes no
    more attempts on the task; `staff_ids` who made it (desk calls)."""

    call_id: str
    task_id: str
    attempt: int | None
    started_at: datetime
    result: CallResult
    conversation: bool = False
    task_done: bool = False
    # Who made the call, by staff id (a desk agent through the API; empty for the dialer): archived
    # on the attempt's contact record as its collector ids, never a name.
    staff_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.conversation and self.result is not CallResult.CONNECTED_BORROWER:
            raise ValueError(
                f"conversation: only a connected_borrower call holds one, not {self.result.value}"
            )
        if self.attempt is not None and self.attempt < 1:
            raise ValueError("attempt: attempt numbers start at 1")

    @property
    def connected(self) -> bool:
        return self.result.connected or self.conversation


def judge_attempt(
    before: CallLedger,
    limits: CallLimits,
    attempt: CallAttempt,
    timezone: str,
    windows: tuple[Window, ...],
    *,
    contact_limits: tuple[ContactLimit, ...] = (),
    loan_id: str = "",
    other_zones: tuple[tuple[str, tuple[Window, ...]], ...] = (),
) -> tuple[str, RulesChecked]:
    """Judge an attempt at the instant it started: `("", rules)` when lawful, else `(why, rules)`.

    `before` is the borrower's ledger before this attempt (`CallLedger.before`), `windows` the local
    contact windows in force then (the pack's hours narrowed by the borrower's preference, `contact_windows`)
    in `timezone`, the address zone; `other_zones` the other zones the borrower may be in (their
    phone's area code: `zone_windows_for`) with theirs: the hours must hold in each, as when the task
    was queued.
    Rules, in order: `contact_hours`, then the frequency limits of the composed pack naming calls
    (`contact_limits`, about the task's debt `loan_id`: Massachusetts' 2 in 7 days per debt) and the
    call limits of `check_call` (sources in `CallLimits` and each limit's citation).
    """
    at = attempt.started_at
    for zone, zone_windows in ((timezone, windows), *other_zones):
        if next_window_instant(at, zone, zone_windows) is not None:
            where = "" if zone == timezone else f" in {zone}"
            return (
                f"call outside the contact window {format_windows(zone_windows)}{where}",
                (("contact_hours", FAIL),),
            )
    rules: RulesChecked = (("contact_hours", PASS),)
    check = check_call(before, limits, at, timezone, contact_limits=contact_limits, loan_id=loan_id)
    if not check.allowed:
        return check.reason, rules + check.rules_checked
    return "", rules + check.rules_checked
