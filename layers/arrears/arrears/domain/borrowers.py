"""Borrowers: the person behind a loan. Every field but the id, zone, language and region is PII."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

PII_FIELDS = ("name", "phone", "email", "address")


@dataclass(frozen=True, slots=True)
class Borrower:
    borrower_id: str
    timezone: str
    language: str = "en"
    region: str = "unknown"
    name: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""
    opted_out_channels: frozenset[str] = field(default_factory=frozenset)
    preferred_hours: tuple[int, int] | None = None
    # The instant of the lending core's data this profile holds (a `BorrowerUpdated` event's
    # `updated_at`, a `LoanDisbursed` event's or a book file's time): an older update never wins.
    profile_at: datetime | None = None

    def __repr__(self) -> str:  # never let PII leak through a stray log of the object
        return f"Borrower(borrower_id={self.borrower_id!r}, timezone={self.timezone!r}, <pii masked>)"

    __str__ = __repr__
