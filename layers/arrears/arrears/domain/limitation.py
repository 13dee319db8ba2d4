"""The limitation period: after it, no suit and no threat of suit.

A claim for money lent can be taken to court only within the limitation period of the loan's law,
counted from the day the lender knew or should have known of the default. The rule is rule-pack
data with its source (`limitation:` in `rulepacks.yaml`, tabled in docs/compliance.md):

- CN: three years from when the obligee knew or should have known that its right was harmed
  (民法典 Civil Code art. 188);
- US: the borrower's state's statute of limitations for a written contract or a consumer credit
  claim, on the state's overlay (Massachusetts M.G.L. c. 260 §2, six years; Washington RCW
  4.16.040(1), six years; New York CPLR 214-i, three years). The federal base sets none (the state
  decides), but Regulation F forbids a debt collector to sue or threaten to sue on a time-barred
  debt (12 CFR 1006.26(b)), which the gate applies to every deployer; for a borrower in a state no
  overlay covers the gate DEFERS a suit or a threat of one a week at a time
  (`unknown_period_reason`), since whether the claim is time-barred cannot be told.

The default is counted from the day after the last on-time day of the oldest instalment still
unpaid (any remainder, within the product's tolerance or not: the earliest day, the stricter
reading), or from the original creditor's date of default when the loan was placed or sold with one
(`Loan.original_default_on`), whichever is earlier. A payment made later does not restart the
period here: some laws revive a claim on a payment or an acknowledgement, but taking the earliest
date never lets a time-barred claim through. Once the period has passed, the planner and the
dispatcher's gate SUPPRESS a legal step and every message template that threatens suit
(`arrears.domain.messages.THREATENS_SUIT`), naming the rule `limitation_period` in the receipt.

Pure: dates in, dates out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from arrears.domain.loans import Loan
from arrears.domain.messages import THREATENS_SUIT
from arrears.domain.strategy import Channel

__all__ = [
    "LIMITATION_KNOWN_RULE",
    "LIMITATION_RULE",
    "UNKNOWN_PERIOD",
    "UNKNOWN_PERIOD_RECHECK",
    "LimitationRule",
    "barred_reason",
    "default_date",
    "limitation_ends",
    "threatens_suit",
    "time_barred",
    "unknown_period_reason",
]

LIMITATION_RULE = "limitation_period"
"""The rule name receipts use for the limitation check (suppressed legal steps and threats of suit)."""


@dataclass(frozen=True, slots=True)
class LimitationRule:
    """A limitation period of `years` from the default, with its source (`citation`)."""

    years: int
    citation: str

    def __post_init__(self) -> None:
        if self.years < 1:
            raise ValueError("a limitation period is at least one year")


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February: the period ends on 28 February (the earlier day)
        return day.replace(year=day.year + years, day=28)


def default_date(loan: Loan) -> date | None:
    """The day the lender knew or should have known of the default (None: nothing is in default).

    The day after the oldest unsettled instalment's last on-time day, or the original creditor's
    date of default if the loan carries an earlier one.
    """
    oldest = loan.oldest_unsettled
    days = [] if oldest is None else [oldest.effective_due + timedelta(days=1)]
    if loan.original_default_on is not None:
        days.append(loan.original_default_on)
    return min(days) if days else None


def limitation_ends(loan: Loan, rule: LimitationRule) -> date | None:
    """The first day the claim is time-barred: the default date plus `rule.years` (None: no default)."""
    start = default_date(loan)
    return None if start is None else _add_years(start, rule.years)


def time_barred(loan: Loan, rule: LimitationRule | None, on: date) -> bool:
    """Whether on business date `on` the loan's claim is past its limitation period (never without a rule)."""
    if rule is None:
        return False
    ends = limitation_ends(loan, rule)
    return ends is not None and on >= ends


def threatens_suit(channel: Channel, template_id: str) -> bool:
    """Whether a step on `channel` with `template_id` is a suit (a legal referral) or threatens one."""
    return channel is Channel.LEGAL or template_id in THREATENS_SUIT


UNKNOWN_PERIOD_RECHECK = timedelta(days=7)
"""How long a suit, or a threat of one, waits before it is judged again when no layer states the
borrower's limitation period (`unknown_period_reason`)."""


LIMITATION_KNOWN_RULE = "limitation_period_known"
"""The rule name receipts use when a suit or its threat waits because no layer states the borrower's
limitation period (a lender policy, cited on the base pack; not the limitation period itself)."""

UNKNOWN_PERIOD = "no limitation period is known"
"""How `unknown_period_reason` begins (what a report of the archive matches)."""


def unknown_period_reason(address_state: str) -> str:
    """The receipt's reason for a suit, or a threat of one, held because no layer of the pack states
    a limitation period for a borrower living in `address_state` (a US state without an overlay):
    whether the claim is time-barred cannot be told, and suing or threatening suit on a time-barred
    debt is forbidden (12 CFR 1006.26(b)); it waits until the state's overlay states the period."""
    return (
        f"{UNKNOWN_PERIOD} for a borrower in {address_state or 'an unknown state'}: "
        "no suit and no threat of suit until the state's overlay states it"
    )


def barred_reason(loan: Loan, rule: LimitationRule) -> str:
    """The receipt's reason for a step suppressed by the limitation period."""
    ends = limitation_ends(loan, rule)
    return (
        f"limitation period ended on {ends.isoformat() if ends else '?'} "
        f"({rule.years} years from the default of {default_date(loan)}): no suit, no threat of suit"
    )
