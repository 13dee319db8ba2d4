"""The demo's compliance figures for summary.json: what the rule packs' preconditions held back.

`bureau_summary` counts, from the Contacts table, the bureau reports that went out and those the
pack's precondition held because the borrower had not been told (`arrears.domain.bureau`), with the
loans of borrowers opted out of every contact channel among them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from arrears.domain.bureau import BUREAU_PRECONDITION_RULE
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
