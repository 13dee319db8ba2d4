"""The local cloud fires the template's schedules when AWS would: cron fields, time zones, DST, Input."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from arrears.adapters.sweep_runs import RunProgress
from arrears.usecases.sweep import sweep_deadline_check
from localcloud.schedules import Schedule, ScheduleError, cron_field


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "low", "high", "expected"),
    [
        ("0/15", 0, 59, (0, 15, 30, 45)),
        ("*/20", 0, 59, (0, 20, 40)),
        ("6-23", 0, 23, tuple(range(6, 24))),
        ("8-20/4", 0, 23, (8, 12, 16, 20)),
        ("5,1,30", 0, 59, (1, 5, 30)),
        ("30", 0, 59, (30,)),
    ],
)
def test_cron_fields(text: str, low: int, high: int, expected: tuple[int, ...]) -> None:
    assert cron_field(text, low, high) == expected


@pytest.mark.parametrize(
    "expression",
    ["cron(0 24 * * ? *)", "cron(0 6 1 3 ? *)", "cron(0 6 ? * FUNDAY *)", "cron(0 6 32 * ? *)", "at(x)"],
)
def test_forms_it_cannot_fire_are_refused(expression: str) -> None:
    with pytest.raises(ScheduleError):
        Schedule.from_properties("F", {"ScheduleExpression": expression})


def test_a_weekly_schedule_fires_on_its_day_and_a_monthly_one_on_its_date() -> None:
    weekly = Schedule("F", "cron(0 4 ? * MON *)")  # 1 March 2026 is a Sunday
    assert list(weekly.firings(utc(2026, 3, 1), utc(2026, 3, 15))) == [utc(2026, 3, 2, 4), utc(2026, 3, 9, 4)]
    assert list(Schedule("F", "cron(0 4 ? * 2 *)").firings(utc(2026, 3, 1), utc(2026, 3, 8))) == [
        utc(2026, 3, 2, 4)
    ]
    monthly = Schedule("F", "cron(30 2 1 * ? *)", "Asia/Shanghai")  # 02:30 on the 1st in Shanghai
    assert list(monthly.firings(utc(2026, 2, 15), utc(2026, 4, 15))) == [
        utc(2026, 2, 28, 18, 30),
        utc(2026, 3, 31, 18, 30),
    ]


def test_a_local_time_follows_daylight_saving_time() -> None:
    # 00:30 in New York: 05:30 UTC in winter, 04:30 UTC from 8 March 2026 (DST starts that night)
    schedule = Schedule("F", "cron(30 0 * * ? *)", "America/New_York")
    firings = list(schedule.firings(utc(2026, 3, 6), utc(2026, 3, 10)))
    assert firings == [
        utc(2026, 3, 6, 5, 30),
        utc(2026, 3, 7, 5, 30),
        utc(2026, 3, 8, 5, 30),
        utc(2026, 3, 9, 4, 30),
    ]


def test_a_local_time_that_does_not_exist_is_skipped_and_a_repeated_one_fires_once() -> None:
    spring = Schedule("F", "cron(30 2 * * ? *)", "America/New_York")  # 02:30 does not exist on 8 March
    assert utc(2026, 3, 8, 7, 30) not in list(spring.firings(utc(2026, 3, 8), utc(2026, 3, 9)))
    autumn = Schedule("F", "cron(30 1 * * ? *)", "America/New_York")  # 01:30 happens twice on 1 November
    assert list(autumn.firings(utc(2026, 11, 1), utc(2026, 11, 2))) == [utc(2026, 11, 1, 5, 30)]


def test_a_rule_schedule_is_utc_and_delivers_a_scheduled_event() -> None:
    schedule = Schedule.from_properties("F", {"Schedule": "rate(15 minutes)"})
    assert list(schedule.firings(utc(2026, 3, 1), utc(2026, 3, 1, 1))) == [
        utc(2026, 3, 1, 0, 0),
        utc(2026, 3, 1, 0, 15),
        utc(2026, 3, 1, 0, 30),
        utc(2026, 3, 1, 0, 45),
    ]
    event = schedule.event(utc(2026, 3, 1, 0, 15), region="us-east-1", account="123456789012")
    assert (event["detail-type"], event["source"], event["time"]) == (
        "Scheduled Event",
        "aws.events",
        "2026-03-01T00:15:00Z",
    )


def test_a_scheduler_schedule_delivers_its_input_with_the_context_attributes_filled_in() -> None:
    schedule = Schedule.from_properties(
        "F",
        {
            "ScheduleExpression": "cron(0/15 6-23 * * ? *)",
            "ScheduleExpressionTimezone": "Asia/Shanghai",
            "Input": '{"time": "<aws.scheduler.scheduled-time>", '
            '"attempt": "<aws.scheduler.attempt-number>"}',
        },
    )
    assert schedule.event(utc(2026, 3, 2, 22), region="us-east-1", account="1") == {
        "time": "2026-03-02T22:00:00Z",
        "attempt": "1",
    }


class Runs:
    def __init__(self) -> None:
        self.asked: list[date] = []

    def progress(self, business_date: date) -> RunProgress:
        self.asked.append(business_date)
        return RunProgress(business_date)


@pytest.mark.parametrize(
    ("at", "zone", "business_date"),
    [
        (utc(2026, 3, 2, 22), "Asia/Shanghai", date(2026, 3, 3)),  # 06:00 on 3 March in Shanghai
        (utc(2026, 3, 3, 15, 45), "Asia/Shanghai", date(2026, 3, 3)),  # 23:45, the last check of the day
        (utc(2026, 3, 9, 10), "America/New_York", date(2026, 3, 9)),  # 06:00 EDT, the day after DST began
        (utc(2026, 3, 10, 3, 45), "America/New_York", date(2026, 3, 9)),  # 23:45 EDT: still 9 March there
    ],
)
def test_the_deadline_check_judges_the_run_of_the_local_date(
    at: datetime, zone: str, business_date: date
) -> None:
    runs = Runs()
    assert sweep_deadline_check(at, zone, runs) == RunProgress(business_date)
    assert runs.asked == [business_date]
