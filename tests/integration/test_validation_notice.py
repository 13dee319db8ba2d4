"""The Reg F validation notice on moto: sent once with the first communication, recorded, and held to.

12 CFR 1006.34: a debt collector's first communication carries (or is followed within 5 days by) the
validation notice; the loan keeps its dispute deadline, and a legal referral waits until it passed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from unittest import mock

import boto3
import pytest

from arrears.adapters.container import Container
from arrears.domain.actions import ActionStatus, ContactRecord
from arrears.domain.calendar import format_utc
from arrears.domain.compliance import NOTICE_FIRST_REASON
from arrears.domain.loans import Holds, Loan
from arrears.domain.strategy import Channel
from arrears.domain.validation_notice import NOTICE_WAITS
from arrears.usecases.dispatch import DispatchPorts
from localcloud.stack import LocalStack
from tests.integration.conftest import borrower_for, cn_cash_loan, us_regf_loan, utc
from tests.integration.test_dispatch import (
    NOON_SHANGHAI,
    contacts_of,
    dispatch_at,
    overdue,
    plan,
    ports,
    subscribe,
    us_borrower,
)

__all__ = ["ports"]  # the fixture, shared with the dispatcher's tests

FIRST_TEXT = utc(2026, 3, 10, 18, 0)  # Tuesday 10 March, 11:00 in Los Angeles


@contextmanager
def dying_on_the_notices_record(container: Container) -> Iterator[None]:
    """The run dies when it writes the validation notice's contact record (after the notice was
    handed off and the loan recorded it); the block expects that death."""
    write = container.contacts.record

    def dies_on_the_notice(record: ContactRecord) -> bool:
        if record.template_id == "validation_notice":
            raise ConnectionError("the run died")
        return write(record)

    with (
        mock.patch.object(container.contacts, "record", side_effect=dies_on_the_notice),
        pytest.raises(ConnectionError),
    ):
        yield


def notices(records: list[dict[str, object]]) -> list[dict[str, object]]:
    return [c for c in records if c.get("template_id") == "validation_notice"]


def test_the_first_text_to_a_us_borrower_is_followed_by_one_validation_notice_with_the_right_figures(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    """120,000 lent on 30 January with 1,500 of interest, due 1 March, no penalty, nothing paid: on
    10 March the notice itemizes $1,200.00 + $15.00 interest + $0.00 fees - $0.00 = $1,215.00.
    Sent Tuesday 10 March: receipt assumed Tuesday 17 March (11, 12, 13, 16, 17), deadline 16 April."""
    published = subscribe(stack, "RemindersTopic")
    base = us_regf_loan("L-VN-1")
    # In New York, whose overlay states the limitation period a legal referral needs (CPLR 214-i).
    loan = overdue(container, base, us_borrower(base, region="NY"))
    first = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-d3")

    assert dispatch_at(first.action_id, FIRST_TEXT, ports).status is ActionStatus.SENT

    (message,) = published()
    body = str(message["body"])
    for text in ("$1,200.00", "+ $15.00", "+ $0.00", "- $0.00", "$1,215.00", "2026-01-30", "by 2026-04-16"):
        assert text in body
    assert "To stop receiving these e-mails" in body  # Reg F 1006.6(e): the e-mail's opt-out line
    stored = container.loans.get(loan.loan_id)
    assert stored is not None
    assert stored.validation_notice_at == FIRST_TEXT
    assert stored.validation_period_ends == date(2026, 4, 16)
    (record,) = notices(contacts_of(container, loan.loan_id))
    assert record["channel"] == "EMAIL"
    assert record["result"] == "EMAIL"
    assert record["status"] == "SENT"
    assert record["amount_due_minor"] == stored.validation_notice_amount_minor == 121_500
    assert record["message_sha256"] == hashlib.sha256(body.encode()).hexdigest()
    assert stored.validation_notice_sha256 == record["message_sha256"]
    assert "jane" not in str(record).lower()

    # A later text carries no second notice; the same record redelivered changes nothing.
    later = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-d10")
    assert dispatch_at(later.action_id, FIRST_TEXT + timedelta(days=7), ports).status is ActionStatus.SENT
    assert dispatch_at(first.action_id, FIRST_TEXT + timedelta(hours=1), ports).status is None
    assert published() == []
    assert len(notices(contacts_of(container, loan.loan_id))) == 1

    # A legal referral inside the validation period waits until the day after it ends.
    legal = plan(container, loan, Channel.LEGAL, "legal_referral", step="legal-d30")
    held = dispatch_at(legal.action_id, utc(2026, 4, 16, 18, 0), ports)
    assert held.status is ActionStatus.DEFERRED
    assert "validation period open until 2026-04-16" in held.reason
    deferred = container.actions.get(legal.action_id)
    assert deferred is not None
    assert deferred.not_before == utc(2026, 4, 17, 12, 0)  # 08:00 in New York
    assert dispatch_at(legal.action_id, utc(2026, 4, 17, 12, 0), ports).status is ActionStatus.SENT


def test_a_borrower_opted_out_of_e_mail_gets_the_notice_by_post_naming_them_never_archived(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    """The letter states the consumer's name and mailing address (12 CFR 1006.34(c)(2)(ii)); the message
    carries no e-mail address, and the contact record (what is archived) neither."""
    published = subscribe(stack, "RemindersTopic")
    base = us_regf_loan("L-VN-2")
    loan = overdue(container, base, us_borrower(base, opted_out_channels=frozenset({"EMAIL"})))
    first = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-d3")

    assert dispatch_at(first.action_id, FIRST_TEXT, ports).status is ActionStatus.SENT

    (letter,) = published()
    assert letter["delivery"] == "MAIL"
    assert "to" not in letter
    person = us_borrower(base)
    assert person.email not in str(letter)
    assert "To: Jane Doe" in letter["body"]
    assert "To stop receiving these e-mails" not in str(letter["body"])
    (record,) = notices(contacts_of(container, loan.loan_id))
    assert (record["channel"], record["result"]) == ("LETTER", "MAIL")
    assert "jane" not in str(record).lower()
    assert record["message_sha256"] == hashlib.sha256(letter["body"].encode()).hexdigest()


def test_a_cn_loan_gets_no_validation_notice(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    published = subscribe(stack, "RemindersTopic")
    base = cn_cash_loan("L-VN-CN")
    loan = overdue(container, base, borrower_for(base))
    first = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-d3")
    assert dispatch_at(first.action_id, NOON_SHANGHAI, ports).status is ActionStatus.SENT
    assert published() == []
    assert notices(contacts_of(container, loan.loan_id)) == []
    stored = container.loans.get(loan.loan_id)
    assert stored is not None
    assert stored.validation_period_ends is None


def wa_loan(container: Container, loan_id: str, borrower_id: str = "B-WA") -> Loan:
    """A loan of a Washington borrower (with an e-mail address): the US-WA overlay binds a collector."""
    base = replace(us_regf_loan(loan_id), borrower_id=borrower_id)
    return overdue(container, base, us_borrower(base, region="WA"))


def test_washingtons_weekly_limit_counts_the_e_mailed_notice_as_one_of_the_three(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    """RCW 19.16.250: at most 3 communications a week, e-mails included. The first text and the
    notice e-mailed with it are two; the second text the third; the third text waits a week from
    the first (it was sent before the notice counted, as a fourth communication)."""
    loan = wa_loan(container, "L-WA-1")
    texts = [plan(container, loan, Channel.SMS, "sms_overdue", step=f"sms-d{day}") for day in (3, 4, 5)]

    assert dispatch_at(texts[0].action_id, FIRST_TEXT, ports).status is ActionStatus.SENT
    assert dispatch_at(texts[1].action_id, FIRST_TEXT + timedelta(days=1), ports).status is ActionStatus.SENT
    third = dispatch_at(texts[2].action_id, FIRST_TEXT + timedelta(days=2), ports)

    assert third.status is ActionStatus.DEFERRED
    assert "3 contacts (CALL_TASK/EMAIL/SMS) in 7 days per borrower reached" in third.reason
    (notice,) = notices(contacts_of(container, loan.loan_id))
    assert "wa_communications_week:PASS" in str(notice["rules_checked"]), "counted under the limit"
    deferred = container.actions.get(texts[2].action_id)
    assert deferred is not None
    assert deferred.not_before is not None
    assert deferred.not_before >= FIRST_TEXT + timedelta(days=7)


def test_a_first_text_whose_notice_finds_no_room_waits_with_it_and_gives_its_own_slot_back(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    """Per borrower: loan A's text and notice count two; loan B's first text would be the third and
    its notice the fourth, so the text waits (its slot given back) and no notice is sent for B."""
    published = subscribe(stack, "RemindersTopic")
    first_loan, second_loan = wa_loan(container, "L-WA-A"), wa_loan(container, "L-WA-B")
    a = plan(container, first_loan, Channel.SMS, "sms_overdue", step="sms-d3")
    b = plan(container, second_loan, Channel.SMS, "sms_overdue", step="sms-d3")
    assert dispatch_at(a.action_id, FIRST_TEXT, ports).status is ActionStatus.SENT
    assert len(published()) == 1  # loan A's notice

    waiting = dispatch_at(b.action_id, FIRST_TEXT + timedelta(hours=1), ports)

    assert waiting.status is ActionStatus.DEFERRED
    assert waiting.reason.startswith(f"{NOTICE_WAITS}3 contacts")
    assert published() == []
    stored = container.loans.get(second_loan.loan_id)
    assert stored is not None
    assert stored.validation_notice_at is None
    ledger = container.call_ledger.ledger(first_loan.borrower_id)
    assert len(ledger.attempts) == 2, "loan B's text gave its slot back"
    deferred = container.actions.get(b.action_id)
    assert deferred is not None
    assert deferred.last_outcome is not None
    assert dict(deferred.last_outcome.rules_checked).get("wa_communications_week") == "FAIL"


def test_only_the_action_that_carried_the_notice_writes_its_record_again(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    """The run that sent the notice dies before writing its record: that action's redelivery writes
    it. A later text of the loan never does: after the archiver let TTL expire the hot record (90
    days on), writing it again would archive the notice a second time, and before that it would
    cost a refused write on every send."""
    subscribe(stack, "RemindersTopic")
    base = us_regf_loan("L-VN-REC")
    loan = overdue(container, base, us_borrower(base))
    first = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-d3")
    with dying_on_the_notices_record(container):
        dispatch_at(first.action_id, FIRST_TEXT, ports)
    stored = container.loans.get(loan.loan_id)
    assert stored is not None
    assert (stored.validation_notice_at, stored.validation_notice_action) == (FIRST_TEXT, first.action_id)
    assert notices(contacts_of(container, loan.loan_id)) == []

    assert dispatch_at(first.action_id, FIRST_TEXT + timedelta(minutes=5), ports).status is ActionStatus.SENT
    (record,) = notices(contacts_of(container, loan.loan_id))
    assert record["occurred_at"] == format_utc(FIRST_TEXT)
    # The amount the notice itemized, as the loan keeps it (not the text's own amount due).
    assert record["amount_due_minor"] == stored.validation_notice_amount_minor == 121_500

    # The archived record expires from the hot table; the loan's next text leaves it gone.
    boto3.resource("dynamodb").Table(container.settings.contacts_table).delete_item(
        Key={"loan_id": loan.loan_id, "contact_key": str(record["contact_key"])}
    )
    later = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-d10")
    assert dispatch_at(later.action_id, FIRST_TEXT + timedelta(days=91), ports).status is ActionStatus.SENT
    assert notices(contacts_of(container, loan.loan_id)) == []


EVERY_CHANNEL = frozenset({"SMS", "EMAIL", "CALL_TASK"})


def test_a_legal_referral_on_a_debt_never_communicated_about_posts_the_notice_first_and_waits(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    """Opted out of every channel, the borrower was never sent a communication, so never the notice:
    a referral then would leave them no period to dispute in (12 CFR 1006.34(a)(1), 1006.38(b)). The
    notice goes by post (no e-mail, no contact hours, no limit holds a letter), and the referral waits
    until the day after its period: sent Tuesday 10 March, period to 16 April, referral 17 April.
    The run that posted it dies before writing its record: the referral's redelivery writes it."""
    published = subscribe(stack, "RemindersTopic")
    base = us_regf_loan("L-VN-LEGAL")
    loan = overdue(container, base, us_borrower(base, region="NY", opted_out_channels=EVERY_CHANNEL))
    legal = plan(container, loan, Channel.LEGAL, "legal_referral", step="legal-d30")
    with dying_on_the_notices_record(container):
        dispatch_at(legal.action_id, FIRST_TEXT, ports)
    assert notices(contacts_of(container, loan.loan_id)) == []

    held = dispatch_at(legal.action_id, FIRST_TEXT + timedelta(minutes=5), ports)
    assert held.status is ActionStatus.DEFERRED
    assert "validation period open until 2026-04-16" in held.reason
    (letter,) = published()  # posted once, whatever the retry
    assert letter["delivery"] == "MAIL"
    assert "To: Jane Doe" in letter["body"]
    stored = container.loans.get(loan.loan_id)
    assert stored is not None
    assert (stored.validation_notice_at, stored.validation_period_ends) == (FIRST_TEXT, date(2026, 4, 16))
    assert stored.validation_notice_action == legal.action_id
    (record,) = notices(contacts_of(container, loan.loan_id))
    assert (record["channel"], record["result"], record["occurred_at"]) == (
        "LETTER",
        "MAIL",
        format_utc(FIRST_TEXT),
    )
    deferred = container.actions.get(legal.action_id)
    assert deferred is not None
    assert deferred.not_before == utc(2026, 4, 17, 12, 0)  # 08:00 in New York, the day after

    assert dispatch_at(legal.action_id, utc(2026, 4, 17, 12, 0), ports).status is ActionStatus.SENT
    assert published() == []  # no second notice
    assert len(notices(contacts_of(container, loan.loan_id))) == 1


def test_a_first_dispatch_of_a_never_told_debts_referral_says_why_it_waits(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    subscribe(stack, "RemindersTopic")
    base = us_regf_loan("L-VN-LEGAL-2")
    loan = overdue(container, base, us_borrower(base, region="NY", opted_out_channels=EVERY_CHANNEL))
    legal = plan(container, loan, Channel.LEGAL, "legal_referral", step="legal-d30")
    held = dispatch_at(legal.action_id, FIRST_TEXT, ports)
    assert held.status is ActionStatus.DEFERRED
    assert held.reason == NOTICE_FIRST_REASON
    deferred = container.actions.get(legal.action_id)
    assert deferred is not None
    assert deferred.last_outcome is not None
    assert deferred.last_outcome.rules_checked[-1] == ("validation_period", "FAIL")
    assert deferred.last_outcome.decided_by == "US-REGF@2026.1"


def test_under_a_request_to_cease_contact_no_notice_is_posted_ahead_of_a_referral(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    """A consumer who asked to cease contact may only be told a remedy is invoked (12 CFR
    1006.6(c)(2)): no validation notice goes, and the referral (a remedy the pack allows) proceeds."""
    published = subscribe(stack, "RemindersTopic")
    base = replace(us_regf_loan("L-VN-CEASE"), holds=Holds(cease_contact=True))
    loan = overdue(container, base, us_borrower(base, region="NY", opted_out_channels=EVERY_CHANNEL))
    assert loan.holds.cease_contact
    legal = plan(container, loan, Channel.LEGAL, "legal_referral", step="legal-d30")
    assert dispatch_at(legal.action_id, FIRST_TEXT, ports).status is ActionStatus.SENT
    assert [m for m in published() if m.get("template_id") == "validation_notice" or "delivery" in m] == []
    assert notices(contacts_of(container, loan.loan_id)) == []
