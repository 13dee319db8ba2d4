"""`Loan.with_changes`: the copy `dataclasses.replace` makes, without its generic path."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.domain.loans import Loan, LoanStatus
from tests.unit.strategies import loans


@given(loans(), st.integers(0, 400), st.integers(0, 50), st.sampled_from(["M0", "M1", "M3"]))
def test_a_copy_with_changes_is_the_copy_replace_makes(
    loan: Loan, dpd: int, version: int, bucket: str
) -> None:
    changes = {"dpd": dpd, "version": version, "bucket": bucket, "status": LoanStatus.OPEN}
    assert loan.with_changes(**changes) == replace(loan, **changes)  # type: ignore[arg-type]
    assert loan.with_changes() == loan


@given(loans())
def test_a_copy_is_checked_as_a_new_loan_is(loan: Loan) -> None:
    with pytest.raises(ValueError, match="must be an integer"):
        loan.with_changes(version=1.5)
    with pytest.raises(ValueError, match="principal does not add up"):
        loan.with_changes(principal_minor=loan.principal_minor + 1)
    with pytest.raises(TypeError, match="no field 'dpd_days'"):
        loan.with_changes(dpd_days=3)
