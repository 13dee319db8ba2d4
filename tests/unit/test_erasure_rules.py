"""The erasure's pure rules: the pseudonym and its token, what an open debt keeps, the request id's shape."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from arrears.domain.borrowers import PII_FIELDS
from arrears.domain.loans import LoanStatus
from arrears.domain.tokens import borrower_token, is_pseudonym, pseudonym
from arrears.events.bus import ErasureRequestedEvent
from arrears.usecases.erasure import IDENTITY_KEPT_ON_OPEN_DEBT, fields_to_erase, has_open_debt

SECRET = b"k" * 32


def test_a_pseudonym_carries_the_archive_token_so_the_borrower_keeps_one_token() -> None:
    token = borrower_token(SECRET, "B-42")
    assert token == hmac.new(SECRET, b"B-42", hashlib.sha256).hexdigest()

    alias = pseudonym(token)

    assert alias == f"erased:{token}"
    assert is_pseudonym(alias)
    assert borrower_token(SECRET, alias) == token  # not the HMAC of the pseudonym
    assert "B-42" not in alias


@pytest.mark.parametrize(
    "borrower_id", ["B-42", "erased:", "erased:abc", "erased:" + "A" * 64, "x" + "erased:" + "a" * 64]
)
def test_only_erased_and_64_hex_digits_is_a_pseudonym(borrower_id: str) -> None:
    assert not is_pseudonym(borrower_id)
    assert borrower_token(SECRET, borrower_id) == hmac.new(SECRET, borrower_id.encode(), "sha256").hexdigest()


def test_an_open_debt_keeps_name_and_address_a_closed_one_keeps_nothing() -> None:
    assert has_open_debt([LoanStatus.CLOSED, LoanStatus.OPEN])
    assert has_open_debt([LoanStatus.CHARGED_OFF])  # written off is still owed (and still reported)
    assert not has_open_debt([LoanStatus.CLOSED, LoanStatus.CLOSED])
    assert not has_open_debt([])
    assert fields_to_erase(open_debt=True) == ("phone", "email")
    assert IDENTITY_KEPT_ON_OPEN_DEBT == ("name", "address")
    assert fields_to_erase(open_debt=False) == PII_FIELDS


def _event(request_id: str) -> dict[str, object]:
    return {
        "version": "0",
        "id": "e-1",
        "detail-type": "ErasureRequested",
        "source": "arrears.privacy",
        "account": "123456789012",
        "time": "2026-03-06T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"request_id": request_id, "borrower_id": "B-42"},
    }


def test_a_request_id_that_is_an_e_mail_address_is_accepted_it_is_only_ever_hashed() -> None:
    request, at = ErasureRequestedEvent.model_validate(_event("jane.doe+privacy@example.com")).unwrap()

    assert request.request_id == "jane.doe+privacy@example.com"
    assert at == datetime(2026, 3, 6, 9, tzinfo=UTC)
    assert request.requested_at.date() == date(2026, 3, 6)


@pytest.mark.parametrize("request_id", ["", "line\nbreak", "x" * 257])
def test_an_empty_multi_line_or_overlong_request_id_is_refused(request_id: str) -> None:
    with pytest.raises(ValidationError):
        ErasureRequestedEvent.model_validate(_event(request_id))


def test_the_demo_invariant_finds_an_id_standing_alone_not_inside_a_longer_one() -> None:
    from localcloud.erasures import id_pattern

    pattern = id_pattern(["B000012", "privacy+1@lender.example"])
    assert pattern is not None
    assert pattern.search('{"borrower_id": "B000012"}')
    assert pattern.search("loan of B000012#2")
    assert not pattern.search('{"borrower_id": "B0000123"}')
    assert not pattern.search("XB000012")
    assert pattern.search("request privacy+1@lender.example.")
    assert id_pattern([]) is None
