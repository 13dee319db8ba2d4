"""When a credit-bureau report may go out: only after the borrower was told (the pack's precondition).

A bureau report (a BUREAU action) is held until the rule pack's `BureauPrecondition` is met on the
debt (the loan):

* US Regulation F, debt collectors (12 CFR 1006.30(a)(1)): no "passive collection". Before it
  furnishes information about the debt to a consumer reporting agency, the collector must have
  communicated with the consumer about the debt, e.g. sent a written or electronic communication
  and waited a reasonable time for a notice of undeliverability; comment 30(a)(1)(ii)-2 makes
  14 consecutive days reasonable. Pack: `wait_days: 14`, `notice_channels: [SMS, EMAIL]`.
* CN, 征信业管理条例 (Regulation on the Administration of the Credit Reporting Industry, State
  Council Decree No. 631, 2013) art. 15: an information provider that furnishes negative
  information about a person must tell that person beforehand. Pack: `wait_days: 0` and
  `notice_templates` naming the messages that carry the pack's `notice_lines` (the prior notice).

What counts as the notice: a contact of the loan on one of `notice_channels` (and, when
`notice_templates` is set, of one of those templates) that the channel accepted (status SENT). A
channel that refused it for good (FAILED: an invalid number, a rejected address) is the notice of
undeliverability, so that contact never counts. The earliest such delivered notice starts the wait.

Pure: no clock, no I/O; times are aware datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from arrears.domain.actions import Action, ActionStatus
from arrears.domain.calendar import format_utc
from arrears.domain.strategy import Channel

__all__ = ["BUREAU_PRECONDITION_RULE", "BureauCheck", "BureauPrecondition", "Communication", "bureau_check"]

BUREAU_PRECONDITION_RULE = "bureau_precondition"
"""The rule name receipts and contact records store for this check (`rules_checked`)."""


@dataclass(frozen=True, slots=True)
class BureauPrecondition:
    """What must have happened before a bureau report: a notice delivered `wait_days` ago or more.

    `citation`: the law that requires it. `notice_channels`: channels whose delivered message is the
    notice. `notice_templates`: when not empty, only these templates are the notice (they carry the
    pack's `notice_lines`, language -> line, appended to the message).
    """

    citation: str
    wait_days: int
    notice_channels: frozenset[Channel]
    notice_templates: frozenset[str] = frozenset()
    notice_lines: tuple[tuple[str, str], ...] = ()

    def counts(self, channel: Channel, template_id: str) -> bool:
        """Whether a message on `channel` from `template_id` is the notice this precondition wants."""
        return channel in self.notice_channels and (
            not self.notice_templates or template_id in self.notice_templates
        )

    def lines_for(self, channel: Channel, template_id: str) -> dict[str, str]:
        """The notice line per language to append to such a message; empty when none is due."""
        return dict(self.notice_lines) if self.notice_lines and self.counts(channel, template_id) else {}


@dataclass(frozen=True, slots=True)
class Communication:
    """One contact of the debt as the precondition sees it: channel, template, outcome, instant."""

    channel: Channel
    template_id: str
    status: ActionStatus
    at: datetime

    @classmethod
    def of(cls, actions: Iterable[Action]) -> list[Communication]:
        """The settled contacts among a loan's actions (an action not yet sent has no outcome)."""
        return [
            cls(action.channel, action.template_id, outcome.status, outcome.occurred_at)
            for action in actions
            if (outcome := action.last_outcome) is not None
        ]


@dataclass(frozen=True, slots=True)
class BureauCheck:
    """The precondition's answer at one instant.

    `allowed`: the report may go out now. Else `reason` says why (with the citation) and
    `not_before` is the earliest instant it could: the notice's time plus the wait, or, with no
    notice delivered yet, `wait_days` (at least one) from now, when it is checked again.
    `notice_at` is the delivered notice that starts the wait (None when there is none).
    """

    allowed: bool
    reason: str = ""
    not_before: datetime | None = None
    notice_at: datetime | None = None


def bureau_check(
    precondition: BureauPrecondition, communications: Iterable[Communication], at: datetime
) -> BureauCheck:
    """Judge the precondition at the aware instant `at` from the debt's contacts."""
    delivered = sorted(
        c.at
        for c in communications
        if c.status is ActionStatus.SENT and precondition.counts(c.channel, c.template_id)
    )
    if not delivered:
        return BureauCheck(
            False,
            f"bureau report held: no notice about the debt delivered to the borrower yet "
            f"({precondition.citation})",
            at + timedelta(days=max(precondition.wait_days, 1)),
        )
    notice = delivered[0]
    ready = notice + timedelta(days=precondition.wait_days)
    if at < ready:
        return BureauCheck(
            False,
            f"bureau report held until {format_utc(ready)}: {precondition.wait_days} days after the notice "
            f"delivered {format_utc(notice)} ({precondition.citation})",
            ready,
            notice,
        )
    return BureauCheck(True, notice_at=notice)
