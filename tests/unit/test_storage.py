"""The storage helpers every adapter shares: paged reads, conditional writes, and the one loan update."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from botocore.exceptions import ClientError

from arrears.adapters.dynamodb import LoanUpdate, VersionConflict, update_loan
from arrears.adapters.tables import TRANSACTION_REFUSED, all_items, conditional_write, pages
from arrears.domain.loans import Instalment, Loan
from tests.unit.memory_loans import MemoryLoans


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "PutItem")


class PagedTable:
    """A Query that returns `items` `size` at a time, keyed by position; records every request."""

    def __init__(self, items: list[dict[str, Any]], size: int) -> None:
        self.items = items
        self.size = size
        self.requests: list[dict[str, Any]] = []

    def query(self, **request: Any) -> dict[str, Any]:
        self.requests.append(dict(request))
        start = int(request.get("ExclusiveStartKey", {}).get("n", -1)) + 1
        page: dict[str, Any] = {"Items": self.items[start : start + self.size], "Count": 0}
        page["Count"] = len(page["Items"])
        if start + self.size < len(self.items):
            page["LastEvaluatedKey"] = {"n": start + self.size - 1}
        return page


def test_pages_follow_the_last_evaluated_key_to_the_end() -> None:
    table = PagedTable([{"n": n} for n in range(5)], size=2)
    request = {"KeyConditionExpression": "k", "Limit": 2}
    assert [page["Count"] for page in pages(table.query, **request)] == [2, 2, 1]
    assert [r.get("ExclusiveStartKey") for r in table.requests] == [None, {"n": 1}, {"n": 3}]
    assert all(r["KeyConditionExpression"] == "k" for r in table.requests)
    assert request == {"KeyConditionExpression": "k", "Limit": 2}  # the caller's request is not changed


def test_all_items_reads_each_page_only_when_it_is_needed() -> None:
    table = PagedTable([{"n": n} for n in range(5)], size=2)
    items = all_items(table.query)
    assert [next(items), next(items)] == [{"n": 0}, {"n": 1}]
    assert len(table.requests) == 1
    assert list(items) == [{"n": 2}, {"n": 3}, {"n": 4}]
    assert list(all_items(PagedTable([], size=2).query)) == []


def test_a_refused_conditional_write_is_none_and_any_other_error_propagates() -> None:
    def refused(**request: Any) -> dict[str, Any]:
        raise _error("ConditionalCheckFailedException")

    def throttled(**request: Any) -> dict[str, Any]:
        raise _error("ProvisionedThroughputExceededException")

    def cancelled(**request: Any) -> dict[str, Any]:
        raise _error("TransactionCanceledException")

    assert conditional_write(lambda **request: {"Attributes": request}, Item=1) == {"Attributes": {"Item": 1}}
    assert conditional_write(refused, Item=1) is None
    assert conditional_write(cancelled, refused_by=TRANSACTION_REFUSED, TransactItems=[]) is None
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        conditional_write(cancelled, TransactItems=[])
    with pytest.raises(ClientError, match="ProvisionedThroughput"):
        conditional_write(throttled, Item=1)


# -- the one write path of a loan ---------------------------------------------------------------------


def _loan(version: int = 0) -> Loan:
    instalments = (Instalment(1, date(2026, 3, 1), 10_000, 300),)
    return Loan("L-1", "B-1", "CN", "CNY", 10_000, date(2026, 2, 1), instalments, 500, 3600, version=version)


class RacedLoans(MemoryLoans):
    def bump(self) -> None:
        """Another writer stores the loan (one more call counted)."""
        loan = self.items["L-1"]
        self.items["L-1"] = loan.with_changes(
            unanswered_contacts=loan.unanswered_contacts + 1, version=loan.version + 1
        )


def _count(loan: Loan) -> Loan:
    return loan.with_changes(broken_promises=loan.broken_promises + 1)


def test_an_update_reads_applies_and_writes_once() -> None:
    loans = RacedLoans(_loan())
    update = update_loan(loans, "L-1", _count)
    assert update == LoanUpdate(loans.items["L-1"], written=True, conflicts=0)
    assert (loans.items["L-1"].version, loans.items["L-1"].broken_promises) == (1, 1)
    assert (loans.reads, loans.saves) == (1, 1)


def test_a_change_that_returns_none_writes_nothing_and_returns_the_loan_as_read() -> None:
    loans = RacedLoans(_loan(version=3))
    assert update_loan(loans, "L-1", lambda loan: None) == LoanUpdate(_loan(version=3))
    assert loans.saves == 0


def test_a_missing_loan_is_reported_not_raised() -> None:
    loans = RacedLoans(_loan())
    assert update_loan(loans, "L-404", _count) == LoanUpdate(None)


def test_a_conflict_rereads_and_reapplies_the_change_to_the_fresh_loan() -> None:
    loans = RacedLoans(_loan())
    loans.race.append(loans.bump)
    seen: list[int] = []

    def count(loan: Loan) -> Loan:
        seen.append(loan.version)
        return _count(loan)

    update = update_loan(loans, "L-1", count)
    assert (update.written, update.conflicts, seen) == (True, 1, [0, 1])
    assert update.loan is not None
    assert (update.loan.version, update.loan.unanswered_contacts, update.loan.broken_promises) == (2, 1, 1)
    assert loans.reads == 2


def test_a_loan_the_caller_has_read_is_not_read_again_unless_a_write_conflicts() -> None:
    loans = RacedLoans(_loan())
    assert update_loan(loans, "L-1", _count, current=_loan()).written
    assert loans.reads == 0
    loans.race.append(loans.bump)
    assert update_loan(loans, "L-1", _count, current=loans.items["L-1"]).conflicts == 1
    assert loans.reads == 1


def test_a_loan_deleted_after_a_conflict_ends_the_update_with_the_conflict_counted() -> None:
    loans = RacedLoans(_loan())

    def delete() -> None:
        loans.bump()
        loans.get = lambda loan_id: None  # type: ignore[method-assign]

    loans.race.append(delete)
    assert update_loan(loans, "L-1", _count) == LoanUpdate(None, written=False, conflicts=1)


def test_an_update_that_keeps_losing_gives_up_after_max_attempts() -> None:
    loans = RacedLoans(_loan())
    loans.race.extend([loans.bump] * 3)
    with pytest.raises(VersionConflict, match="still conflicting after 3 re-reads"):
        update_loan(loans, "L-1", _count, max_attempts=3)
    assert (loans.reads, loans.saves) == (3, 0)  # one read per attempt, none after the last
