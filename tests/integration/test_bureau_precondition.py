"""A bureau report waits until the borrower was told: the pack's precondition, judged by the dispatcher.

US Regulation F (12 CFR 1006.30(a)(1)): a delivered communication about the debt and 14 days without
a notice that it was undeliverable. CN (征信业管理条例 art. 15): the prior notice of negative information.
"""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from arrears.adapters.container import Container
from arrears.domain.actions import ActionStatus
from arrears.domain.calendar import format_utc
from arrears.domain.strategy import Channel
from arrears.usecases.dispatch import DispatchPorts
from arrears.usecases.erasure import ErasurePorts, ErasureRequest, erase_borrower
from localcloud.stack import LocalStack
from tests.integration.conftest import borrower_for, cn_cash_loan, us_regf_loan, utc
from tests.integration.test_dispatch import (
    NOON_SHANGHAI,
    contacts_of,
    dispatch_at,
    overdue,
    plan,
    ports,
    rejected,
    sms_sent,
    subscribe,
    us_borrower,
)

__all__ = ["ports"]  # the fixture, shared with the dispatcher's tests

EVERY_CONTACT_CHANNEL = frozenset({"SMS", "EMAIL", "CALL_TASK", "FIELD_VISIT"})
DAY_60 = utc(2026, 4, 30, 18, 0)  # 60 days past the 1 March due date, 11:00 in Los Angeles


def test_a_us_borrower_opted_out_of_every_channel_is_not_reported_until_told_and_14_days_passed(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    reports = subscribe(stack, "BureauTopic")
    base = us_regf_loan("L-OPTED")
    loan = overdue(container, base, us_borrower(base, opted_out_channels=EVERY_CONTACT_CHANNEL))
    reminder = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-d3")
    assert dispatch_at(reminder.action_id, utc(2026, 3, 10, 18, 0), ports).status is ActionStatus.SUPPRESSED
    bureau = plan(container, loan, Channel.BUREAU, "bureau_report", step="bureau-d60")

    held = dispatch_at(bureau.action_id, DAY_60, ports)

    assert held.status is ActionStatus.DEFERRED
    assert "no notice about the debt delivered" in held.reason
    assert "12 CFR 1006.30(a)(1)" in held.reason
    stored = container.actions.get(bureau.action_id)
    assert stored is not None
    assert stored.not_before == DAY_60 + timedelta(days=14)  # checked again when a notice could have aged
    (record,) = [c for c in contacts_of(container, loan.loan_id) if c["channel"] == "BUREAU"]
    assert record["status"] == "DEFERRED"
    assert record["rules_checked"][-1] == "bureau_precondition:FAIL"
    assert reports() == []

    # The borrower opts back in to texts; a reminder about the debt is delivered on day 61.
    notice_at = utc(2026, 5, 1, 18, 0)
    assert container.borrowers.set_channel_preference(
        loan.borrower_id, "SMS", opted_out=False, at=notice_at - timedelta(hours=1)
    )
    told = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-d61")
    assert dispatch_at(told.action_id, notice_at, ports).status is ActionStatus.SENT

    early = dispatch_at(bureau.action_id, notice_at + timedelta(days=13, hours=23), ports)
    assert early.status is ActionStatus.DEFERRED
    assert f"held until {format_utc(notice_at + timedelta(days=14))}" in early.reason
    assert reports() == []

    sent = dispatch_at(bureau.action_id, notice_at + timedelta(days=14), ports)
    assert sent.status is ActionStatus.SENT
    (report,) = reports()
    assert report["type"] == "BUREAU_REPORT"
    assert report["loan_id"] == loan.loan_id
    final = [c for c in contacts_of(container, loan.loan_id) if c["channel"] == "BUREAU"]
    assert [c["status"] for c in sorted(final, key=lambda c: c["occurred_at"])] == [
        "DEFERRED",
        "DEFERRED",
        "SENT",
    ]
    assert "bureau_precondition:PASS" in max(final, key=lambda c: c["occurred_at"])["rules_checked"]


def test_a_us_message_the_channel_refused_is_not_the_notice(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    reports = subscribe(stack, "BureauTopic")
    base = us_regf_loan("L-BOUNCED")
    loan = overdue(container, base, us_borrower(base))
    reminder = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-d3")
    with mock.patch.object(ports.sms, "send", side_effect=rejected("Publish")):
        assert dispatch_at(reminder.action_id, utc(2026, 3, 10, 18, 0), ports).status is ActionStatus.FAILED
    bureau = plan(container, loan, Channel.BUREAU, "bureau_report", step="bureau-d60")

    result = dispatch_at(bureau.action_id, DAY_60, ports)

    assert result.status is ActionStatus.DEFERRED
    assert "no notice about the debt delivered" in result.reason
    assert reports() == []


def test_cn_reports_after_the_prior_notice_of_negative_information_was_delivered(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    reports = subscribe(stack, "BureauTopic")
    base = cn_cash_loan("L-CNNOTICE")
    loan = overdue(container, base, borrower_for(base))
    bureau = plan(container, loan, Channel.BUREAU, "bureau_report", step="bureau-d90")

    held = dispatch_at(bureau.action_id, NOON_SHANGHAI, ports)
    assert held.status is ActionStatus.DEFERRED
    assert "征信业管理条例" in held.reason
    assert "art. 15" in held.reason

    # A pre-due reminder is not the notice (and past the due date it is never sent: `due_date_ahead`);
    # an overdue SMS carries it (the pack's notice line).
    pre_due = plan(container, loan, Channel.SMS, "sms_reminder_pre_due", step="reminder-d0")
    assert dispatch_at(pre_due.action_id, NOON_SHANGHAI, ports).status is ActionStatus.CANCELLED
    overdue_sms = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-d3")
    assert dispatch_at(overdue_sms.action_id, NOON_SHANGHAI, ports).status is ActionStatus.SENT
    ((_, body),) = sms_sent()
    assert body.endswith("请尽快还款。逾期信息将依法报送金融信用信息基础数据库。")

    result = dispatch_at(bureau.action_id, NOON_SHANGHAI + timedelta(days=1), ports)
    assert result.status is ActionStatus.SENT  # no waiting period: told beforehand is enough
    assert len(reports()) == 1


def test_an_erasure_does_not_stop_the_lawful_bureau_report_of_an_open_debt(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    reports = subscribe(stack, "BureauTopic")
    base = us_regf_loan("L-ERASED")
    loan = overdue(container, base, us_borrower(base))
    notice_at = utc(2026, 3, 10, 18, 0)
    told = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-d9")
    assert dispatch_at(told.action_id, notice_at, ports).status is ActionStatus.SENT
    erase_borrower(
        ErasureRequest("ER-1", loan.borrower_id, notice_at + timedelta(days=1)),
        at=notice_at + timedelta(days=1),
        ports=ErasurePorts.from_container(container),
    )
    loan = container.loans.get(loan.loan_id) or loan  # the planner plans from the stored loan
    assert loan.borrower_id.startswith("erased:")
    reminder = plan(container, loan, Channel.EMAIL, "email_overdue", step="email-d14")
    bureau = plan(container, loan, Channel.BUREAU, "bureau_report", step="bureau-d60")

    assert dispatch_at(reminder.action_id, DAY_60, ports).status is ActionStatus.SUPPRESSED
    assert dispatch_at(bureau.action_id, DAY_60, ports).status is ActionStatus.SENT
    (report,) = reports()
    assert "borrower_id" not in report
    assert len(report["borrower_token"]) == 64
