"""The call caps and frequency limits recounted from archive lines alone (`arrears.domain.call_audit`), as an
auditor would: each contact judged by the layers binding its borrower, whichever function recorded it."""

from __future__ import annotations

from typing import Any

from arrears.config.rulepacks import bundled_rule_packs, rule_pack_in_force
from arrears.domain.call_audit import audit_calls, audit_contact_limits

MA = "US-REGF@2026.1+LENDER-US@2026.1+US-MA@2026.1"
FEDERAL = "US-REGF@2026.1"


def _line(at: str, channel: str, rule_pack: str, result: str = "", loan: str = "L1") -> dict[str, Any]:
    return {
        "borrower_token": "t" * 64,
        "loan_id": loan,
        "occurred_at": at,
        "channel": channel,
        "status": "SENT",
        "result": result,
        "rule_pack": rule_pack,
    }


def _audit(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return audit_contact_limits(lines, bundled_rule_packs().contact_limits_named).as_dict()


def test_a_voicemail_after_a_call_and_a_text_breaks_massachusetts_two_in_seven_days() -> None:
    """The demo's case (940 CMR 7.04(1)(f)): a call attempt on 1 March, a text on 8 March, a voicemail
    20 minutes later, all about one debt. The attempts' own records name the federal pack only (as
    the dialer's reports did): the task's and the text's records say Massachusetts binds."""
    lines = [
        _line("2026-03-01T18:40:00Z", "CALL_TASK", MA),  # the task queued: not a contact itself
        _line("2026-03-01T18:52:00Z", "CALL_TASK", FEDERAL, result="no_answer"),
        _line("2026-03-08T16:45:00Z", "SMS", MA),
        _line("2026-03-08T17:05:00Z", "CALL_TASK", FEDERAL, result="voicemail"),
    ]

    audited = _audit(lines)

    assert audited["violations"] == {"ma_calls_texts_7_days": 1}
    assert audited["highest_count_by_rule"] == {"ma_calls_texts_7_days": 3}


def test_per_debt_limits_count_each_loan_apart_and_the_window_rolls() -> None:
    lines = [
        _line("2026-03-01T15:00:00Z", "SMS", MA, loan="L1"),
        _line("2026-03-02T15:00:00Z", "SMS", MA, loan="L1"),
        _line("2026-03-03T15:00:00Z", "SMS", MA, loan="L2"),  # another debt
        _line("2026-03-08T15:00:01Z", "SMS", MA, loan="L1"),  # the 1 March text left the window
        _line("2026-03-03T16:00:00Z", "EMAIL", MA, loan="L1"),  # not a channel the limit names
    ]

    audited = _audit(lines)

    assert audited["violations_total"] == 0
    assert audited["highest_count_by_rule"] == {"ma_calls_texts_7_days": 2}
    assert audited["contacts_judged"] == 4


def test_an_attempt_reported_at_the_same_instant_as_a_conversation_is_not_after_it() -> None:
    """A desk agent's two calls are stamped when received: a conversation and a no-answer at one
    instant, in whichever order the archive holds them, start no quiet period for each other
    (12 CFR 1006.14(b)(2)(i)(B) counts calls after a conversation); a call a minute later breaks it."""

    def call(at: str, result: str, conversation: bool = False) -> dict[str, Any]:
        return {
            **_line(at, "CALL_TASK", FEDERAL, result=result),
            "jurisdiction": "US-REGF",
            "borrower_timezone": "America/New_York",
            "conversation": conversation,
        }

    same = [
        call("2026-03-08T15:00:00Z", "connected_borrower", True),
        call("2026-03-08T15:00:00Z", "no_answer"),
    ]
    later = [*same, call("2026-03-08T15:01:00Z", "no_answer")]

    assert audit_calls(same, rule_pack_in_force).violations["call_after_conversation"] == 0
    assert audit_calls(list(reversed(same)), rule_pack_in_force).violations["call_after_conversation"] == 0
    assert audit_calls(later, rule_pack_in_force).violations["call_after_conversation"] == 1
