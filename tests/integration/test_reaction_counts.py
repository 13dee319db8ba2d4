"""What the reacting borrowers hand the report (`ReactingBorrowers.per_loan`): a borrower's act is
counted once, however many loans it is about."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from localcloud.behaviour_model import Intent
from localcloud.book import generate_book
from localcloud.reactions import ReactingBorrowers

START = date(2026, 3, 1)


def test_a_complaint_or_an_opt_out_counts_once_for_a_borrower_of_several_loans() -> None:
    port: Any = None  # never reached: the intents are only noted here
    cloud: Any = None
    borrowers = ReactingBorrowers(generate_book(400, 7, START), 7, START, port, "topic", cloud)
    bid, entries = next((b, es) for b, es in borrowers.loans_of.items() if len(es) > 1)
    at = datetime(2026, 3, 5, 10, tzinfo=UTC)
    borrowers._note(bid, Intent("complaint", at))
    borrowers._note(bid, Intent("opt_out", at))
    counts = borrowers.per_loan(date(2026, 4, 1), intents=True)
    mine = {e.loan.loan_id: counts.get(e.loan.loan_id, {}) for e in entries}
    assert sum(row.get("complaints", 0) for row in mine.values()) == 1
    assert sum(row.get("opt_outs", 0) for row in mine.values()) == 1
    # Without `intents` they come from the archive (what reached Arrears), not from the model.
    assert all(not row.get("complaints") for row in borrowers.per_loan(date(2026, 4, 1)).values())
