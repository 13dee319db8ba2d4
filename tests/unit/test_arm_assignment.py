"""The invariant that the borrower is the unit of randomisation: it counts what breaks it."""

from __future__ import annotations

from datetime import date

from arrears.config.playbook import bundled_playbook
from arrears.usecases.onboarding import registered_contract
from localcloud.book import generate_book
from localcloud.invariants import arm_assignment


def test_a_borrower_split_across_arms_and_an_action_under_another_arm_are_counted() -> None:
    playbook = bundled_playbook()
    book = generate_book(60, 7, date(2026, 3, 1))
    loans = [registered_contract(e.loan, e.borrower, playbook) for e in book]
    clean = arm_assignment(loans, [])
    assert clean["borrowers_with_several_loans"] > 0
    assert clean["borrowers_split_across_arms"] == 0
    # One loan of a household moved to the other arm: its borrower is split
    counts: dict[str, int] = {}
    for loan in loans:
        counts[loan.borrower_id] = counts.get(loan.borrower_id, 0) + 1
    index = next(i for i, loan in enumerate(loans) if counts[loan.borrower_id] > 1)
    other = "challenger" if loans[index].strategy_arm == "champion" else "champion"
    split = [*loans[:index], loans[index].with_changes(strategy_arm=other), *loans[index + 1 :]]
    assert arm_assignment(split, [])["borrowers_split_across_arms"] == 1
    assert clean["borrowers"] == len(counts)
