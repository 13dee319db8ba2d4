"""The borrower's contact ledger (DynamoDB) moves a reserved slot to the instant a retry makes the contact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from arrears.adapters.container import Container
from arrears.config.rulepacks import rule_pack_in_force

WA = rule_pack_in_force("US-REGF", datetime(2026, 4, 1, tzinfo=UTC), address_state="WA")


def test_a_retried_text_holds_its_slot_from_the_retry_and_a_week_later_the_fourth_waits(
    container: Container,
) -> None:
    ledger = container.call_ledger

    def reserve(action_id: str, at: datetime) -> bool:
        return ledger.reserve_call(
            "B-WA",
            action_id,
            at,
            WA.call_limits,
            "America/Los_Angeles",
            contact_limits=WA.contact_limits,
            channel="SMS",
            loan_id="L-WA",
        ).allowed

    first_try = datetime(2026, 4, 4, 16, 30, tzinfo=UTC)
    assert reserve("S1", first_try)
    retry = first_try + timedelta(minutes=15)  # throttled before the call; sent on the retry
    assert reserve("S1", retry)  # the same slot, held: allowed, and now stamped at the retry
    assert reserve("S2", datetime(2026, 4, 7, 16, 36, tzinfo=UTC))
    week_later = first_try + timedelta(days=7)
    assert reserve("S3", week_later)  # the third of the week
    assert not reserve("S4", week_later)  # the fourth: S1 was sent at 16:45, seven days ago is 16:30
    assert reserve("S4", retry + timedelta(days=7, seconds=1))  # once S1's week has passed
