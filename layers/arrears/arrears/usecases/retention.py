"""The retention review: keep each archived object as long as its jurisdiction requires, then let it go.

Run daily (`RetentionFunction`). Per jurisdiction, the claims of the archive chain whose objects are
locked until `today + horizon` or earlier (the sparse RetentionIndex of the chain table: a query, not a
scan of the bucket) are reviewed (`arrears.domain.retention`):

- the date the object must be kept until is computed from the pack (`retention_from`: the records'
  day, or the last collection activity of every debt in it, read from the Loans table);
- if it is later than the object's retain-until date, the data object's and the manifest's retention
  are extended to it (PutObjectRetention; S3 never lets a COMPLIANCE date be shortened), and the claim
  keeps the new date (and the date set at the write);
- if the retain-until date has passed and nothing extends it, both objects are tagged
  `retention=expired`, which the bucket's lifecycle rule deletes, and the claim leaves the index and
  drops its copy of the data.

The horizon (`RETENTION_HORIZON_DAYS`, 35 by default) is the review's margin: an object is extended
well before its lock lapses, so a review that fails for days still leaves no record of an active debt
unprotected. Every step is repeatable: a second run the same day changes nothing.

A claim whose review meets a transient AWS error (`arrears.adapters.errors.is_transient`: a throttle,
a 5xx, a connection lost or a timeout) is left for the next day's review and counted in `deferred`,
and the review goes on with the next claim: a review reads and writes a few items per archived
object, so over a large archive an all-or-nothing run would almost never finish under a steady rate
of transient errors (every retry starting again from the first claim), and would be retried in vain
from the failure queue. The horizon is the margin that makes a deferral safe. A run in which every
claim it reviewed failed is an outage, not a passing error: it raises (the schedule's retries, then
the failure queue and its alarm). Any other error raises at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from arrears.adapters.archive_store import ArchiveStore
from arrears.adapters.dynamodb import ArchiveChainRepository, LoanRepository, RetentionClaim
from arrears.adapters.errors import is_transient
from arrears.domain.archive import Manifest, manifest_key, parse_key
from arrears.domain.business_time import business_date
from arrears.domain.retention import RetentionFrom, last_activity, required_until
from arrears.domain.rulepacks import RulePack


@dataclass(frozen=True, slots=True)
class Extension:
    object_key: str
    previous: date
    until: date


@dataclass
class RetentionReview:
    """What one review did: objects reviewed, their retention extended (with the dates), marked
    expired, and `deferred` (object keys whose review met a transient error: reviewed again the next
    day)."""

    reviewed: int = 0
    extended: list[Extension] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)


class RetentionReviewFailed(RuntimeError):
    """Every claim a review reached failed with a transient error: an outage, for the failure queue."""


def review_retention(
    at: datetime,
    packs: dict[str, RulePack],
    *,
    chain: ArchiveChainRepository,
    loans: LoanRepository,
    store: ArchiveStore,
    horizon_days: int = 35,
) -> RetentionReview:
    """Review every object of every jurisdiction in `packs` (jurisdiction -> its pack in force) whose
    lock ends by `today + horizon_days`, `today` being the jurisdiction's business date at `at`."""
    review = RetentionReview()
    for jurisdiction, pack in sorted(packs.items()):
        today = business_date(at, pack)
        for claim in chain.due_for_review(jurisdiction, today + timedelta(days=horizon_days)):
            review.reviewed += 1
            key = Manifest.from_bytes(claim.manifest).object_key
            parsed = parse_key(key)
            if parsed is None:
                raise ValueError(f"archive claim {claim.key}: {key!r} is not an archive key")
            try:
                _review_claim(
                    claim, key, parsed.day, today, pack, loans=loans, store=store, chain=chain, review=review
                )
            except Exception as error:
                if not is_transient(error):
                    raise
                review.deferred.append(key)
    if review.deferred and len(review.deferred) == review.reviewed:
        raise RetentionReviewFailed(
            f"all {review.reviewed} archive claims reviewed failed with a transient error; none reviewed"
        )
    return review


def _review_claim(
    claim: RetentionClaim,
    key: str,
    day: date,
    today: date,
    pack: RulePack,
    *,
    loans: LoanRepository,
    store: ArchiveStore,
    chain: ArchiveChainRepository,
    review: RetentionReview,
) -> None:
    """Review one archived object (see the module docstring): extend its retention, or tag it expired."""
    activities: list[date] = []
    if pack.retention_from is RetentionFrom.LAST_ACTIVITY:
        states = loans.closing_states(claim.loan_ids)
        for loan_id in claim.loan_ids:
            status, closed_on = states.get(loan_id, (None, None))
            activities.append(last_activity(status, closed_on, day, today))
    needed = required_until(store.lock, pack.retention_years, pack.retention_from, day, activities)
    if needed > claim.retain_until:
        for each in (key, manifest_key(key)):
            store.extend_retention(each, needed)
        if chain.extend_retention(claim.key, needed, claim.retain_until):
            review.extended.append(Extension(key, claim.retain_until, needed))
    elif claim.retain_until < today:
        for each in (key, manifest_key(key)):
            store.mark_expired(each)
        chain.retention_ended(claim.key, today)
        review.expired.append(key)
