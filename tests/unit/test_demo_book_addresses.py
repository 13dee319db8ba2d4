"""The demo book's borrowers: the state an address names is the borrower's state (`region`)."""

from __future__ import annotations

from datetime import date

from localcloud.book import generate_book


def test_every_us_address_names_the_borrowers_state() -> None:
    # The old placed debt's borrower moved to Massachusetts kept ", CA" in the address: the Metro 2
    # file then stated city "CA" and state "MA" for one consumer.
    book = generate_book(200, 7, date(2026, 3, 1))
    us = [e.borrower for e in book if e.loan.jurisdiction.startswith("US")]
    assert us
    wrong = [
        (b.borrower_id, b.address, b.region) for b in us if b.address.rsplit(",", 1)[-1].strip() != b.region
    ]
    assert wrong == []
