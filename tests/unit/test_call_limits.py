"""Call limits as pure arithmetic on a borrower's ledger: CN daily caps, US 7-in-7 and quiet days, the one
open task per borrower and what it may still do, and each reported attempt judged at its instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from arrears.config.rulepacks import rule_pack_for, rule_pack_in_force
from arrears.domain.borrowers import Borrower
from arrears.domain.call_attempts import CallAttempt, CallResult, judge_attempt
from arrears.domain.call_limits import (
    CallLedger,
    LimitCheck,
    OpenCallTask,
    allowance,
    check_call,
    restamped,
    rules_judging,
    with_attempt,
    with_task,
    without_task,
)
from arrears.domain.compliance import contact_windows

CN_PACK, US_REGF_PACK = rule_pack_for("CN"), rule_pack_for("US-REGF")


def _utc(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def _ledger_with(attempts: list[datetime]) -> CallLedger:
    ledger = CallLedger("B")
    for i, at in enumerate(attempts):
        ledger = with_attempt(ledger, f"A{i}", at)
    return ledger


def test_cn_allows_six_attempts_a_local_day_then_defers_to_local_midnight() -> None:
    # Six attempts on 10 March, Shanghai time (02:00-07:00 UTC = 10:00-15:00 local)
    ledger = _ledger_with([_utc(10, h) for h in range(2, 8)])

    check = check_call(ledger, CN_PACK.call_limits, _utc(10, 9), "Asia/Shanghai")

    assert not check.allowed
    assert check.rule == "call_attempts_per_day"
    assert check.retry_at == _utc(10, 16)  # 00:00 on 11 March in Shanghai


def test_cn_counts_the_day_in_the_borrowers_zone_not_utc() -> None:
    # 15:00-20:00 UTC on 9 March is 23:00 (9th) .. 04:00 (10th) in Shanghai: only 5 fall on the 10th
    ledger = _ledger_with([_utc(9, h) for h in range(15, 21)])

    assert check_call(ledger, CN_PACK.call_limits, _utc(10, 2), "Asia/Shanghai").allowed


def test_cn_three_connected_calls_a_day() -> None:
    ledger = CallLedger("B")
    for minute in (0, 10, 20):
        ledger = with_attempt(ledger, f"C{minute}", _utc(10, 2, minute), connected=True)

    check = check_call(ledger, CN_PACK.call_limits, _utc(10, 3), "Asia/Shanghai")

    assert (check.allowed, check.rule) == (False, "call_connected_per_day")


def test_us_seven_attempts_in_seven_consecutive_days_is_a_rolling_window() -> None:
    ledger = _ledger_with([_utc(day, 15) for day in range(1, 8)])  # one a day, 1..7 March

    stopped = check_call(ledger, US_REGF_PACK.call_limits, _utc(7, 20), "America/New_York")
    freed = check_call(ledger, US_REGF_PACK.call_limits, _utc(8, 15), "America/New_York")

    assert (stopped.allowed, stopped.rule) == (False, "call_attempts_7_days")
    assert stopped.retry_at == _utc(8, 15)  # the 1 March attempt leaves the window
    assert freed.allowed


def test_us_no_call_within_seven_days_after_a_conversation() -> None:
    talked = _utc(3, 17)
    ledger = with_attempt(CallLedger("B"), "C", talked, conversation=True)

    check = check_call(ledger, US_REGF_PACK.call_limits, _utc(9, 17), "America/New_York")

    assert (check.allowed, check.rule, check.retry_at) == (
        False,
        "call_after_conversation",
        talked + timedelta(days=7),
    )
    assert check_call(
        ledger, US_REGF_PACK.call_limits, talked + timedelta(days=7), "America/New_York"
    ).allowed


def test_a_reported_attempt_counts_once_per_call_id() -> None:
    once = with_attempt(CallLedger("B"), "A", _utc(10), connected=True)

    assert with_attempt(once, "A", _utc(10, 1), connected=True) == once
    assert (len(once.attempts), len(once.connected), once.conversations) == (1, 1, ())


def test_a_conversation_is_a_connected_call_and_an_attempt() -> None:
    ledger = with_attempt(CallLedger("B"), "A", _utc(10), conversation=True)

    assert [len(ledger.attempts), len(ledger.connected), len(ledger.conversations)] == [1, 1, 1]
    assert ledger.last_conversation_at == _utc(10)


@pytest.mark.parametrize("days_old", [32, 60])
def test_old_entries_are_pruned(days_old: int) -> None:
    # Kept 31 days: the longest contact limit (a visit in 30 days) must still see them.
    ledger = with_attempt(CallLedger("B"), "OLD", _utc(20) - timedelta(days=days_old), connected=True)

    pruned = with_attempt(ledger, "NEW", _utc(20))
    assert [a.call_id for a in pruned.attempts] == ["NEW"]
    assert pruned.connected == ()


def test_one_open_task_at_a_time_until_it_expires_or_closes() -> None:
    task = OpenCallTask("T1", _utc(10, 2), _utc(10, 14))
    ledger = with_task(CallLedger("B"), task)

    assert ledger.task_open(_utc(10, 13, 59)) == task
    assert ledger.task_open(_utc(10, 14)) is None  # expired
    assert without_task(ledger, "T2") == ledger  # another task's close leaves it open
    assert without_task(ledger, "T1").open_task is None


def test_cn_allowance_is_what_is_left_of_the_local_day() -> None:
    # Shanghai 10 March: 4 attempts (2 connected) so far; the window closes at 22:00 local = 14:00 UTC
    ledger = CallLedger("B")
    for i, hour in enumerate((1, 2, 3, 4)):
        ledger = with_attempt(ledger, f"C{i}", _utc(10, hour), connected=i < 2)

    left = allowance(ledger, CN_PACK.call_limits, _utc(10, 5), "Asia/Shanghai", _utc(10, 14))

    assert (left.attempts_left_today, left.connected_left_today, left.expires_at) == (2, 1, _utc(10, 14))
    assert not left.exhausted


def test_allowance_expires_at_the_borrowers_local_midnight_at_the_latest() -> None:
    left = allowance(CallLedger("B"), CN_PACK.call_limits, _utc(10, 5), "Asia/Shanghai", _utc(11, 5))

    assert left.expires_at == _utc(10, 16)  # 00:00 on 11 March in Shanghai
    assert (left.attempts_left_today, left.connected_left_today) == (6, 3)


def test_us_allowance_is_the_rest_of_the_seven_in_seven_and_nothing_after_a_conversation() -> None:
    ledger = CallLedger("B")
    for day in (4, 5, 6, 7, 8):
        ledger = with_attempt(ledger, f"C{day}", _utc(day, 15))
    limits = US_REGF_PACK.call_limits

    left = allowance(ledger, limits, _utc(9, 14), "America/New_York", _utc(10, 1))
    talked = with_attempt(ledger, "TALK", _utc(9, 14, 30), conversation=True)

    assert (left.attempts_left_today, left.connected_left_today) == (2, None)
    assert allowance(talked, limits, _utc(9, 15), "America/New_York", _utc(10, 1)).exhausted


def _borrower(preferred: tuple[int, int] | None = None) -> Borrower:
    return Borrower("B", "Asia/Shanghai", "zh-CN", preferred_hours=preferred)


def _attempt(call_id: str, at: datetime, result: CallResult = CallResult.NO_ANSWER) -> CallAttempt:
    return CallAttempt(call_id, "T", 1, at, result)


def test_an_attempt_is_judged_on_the_calls_before_it_not_on_itself() -> None:
    cn = CN_PACK.call_limits
    ledger = CallLedger("B")
    for minute in range(6):  # six attempts on 10 March, Shanghai 10:00-10:05
        ledger = with_attempt(ledger, f"C{minute}", _utc(10, 2, minute))
    windows = ((CN_PACK.contact_start, CN_PACK.contact_end),)

    sixth = judge_attempt(
        ledger.before(_utc(10, 2, 5), "C5"), cn, _attempt("C5", _utc(10, 2, 5)), "Asia/Shanghai", windows
    )
    ledger = with_attempt(ledger, "C6", _utc(10, 3))
    seventh = judge_attempt(
        ledger.before(_utc(10, 3), "C6"), cn, _attempt("C6", _utc(10, 3)), "Asia/Shanghai", windows
    )

    assert sixth == (
        "",
        (("contact_hours", "PASS"), ("call_attempts_per_day", "PASS"), ("call_connected_per_day", "PASS")),
    )
    assert seventh[0] == "6 call attempts today reached"
    assert seventh[1][-1] == ("call_attempts_per_day", "FAIL")


def test_a_us_attempt_within_seven_days_after_a_conversation_is_a_breach() -> None:
    us = US_REGF_PACK.call_limits
    ledger = with_attempt(CallLedger("B"), "TALK", _utc(3, 17), conversation=True)
    windows = ((US_REGF_PACK.contact_start, US_REGF_PACK.contact_end),)
    late = _attempt("LATE", _utc(10, 16, 59))  # 6 days 23 h 59 min after, 12:59 in New York
    lawful = _attempt("OK", _utc(10, 17))

    breach, rules = judge_attempt(
        ledger.before(late.started_at, "LATE"), us, late, "America/New_York", windows
    )

    assert breach == "phone conversation within the last 7 days"
    assert rules == (("contact_hours", "PASS"), ("call_after_conversation", "FAIL"))
    assert judge_attempt(ledger, us, lawful, "America/New_York", windows)[0] == ""


def test_an_attempt_outside_the_contact_window_is_a_breach_in_the_borrowers_zone() -> None:
    # 13:30 UTC on 10 March is 21:30 in Shanghai: lawful under the pack (until 22:00), not under the
    # borrower's preference (19:00-21:00), which narrows the window.
    cn_pack = rule_pack_in_force("CN", _utc(10, 13, 30))
    windows = contact_windows(cn_pack, _borrower(preferred=(19, 21)))[0]  # narrowed to 19:00-21:00

    breach, rules = judge_attempt(
        CallLedger("B"), cn_pack.call_limits, _attempt("X", _utc(10, 13, 30)), "Asia/Shanghai", windows
    )

    assert breach == "call outside the contact window 19:00-21:00"
    assert rules == (("contact_hours", "FAIL"),)


def test_an_attempt_lawful_at_the_address_is_a_breach_where_the_phone_is() -> None:
    """A Los Angeles address and a 212 (New York) number: 20:30 in Los Angeles is 23:30 in New York,
    outside 08:00-21:00 there (12 CFR 1006.6(b)(1)(i): the consumer's location, which the collector
    may not know: lawful only if lawful in every zone the consumer may be in)."""
    us = rule_pack_in_force("US-REGF", _utc(11, 3, 30))
    law = ((us.contact_start, us.contact_end),)
    at = _utc(11, 3, 30)  # 20:30 on 10 March in Los Angeles (PDT), 23:30 in New York

    breach, rules = judge_attempt(
        CallLedger("B"),
        us.call_limits,
        _attempt("X", at),
        "America/Los_Angeles",
        law,
        other_zones=(("America/New_York", law),),
    )
    lawful_at_home, _ = judge_attempt(
        CallLedger("B"), us.call_limits, _attempt("X", at), "America/Los_Angeles", law
    )

    assert breach == "call outside the contact window 08:00-21:00 in America/New_York"
    assert rules == (("contact_hours", "FAIL"),)
    assert lawful_at_home == ""


def test_a_conversation_needs_the_borrower_on_the_line() -> None:
    with pytest.raises(ValueError, match="conversation"):
        CallAttempt("C", "T", 1, _utc(10), CallResult.CONNECTED_OTHER, conversation=True)
    assert CallResult.CONNECTED_OTHER.connected
    assert not CallResult.CONNECTED_OTHER.right_party
    assert not CallResult.VOICEMAIL.connected


MA_PACK = rule_pack_in_force("US-REGF", _utc(10, 15), address_state="MA")


def test_a_text_waits_while_a_call_task_may_use_the_last_massachusetts_slot() -> None:
    """940 CMR 7.04(1)(f): 2 calls and texts per debt in 7 days. One call on 1 March; the task
    queued on 8 March was told it may make 1 more attempt. A text at 16:45 would take that slot and
    the dialer's voicemail at 17:05 would be the third: the text waits until the task ends, then is
    judged on the attempts the task made."""
    limits = MA_PACK.contact_limits
    ledger = with_attempt(CallLedger("B"), "C1", _utc(1, 18, 52), loan_id="L")
    task = OpenCallTask("T", _utc(8, 16, 30), _utc(9, 1))
    ledger = with_task(ledger, task)
    told = allowance(
        ledger,
        MA_PACK.call_limits,
        _utc(8, 16, 30),
        "America/New_York",
        task.expires_at,
        contact_limits=limits,
        loan_id="L",
    )
    assert told.attempts_left_today == 1

    def text_at(at: datetime, ledger: CallLedger) -> LimitCheck:
        return check_call(
            ledger,
            MA_PACK.call_limits,
            at,
            "America/New_York",
            contact_limits=limits,
            channel="SMS",
            loan_id="L",
        )

    text = text_at(_utc(8, 16, 45), ledger)

    assert not text.allowed
    assert text.rule == "ma_calls_texts_7_days"
    assert text.retry_at == task.expires_at
    assert text.reason.startswith("a call task is open")
    after = text_at(
        _utc(8, 17, 10), without_task(with_attempt(ledger, "C2", _utc(8, 17, 5), loan_id="L"), "T")
    )
    # The task made its attempt and closed: two calls in 7 days, so the text waits for the first to age.
    assert (after.allowed, after.rule, after.retry_at) == (False, "ma_calls_texts_7_days", _utc(8, 18, 52))


def test_a_dialer_attempt_beyond_the_massachusetts_limit_is_judged_a_breach() -> None:
    """A reported attempt is judged by the borrower's composed pack: the third call about one debt
    in 7 days breaks Massachusetts' limit even though the federal 7-in-7 allows it."""
    ledger = CallLedger("B")
    for i, day in enumerate((2, 4)):
        ledger = with_attempt(ledger, f"C{i}", _utc(day, 15), loan_id="L")
    windows = ((MA_PACK.contact_start, MA_PACK.contact_end),)

    breach, rules = judge_attempt(
        ledger,
        MA_PACK.call_limits,
        _attempt("C3", _utc(6, 15)),
        "America/New_York",
        windows,
        contact_limits=MA_PACK.contact_limits,
        loan_id="L",
    )

    assert breach == "2 contacts (CALL_TASK/SMS) in 7 days per debt reached"
    assert rules[-1] == ("ma_calls_texts_7_days", "FAIL")


def test_a_retry_that_finds_its_slot_held_names_the_rules_the_first_try_passed() -> None:
    assert rules_judging(MA_PACK.call_limits, MA_PACK.contact_limits, "SMS") == ("ma_calls_texts_7_days",)
    assert rules_judging(MA_PACK.call_limits, MA_PACK.contact_limits, "CALL_TASK") == (
        "ma_calls_texts_7_days",
        "call_after_conversation",
        "call_attempts_7_days",
    )
    assert rules_judging(CN_PACK.call_limits, CN_PACK.contact_limits, "EMAIL") == ()


WA_PACK = rule_pack_in_force("US-REGF", _utc(10, 15), address_state="WA")


def test_a_text_sent_on_a_retry_counts_from_the_retry_not_the_first_try() -> None:
    """RCW 19.16.250: 3 communications a week in Washington. The demo's borrower: a text reserved at
    16:30 on 4 April, throttled and sent at 16:45; a call on the 7th; a week later, at 16:30 on the
    11th, the validation notice and a text. Left at 16:30 the first slot had aged out and the text
    went as the fourth communication in seven days by the archive's instants."""
    limits = WA_PACK.contact_limits

    def text(ledger: CallLedger, action_id: str, at: datetime) -> tuple[CallLedger, LimitCheck]:
        check = check_call(
            ledger, WA_PACK.call_limits, at, "America/Los_Angeles", contact_limits=limits, channel="SMS"
        )
        return (with_attempt(ledger, action_id, at, channel="SMS") if check.allowed else ledger), check

    first_try, sent = datetime(2026, 4, 4, 16, 30, tzinfo=UTC), datetime(2026, 4, 4, 16, 45, tzinfo=UTC)
    ledger, _ = text(CallLedger("B"), "S1", first_try)
    moved = restamped(ledger, "S1", sent)
    assert moved is not None
    assert [a.at for a in moved.attempts] == [sent]
    assert restamped(moved, "S1", sent) is None  # a second retry at the same instant changes nothing
    assert restamped(moved, "S1", first_try) is None  # never earlier
    assert restamped(moved, "nope", sent) is None
    ledger = with_attempt(moved, "C1", datetime(2026, 4, 7, 16, 36, tzinfo=UTC))  # the call attempt
    week_later = datetime(2026, 4, 11, 16, 30, tzinfo=UTC)
    ledger, notice = text(ledger, "N1", week_later)
    assert notice.allowed  # the third communication of the week
    _, fourth = text(ledger, "S2", week_later)
    assert (fourth.allowed, fourth.rule) == (False, "wa_communications_week")
    assert fourth.retry_at == sent + timedelta(days=7)
