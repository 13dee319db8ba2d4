"""The archive's retention review on moto: US objects kept 3 years after the last collection activity of
every debt in them (12 CFR 1006.100(a)), CN objects 5 years after their records, then tagged expired."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import boto3
import pytest

from arrears.adapters.archive_store import ArchiveStore
from arrears.adapters.clock import FixedClock
from arrears.adapters.container import Container
from arrears.config.rulepacks import bundled_rule_packs
from arrears.domain.archive import ArchiveLock, manifest_key
from arrears.domain.loans import LoanStatus
from arrears.usecases.retention import review_retention
from localcloud.stack import LocalStack
from tests.integration.archive_support import archive, records
from tests.integration.conftest import us_regf_loan

US_KEY_PREFIX = "contacts/jurisdiction=US-REGF/dt=2026-03-01/"


@pytest.fixture
def prod_store(container: Container, stack: LocalStack) -> ArchiveStore:
    """The archive under prod's COMPLIANCE lock (the local stack's bucket, a dev stage's lock aside)."""
    return ArchiveStore(
        boto3.client("s3"),
        stack.physical["ArchiveBucket"],
        container.settings.archive_kms_key_id,
        ArchiveLock("COMPLIANCE"),
        FixedClock(datetime(2026, 3, 3, tzinfo=UTC)),
    )


def lock_of(stack: LocalStack, key: str) -> tuple[str, date]:
    head = boto3.client("s3").head_object(Bucket=stack.physical["ArchiveBucket"], Key=key)
    return head["ObjectLockMode"], head["ObjectLockRetainUntilDate"].date()


def tags_of(stack: LocalStack, key: str) -> dict[str, str]:
    tagging: Any = boto3.client("s3").get_object_tagging(Bucket=stack.physical["ArchiveBucket"], Key=key)
    return {t["Key"]: t["Value"] for t in tagging["TagSet"]}


def close(container: Container, loan_id: str, on: date) -> None:
    container.loans.update(loan_id, lambda loan: loan.with_changes(status=LoanStatus.CLOSED, closed_on=on))


def review(container: Container, store: ArchiveStore, today: date):  # type: ignore[no-untyped-def]
    history = bundled_rule_packs()
    packs = {j: history.in_force(j) for j in history}
    at = datetime.combine(today, time(12), tzinfo=UTC)  # noon UTC: the same date in New York and Shanghai
    return review_retention(at, packs, chain=container.archive_chain, loans=container.loans, store=store)


def test_us_retention_runs_from_the_last_activity_of_every_debt_and_ends_in_the_lifecycle_tag(
    container: Container, stack: LocalStack, prod_store: ArchiveStore
) -> None:
    batch = records(6, per_day=6, loans=6)  # US: loans L-00000 and L-00003, 1 March 2026; CN: 2 March
    for loan_id in ("L-00000", "L-00003"):
        assert container.loans.create(us_regf_loan(loan_id))
    close(container, "L-00003", date(2026, 4, 10))
    archive(container, batch, store=prod_store)
    (us_key,) = [k for k in prod_store_keys(stack) if k.startswith(US_KEY_PREFIX) and k.endswith(".jsonl.gz")]
    assert lock_of(stack, us_key) == ("COMPLIANCE", date(2029, 3, 1))  # the minimum, at the write

    # Four weeks before the lock lapses, L-00000 is still collected: kept 3 years from today.
    first = review(container, prod_store, date(2029, 2, 1))
    assert [(e.object_key, e.previous, e.until) for e in first.extended] == [
        (us_key, date(2029, 3, 1), date(2032, 2, 1))
    ]
    assert lock_of(stack, us_key) == ("COMPLIANCE", date(2032, 2, 1))
    assert lock_of(stack, manifest_key(us_key)) == ("COMPLIANCE", date(2032, 2, 1))
    assert review(container, prod_store, date(2029, 2, 1)).extended == []  # repeatable

    # L-00000 is repaid on 30 June 2029: the last activity of the object's debts; 3 years after it.
    close(container, "L-00000", date(2029, 6, 30))
    second = review(container, prod_store, date(2031, 12, 31))
    assert [(e.previous, e.until) for e in second.extended] == [(date(2032, 2, 1), date(2032, 6, 30))]
    assert us_key not in second.expired  # (the CN object of 2 March 2026 is, since 2031)

    # Past that date nothing extends it: both objects are tagged for the lifecycle rule.
    third = review(container, prod_store, date(2032, 7, 1))
    assert third.extended == []
    assert us_key in third.expired
    assert tags_of(stack, us_key) == {"retention": "expired"}
    assert tags_of(stack, manifest_key(us_key)) == {"retention": "expired"}
    assert us_key not in review(container, prod_store, date(2032, 7, 2)).expired  # left the index
    # (S3 refuses to shorten a COMPLIANCE date; moto does not enforce that, so it is not asserted.)


def test_cn_objects_are_kept_five_years_after_their_records_and_never_extended(
    container: Container, stack: LocalStack, prod_store: ArchiveStore
) -> None:
    archive(container, records(6, per_day=6, loans=6), store=prod_store)
    (cn_key,) = [k for k in prod_store_keys(stack) if "jurisdiction=CN" in k and k.endswith(".jsonl.gz")]
    assert lock_of(stack, cn_key) == ("COMPLIANCE", date(2031, 3, 2))
    assert review(container, prod_store, date(2031, 3, 1)).extended == []
    assert cn_key in review(container, prod_store, date(2031, 3, 3)).expired


def prod_store_keys(stack: LocalStack) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=stack.physical["ArchiveBucket"], Prefix="contacts/")
    return [o["Key"] for o in listed.get("Contents", [])]
