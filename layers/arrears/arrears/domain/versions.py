"""Which version of a dated document is in force: the one rule every versioned document of Arrears
follows (rule packs and their overlays, money rules, borrower-request and plan policies).

A version is in force from its `effective_from` (inclusive) until its `effective_to` (exclusive: the
day its successor takes effect; `None` until it is replaced). Before the first version, the first
answers: a rule is never absent for a jurisdiction that has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol


class Dated(Protocol):
    """Anything with the two dates of a version."""

    @property
    def effective_from(self) -> date: ...

    @property
    def effective_to(self) -> date | None: ...


def in_force_on(version: Dated, on: date) -> bool:
    """`effective_from <= on < effective_to` (no `effective_to`: from `effective_from` on)."""
    return version.effective_from <= on and (version.effective_to is None or on < version.effective_to)


def version_on[V: Dated](history: Sequence[V], on: date | None) -> V:
    """The version of `history` (oldest first, not empty) in force on `on`: the latest one whose period
    holds `on`, the first before any, the newest when `on` is None."""
    if on is None:
        return history[-1]
    chosen = history[0]
    for version in history:
        if in_force_on(version, on):
            chosen = version
    return chosen
