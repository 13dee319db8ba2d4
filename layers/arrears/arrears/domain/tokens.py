"""Pseudonymous borrower tokens for the archive: HMAC-SHA256 of the borrower id.

An erased borrower's id is replaced, in every table, by their pseudonym `erased:<token>`
(`pseudonym`): the hot records keep working (an action still finds its loan, its borrower tombstone
and its call ledger) and the archive keeps the same token as before the erasure, because the token
of a pseudonym is the token it carries (`borrower_token`). The original id cannot be recomputed from
either without the token secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re

PSEUDONYM_PREFIX = "erased:"
_PSEUDONYM = re.compile(r"^erased:[0-9a-f]{64}$")


def is_pseudonym(borrower_id: str) -> bool:
    """Whether `borrower_id` is an erased borrower's pseudonym (`erased:` and 64 hex digits)."""
    return bool(_PSEUDONYM.match(borrower_id))


def pseudonym(token: str) -> str:
    """The id an erased borrower is known by after erasure: `erased:<token>`."""
    return f"{PSEUDONYM_PREFIX}{token}"


def borrower_token(secret: bytes, borrower_id: str) -> str:
    """The archive's token of `borrower_id` (64 hex digits): HMAC-SHA256 under `secret`, or, for an
    erased borrower's pseudonym, the token it carries (so a borrower has one token before and after)."""
    if not secret:
        raise ValueError("the borrower-token secret is empty")
    if is_pseudonym(borrower_id):
        return borrower_id[len(PSEUDONYM_PREFIX) :]
    return hmac.new(secret, borrower_id.encode(), hashlib.sha256).hexdigest()
