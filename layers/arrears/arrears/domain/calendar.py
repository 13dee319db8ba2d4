"""Date and time helpers shared by the domain (pure, no clock reads)."""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def parse_utc(value: str) -> datetime:
    """Parse an ISO 8601 timestamp (with `Z` or an offset) into an aware UTC datetime."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone; expected UTC ISO 8601 with 'Z'")
    return parsed.astimezone(UTC)


def format_utc(moment: datetime) -> str:
    """Render an aware datetime as UTC ISO 8601 with a `Z` suffix, second precision."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: business times are always aware")
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def local_date(moment: datetime, tz_name: str) -> date:
    """The calendar date at `moment` in the IANA time zone `tz_name`."""
    return moment.astimezone(ZoneInfo(tz_name)).date()


def add_months(start: date, months: int) -> date:
    """Same day-of-month `months` later, clamped to the month's last day (Jan 31 + 1 = Feb 28/29)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, monthrange(year, month)[1]))
