"""A reported field visit judged on the pack in force at its instant: every rule checked, breaches named."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from arrears.config.rulepacks import rule_pack_for
from arrears.domain.field_visits import FieldVisit, VisitOutcome, check_field_visit

CN, US = rule_pack_for("CN"), rule_pack_for("US-REGF")
DAY = ((time(8), time(22)),)


def _visit(collectors: tuple[str, ...], recording: str | None, hour_utc: int = 2) -> FieldVisit:
    return FieldVisit(
        "V", "T", datetime(2026, 3, 10, hour_utc, tzinfo=UTC), collectors, recording, VisitOutcome.NOT_HOME
    )


def test_a_cn_visit_by_two_collectors_recorded_in_hours_is_lawful() -> None:
    breaches, rules = check_field_visit(_visit(("C1", "C2"), "REC-1"), CN, "Asia/Shanghai", DAY)

    assert breaches == ()
    assert rules == (
        ("contact_hours", "PASS"),
        ("field_visit_collectors", "PASS"),
        ("field_visit_recording", "PASS"),
    )


@pytest.mark.parametrize(
    ("collectors", "recording", "failed"),
    [
        (("C1",), "REC-1", ["field_visit_collectors"]),
        (("C1", "C1"), "REC-1", ["field_visit_collectors"]),  # the same collector twice is one collector
        (("C1", "C2"), None, ["field_visit_recording"]),
        ((), None, ["field_visit_collectors", "field_visit_recording"]),
    ],
)
def test_cn_requires_two_collectors_and_a_recording(
    collectors: tuple[str, ...], recording: str | None, failed: list[str]
) -> None:
    breaches, rules = check_field_visit(_visit(collectors, recording), CN, "Asia/Shanghai", DAY)

    assert [rule for rule, verdict in rules if verdict == "FAIL"] == failed
    assert len(breaches) == len(failed)


def test_a_visit_after_hours_in_the_borrowers_zone_is_a_breach() -> None:
    # 14:30 UTC is 22:30 in Shanghai, after the 22:00 end of contact hours.
    breaches, _ = check_field_visit(_visit(("C1", "C2"), "REC-1", hour_utc=14), CN, "Asia/Shanghai", DAY)

    assert breaches == ("visit outside the contact window 08:00-22:00",)


def test_a_pack_without_collector_rules_asks_one_collector_and_no_recording() -> None:
    _, rules = check_field_visit(
        _visit(("C1",), None, hour_utc=15), US, "America/New_York", ((time(8), time(21)),)
    )

    assert rules == (("contact_hours", "PASS"), ("field_visit_collectors", "PASS"))
