"""The money part of a jurisdiction's rule pack: cost cap, early-repayment convention, working days.

Data (`arrears/config/bundled/money.yaml`, validated at load), each rule with the law or practice it
comes from, versioned like the contact rules: a loan is registered under the version in force on its
contract date, and its cap is fixed then (the CN cap is four times the one-year LPR *at contract*).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from arrears.domain.workdays import EVERY_DAY, WorkCalendar


class CapBasis(StrEnum):
    LPR_MULTIPLE = "LPR_MULTIPLE"  # a multiple of the one-year Loan Prime Rate at contract (CN)
    FIXED = "FIXED"  # one annual rate
    STATE = "STATE"  # the borrower's state's cap, a default where none is listed (US)


class Rebate(StrEnum):
    ACCRUED_INTEREST = "ACCRUED_INTEREST"  # interest and fees for the days actually borrowed


@dataclass(frozen=True, slots=True)
class LprFixing:
    effective_from: date
    one_year_bps: int
    source: str = ""


@dataclass(frozen=True, slots=True)
class StateCap:
    annual_bps: int
    source: str


@dataclass(frozen=True, slots=True)
class CapDecision:
    """The cap a contract is registered under, and why (names the law and the figures)."""

    annual_bps: int
    explanation: str


class NoCapKnown(ValueError):
    """No cap can be fixed for the contract (e.g. no LPR fixing on or before its date)."""


@dataclass(frozen=True, slots=True)
class CostCapRule:
    basis: CapBasis
    source: str
    multiple: int = 4
    lpr: tuple[LprFixing, ...] = ()
    annual_bps: int = 0
    states: Mapping[str, StateCap] = field(default_factory=dict)

    def cap_for(self, contract_on: date, region: str = "") -> CapDecision:
        if self.basis is CapBasis.LPR_MULTIPLE:
            fixings = [f for f in self.lpr if f.effective_from <= contract_on]
            if not fixings:
                raise NoCapKnown(f"no one-year LPR fixing on or before {contract_on}")
            fixing = max(fixings, key=lambda f: f.effective_from)
            bps = self.multiple * fixing.one_year_bps
            return CapDecision(
                bps,
                f"{self.multiple} x one-year LPR {fixing.one_year_bps / 100:.2f} % "
                f"(fixing of {fixing.effective_from}) = {bps / 100:.2f} %: {self.source}",
            )
        if self.basis is CapBasis.STATE and region in self.states:
            state = self.states[region]
            return CapDecision(state.annual_bps, f"{region}: {state.annual_bps / 100:.2f} %: {state.source}")
        where = (
            f"{region or 'unknown state'}: no state cap listed, default "
            if self.basis is CapBasis.STATE
            else ""
        )
        return CapDecision(self.annual_bps, f"{where}{self.annual_bps / 100:.2f} %: {self.source}")


@dataclass(frozen=True, slots=True)
class MoneyRules:
    jurisdiction: str
    version: str
    effective_from: date
    cost_cap: CostCapRule
    rebate: Rebate = Rebate.ACCRUED_INTEREST
    rebate_source: str = ""
    calendar: WorkCalendar = EVERY_DAY
    effective_to: date | None = None

    @property
    def ref(self) -> str:
        return f"{self.jurisdiction}@{self.version}"
