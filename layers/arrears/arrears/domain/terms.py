"""A loan's product terms: how payments are applied, what counts as late, when it is charged off.

The terms come from the product in the collection playbook (`products` in `strategies.yaml`) and are
copied onto the loan when it is registered, so that every pure function of the domain can judge a
loan from the loan alone (and a replay of its ledger gives the same result whenever it runs).

* `waterfall`: INSTALMENT_MAJOR (default) settles the oldest due instalment in full, its components
  in `order`, before the next; COMPONENT_MAJOR pays each component across all due instalments, oldest
  first, before the next component.
* `advance`: money left once everything due is paid. NEXT_INSTALMENT (default) pays the next
  instalment as a whole (the bill of the period running), and anything beyond it prepays principal;
  PRINCIPAL prepays principal at once.
* `prepayment`: what a partial prepayment of principal does to the schedule. SHORTEN_TERM (default)
  takes it from the last instalments, which drop off; LOWER_INSTALMENTS spreads it over every
  instalment not yet due. Either way interest and fees are then owed on the lower balance only,
  from the day of the prepayment.
* `tolerance_minor`: an unpaid remainder up to this amount does not make the loan overdue.
* `charge_off_dpd`: days past due on which the loan is charged off.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Component(StrEnum):
    FEE = "fee"
    PENALTY = "penalty"
    INTEREST = "interest"
    PRINCIPAL = "principal"


DEFAULT_ORDER: tuple[Component, ...] = (
    Component.FEE,
    Component.PENALTY,
    Component.INTEREST,
    Component.PRINCIPAL,
)
_COMPONENTS = frozenset(Component)  # iterating an Enum is slow; every loan read builds its terms


class Waterfall(StrEnum):
    INSTALMENT_MAJOR = "INSTALMENT_MAJOR"
    COMPONENT_MAJOR = "COMPONENT_MAJOR"


class Advance(StrEnum):
    NEXT_INSTALMENT = "NEXT_INSTALMENT"
    PRINCIPAL = "PRINCIPAL"


class Prepayment(StrEnum):
    SHORTEN_TERM = "SHORTEN_TERM"
    LOWER_INSTALMENTS = "LOWER_INSTALMENTS"


DEFAULT_CHARGE_OFF_DPD = 180
DEFAULT_PRODUCT = "default"


@dataclass(frozen=True, slots=True)
class LoanTerms:
    product: str = DEFAULT_PRODUCT
    waterfall: Waterfall = Waterfall.INSTALMENT_MAJOR
    order: tuple[Component, ...] = DEFAULT_ORDER
    advance: Advance = Advance.NEXT_INSTALMENT
    prepayment: Prepayment = Prepayment.SHORTEN_TERM
    tolerance_minor: int = 0
    charge_off_dpd: int = DEFAULT_CHARGE_OFF_DPD

    def __post_init__(self) -> None:
        if len(self.order) != len(_COMPONENTS) or frozenset(self.order) != _COMPONENTS:
            raise ValueError(f"product {self.product}: order must name every component exactly once")
        if isinstance(self.tolerance_minor, bool) or self.tolerance_minor < 0:
            raise ValueError(f"product {self.product}: tolerance_minor must be a non-negative integer")
        if isinstance(self.charge_off_dpd, bool) or self.charge_off_dpd <= 0:
            raise ValueError(f"product {self.product}: charge_off_dpd must be positive")


DEFAULT_TERMS = LoanTerms()
