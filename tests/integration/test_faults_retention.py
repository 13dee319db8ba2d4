"""The daily retention review under transient AWS errors: one object's error defers that object to the
next day's review, never the whole run; a run in which every object failed still fails (an outage)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from arrears.adapters.archive_store import ArchiveStore
from arrears.adapters.container import Container
from arrears.adapters.dynamodb import LoanRepository
from arrears.usecases.retention import RetentionReviewFailed
from localcloud.stack import LocalStack
from tests.integration.archive_support import archive, records
from tests.integration.conftest import us_regf_loan
from tests.integration.test_retention import (
    US_KEY_PREFIX,
    lock_of,
    prod_store,
    prod_store_keys,
    review,
    tags_of,
)

__all__ = ["prod_store"]  # the fixture

THROTTLED: Any = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}


def failing_reads(monkeypatch: pytest.MonkeyPatch, errors: list[Exception]) -> list[int]:
    """`closing_states` (the US objects' read of their loans) raises the next of `errors` while any is
    left, then reads as usual; returns the list of calls made."""
    real = LoanRepository.closing_states
    calls: list[int] = []

    def closing_states(self: LoanRepository, loan_ids: Sequence[str]) -> Any:
        calls.append(len(loan_ids))
        if errors:
            raise errors.pop(0)
        return real(self, loan_ids)

    monkeypatch.setattr(LoanRepository, "closing_states", closing_states)
    return calls


def archived(container: Container, stack: LocalStack, store: ArchiveStore) -> tuple[str, str]:
    """A US object (its loan L-00000 still collected) and a CN object, both archived on 1-2 March 2026."""
    for loan_id in ("L-00000", "L-00003"):
        assert container.loans.create(us_regf_loan(loan_id))
    archive(container, records(6, per_day=6, loans=6), store=store)
    keys = [k for k in prod_store_keys(stack) if k.endswith(".jsonl.gz")]
    (us_key,) = [k for k in keys if k.startswith(US_KEY_PREFIX)]
    (cn_key,) = [k for k in keys if "jurisdiction=CN" in k]
    return us_key, cn_key


def test_a_transient_error_on_one_object_defers_it_and_the_review_goes_on(
    container: Container, stack: LocalStack, prod_store: ArchiveStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    us_key, cn_key = archived(container, stack, prod_store)
    failing_reads(monkeypatch, [ClientError(THROTTLED, "BatchGetItem")])
    today = date(2031, 3, 3)  # the CN object is past its 5 years; the US one's lock lapsed, its debt open

    first = review(container, prod_store, today)

    assert first.deferred == [us_key]  # throttled: left for the next review, the CN object reviewed
    assert first.expired == [cn_key]
    assert tags_of(stack, cn_key) == {"retention": "expired"}
    assert first.extended == []
    second = review(container, prod_store, today)  # the next run takes the US object again
    assert second.deferred == []
    assert [(e.object_key, e.until) for e in second.extended] == [(us_key, date(2034, 3, 3))]
    assert lock_of(stack, us_key) == ("COMPLIANCE", date(2034, 3, 3))


def test_a_review_whose_every_object_failed_raises_and_a_permanent_error_raises_at_once(
    container: Container, stack: LocalStack, prod_store: ArchiveStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    us_key, _ = archived(container, stack, prod_store)
    errors: list[Exception] = [ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")]
    failing_reads(monkeypatch, errors)
    before = lock_of(stack, us_key)

    with pytest.raises(RetentionReviewFailed):  # only the US object is due on 1 Feb 2029: all failed
        review(container, prod_store, date(2029, 2, 1))
    assert lock_of(stack, us_key) == before
    errors.append(ValueError("a corrupt claim"))
    with pytest.raises(ValueError, match="a corrupt claim"):
        review(container, prod_store, date(2029, 2, 1))
    assert lock_of(stack, us_key) == before
