"""Rule packs are data: the YAML document, its validation errors, and the bundled copy."""

from __future__ import annotations

from datetime import date, time

import pytest

from arrears.config.bundled import RULE_PACKS, document_path
from arrears.config.rulepacks import RulePackError, bundled_rule_packs, parse_rule_packs, rule_pack_for
from arrears.domain.strategy import Channel

DOCUMENT = document_path(RULE_PACKS)

PACK = """
rule_packs:
  - id: CN
    version: "{version}"
    effective_from: {start}
    {extra}
    business_timezone: Asia/Shanghai
    contact_hours: {{start: "08:00", end: "{end}"}}
    retention_years: 5
    field_visit: {{enabled: true, min_collectors: 2}}
    citations: {{contact_hours: "test source", stop_hold: "t", cease_contact: "t", dispute_open: "t",
      channel_opt_out: "t", hardship: "t", repayment_plan: "t", promise_to_pay: "t"}}
"""


def test_the_bundled_packs_hold_the_design_numbers() -> None:
    cn, us = rule_pack_for("CN"), rule_pack_for("US-REGF")
    assert (cn.contact_start, cn.contact_end, cn.retention_years) == (time(8), time(22), 5)
    assert (us.contact_start, us.contact_end, us.retention_years) == (time(8), time(21), 3)
    assert (cn.call_limits.connected_per_day, cn.call_limits.attempts_per_day_per_number) == (3, 6)
    assert (us.call_limits.attempts_per_7_days, us.call_limits.quiet_days_after_conversation) == (7, 7)
    assert (cn.field_visit_min_collectors, cn.field_visit_recording_required) == (2, True)
    assert not us.field_visits_enabled
    assert us.email_opt_out_required
    assert us.opt_out_notice is not None
    assert us.opt_out_notice.channels == frozenset({Channel.SMS, Channel.EMAIL})
    assert cn.opt_out_notice is None
    assert cn.cease_contact_allows == frozenset({Channel.LEGAL, Channel.BUREAU})
    assert set(bundled_rule_packs()) == {"CN", "US-REGF"}


def test_a_new_version_takes_over_on_its_effective_date() -> None:
    text = PACK.format(version="2026.1", start="2026-01-01", extra="effective_to: 2026-07-01", end="22:00")
    text += PACK.format(version="2026.2", start="2026-07-01", extra="", end="21:00").split("rule_packs:")[1]
    history = parse_rule_packs(text, "test")
    assert [p.version for p in history["CN"]] == ["2026.1", "2026.2"]
    assert history["CN"][1].contact_end == time(21)
    assert history["CN"][0].effective_to == date(2026, 7, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            PACK.format(version="1", start="2026-01-01", extra="", end="07:00"),
            "contact_hours: Value error, start",
        ),
        (
            PACK.format(version="1", start="2026-01-01", extra="colour: red", end="22:00"),
            "colour: Extra inputs",
        ),
        (PACK.format(version="1", start="someday", extra="", end="22:00"), "effective_from"),
        (
            PACK.format(version="1", start="2026-01-01", extra="", end="22:00").replace(
                "Asia/Shanghai", "Mars/Base"
            ),
            "not an IANA zone",
        ),
        ("rule_packs: [", "not YAML"),
        (
            PACK.format(
                version="1",
                start="2026-01-01",
                extra='opt_out_notice: {citation: "x", lines: {CALL_TASK: {en: "Say stop"}}}',
                end="22:00",
            ),
            "CALL_TASK carries no written message",
        ),
        (
            PACK.format(
                version="1",
                start="2026-01-01",
                extra='opt_out_notice: {citation: "x", lines: {SMS: {zh-CN: "回复退订"}}}',
                end="22:00",
            ),
            "an `en` line is required",
        ),
        (
            PACK.format(
                version="1",
                start="2026-01-01",
                extra='opt_out_notice: {citation: "x", lines: {SMS: {en: "Reply STOP, {name}"}}}',
                end="22:00",
            ),
            "only {opt_out_url} may be filled in",
        ),
    ],
)
def test_an_invalid_document_is_refused_with_the_source_field_and_problem(text: str, message: str) -> None:
    with pytest.raises(RulePackError, match=r"^my-packs\.yaml: ") as error:
        parse_rule_packs(text, "my-packs.yaml")
    assert message in str(error.value)
