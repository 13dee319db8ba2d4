"""The template's schedules as the local cloud fires them: when, in which time zone, with what event.

Two SAM forms are read: ``Schedule`` (an EventBridge rule, UTC; the function gets a "Scheduled Event")
and ``ScheduleV2`` (EventBridge Scheduler, with ``ScheduleExpressionTimezone``; the function gets the
schedule's ``Input`` with its context attributes such as ``<aws.scheduler.scheduled-time>`` filled in).
Expressions: ``rate(N minute|minutes|hour|hours|day|days)`` and ``cron(minutes hours day-of-month month
day-of-week year)`` whose minute, hour and day-of-month fields are ``*``, ``N``, ``N-M``, ``N/S``, ``*/S``,
``N-M/S`` or comma lists of those, whose day-of-week field is ``?``/``*`` or such a list of days (1-7,
1 = Sunday, or SUN-SAT), and whose month and year are unrestricted (a weekly or a monthly schedule).
Local times that do not exist on a daylight-saving day are skipped; repeated ones fire once (the first).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

_CRON = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_ANY = {"*", "?"}
_DAY_NAMES = {
    name: str(number) for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)
}


class ScheduleError(ValueError):
    """A schedule the local cloud cannot fire (say which, rather than fire it wrongly)."""


def cron_field(text: str, low: int, high: int) -> tuple[int, ...]:
    """The values a cron minute/hour field selects, e.g. ``0/15`` -> (0, 15, 30, 45)."""
    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        if not all(piece.isdigit() for piece in (*span.split("-"), step_text or "1") if piece != "*"):
            raise ScheduleError(f"cron field {text!r}: {part!r} is not a number, range or step")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            first_text, last_text = span.split("-", 1)
            first, last = int(first_text), int(last_text)
        else:
            first = int(span)
            last = high if step_text else first
        if not low <= first <= last <= high or step < 1:
            raise ScheduleError(f"cron field {text!r}: {part!r} is outside {low}-{high}")
        values.update(range(first, last + 1, step))
    return tuple(sorted(values))


@dataclass(frozen=True)
class Schedule:
    """One schedule of one function."""

    function: str
    expression: str
    time_zone: str = "UTC"
    input: str | None = None  # ScheduleV2's Input template; None = an EventBridge "Scheduled Event"

    @classmethod
    def from_properties(
        cls, function: str, properties: Mapping[str, Any], resolve: Callable[[Any], Any] = lambda node: node
    ) -> Schedule:
        """The schedule of a SAM event's `properties`; `resolve` resolves an expression given as an
        intrinsic (`ScheduleExpression: !Ref ReportingExportSchedule`: LocalStack.resolve)."""
        expression = str(resolve(properties.get("ScheduleExpression") or properties.get("Schedule") or ""))
        schedule = cls(
            function,
            expression,
            str(properties.get("ScheduleExpressionTimezone") or "UTC"),
            str(properties["Input"]) if "Input" in properties else None,
        )
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        list(schedule.firings(moment, moment))  # parses the expression: refuse what cannot be fired
        return schedule

    def firings(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every firing in [start, end), as aware UTC, in order (a rate counts from `start`)."""
        if rate := _RATE.match(self.expression):
            every = _UNITS[rate[2].rstrip("s")] * int(rate[1])
            moment = start
            while moment < end:
                yield moment
                moment += every
            return
        cron = _CRON.match(self.expression)
        if cron is None:
            raise ScheduleError(f"{self.function}: {self.expression!r} is not a form the local cloud fires")
        if cron[4] != "*" or cron[6] != "*":
            raise ScheduleError(f"{self.function}: {self.expression!r}: month and year must be unrestricted")
        minutes, hours = cron_field(cron[1], 0, 59), cron_field(cron[2], 0, 23)
        days_of_month = None if cron[3] in _ANY else set(cron_field(cron[3], 1, 31))
        week_text = cron[5]
        for name, number in _DAY_NAMES.items():
            week_text = week_text.replace(name, number)
        days_of_week = None if week_text in _ANY else set(cron_field(week_text, 1, 7))
        zone = ZoneInfo(self.time_zone)
        day = start.astimezone(zone).date() - timedelta(days=1)
        while day <= end.astimezone(zone).date():
            aws_weekday = (day.weekday() + 1) % 7 + 1  # 1 = Sunday, as EventBridge counts
            if (days_of_month is not None and day.day not in days_of_month) or (
                days_of_week is not None and aws_weekday not in days_of_week
            ):
                day += timedelta(days=1)
                continue
            for hour in hours:
                for minute in minutes:
                    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                    moment = local.astimezone(UTC)
                    if moment.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
                        continue  # skipped by a daylight-saving change
                    if start <= moment < end:
                        yield moment
            day += timedelta(days=1)

    def event(self, at: datetime, *, region: str, account: str) -> dict[str, Any]:
        """What the function receives when the schedule fires at `at`."""
        arn_time = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.input is None:
            return {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": account,
                "time": arn_time,
                "region": region,
                "resources": [f"arn:aws:events:{region}:{account}:rule/{self.function}-schedule"],
                "detail": {},
            }
        attributes = {
            "<aws.scheduler.scheduled-time>": arn_time,
            "<aws.scheduler.schedule-arn>": f"arn:aws:scheduler:{region}:{account}:schedule/default/"
            + self.function,
            "<aws.scheduler.execution-id>": uuid.uuid4().hex[:16],
            "<aws.scheduler.attempt-number>": "1",
        }
        text = self.input
        for keyword, value in attributes.items():
            text = text.replace(keyword, value)
        event: dict[str, Any] = json.loads(text)
        return event


def firings_of(
    schedules: list[Schedule], begin: datetime, end: datetime
) -> Iterator[tuple[datetime, Schedule]]:
    """Every firing of `schedules` in [`begin`, `end`), schedule by schedule.

    The stack is deployed at `begin`: the first local day has had no 00:30 sweep, so the sweep's
    deadline checks (`SweepDeadlineFunction`) would only report that; they start once the first sweep
    (`SweepFunction`, exactly one) has run."""
    (sweep,) = [s for s in schedules if s.function == "SweepFunction"]
    first_sweep = next(sweep.firings(begin, end), end)
    for schedule in schedules:
        since = first_sweep if schedule.function == "SweepDeadlineFunction" else begin
        for moment in schedule.firings(since, end):
            yield moment, schedule
