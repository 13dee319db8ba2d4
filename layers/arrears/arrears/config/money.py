"""Loading the money part of the rule packs (`bundled/money.yaml`), validated by pydantic.

Errors name the source, the field and the problem, like the other policy documents. `money_rules_for`
answers the version in force for a jurisdiction on a date (the contract date, at registration).
"""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from arrears.domain.moneyrules import CapBasis, CostCapRule, LprFixing, MoneyRules, Rebate, StateCap
from arrears.domain.versions import version_on
from arrears.domain.workdays import WorkCalendar

BUNDLED_MONEY_RULES = "money.yaml"


class MoneyRulesError(ValueError):
    """The money rules document is invalid: the message names the source, the field and the problem."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class _Lpr(_Model):
    effective_from: date
    one_year_bps: int = Field(gt=0, le=5_000)
    source: str = Field(min_length=1)


class _State(_Model):
    annual_bps: int = Field(gt=0, le=100_000)
    source: str = Field(min_length=1)


class _Cap(_Model):
    basis: CapBasis
    source: str = Field(min_length=1)
    multiple: int = Field(default=4, ge=1, le=10)
    lpr: list[_Lpr] = []
    annual_bps: int = Field(default=0, ge=0, le=100_000)
    states: dict[str, _State] = {}

    @model_validator(mode="after")
    def _complete(self) -> _Cap:
        if self.basis is CapBasis.LPR_MULTIPLE and not self.lpr:
            raise ValueError("an LPR_MULTIPLE cap needs at least one lpr fixing")
        if self.basis is not CapBasis.LPR_MULTIPLE and self.annual_bps <= 0:
            raise ValueError(f"a {self.basis.value} cap needs annual_bps")
        dates = [f.effective_from for f in self.lpr]
        if dates != sorted(set(dates)):
            raise ValueError("lpr fixings must be in date order, one per date")
        return self

    def to_domain(self) -> CostCapRule:
        return CostCapRule(
            basis=self.basis,
            source=" ".join(self.source.split()),
            multiple=self.multiple,
            lpr=tuple(LprFixing(f.effective_from, f.one_year_bps, f.source) for f in self.lpr),
            annual_bps=self.annual_bps,
            states={
                code: StateCap(s.annual_bps, " ".join(s.source.split())) for code, s in self.states.items()
            },
        )


class _Prepayment(_Model):
    rebate: Literal["ACCRUED_INTEREST"]
    source: str = Field(min_length=1)


class _Calendar(_Model):
    version: str = Field(min_length=1, max_length=32)
    source: str = Field(min_length=1)
    years: list[int] = Field(min_length=1)
    holidays: list[date] = []
    working_weekend_days: list[date] = []


class _Jurisdiction(_Model):
    id: str = Field(min_length=1, max_length=32)
    version: str = Field(min_length=1, max_length=32)
    effective_from: date
    effective_to: date | None = None
    cost_cap: _Cap
    prepayment: _Prepayment
    calendar: _Calendar

    def to_domain(self) -> MoneyRules:
        calendar = WorkCalendar(
            calendar_id=self.id,
            version=self.calendar.version,
            source=" ".join(self.calendar.source.split()),
            years=frozenset(self.calendar.years),
            holidays=frozenset(self.calendar.holidays),
            working_weekend_days=frozenset(self.calendar.working_weekend_days),
        )
        return MoneyRules(
            jurisdiction=self.id,
            version=self.version,
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            cost_cap=self.cost_cap.to_domain(),
            rebate=Rebate(self.prepayment.rebate),
            rebate_source=" ".join(self.prepayment.source.split()),
            calendar=calendar,
        )


class _Document(_Model):
    jurisdictions: list[_Jurisdiction] = Field(min_length=1)


def parse_money_rules(text: str, source: str) -> dict[str, tuple[MoneyRules, ...]]:
    """Every version per jurisdiction, oldest first."""
    import yaml  # on first parse, not at import (a handler module imports this module)

    try:
        document = _Document.model_validate(yaml.safe_load(text))
        history: dict[str, list[MoneyRules]] = {}
        for item in document.jurisdictions:
            history.setdefault(item.id, []).append(item.to_domain())
    except yaml.YAMLError as error:
        raise MoneyRulesError(f"{source}: not YAML: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(document)'}: {e['msg']}" for e in error.errors()
        )
        raise MoneyRulesError(f"{source}: {problems}") from None
    except ValueError as error:  # a domain invariant (e.g. a calendar day outside its years)
        raise MoneyRulesError(f"{source}: {error}") from None
    for jurisdiction, versions in history.items():
        versions.sort(key=lambda r: r.effective_from)
        refs = [r.version for r in versions]
        if len(refs) != len(set(refs)):
            raise MoneyRulesError(f"{source}: jurisdictions {jurisdiction}: duplicate version in {refs}")
    return {jurisdiction: tuple(versions) for jurisdiction, versions in history.items()}


def bundled_money_rules_text() -> str:
    return resources.files("arrears.config.bundled").joinpath(BUNDLED_MONEY_RULES).read_text(encoding="utf-8")


@cache
def bundled_money_rules() -> dict[str, tuple[MoneyRules, ...]]:
    """The bundled money rules, parsed once per process on first use (never at import: a handler
    that never applies money rules does not pay for the YAML and the validation)."""
    return parse_money_rules(bundled_money_rules_text(), f"bundled {BUNDLED_MONEY_RULES}")


def money_rules_for(jurisdiction: str, on: date | None = None) -> MoneyRules:
    """The version in force for `jurisdiction` on `on` (the latest without a date; the first before it)."""
    known = bundled_money_rules()
    history = known.get(jurisdiction)
    if not history:
        raise ValueError(f"no money rules for jurisdiction {jurisdiction!r}; known: {sorted(known)}")
    return version_on(history, on)
