"""The demo's compliance figures for summary.json: what the rule packs' preconditions held back,
and the Regulation F validation notices sent.

`bureau_summary` counts, from the Contacts table, the bureau reports that went out and those the
pack's precondition held because the borrower had not been told (`arrears.domain.bureau`), with the
loans of borrowers opted out of every contact channel among them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from arrears.domain.bureau import BUREAU_PRECONDITION_RULE
from arrears.domain.compliance import NOTICE_FIRST_REASON
from arrears.domain.validation_notice import NOTICE_WAITS
from localcloud.book import OPTED_OUT_EVERYWHERE, BookEntry

HELD = f"{BUREAU_PRECONDITION_RULE}:FAIL"


def bureau_summary(contacts: Iterable[Mapping[str, Any]], book: Sequence[BookEntry]) -> dict[str, Any]:
    """`reported`: bureau reports sent; `held_records`/`held_loans`: deferrals by the precondition
    and their loans; `held_loans_never_reported`: held loans with no report by the end of the run;
    `held_opted_out_everywhere`: held loans whose borrower opted out of every contact channel.
    """
    bureau = [c for c in contacts if c.get("channel") == "BUREAU"]
    reported = {str(c["loan_id"]) for c in bureau if c.get("status") == "SENT"}
    held = [c for c in bureau if c.get("status") == "DEFERRED" and HELD in (c.get("rules_checked") or [])]
    held_loans = {str(c["loan_id"]) for c in held}
    opted_out = {
        entry.loan.loan_id for entry in book if entry.borrower.opted_out_channels >= OPTED_OUT_EVERYWHERE
    }
    return {
        "reported": sum(1 for c in bureau if c.get("status") == "SENT"),
        "held_records": len(held),
        "held_loans": len(held_loans),
        "held_loans_never_reported": len(held_loans - reported),
        "held_opted_out_everywhere": len(held_loans & opted_out),
        "reported_after_a_hold": len(held_loans & reported),
    }


NEVER = "~"  # sorts after every ISO instant: a loan without a notice was "noticed" after everything


def validation_notice_summary(
    contacts: Iterable[Mapping[str, Any]], loans: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """The Reg F validation notices (`arrears.usecases.validation_notice`): `sent` by delivery (e-mail
    or post), `loans_with_deadline` (loans whose item holds the dispute deadline), `per_loan_max`
    (never above 1), `legal_held` (legal referrals deferred inside a validation period), per
    jurisdiction the loans contacted (any communication SENT) against those with a notice: every US
    loan contacted has one (`us_contacted_without_notice`, 0), no CN loan does; and the notices
    counted as a communication of their own under a frequency limit (`counted_under_limits`, by
    rule: Washington's weekly limit) with the communications that waited for their notice's slot
    (`communications_waiting_for_their_notice`, DEFERRED records); the legal referrals that waited
    for a notice posted ahead of them, their debt never communicated about
    (`legal_waiting_for_a_first_notice`), and the US referrals sent with no notice before them
    (`us_referred_without_notice`: 0 but under a request to cease contact)."""
    contacts = list(contacts)
    notices = [c for c in contacts if c.get("template_id") == "validation_notice"]
    per_loan: dict[str, int] = {}
    for notice in notices:
        per_loan[str(notice["loan_id"])] = per_loan.get(str(notice["loan_id"]), 0) + 1
    noticed_at: dict[str, str] = {}  # loan -> its notice's instant (ISO UTC strings compare in order)
    for notice in notices:
        loan_id = str(notice["loan_id"])
        noticed_at[loan_id] = min(noticed_at.get(loan_id, NEVER), str(notice["occurred_at"]))
    contacted: dict[str, set[str]] = {}
    for c in contacts:
        if c.get("status") == "SENT" and c.get("channel") in ("SMS", "EMAIL", "CALL_TASK", "FIELD_VISIT"):
            contacted.setdefault(str(c.get("jurisdiction")), set()).add(str(c["loan_id"]))
    us = contacted.get("US-REGF", set())
    deadlines = sorted(
        str(loan["validation_period_ends"]) for loan in loans if loan.get("validation_period_ends")
    )
    return {
        "sent": len(notices),
        "by_delivery": dict(sorted(Counter(str(n.get("result")) for n in notices).items())),
        "loans_with_deadline": len(deadlines),
        "earliest_deadline": deadlines[0] if deadlines else None,
        "latest_deadline": deadlines[-1] if deadlines else None,
        "per_loan_max": max(per_loan.values(), default=0),
        "us_contacted": len(us),
        "us_contacted_without_notice": len(us - set(per_loan)),
        "cn_notices": sum(1 for n in notices if n.get("jurisdiction") == "CN"),
        "legal_held": sum(
            1
            for c in contacts
            if c.get("channel") == "LEGAL" and "validation_period:FAIL" in (c.get("rules_checked") or [])
        ),
        "counted_under_limits": dict(
            sorted(
                Counter(
                    str(rule).split(":", 1)[0]
                    for notice in notices
                    for rule in notice.get("rules_checked") or []
                    if not str(rule).startswith("validation_notice:")
                ).items()
            )
        ),
        # A referral on a debt never communicated about waits for the notice posted ahead of it;
        # no US referral is ever sent before its debt's notice (the cease-contact case aside).
        "legal_waiting_for_a_first_notice": sum(
            1 for c in contacts if c.get("channel") == "LEGAL" and c.get("reason") == NOTICE_FIRST_REASON
        ),
        "us_referred_without_notice": sum(
            1
            for c in contacts
            if c.get("channel") == "LEGAL"
            and c.get("status") == "SENT"
            and c.get("jurisdiction") == "US-REGF"
            and str(c["occurred_at"]) < noticed_at.get(str(c["loan_id"]), NEVER)
        ),
        "communications_waiting_for_their_notice": sum(
            1
            for c in contacts
            if c.get("status") == "DEFERRED" and str(c.get("reason") or "").startswith(NOTICE_WAITS)
        ),
    }
