"""Working days per jurisdiction: weekends, public holidays and the weekend days worked instead.

A due date that falls on a day the payment rails are closed is met by a payment on the next
working day (CN: Civil Code art. 203, "if the last day of a period is a statutory holiday, the day
after the holiday ends is the last day"; US: 12 CFR 1026.10(h) for card payments, and the common
contract term for instalment loans). `pay_by` is that day; between the due date and `pay_by` a loan
is not late: no DPD, no penalty, no overdue message.

Calendars are data (`arrears/config/bundled/calendars.yaml`), each with a version and the source of
its dates. A year the calendar does not cover is judged by weekends alone: publish the next year's
holidays (CN: the State Council's notice, usually in November) as a new version before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from arrears.domain.loans import Loan

SATURDAY, SUNDAY = 5, 6


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Which days are working days in one jurisdiction.

    `holidays` are days off that would otherwise be working days (weekdays, or weekend days that
    are off anyway: listing them does no harm); `working_weekend_days` are Saturdays or Sundays
    worked in exchange for a holiday bridge (CN 调休上班). `years` are the years whose public holidays
    the data covers; outside them only weekends are days off.
    """

    calendar_id: str
    version: str
    source: str
    years: frozenset[int] = frozenset()
    holidays: frozenset[date] = frozenset()
    working_weekend_days: frozenset[date] = frozenset()
    weekend: frozenset[int] = field(default=frozenset({SATURDAY, SUNDAY}))

    def __post_init__(self) -> None:
        both = self.holidays & self.working_weekend_days
        if both:
            raise ValueError(
                f"calendar {self.calendar_id}@{self.version}: days both off and worked: {sorted(both)}"
            )
        for day in self.working_weekend_days:
            if day.weekday() not in self.weekend:
                raise ValueError(
                    f"calendar {self.calendar_id}@{self.version}: {day} is listed as a working weekend day "
                    "but is not a weekend day"
                )
        outside = sorted(d for d in self.holidays | self.working_weekend_days if d.year not in self.years)
        if outside:
            raise ValueError(
                f"calendar {self.calendar_id}@{self.version}: days outside the covered years: {outside}"
            )

    @property
    def ref(self) -> str:
        return f"{self.calendar_id}@{self.version}"

    def covers(self, day: date) -> bool:
        return day.year in self.years

    def is_working_day(self, day: date) -> bool:
        if day in self.working_weekend_days:
            return True
        if day in self.holidays:
            return False
        return day.weekday() not in self.weekend

    def on_or_after(self, day: date) -> date:
        """The first working day on or after `day` (the last day a payment due on `day` is on time)."""
        current = day
        while not self.is_working_day(current):
            current += timedelta(days=1)
        return current


EVERY_DAY = WorkCalendar(
    "EVERY-DAY", "1", "every day is a working day (no calendar configured)", weekend=frozenset()
)
"""A calendar with no days off: `pay_by` is the due date itself."""


def with_pay_by(loan: Loan, calendar: WorkCalendar) -> Loan:
    """The loan with each instalment's last on-time day from `calendar`.

    Only instalments due after every day the loan has been judged on change: a calendar published
    later (next year's holidays) never moves a due date the loan was already judged against.
    """
    known = [d for d in (loan.money_through, loan.evaluated_on) if d is not None]
    judged = max(known) if known else None
    instalments = []
    for instalment in loan.instalments:
        if judged is not None and instalment.due_on <= judged:
            instalments.append(instalment)
            continue
        pay_by = calendar.on_or_after(instalment.due_on)
        instalments.append(replace(instalment, pay_by=None if pay_by == instalment.due_on else pay_by))
    updated = tuple(instalments)
    return loan if updated == loan.instalments else loan.with_changes(instalments=updated)
