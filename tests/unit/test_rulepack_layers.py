"""Composed rule packs: a base plus overlays, the strictest rule winning, each rule with its source;
frequency limits per debt or per borrower; and the contact hours checked in every zone the borrower
may be in (address and phone numbers)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest

from arrears.adapters.phone_zones import zones_of_number
from arrears.config.rulepacks import RulePackError, bundled_rule_packs, parse_rule_packs
from arrears.domain.borrowers import Borrower
from arrears.domain.call_limits import CallLedger, CallLimits, ContactLimit, Scope, check_call, with_attempt
from arrears.domain.compliance import (
    HOLD_RULES,
    SendDecision,
    closes_everywhere,
    contact_zones,
    gate,
    zone_windows_for,
)
from arrears.domain.loans import Instalment, Loan
from arrears.domain.rulepacks import CALL_LIMIT_RULES, NOT_CITED, DeployerRole, PackSettings, RulePackHistory
from arrears.domain.strategy import Channel
from arrears.domain.verdicts import Verdict

ON = date(2026, 3, 10)
MA = "ma_calls_texts_7_days"


def _utc(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _as_creditor(history: RulePackHistory) -> RulePackHistory:
    """The bundled packs with the US base's deployer role set to creditor."""
    bases = {
        jurisdiction: tuple(
            replace(pack, settings=PackSettings(deployer_role=DeployerRole.CREDITOR))
            if jurisdiction == "US-REGF"
            else pack
            for pack in history[jurisdiction]
        )
        for jurisdiction in history
    }
    return RulePackHistory(bases, history.overlays)


def test_a_massachusetts_borrower_gets_the_ma_overlay_and_a_california_one_does_not() -> None:
    packs = bundled_rule_packs()
    ma, ca = packs.composed("US-REGF", ON, "MA"), packs.composed("US-REGF", ON, "CA")

    assert ma.ref == "US-REGF@2026.1+LENDER-US@2026.1+US-MA@2026.1"
    assert ca.ref == "US-REGF@2026.1+LENDER-US@2026.1"
    (calls_texts,) = [limit for limit in ma.contact_limits if limit.rule == MA]
    assert (calls_texts.max_contacts, calls_texts.days, calls_texts.scope) == (2, 7, Scope.PER_DEBT)
    assert calls_texts.channels == frozenset({"CALL_TASK", "SMS"})
    assert ma.source(MA).layer == "US-MA@2026.1"
    assert "940 CMR 7.04(1)(f)" in ma.source(MA).citation
    (visits,) = [limit for limit in ma.contact_limits if limit.rule == "ma_visits_30_days"]
    assert (visits.max_contacts, visits.days, visits.channels) == (1, 30, frozenset({"FIELD_VISIT"}))
    assert ca.contact_limits == ()


def test_the_strictest_start_wins_and_the_receipt_names_its_layer() -> None:
    wa = bundled_rule_packs().composed("US-REGF", ON, "WA")

    # Washington allows 07:30; Regulation F's 08:00 is stricter and keeps deciding.
    assert (wa.contact_start, wa.contact_end) == (time(8), time(21))
    assert wa.decided_by("contact_hours.start") == "US-REGF@2026.1"
    assert "1006.6(b)(1)(i)" in wa.source("contact_hours.start").citation
    (week,) = wa.contact_limits
    assert (week.rule, week.max_contacts, week.scope) == ("wa_communications_week", 3, Scope.PER_BORROWER)


def test_a_creditor_deployment_drops_regulation_f_duties_but_keeps_state_and_lender_rules() -> None:
    creditor = _as_creditor(bundled_rule_packs())
    ma, wa = creditor.composed("US-REGF", ON, "MA"), creditor.composed("US-REGF", ON, "WA")

    assert ma.call_limits == CallLimits()  # 7-in-7 and the quiet days are Regulation F's own
    assert ma.opt_out_notice is None
    assert [limit.rule for limit in ma.contact_limits] == [MA, "ma_visits_30_days"]
    # No federal window binds a creditor: the lender's policy sets it, and the receipt says so.
    assert (ma.contact_start, ma.contact_end) == (time(8), time(21))
    assert ma.decided_by("contact_hours.start") == "LENDER-US@2026.1"
    # The Washington Collection Agency Act binds collection agencies only.
    assert wa.ref == "US-REGF@2026.1+LENDER-US@2026.1"
    assert wa.contact_limits == ()


def test_an_overlay_version_judges_only_from_its_effective_date() -> None:
    text = """
rule_packs:
  - id: US-REGF
    version: "1"
    effective_from: 2026-01-01
    business_timezone: America/New_York
    contact_hours: {start: "08:00", end: "21:00"}
    retention_years: 3
    field_visit: {enabled: false}
    citations: {contact_hours: "12 CFR 1006.6(b)(1)(i)", stop_hold: "t", cease_contact: "t",
      dispute_open: "t",
      channel_opt_out: "t", hardship: "t", repayment_plan: "t", promise_to_pay: "t"}
overlays:
  - id: POLICY
    version: "1"
    effective_from: 2026-01-01
    effective_to: 2026-06-01
    applies_to: {base: US-REGF}
    contact_hours: {start: "09:00", end: "21:00"}
    citations: {contact_hours: "LP-1"}
  - id: POLICY
    version: "2"
    effective_from: 2026-06-01
    applies_to: {base: US-REGF}
    contact_hours: {start: "09:00", end: "20:00"}
    citations: {contact_hours: "LP-2"}
"""
    packs = parse_rule_packs(text, "test")

    may, june = (
        packs.composed("US-REGF", date(2026, 5, 31), "NY"),
        packs.composed("US-REGF", date(2026, 6, 1), "NY"),
    )
    assert (may.ref, may.contact_end) == ("US-REGF@1+POLICY@1", time(21))
    assert (june.ref, june.contact_end) == ("US-REGF@1+POLICY@2", time(20))
    assert june.source("contact_hours.end").citation == "LP-2"
    assert june.decided_by("contact_hours.start") == "POLICY@2"


# Every hold rule (arrears.domain.compliance.HOLD_RULES) cited: a base pack must cite each.
_HOLDS = ", ".join(f'{rule}: "t"' for rule in HOLD_RULES)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (f"citations: {{{_HOLDS}}}", "citations: no citation for ['contact_hours']"),
        # A base pack's hold rules decide receipts in its name: each needs its source too.
        (
            'citations: {contact_hours: "x", stop_hold: "x"}',
            "citations: no citation for ['cease_contact', 'channel_opt_out', 'dispute_open', "
            "'hardship', 'promise_to_pay', 'repayment_plan']",
        ),
        (
            f'citations: {{contact_hours: "x", {_HOLDS}}}\n    collector_only: [dancing]',
            "collector_only: ['dancing']",
        ),
    ],
)
def test_every_rule_needs_its_citation(extra: str, message: str) -> None:
    text = f"""
rule_packs:
  - id: X
    version: "1"
    effective_from: 2026-01-01
    business_timezone: UTC
    contact_hours: {{start: "08:00", end: "21:00"}}
    retention_years: 3
    field_visit: {{enabled: false}}
    {extra}
"""
    with pytest.raises(RulePackError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_rule_packs(text, "test")


def test_an_overlay_on_an_unknown_base_is_refused() -> None:
    text = """
rule_packs:
  - id: X
    version: "1"
    effective_from: 2026-01-01
    business_timezone: UTC
    contact_hours: {start: "08:00", end: "21:00"}
    retention_years: 3
    field_visit: {enabled: false}
    citations: {contact_hours: "x", stop_hold: "t", cease_contact: "t", dispute_open: "t",
      channel_opt_out: "t", hardship: "t", repayment_plan: "t", promise_to_pay: "t"}
overlays:
  - {id: O, version: "1", effective_from: 2026-01-01, applies_to: {base: Y}}
"""
    with pytest.raises(RulePackError, match="unknown base 'Y'"):
        parse_rule_packs(text, "test")


# -- frequency limits ------------------------------------------------------------------------------------


def _ma_limits() -> tuple[ContactLimit, ...]:
    return bundled_rule_packs().composed("US-REGF", ON, "MA").contact_limits


def test_massachusetts_a_third_call_or_text_on_one_debt_within_7_days_is_refused() -> None:
    ledger = with_attempt(CallLedger("B"), "A1", _utc(3, 2, 15), channel="SMS", loan_id="L1")
    ledger = with_attempt(ledger, "A2", _utc(3, 4, 15), channel="CALL_TASK", loan_id="L1")
    limits = _ma_limits()

    third = check_call(
        ledger,
        CallLimits(),
        _utc(3, 8, 15),
        "America/New_York",
        contact_limits=limits,
        channel="SMS",
        loan_id="L1",
    )
    assert (third.allowed, third.rule) == (False, MA)
    assert third.retry_at == _utc(3, 9, 15)  # the first leaves the 7-day window
    assert "per debt" in third.reason
    # Another debt of the same borrower is counted on its own.
    other = check_call(
        ledger,
        CallLimits(),
        _utc(3, 8, 15),
        "America/New_York",
        contact_limits=limits,
        channel="SMS",
        loan_id="L2",
    )
    assert other.allowed
    # An e-mail is not a call or a text.
    email = check_call(
        ledger,
        CallLimits(),
        _utc(3, 8, 15),
        "America/New_York",
        contact_limits=limits,
        channel="EMAIL",
        loan_id="L1",
    )
    assert email.allowed
    assert email.rules_checked == ()
    # Seven days after the first, one more may go.
    later = check_call(
        ledger,
        CallLimits(),
        _utc(3, 9, 15),
        "America/New_York",
        contact_limits=limits,
        channel="SMS",
        loan_id="L1",
    )
    assert later.allowed


def test_washington_counts_every_medium_per_borrower() -> None:
    limits = bundled_rule_packs().composed("US-REGF", ON, "WA").contact_limits
    ledger = CallLedger("B")
    for n, (channel, loan) in enumerate((("SMS", "L1"), ("EMAIL", "L2"), ("CALL_TASK", "L3"))):
        ledger = with_attempt(ledger, f"A{n}", _utc(3, 2 + n, 18), channel=channel, loan_id=loan)

    fourth = check_call(
        ledger,
        CallLimits(),
        _utc(3, 6, 18),
        "America/Los_Angeles",
        contact_limits=limits,
        channel="EMAIL",
        loan_id="L4",
    )
    assert (fourth.allowed, fourth.rule) == (False, "wa_communications_week")


def test_texts_do_not_use_up_the_federal_call_attempts() -> None:
    ledger = CallLedger("B")
    for n in range(7):
        ledger = with_attempt(ledger, f"S{n}", _utc(3, 2, 15, n), channel="SMS", loan_id="L1")

    assert check_call(ledger, CallLimits(attempts_per_7_days=7), _utc(3, 3, 15), "America/New_York").allowed


# -- every zone the borrower may be in -------------------------------------------------------------------


def _us_loan() -> Loan:
    return Loan(
        "L",
        "B",
        "US-REGF",
        "USD",
        100,
        date(2026, 1, 1),
        (Instalment(1, date(2026, 2, 1), 100, 0),),
        0,
        0,
        dpd=30,
        due_offset=30,
        collection_instalment=1,
    )


def test_the_zones_of_a_number_come_from_its_area_code() -> None:
    assert zones_of_number("+12125550123") == ("America/New_York",)
    assert zones_of_number("+14155550123") == ("America/Los_Angeles",)
    assert zones_of_number("+8613800138000") == ("Asia/Shanghai",)
    assert zones_of_number("not a number") == ()
    assert zones_of_number("") == ()


def test_a_new_york_number_with_a_california_address_at_0830_new_york_time_is_deferred() -> None:
    california = Borrower("B", "America/Los_Angeles", region="CA", phone="+12125550123")
    pack = bundled_rule_packs().composed("US-REGF", ON, "CA")
    at = _utc(3, 10, 12, 30)  # 08:30 in New York (EDT), 05:30 in Los Angeles (PDT)

    decision = gate(
        channel=Channel.SMS,
        collection_instalment=1,
        loan=_us_loan(),
        borrower=california,
        at=at,
        pack=pack,
        phone_zones=zones_of_number(california.phone),
    )

    assert decision.verdict is Verdict.DEFER
    assert decision.rules_checked[-1] == ("contact_hours", "FAIL")
    assert decision.zones_checked == ("America/Los_Angeles", "America/New_York")
    assert decision.decided_by == "US-REGF@2026.1"
    assert decision.not_before == _utc(3, 10, 15, 0)  # 08:00 in Los Angeles, 11:00 in New York
    assert "05:30 local" in decision.reason
    assert "212" not in decision.reason


def test_late_evening_at_home_is_still_too_late_where_the_phone_is() -> None:
    # A California number, a New York address: 20:30 in New York is fine there; at 21:30 it is not.
    new_yorker = Borrower("B", "America/New_York", region="NY", phone="+14155550123")
    pack = bundled_rule_packs().composed("US-REGF", ON, "NY")
    zones = zones_of_number(new_yorker.phone)

    def judged(at: datetime) -> SendDecision:
        return gate(
            channel=Channel.SMS,
            collection_instalment=1,
            loan=_us_loan(),
            borrower=new_yorker,
            at=at,
            pack=pack,
            phone_zones=zones,
        )

    assert judged(_utc(3, 11, 0, 30)).verdict is Verdict.SEND
    late = judged(_utc(3, 11, 1, 30))
    assert late.verdict is Verdict.DEFER
    assert late.decided_by == "US-REGF@2026.1"
    # Next morning: 08:00 in Los Angeles is when both are open.
    assert late.not_before == _utc(3, 11, 15, 0)


def test_zones_whose_windows_never_overlap_suppress_the_contact() -> None:
    pack = replace(
        bundled_rule_packs().composed("US-REGF", ON, "NY"), contact_start=time(9), contact_end=time(12)
    )
    borrower = Borrower("B", "America/New_York", region="NY", phone="+8613800138000")

    decision = gate(
        channel=Channel.SMS,
        collection_instalment=1,
        loan=_us_loan(),
        borrower=borrower,
        at=_utc(3, 10, 14),
        pack=pack,
        phone_zones=zones_of_number(borrower.phone),
    )

    assert decision.verdict is Verdict.SUPPRESS
    assert decision.zones_checked == ("America/New_York", "Asia/Shanghai")


def test_the_address_zone_comes_first_and_zones_are_not_repeated() -> None:
    borrower = Borrower("B", "America/New_York")
    assert contact_zones(borrower, ("America/New_York", "America/Chicago")) == (
        "America/New_York",
        "America/Chicago",
    )


def test_a_dialer_is_told_to_call_before_the_first_zone_closes() -> None:
    california = Borrower("B", "America/Los_Angeles", region="CA", phone="+12125550123")
    pack = bundled_rule_packs().composed("US-REGF", ON, "CA")
    windows = zone_windows_for(pack, california, zones_of_number(california.phone))

    # Queued at 08:00 in Los Angeles: 21:00 in New York (18:00 in Los Angeles) ends it.
    assert closes_everywhere(_utc(3, 10, 15, 0), windows) == _utc(3, 11, 1, 0)


def test_every_rule_a_bundled_layer_decides_cites_its_source() -> None:
    """A receipt's `decided_by` names a layer; the archive report cites that layer's source for the
    rule that held the contact (`RulePackHistory.citation`). Every rule a bundled layer can decide:
    the base's hold rules, contact hours, call caps, frequency limits, limitation period, bureau
    precondition, validation period, field visits."""
    history = bundled_rule_packs()
    for jurisdiction in history:
        for pack in history[jurisdiction]:
            rules = {*HOLD_RULES, "contact_hours", "field_visits_enabled"}
            rules |= {rule for attribute, rule in CALL_LIMIT_RULES if getattr(pack.call_limits, attribute)}
            rules |= {limit.rule for limit in pack.contact_limits}
            rules |= {"bureau_precondition"} if pack.bureau_precondition else set()
            rules |= {"validation_period"} if pack.validation_notice else set()
            rules |= {"limitation_period"} if pack.limitation or pack.time_barred_citation else set()
            rules |= {"limitation_period_known"} if pack.time_barred_citation else set()
            for rule in rules:
                assert history.citation(pack.own_ref, rule) != NOT_CITED, (pack.own_ref, rule)
    for versions in history.overlays.values():
        for overlay in versions:
            rules = {limit.rule for limit in overlay.contact_limits}
            rules |= {"limitation_period"} if overlay.limitation else set()
            rules |= {"contact_hours"} if overlay.contact_start or overlay.contact_end else set()
            for rule in rules:
                assert history.citation(overlay.ref, rule) != NOT_CITED, (overlay.ref, rule)


def test_a_layer_cites_its_structured_rules_and_only_its_own() -> None:
    history = bundled_rule_packs()
    assert history.citation("US-MA@2026.1", "ma_calls_texts_7_days").startswith("940 CMR 7.04(1)(f)")
    assert history.citation("US-MA@2026.1", "limitation_period").startswith("M.G.L. c. 260")
    assert history.citation("US-REGF@2026.1", "limitation_period").startswith("12 CFR 1006.26(b)")
    assert history.citation("US-REGF@2026.1", "bureau_precondition").startswith("12 CFR 1006.30(a)(1)")
    assert history.citation("US-REGF@2026.1", "channel_opt_out").startswith("12 CFR 1006.14(h)(1)")
    assert history.citation("US-REGF@2026.1", "limitation_period_known").startswith(
        "Lender policy LP-US-SOL-1"
    )
    # A layer states no source for another layer's rule, and an unknown layer none at all.
    assert history.citation("US-REGF@2026.1", "ma_calls_texts_7_days") == NOT_CITED
    assert history.citation("US-XX@1", "contact_hours") == NOT_CITED
