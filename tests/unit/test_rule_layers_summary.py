"""The demo summary's count of deferrals and suppressions by the rule-pack layer that decided."""

from __future__ import annotations

from localcloud.rule_layers import decisions_by_layer


def test_deferrals_and_suppressions_are_counted_by_deciding_layer_and_phone_zone() -> None:
    records = [
        {"status": "SENT", "zones_checked": ["America/Los_Angeles", "America/New_York"]},
        {
            "status": "DEFERRED",
            "decided_by": "US-REGF@2026.1",
            "zones_checked": ["America/Los_Angeles", "America/New_York"],
            "rules_checked": ["loan_open:PASS", "contact_hours:FAIL"],
            "reason": "outside contact hours 08:00-21:00 in America/Los_Angeles (05:30 local)",
        },
        {
            "status": "DEFERRED",
            "decided_by": "US-REGF@2026.1",
            "zones_checked": ["America/New_York", "America/Los_Angeles"],
            "rules_checked": ["contact_hours:FAIL"],
            "reason": "outside contact hours 08:00-21:00 in America/Los_Angeles (05:00 local)",
        },
        {
            "status": "DEFERRED",
            "decided_by": "US-MA@2026.1",
            "zones_checked": ["America/New_York"],
            "rules_checked": ["contact_hours:PASS", "ma_calls_texts_7_days:FAIL"],
        },
        {"status": "SUPPRESSED", "decided_by": "CN@2026.1", "rules_checked": ["channel_opt_out:FAIL"]},
        {"status": "SUPPRESSED", "rules_checked": []},
        {
            "status": "CANCELLED",
            "rules_checked": ["loan_open:PASS", "still_overdue:PASS", "due_date_ahead:FAIL"],
        },
        {"status": "CANCELLED", "rules_checked": ["loan_open:FAIL"]},
    ]

    summary = decisions_by_layer(records)

    assert summary["DEFERRED"] == {"US-MA@2026.1": 1, "US-REGF@2026.1": 2}
    assert summary["SUPPRESSED"] == {"(none)": 1, "CN@2026.1": 1}
    assert summary["by_rule"] == {
        "CN@2026.1 channel_opt_out": 1,
        "US-MA@2026.1 ma_calls_texts_7_days": 1,
        "US-REGF@2026.1 contact_hours": 2,
    }
    assert summary["cancelled_by_rule"] == {"due_date_ahead": 1, "loan_open": 1}
    assert summary["checked_in_several_zones"] == 3
    # Only the second deferral was stopped in the phone's zone (Los Angeles is the first one's home).
    assert summary["deferred_by_a_phone_zone"] == 1
