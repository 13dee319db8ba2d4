"""The bureau precondition of each bundled pack, and its judgement from a debt's contacts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from arrears.config.rulepacks import RulePackError, parse_rule_packs, rule_pack_for
from arrears.domain.actions import ActionStatus
from arrears.domain.bureau import Communication, bureau_check
from arrears.domain.rulepacks import DeployerRole, PackSettings, compose
from arrears.domain.strategy import Channel

AT = datetime(2026, 4, 30, 18, 0, tzinfo=UTC)
US = rule_pack_for("US-REGF").bureau_precondition
CN = rule_pack_for("CN").bureau_precondition


def sms(template: str, at: datetime, status: ActionStatus = ActionStatus.SENT) -> Communication:
    return Communication(Channel.SMS, template, status, at)


def test_the_bundled_packs_cite_the_law_and_wait_as_it_says() -> None:
    assert US is not None
    assert CN is not None
    assert (US.wait_days, US.notice_channels) == (14, frozenset({Channel.SMS, Channel.EMAIL}))
    assert US.citation.startswith("12 CFR 1006.30(a)(1)")
    assert US.notice_templates == frozenset()  # any message about the debt
    assert CN.wait_days == 0
    assert "征信业管理条例" in CN.citation
    assert "art. 15" in CN.citation
    assert CN.notice_templates == frozenset({"sms_overdue", "email_overdue"})
    assert dict(CN.notice_lines)["zh-CN"] == "逾期信息将依法报送金融信用信息基础数据库。"


def test_nothing_delivered_holds_the_report_and_looks_again_after_the_wait() -> None:
    assert US is not None
    suppressed = sms("sms_overdue", AT - timedelta(days=50), ActionStatus.SUPPRESSED)
    check = bureau_check(US, [suppressed], AT)
    assert not check.allowed
    assert check.not_before == AT + timedelta(days=14)
    assert check.notice_at is None
    assert "12 CFR 1006.30(a)(1)" in check.reason


@pytest.mark.parametrize(("days_ago", "allowed"), [(13, False), (14, True), (40, True)])
def test_a_delivered_notice_allows_the_report_14_days_later(days_ago: int, allowed: bool) -> None:
    assert US is not None
    notice = AT - timedelta(days=days_ago)
    check = bureau_check(US, [sms("sms_overdue", notice)], AT)
    assert check.allowed is allowed
    assert check.notice_at == notice
    assert check.not_before == (None if allowed else notice + timedelta(days=14))


def test_a_refused_message_is_undeliverable_and_the_earliest_delivered_one_starts_the_wait() -> None:
    assert US is not None
    refused = sms("sms_overdue", AT - timedelta(days=30), ActionStatus.FAILED)
    delivered = sms("sms_overdue", AT - timedelta(days=10))
    later = sms("sms_overdue", AT - timedelta(days=2))
    check = bureau_check(US, [later, refused, delivered], AT)
    assert not check.allowed
    assert check.not_before == AT + timedelta(days=4)


def test_cn_only_the_messages_carrying_the_notice_count() -> None:
    assert CN is not None
    assert not bureau_check(CN, [sms("sms_reminder_pre_due", AT - timedelta(days=9))], AT).allowed
    assert bureau_check(CN, [sms("sms_overdue", AT - timedelta(minutes=1))], AT).allowed
    assert CN.lines_for(Channel.SMS, "sms_overdue")["en"].startswith("Overdue information")
    assert CN.lines_for(Channel.SMS, "sms_reminder_pre_due") == {}


PACK = """
rule_packs:
  - id: X
    version: "1"
    effective_from: 2026-01-01
    business_timezone: UTC
    contact_hours: {start: "08:00", end: "21:00"}
    retention_years: 3
    field_visit: {enabled: false}
    citations: {contact_hours: "policy P-2", stop_hold: "t", cease_contact: "t", dispute_open: "t",
      channel_opt_out: "t", hardship: "t", repayment_plan: "t", promise_to_pay: "t"}
    bureau_precondition: {citation: "policy P-1", wait_days: 14, notice_channels: [%s]}
"""


def test_a_notice_channel_must_deliver_a_written_message() -> None:
    with pytest.raises(RulePackError, match="notice_channels: only channels that deliver a written message"):
        parse_rule_packs(PACK % "CALL_TASK", "test")
    assert parse_rule_packs(PACK % "EMAIL", "test").in_force("X").bureau_precondition is not None


def test_a_creditor_deployment_has_no_bureau_precondition() -> None:
    """Regulation F binds debt collectors: for a creditor the `collector_only` precondition is dropped."""
    base = rule_pack_for("US-REGF")
    assert "bureau_precondition" in base.collector_only
    creditor = replace(base, settings=PackSettings(deployer_role=DeployerRole.CREDITOR))
    assert compose(creditor, ()).bureau_precondition is None
    assert compose(base, ()).bureau_precondition == US
