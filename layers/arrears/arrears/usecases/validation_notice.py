"""Send the Regulation F validation notice with the first communication about a debt, once.

The dispatcher calls `ensure_validation_notice` right before it makes a communication on one of the
pack's `with_channels` (after every gate and limit allowed it). Under a pack with a validation-notice
duty (US-REGF for a debt collector; `arrears.domain.validation_notice`) and a loan that has none yet:

1. the notice is itemized from the loan on the borrower's date (`itemize`), its validation period
   computed (`validation_period_end`, on the jurisdiction's working-day calendar), and rendered in
   the borrower's language with every element of 12 CFR 1006.34(c) (`render_notice`: the pack's
   collector and creditor, the consumer's name and mailing address, the truncated account number);
2. it is handed to the reminders topic once (the outbox key `validation-notice#<loan id>`): as an
   e-mail (with the pack's opt-out line) when the borrower has an address and has not opted out of
   e-mail, else as a letter for the mail house to post (`delivery: MAIL`, recorded on channel
   `LETTER`; the notice states the consumer's name and address, as 1006.34(c)(2)(ii) requires: the
   topic is encrypted with the data key and the archive keeps the notice's hash, never its text);
3. the loan records the instant and the period's end (`LoanRepository.record_validation_notice`),
   where the gate reads it to hold a legal referral or a bureau report until the period ends;
4. the notice is recorded as a contact (template `validation_notice`, the SHA-256 of the rendered
   notice, never its text; `result` says how it was delivered), archived like every contact.

A legal referral (a step the pack holds for the validation period, `defer_until_period_end`) on a
debt no notice was ever sent for does not start collection without one: the gate defers it
(`notice_first`) and the dispatcher posts the notice ahead of it (`ahead=True`: by post, see
`notice_delivery`), the referral waiting until the day after its period.

The notice is a communication of its own: under a frequency limit naming its channel (Washington's
weekly limit counts e-mails), the dispatcher takes a contact slot for it (`notice_channel`, keyed by
`notice_key`) besides the one of the communication it goes with, and when none is left both wait.

Every step is repeatable: a retried dispatch finds the outbox key done, the loan's notice recorded
and the contact record (its id fixed by the loan) written, and sends nothing twice. A notice whose
hand-off was made but whose loan write was lost is recorded at the retry's instant (a later
deadline: the consumer keeps at least the period the notice stated).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from arrears.adapters.channels import TopicPublisher
from arrears.adapters.dynamodb import ContactRepository, LoanRepository
from arrears.adapters.outbox import SendUnconfirmed
from arrears.config.money import money_rules_for
from arrears.domain.actions import Action, ActionStatus, ContactRecord, StatedFigures
from arrears.domain.borrowers import Borrower
from arrears.domain.delinquency import loan_dpd
from arrears.domain.loans import Loan
from arrears.domain.messages import needs_opt_out_url, with_opt_out_line
from arrears.domain.payoff import borrower_date
from arrears.domain.rulepacks import RulePack
from arrears.domain.strategy import Channel
from arrears.domain.validation_notice import (
    VALIDATION_NOTICE_TEMPLATE,
    Consumer,
    ValidationNoticeRule,
    in_validation_period,
    itemize,
    render_notice,
    validation_period_end,
)
from arrears.domain.verdicts import PASS

EMAIL, MAIL = "EMAIL", "MAIL"
"""How a notice is delivered (the contact record's `result`)."""


def notice_key(loan_id: str) -> str:
    """The outbox key of a loan's notice: at most one notice per loan, whatever retries."""
    return f"validation-notice#{loan_id}"


def notice_contact_id(loan_id: str) -> str:
    return hashlib.sha256(f"{VALIDATION_NOTICE_TEMPLATE}|{loan_id}".encode()).hexdigest()[:32]


def delivery_for(borrower: Borrower) -> str:
    """E-mail when the borrower has an address and has not opted out of e-mail, else the post."""
    return EMAIL if borrower.email and EMAIL not in borrower.opted_out_channels else MAIL


def notice_delivery(channel: Channel, borrower: Borrower, rule: ValidationNoticeRule) -> str:
    """How the notice a step on `channel` sends is delivered: with a communication (`with_channels`)
    as `delivery_for` says; ahead of a step held for the validation period (`defer_until_period_end`:
    a legal referral on a debt never communicated about) by post, which no contact hours, e-mail
    opt-out or bundled frequency limit holds, to the mailing address the case file states."""
    return delivery_for(borrower) if channel in rule.with_channels else MAIL


def sends_notice(channel: Channel, rule: ValidationNoticeRule, *, ahead: bool = False) -> bool:
    """Whether a step on `channel` sends the notice when the debt has none: a communication it goes
    with; with `ahead` (the gate's `notice_first`, never otherwise: not under a request to cease
    contact) a step held for the validation period, which cannot start one without a notice."""
    return channel in rule.with_channels or (ahead and channel in rule.defer_until_period_end)


def notice_channel(
    action: Action, borrower: Borrower, loan: Loan, pack: RulePack, *, ahead: bool = False
) -> Channel | None:
    """The channel of the validation notice `action` would carry if made now (`EMAIL`, or `LETTER`
    for the post: `delivery_for`); None when it carries none (no notice duty under `pack`, a channel
    the notice does not go with, or a notice sent before)."""
    rule = pack.validation_notice
    if (
        rule is None
        or not sends_notice(action.channel, rule, ahead=ahead)
        or loan.validation_notice_at is not None
    ):
        return None
    return Channel.EMAIL if notice_delivery(action.channel, borrower, rule) == EMAIL else Channel.LETTER


def ensure_validation_notice(
    action: Action,
    borrower: Borrower,
    loan: Loan,
    at: datetime,
    pack: RulePack,
    *,
    loans: LoanRepository,
    contacts: ContactRepository,
    reminders: TopicPublisher,
    once: Callable[[str, Callable[[], str]], str],
    opt_out_link: Callable[[str, Channel, datetime], str] | None,
    counted: tuple[tuple[str, str], ...] = (),
    ahead: bool = False,
) -> Loan | None:
    """Send and record the loan's validation notice if `action` is the first step that needs it
    (`sends_notice`; `ahead`: a step held for the notice's period, the gate's `notice_first`); the
    loan as it stands with its notice (None when `action` needs none).
    `counted`: the frequency limits the notice's own contact slot was checked against
    (`rules_checked` pairs, kept on its record). Raises what the outbox and the topic raise (the
    dispatcher retries the record: nothing is sent twice); `SendUnconfirmed` is recorded as sent (it
    will not be repeated), with why in the record's reason."""
    rule = pack.validation_notice
    if rule is None or not sends_notice(action.channel, rule, ahead=ahead):
        return None
    on = borrower_date(loan, at, pack.business_timezone)
    if loan.validation_notice_at is not None:
        if loan.validation_notice_action == action.action_id and in_validation_period(loan, on):
            # This action sent it and is delivered again while its period runs: the run that sent
            # it may have died before writing its record. Only this action, and only then: a later
            # send re-writing it would cost a write each time, and re-create a record TTL had
            # expired after archiving it (archived twice; the period is far shorter than the TTL).
            contacts.record(_record(action, loan, borrower, pack))
        return loan
    itemization = itemize(loan, on)
    ends = validation_period_end(on, money_rules_for(loan.jurisdiction, on).calendar, rule)
    if rule.parties is None:
        raise ValueError(f"{pack.pack_id}: the validation notice names no collector and creditor (parties)")
    message = render_notice(
        itemization,
        borrower.language,
        parties=rule.parties,
        consumer=Consumer(borrower.name, borrower.address),
        period_end=ends,
    )
    delivery = notice_delivery(action.channel, borrower, rule)
    if delivery == EMAIL:
        wording = pack.opt_out_wording(Channel.EMAIL)
        url = ""
        if needs_opt_out_url(wording):
            if opt_out_link is None:
                raise ValueError(f"{pack.pack_id} words its opt-out line with a link and none can be made")
            url = opt_out_link(borrower.borrower_id, Channel.EMAIL, at)
        message = with_opt_out_line(message, wording, url)
        payload: dict[str, Any] = {
            "to": borrower.email,
            "language": message.language,
            "body": message.body,
            "loan_id": loan.loan_id,
        }
    else:
        payload = {
            "delivery": MAIL,
            "borrower_id": borrower.borrower_id,
            "loan_id": loan.loan_id,
            "language": message.language,
            "body": message.body,
        }
    attributes = {
        "channel": delivery,
        "template_id": VALIDATION_NOTICE_TEMPLATE,
        "language": message.language,
        "jurisdiction": loan.jurisdiction,
    }
    reason = ""
    try:
        once(notice_key(loan.loan_id), lambda: reminders.publish(payload, attributes))
    except SendUnconfirmed as unconfirmed:
        reason = str(unconfirmed)
    recorded = loans.record_validation_notice(
        loan.loan_id, at, ends, message.sha256, action.action_id, itemization.current_minor
    )
    stored = loan.with_changes(
        validation_notice_at=recorded.at,
        validation_period_ends=recorded.period_ends,
        validation_notice_sha256=recorded.sha256,
        validation_notice_action=recorded.action_id,
        validation_notice_amount_minor=recorded.amount_minor,
    )
    contacts.record(
        _record(
            action,
            stored,
            borrower,
            pack,
            stated=StatedFigures(loan_dpd(loan, on), loan.bucket, itemization.current_minor),
            reason=reason,
            delivery=delivery,
            counted=counted,
        )
    )
    return stored


def _record(
    action: Action,
    loan: Loan,
    borrower: Borrower,
    pack: RulePack,
    *,
    stated: StatedFigures | None = None,
    reason: str = "",
    delivery: str = "",
    counted: tuple[tuple[str, str], ...] = (),
) -> ContactRecord:
    """The notice's contact record, from what the loan stored (its instant and hash), with the
    frequency limits its slot was counted under (`counted`): the DPD at the notice's instant and the
    current amount it itemized (`stated`; rebuilt by a redelivery, whose run may have died before
    writing it: the loan's DPD and the amount the loan keeps as itemized)."""
    at = loan.validation_notice_at
    if at is None:
        raise ValueError(f"loan {loan.loan_id} has no validation notice recorded")
    figures = stated or StatedFigures(loan.dpd, loan.bucket, loan.validation_notice_amount_minor)
    if not delivery:
        delivery = (
            notice_delivery(action.channel, borrower, pack.validation_notice)
            if pack.validation_notice
            else MAIL
        )
    zone = borrower.timezone or pack.business_timezone
    local = at.astimezone(ZoneInfo(zone)).replace(microsecond=0).isoformat()
    return ContactRecord(
        contact_id=notice_contact_id(loan.loan_id),
        action_id=action.action_id,
        loan_id=loan.loan_id,
        borrower_id=loan.borrower_id,
        channel=Channel.EMAIL if delivery == EMAIL else Channel.LETTER,
        step=VALIDATION_NOTICE_TEMPLATE,
        status=ActionStatus.SENT,
        occurred_at=at,
        borrower_timezone=zone,
        borrower_local_time=local,
        jurisdiction=loan.jurisdiction,
        rule_pack=pack.ref,
        strategy=f"{action.strategy_id}@{action.strategy_version}#{action.strategy_arm}",
        dpd=figures.dpd,
        bucket=figures.bucket,
        amount_due_minor=figures.amount_due_minor,
        currency=loan.currency,
        reason=reason,
        template_id=VALIDATION_NOTICE_TEMPLATE,
        message_sha256=loan.validation_notice_sha256,
        rules_checked=(("validation_notice", PASS), *counted),
        result=delivery,
    )
