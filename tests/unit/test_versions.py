"""The one rule of which dated version is in force (arrears.domain.versions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from arrears.domain.versions import in_force_on, version_on


@dataclass(frozen=True)
class V:
    name: str
    effective_from: date
    effective_to: date | None = None


HISTORY = (V("1", date(2025, 1, 1), date(2026, 1, 1)), V("2", date(2026, 1, 1)))


def test_from_is_inclusive_and_to_exclusive() -> None:
    assert in_force_on(HISTORY[0], date(2025, 1, 1))
    assert in_force_on(HISTORY[0], date(2025, 12, 31))
    assert not in_force_on(HISTORY[0], date(2026, 1, 1))
    assert in_force_on(HISTORY[1], date(2099, 1, 1))


def test_the_version_on_a_day_the_first_before_any_and_the_newest_without_a_day() -> None:
    assert [
        version_on(HISTORY, day).name for day in (date(2024, 6, 1), date(2025, 12, 31), date(2026, 1, 1))
    ] == [
        "1",
        "1",
        "2",
    ]
    assert version_on(HISTORY, None).name == "2"
