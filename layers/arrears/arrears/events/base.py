"""What the inbound models share: their configuration, UTC times, the id that names an input in the logs,
and naming what does not parse."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, ConfigDict, ValidationError

from arrears.domain.calendar import parse_utc

MAX_CLOCK_SKEW = timedelta(minutes=5)
"""How far a time an input carries may be ahead of the time it is judged against: a time in a bus
event's detail (a payment's `paid_at` or `reversed_at`, a hold's or a call's `occurred_at`, an
erasure's `requested_at`) against the event's own `time` (the clocks of the lending core, the
collector desk, the privacy desk and the dialer against EventBridge's), and a schedule's or a sweep
task's time against the function's clock. Beyond it the input is rejected, never applied: a payment
stamped a year ahead would assess the loan on that date (charging it off), a hold change from the
future would win over every real change of its kind until then, a call from the future would fill
the borrower's call ledger, a sweep of a date to come would assess every due loan on it."""

INBOUND = ConfigDict(frozen=True, hide_input_in_errors=True)
"""The configuration of every inbound model (merged into the Powertools models' own)."""


EARLIEST_TIME = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
LATEST_TIME = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)
"""The range of an inbound time: a day inside what Python's datetime holds, so that the time has a
date in every time zone (a schedule of 0001-01-01T00:00:00Z has none west of UTC, and the sweep's
business date of it overflowed instead of being refused)."""


def _utc(value: object) -> datetime:
    edge = "must be a time that has a date in every time zone (0001-01-02 to 9999-12-30)"
    try:
        if isinstance(value, datetime) and value.tzinfo is not None:
            moment = value.astimezone(UTC)
        elif not isinstance(value, str):
            raise ValueError("must be an ISO 8601 time with `Z` or an offset (a string)")
        else:
            try:
                moment = parse_utc(value)
            except ValueError:
                raise ValueError("must be an ISO 8601 time with `Z` or an offset") from None
    except OverflowError:  # an offset that takes the time out of datetime's range
        raise ValueError(edge) from None
    if not EARLIEST_TIME <= moment <= LATEST_TIME:
        raise ValueError(edge)
    return moment


UtcTime = Annotated[datetime, BeforeValidator(_utc)]
"""An ISO 8601 time with `Z` or an offset, as aware UTC (what `arrears.domain.calendar` parses)."""


_REFERENCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,127}$")
MALFORMED_ID = "<malformed id>"


def safe_reference(value: object) -> object:
    """`value` if it has the shape of an id Lambda, EventBridge or a caller assigns (1-128 letters,
    digits and `._:#/-`), else `MALFORMED_ID`: what may be logged in an id's place (never input)."""
    if value is not None and not (isinstance(value, str | int) and _REFERENCE_ID.match(str(value))):
        return MALFORMED_ID
    return value


class Inbound:
    """Mixed into every inbound model: how its malformed inputs are logged.

    `MALFORMED` is the log message of an input that does not parse; `REFERENCE` says which id of the
    raw input the log line carries (the log key, and the path to the id in the raw input): never its
    content, which may hold personal data.
    """

    MALFORMED: ClassVar[str]
    REFERENCE: ClassVar[tuple[str, tuple[str, ...]]] = ("event_id", ("id",))

    @classmethod
    def reference(cls, raw: Mapping[str, Any]) -> dict[str, object]:
        key, path = cls.REFERENCE
        value: object = raw
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        # An id Lambda or EventBridge assigned is logged; anything else in its place is input.
        return {key: safe_reference(value)}


def problems(error: ValidationError, whole: str = "event") -> str:
    """`field: problem; ...` for each problem of `error`: the fields and the problems, never the values
    (`whole` names a problem of the input as a whole)."""
    return "; ".join(
        f"{'.'.join(field_name(part) for part in problem['loc']) or whole}: {problem['msg']}"
        for problem in error.errors(include_input=False, include_url=False)
    )


_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


def field_name(part: object) -> str:
    """A field's name as it may be logged: an unexpected key that does not look like a field name is
    input (it may even be personal data), named only as such."""
    text = str(part)
    return text if isinstance(part, int) or _FIELD_NAME.match(text) else "<unexpected key>"
