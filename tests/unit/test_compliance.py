"""The contact gate: hours in the borrower's own zone (DST included), holds and opt-outs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.config.rulepacks import rule_pack_for
from arrears.domain.borrowers import Borrower
from arrears.domain.compliance import (
    HOLD_RULES,
    SendDecision,
    cancellation,
    check_holds,
    contact_windows,
    gate,
    missing_contact_point,
    next_contact_instant,
)
from arrears.domain.loans import Holds, Instalment, Loan, LoanStatus
from arrears.domain.planning import BorrowerFacts, decide_step
from arrears.domain.rulepacks import RulePack
from arrears.domain.strategy import Channel, Step
from arrears.domain.verdicts import Verdict

CN_PACK, US_REGF_PACK = rule_pack_for("CN"), rule_pack_for("US-REGF")


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "zone", "expected"),
    [
        (_utc(2026, 3, 1, 23, 0), "Asia/Shanghai", _utc(2026, 3, 2, 0, 0)),  # 07:00 local -> 08:00
        (_utc(2026, 3, 1, 1, 0), "Asia/Shanghai", None),  # 09:00 local: inside
        (_utc(2026, 3, 1, 14, 30), "Asia/Shanghai", _utc(2026, 3, 2, 0, 0)),  # 22:30 -> 08:00 next day
        (
            _utc(2026, 3, 8, 11, 0),
            "America/New_York",
            _utc(2026, 3, 8, 12, 0),
        ),  # DST day: 07:00 EDT -> 08:00 EDT
        (_utc(2026, 3, 8, 6, 30), "America/New_York", _utc(2026, 3, 8, 12, 0)),  # 01:30 EST, before the jump
        (
            _utc(2026, 11, 1, 9, 30),
            "America/Los_Angeles",
            _utc(2026, 11, 1, 16, 0),
        ),  # 01:30 PST, fall-back day
        (_utc(2026, 4, 4, 20, 0), "Pacific/Auckland", None),  # 09:00 NZDT
        (_utc(2026, 4, 5, 9, 0), "Pacific/Auckland", _utc(2026, 4, 5, 20, 0)),  # 21:00 NZST after DST ends
    ],
)
def test_next_contact_instant(at: datetime, zone: str, expected: datetime | None) -> None:
    pack = CN_PACK if zone == "Asia/Shanghai" else US_REGF_PACK
    assert next_contact_instant(at, zone, pack.contact_start, pack.contact_end) == expected


def _loan(**changes: object) -> Loan:
    base = Loan(
        "L",
        "B",
        "CN",
        "CNY",
        100,
        date(2026, 1, 1),
        (Instalment(1, date(2026, 2, 1), 100, 0),),
        0,
        0,
        dpd=3,
        due_offset=3,
        collection_instalment=1,
    )
    return base.with_changes(**changes)


BORROWER = Borrower("B", "Asia/Shanghai", "zh-CN")
NOON_SHANGHAI = _utc(2026, 2, 4, 4, 0)


def _gate(
    loan: Loan | None = None,
    *,
    channel: Channel = Channel.SMS,
    borrower: Borrower = BORROWER,
    at: datetime = NOON_SHANGHAI,
    pack: RulePack = CN_PACK,
) -> SendDecision:
    """The gate's decision for a contact planned for instalment 1 (the loan's by default)."""
    return gate(
        channel=channel,
        collection_instalment=1,
        loan=_loan() if loan is None else loan,
        borrower=borrower,
        at=at,
        pack=pack,
    )


@pytest.mark.parametrize(
    ("loan", "borrower", "verdict", "rule"),
    [
        (_loan(), BORROWER, Verdict.SEND, ""),
        (_loan(status=LoanStatus.CLOSED), BORROWER, Verdict.CANCEL, "loan_open"),
        (_loan(collection_instalment=2), BORROWER, Verdict.CANCEL, "still_overdue"),
        (_loan(holds=Holds(deceased=True)), BORROWER, Verdict.SUPPRESS, "stop_hold"),
        (_loan(holds=Holds(cease_contact=True)), BORROWER, Verdict.SUPPRESS, "cease_contact"),
        (_loan(holds=Holds(dispute_open=True)), BORROWER, Verdict.SUPPRESS, "dispute_open"),
        (
            _loan(),
            Borrower("B", "Asia/Shanghai", opted_out_channels=frozenset({"SMS"})),
            Verdict.SUPPRESS,
            "channel_opt_out",
        ),
        (_loan(), Borrower("B", "America/New_York"), Verdict.DEFER, "contact_hours"),
    ],
)
def test_gate(loan: Loan, borrower: Borrower, verdict: Verdict, rule: str) -> None:
    decision = _gate(loan, borrower=borrower)
    assert decision.verdict is verdict
    if rule:
        assert decision.rules_checked[-1] == (rule, "FAIL")
        assert decision.reason
    else:
        assert all(v == "PASS" for _, v in decision.rules_checked)


def test_field_visits_are_not_bound_to_contact_hours() -> None:
    midnight = _utc(2026, 2, 4, 16, 0)
    decision = _gate(channel=Channel.FIELD_VISIT, at=midnight)
    assert decision.verdict is Verdict.SEND


def test_field_visits_are_suppressed_where_the_rules_do_not_use_them() -> None:
    us = _loan(jurisdiction="US-REGF")
    decision = _gate(us, channel=Channel.FIELD_VISIT, pack=US_REGF_PACK)
    assert decision.verdict is Verdict.SUPPRESS
    assert decision.rules_checked[-1] == ("field_visits_enabled", "FAIL")


# -- preferred hours and DST ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preferred", "at", "verdict", "rule", "resume"),
    [
        ((18, 20), _utc(2026, 2, 4, 4, 0), Verdict.DEFER, "preferred_hours", _utc(2026, 2, 4, 10, 0)),
        ((18, 20), _utc(2026, 2, 4, 10, 30), Verdict.SEND, "", None),  # 18:30 local
        ((20, 24), _utc(2026, 2, 4, 14, 30), Verdict.DEFER, "contact_hours", _utc(2026, 2, 5, 12, 0)),
        ((1, 5), _utc(2026, 2, 4, 4, 0), Verdict.SEND, "", None),  # no lawful overlap: pack hours apply
        ((9, 9), _utc(2026, 2, 4, 4, 0), Verdict.SEND, "", None),  # inverted/empty: ignored
    ],
)
def test_preferred_hours_narrow_the_lawful_window(
    preferred: tuple[int, int], at: datetime, verdict: Verdict, rule: str, resume: datetime | None
) -> None:
    borrower = Borrower("B", "Asia/Shanghai", "zh-CN", preferred_hours=preferred)

    decision = _gate(borrower=borrower, at=at)

    assert decision.verdict is verdict
    assert decision.not_before == resume
    if rule:
        assert decision.rules_checked[-1] == (rule, "FAIL")


def _us_gate(borrower: Borrower, at: datetime) -> SendDecision:
    loan = _loan(jurisdiction="US-REGF", currency="USD")
    return gate(
        channel=Channel.SMS, collection_instalment=1, loan=loan, borrower=borrower, at=at, pack=US_REGF_PACK
    )


@pytest.mark.parametrize(
    ("preferred", "at", "verdict", "rule", "resume"),
    [
        # Shanghai, 19:00-01:00 under 08:00-22:00: the lawful part is 19:00-22:00.
        ((19, 1), _utc(2026, 2, 4, 4, 0), Verdict.DEFER, "preferred_hours", _utc(2026, 2, 4, 11, 0)),  # 12:00
        ((19, 1), _utc(2026, 2, 4, 13, 30), Verdict.SEND, "", None),  # 21:30
        ((19, 1), _utc(2026, 2, 4, 14, 30), Verdict.DEFER, "contact_hours", _utc(2026, 2, 5, 11, 0)),  # 22:30
        ((19, 1), _utc(2026, 2, 4, 16, 30), Verdict.DEFER, "contact_hours", _utc(2026, 2, 5, 11, 0)),  # 00:30
        # 20:00-10:00 crosses midnight and leaves two lawful windows: 08:00-10:00 and 20:00-22:00.
        ((20, 10), _utc(2026, 2, 4, 1, 30), Verdict.SEND, "", None),  # 09:30
        (
            (20, 10),
            _utc(2026, 2, 4, 4, 0),
            Verdict.DEFER,
            "preferred_hours",
            _utc(2026, 2, 4, 12, 0),
        ),  # 12:00
        ((20, 10), _utc(2026, 2, 4, 12, 30), Verdict.SEND, "", None),  # 20:30
        ((20, 10), _utc(2026, 2, 4, 14, 30), Verdict.DEFER, "contact_hours", _utc(2026, 2, 5, 0, 0)),  # 22:30
        # 23:00-06:00 has no lawful hour at all: the pack's hours apply.
        ((23, 6), _utc(2026, 2, 4, 4, 0), Verdict.SEND, "", None),
    ],
)
def test_preferred_hours_across_midnight_narrow_the_lawful_window_never_widen_it(
    preferred: tuple[int, int], at: datetime, verdict: Verdict, rule: str, resume: datetime | None
) -> None:
    borrower = Borrower("B", "Asia/Shanghai", "zh-CN", preferred_hours=preferred)

    decision = _gate(borrower=borrower, at=at)

    assert (decision.verdict, decision.not_before) == (verdict, resume)
    if rule:
        assert decision.rules_checked[-1] == (rule, "FAIL")


def test_a_deferral_names_both_windows_left_by_a_preference_across_midnight() -> None:
    borrower = Borrower("B", "Asia/Shanghai", "zh-CN", preferred_hours=(20, 10))

    decision = _gate(borrower=borrower, at=_utc(2026, 2, 4, 4, 0))

    assert decision.reason == "outside borrower's preferred hours 08:00-10:00,20:00-22:00 Asia/Shanghai"


@pytest.mark.parametrize(
    ("at", "resume"),
    [
        # New York springs forward on 8 March 2026: 21:30 EST on the 7th is after the 19:00-21:00 window;
        # the next opening is 19:00 EDT on the 8th (23:00 UTC, not 00:00).
        (_utc(2026, 3, 8, 2, 30), _utc(2026, 3, 8, 23, 0)),
        # 00:30 EDT on the 9th: inside the preference (19:00-01:00) but outside the law (08:00-21:00).
        (_utc(2026, 3, 9, 4, 30), _utc(2026, 3, 9, 23, 0)),
        # Falls back on 1 November 2026: 10:00 EST -> 19:00 EST (00:00 UTC on the 2nd).
        (_utc(2026, 11, 1, 15, 0), _utc(2026, 11, 2, 0, 0)),
        # 20:00 EDT on 31 October, inside both: sent.
        (_utc(2026, 11, 1, 0, 0), None),
    ],
)
def test_a_preference_across_midnight_keeps_its_local_hours_across_dst(
    at: datetime, resume: datetime | None
) -> None:
    borrower = Borrower("B", "America/New_York", "en", preferred_hours=(19, 1))

    decision = _us_gate(borrower, at)

    assert decision.not_before == resume
    assert decision.verdict is (Verdict.SEND if resume is None else Verdict.DEFER)


@pytest.mark.parametrize(
    ("zone", "at", "expected"),
    [
        # Spring forward in New York (8 March 2026): 20:30 EST on the 7th -> 08:00 EDT on the 8th
        ("America/New_York", _utc(2026, 3, 8, 2, 30), _utc(2026, 3, 8, 12, 0)),
        # Auckland's DST starts 27 Sept 2026: 21:30 NZST on the 26th -> 08:00 NZDT on the 27th
        ("Pacific/Auckland", _utc(2026, 9, 26, 9, 30), _utc(2026, 9, 26, 19, 0)),
        # Shanghai has no DST: 23:59 -> 08:00 the next day, always UTC+8
        ("Asia/Shanghai", _utc(2026, 7, 1, 15, 59), _utc(2026, 7, 2, 0, 0)),
        # Los Angeles, spring forward (8 March 2026): 06:00 PDT -> 08:00 PDT (15:00 UTC)
        ("America/Los_Angeles", _utc(2026, 3, 8, 13, 0), _utc(2026, 3, 8, 15, 0)),
    ],
)
def test_the_next_window_keeps_local_hours_across_dst(zone: str, at: datetime, expected: datetime) -> None:
    assert next_contact_instant(at, zone, US_REGF_PACK.contact_start, US_REGF_PACK.contact_end) == expected


@pytest.mark.parametrize(
    ("holds", "rule"),
    [
        (Holds(promise_to_pay_until=date(2026, 2, 6)), "promise_to_pay"),
        (Holds(hardship_until=date(2026, 2, 6)), "hardship"),
    ],
)
def test_pauses_agreed_after_planning_still_hold_the_contact_at_send_time(holds: Holds, rule: str) -> None:
    # Given a promise to pay (or a hardship pause) until 6 February, agreed after the SMS was planned
    decision = _gate(_loan(holds=holds))
    # Then the SMS waits until contact hours open on the day after the pause
    assert decision.verdict is Verdict.DEFER
    assert decision.rules_checked[-1] == (rule, "FAIL")
    assert decision.not_before == _utc(2026, 2, 7, 0, 0)  # 08:00 Asia/Shanghai on 7 February


def test_a_pause_that_ended_yesterday_no_longer_holds() -> None:
    loan = _loan(holds=Holds(promise_to_pay_until=date(2026, 2, 3)))
    decision = _gate(loan)
    assert decision.verdict is Verdict.SEND
    assert ("promise_to_pay", "PASS") in decision.rules_checked


@pytest.mark.parametrize(
    ("holds", "channel", "verdict", "rule"),
    [
        (Holds(cease_contact=True), Channel.SMS, Verdict.SUPPRESS, "cease_contact"),
        (Holds(cease_contact=True), Channel.FIELD_VISIT, Verdict.SUPPRESS, "cease_contact"),
        (Holds(cease_contact=True), Channel.LEGAL, Verdict.SEND, ""),
        (Holds(cease_contact=True), Channel.BUREAU, Verdict.SEND, ""),
        (Holds(dispute_open=True), Channel.LEGAL, Verdict.SUPPRESS, "dispute_open"),
        (Holds(bankruptcy=True), Channel.BUREAU, Verdict.SUPPRESS, "stop_hold"),
        (Holds(promise_to_pay_until=date(2026, 2, 4)), Channel.CALL_TASK, Verdict.DEFER, "promise_to_pay"),
    ],
)
def test_holds_at_send_time_follow_the_packs_channel_rules_as_the_planner_does(
    holds: Holds, channel: Channel, verdict: Verdict, rule: str
) -> None:
    """An action planned before a hold was recorded is judged by it as a new action would be: a field
    visit under a cease-contact request is suppressed, a legal notice is not (`cease_contact_allows`)."""
    borrower = Borrower("B", "Asia/Shanghai", "zh-CN", region="Shanghai")
    decision = _gate(_loan(holds=holds), channel=channel, borrower=borrower)
    assert decision.verdict is verdict
    if rule:
        assert decision.rules_checked[-1] == (rule, "FAIL")


def test_the_planner_and_the_gate_check_the_hold_rules_in_one_order() -> None:
    loan = _loan(evaluated_on=date(2026, 2, 4))
    sent = _gate(loan)
    planned = decide_step(
        Step("sms-d3", 3, Channel.SMS, "sms_overdue"),
        loan=loan,
        on=date(2026, 2, 4),
        pack=CN_PACK,
        band="MEDIUM",
        amount_minor=100,
        borrower=BorrowerFacts("Shanghai"),
    )
    assert (sent.verdict, planned.verdict) == (Verdict.SEND, Verdict.PLAN)
    for decision in (sent, planned):
        assert [rule for rule, _ in decision.rules_checked if rule in HOLD_RULES] == list(HOLD_RULES)


@pytest.mark.parametrize(
    ("holds", "opted_out", "rule"),
    [
        (
            Holds(hardship_until=date(2026, 2, 10), promise_to_pay_until=date(2026, 2, 5)),
            frozenset(),
            "hardship",
        ),
        (Holds(promise_to_pay_until=date(2026, 2, 5)), frozenset({"SMS"}), "channel_opt_out"),
    ],
)
def test_the_first_hold_rule_that_fails_decides_for_both(
    holds: Holds, opted_out: frozenset[str], rule: str
) -> None:
    checked = check_holds(
        channel=Channel.SMS,
        loan=_loan(holds=holds),
        pack=CN_PACK,
        opted_out_channels=opted_out,
        on=date(2026, 2, 4),
    )
    assert checked.rules_checked[-1] == (rule, "FAIL")


# -- cancellation receipts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loan", "planned_for", "expected"),
    [
        (_loan(status=LoanStatus.CLOSED), 1, [("loan_open", "FAIL")]),
        (_loan(holds=Holds(bankruptcy=True)), 1, [("loan_open", "PASS"), ("stop_hold", "FAIL")]),
        (_loan(holds=Holds(deceased=True)), 2, [("loan_open", "PASS"), ("stop_hold", "FAIL")]),
        (_loan(collection_instalment=2), 1, [("loan_open", "PASS"), ("still_overdue", "FAIL")]),
    ],
)
def test_a_cancellation_names_the_rule_that_cancelled_it_as_the_gate_would(
    loan: Loan, planned_for: int, expected: list[tuple[str, str]]
) -> None:
    why = cancellation(loan, planned_for)

    assert why is not None
    assert list(why[1]) == expected


def test_a_reminder_of_a_due_date_to_come_is_cancelled_once_that_date_passed() -> None:
    """Planned the day before the due date (1 February), held until after it (caps, hours, a hold):
    "due in N days" would be false, so it is cancelled; sent before the date, it passes."""
    planned = _loan(dpd=0, due_offset=-1)

    def judged(at: datetime, loan: Loan = planned, template_id: str = "sms_reminder_pre_due") -> SendDecision:
        return gate(
            channel=Channel.SMS,
            collection_instalment=1,
            loan=loan,
            borrower=BORROWER,
            at=at,
            pack=CN_PACK,
            template_id=template_id,
        )

    late = judged(NOON_SHANGHAI)  # 4 February
    assert late.verdict is Verdict.CANCEL
    assert late.rules_checked[-1] == ("due_date_ahead", "FAIL")
    assert late.reason == "the due date this reminder announces has passed"
    on_time = judged(_utc(2026, 1, 31, 4, 0))
    assert ("due_date_ahead", "PASS") in on_time.rules_checked
    assert on_time.verdict is not Verdict.CANCEL
    overdue_text = judged(NOON_SHANGHAI, _loan(), "sms_overdue")
    assert "due_date_ahead" not in dict(overdue_text.rules_checked)


def test_an_action_of_the_instalment_in_collection_on_an_open_loan_is_not_cancelled() -> None:
    assert cancellation(_loan(), 1) is None


@settings(max_examples=300, deadline=None)
@given(
    first=st.integers(0, 24),
    last=st.integers(0, 24),
    minutes=st.integers(0, 7 * 24 * 60),
    zone=st.sampled_from(["Asia/Shanghai", "America/New_York", "Pacific/Auckland"]),
)
def test_a_preference_never_widens_the_lawful_window(first: int, last: int, minutes: int, zone: str) -> None:
    at = _utc(2026, 3, 5) + timedelta(minutes=minutes)
    with_preference = Borrower("B", zone, "en", preferred_hours=(first, last))
    without = Borrower("B", zone, "en")
    windows, _ = contact_windows(US_REGF_PACK, with_preference)

    assert all(
        US_REGF_PACK.contact_start <= start < end <= US_REGF_PACK.contact_end for start, end in windows
    )
    if _us_gate(with_preference, at).verdict is Verdict.SEND:
        assert _us_gate(without, at).verdict is Verdict.SEND


@pytest.mark.parametrize(
    ("channel", "missing", "reason"),
    [
        (Channel.SMS, "phone", "borrower has no phone number on file"),
        (Channel.CALL_TASK, "phone", "borrower has no phone number on file"),
        (Channel.EMAIL, "email", "borrower has no e-mail address on file"),
        (Channel.FIELD_VISIT, "phone", ""),
        (Channel.BUREAU, "email", ""),
    ],
)
def test_a_channel_needs_its_contact_point_on_file(channel: Channel, missing: str, reason: str) -> None:
    """A text or a call needs a phone number, an e-mail an address; a visit or a hand-off neither."""
    reachable = Borrower("B", "Asia/Shanghai", "zh-CN", phone="+8613800138000", email="b@example.com")

    unreachable = replace(reachable, phone="") if missing == "phone" else replace(reachable, email="")
    assert missing_contact_point(channel, unreachable) == reason
    assert missing_contact_point(channel, reachable) == ""
