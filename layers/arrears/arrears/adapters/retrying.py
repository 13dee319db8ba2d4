"""Retry one idempotent AWS call on a transient error, inside a long batch job.

A scheduled batch job (the monthly bureau file) makes a few AWS calls per account over a whole book;
botocore's own retries absorb most throttles and 5xx answers, but what passes them (a throttle that
outlasted botocore's retries, a timeout, a connection closed) fails the invocation, and every retry of
the invocation starts over from the first account: over a large book such a job would not finish
under a steady rate of transient errors. `retry_transient` retries the one call instead (a port's
read of one item, one conditional write), a bounded number of times, with a short backoff. Only for
work that is idempotent (reads, writes conditional on their own absence, a PUT of the same bytes),
and only on a transient error (`arrears.adapters.errors.is_transient`): anything else, or the last
attempt's error, is raised.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from arrears.adapters.errors import is_transient

ATTEMPTS = 6
"""Attempts per call: at a rate of 10 % of transient errors per AWS call, a port call of two AWS calls
fails six times in a row with a chance of 5 in 100,000 (against 19 % for a single attempt), so a file
of 300 such calls completes 98 times in 100 (against never)."""
BACKOFF_S = 0.05
MAX_BACKOFF_S = 0.4
"""The first pause, doubled at each retry up to `MAX_BACKOFF_S` (1.35 s at most per call)."""


def retry_transient[T](
    work: Callable[[], T],
    *,
    attempts: int = ATTEMPTS,
    backoff_s: float = BACKOFF_S,
    pause: Callable[[float], None] | None = None,
) -> T:
    """`work()`, run again after a transient error up to `attempts` times in all (pausing `backoff_s`,
    doubled each time up to `MAX_BACKOFF_S`; `pause` None: this module's `time.sleep`, looked up at
    each pause, which the local cloud's fault injector counts instead of sleeping, as it does
    botocore's own backoff); its value, or the error of its last attempt (any other error at once)."""
    for attempt in range(attempts):
        try:
            return work()
        except Exception as error:
            if attempt == attempts - 1 or not is_transient(error):
                raise
        (pause or time.sleep)(min(backoff_s * 2**attempt, MAX_BACKOFF_S))
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover
