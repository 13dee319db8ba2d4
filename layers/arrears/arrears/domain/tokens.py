"""Pseudonymous borrower tokens for the archive: HMAC-SHA256 of the borrower id."""

from __future__ import annotations

import hashlib
import hmac


def borrower_token(secret: bytes, borrower_id: str) -> str:
    if not secret:
        raise ValueError("the borrower-token secret is empty")
    return hmac.new(secret, borrower_id.encode(), hashlib.sha256).hexdigest()
