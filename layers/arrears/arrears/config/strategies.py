"""Loading the collection policy document (YAML) into domain objects, validated by pydantic.

The document's shape is `layers/arrears/arrears/config/bundled/strategies.yaml`. Every problem is reported as
`<source>: <field path>: <problem>`, so an operator who pushes a bad document to SSM reads which
file (or parameter), which field and what is wrong.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from arrears.domain.delinquency import BucketPolicy
from arrears.domain.policy import CollectionPolicy
from arrears.domain.strategy import RISK_BANDS, Arm, Channel, Step, Strategy, StrategySet
from arrears.domain.terms import DEFAULT_ORDER, Advance, Component, LoanTerms, Prepayment, Waterfall

BUNDLED = "strategies.yaml"
StepId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Band = Literal["LOW", "MEDIUM", "HIGH"]


class PolicyDocumentError(ValueError):
    """The policy document is not valid: the message names the source, the field and the problem."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepModel(_Model):
    id: StepId
    offset: int = Field(ge=-60, le=3650)
    channel: Channel
    template: str = Field(min_length=1)
    min_amount_minor: int = Field(default=0, ge=0)
    buckets: list[str] = []
    risk_bands: list[Band] = []
    regions: list[str] = []
    band_offsets: dict[Band, int] = {}

    @model_validator(mode="after")
    def _regions_only_for_visits(self) -> StepModel:
        if self.regions and self.channel is not Channel.FIELD_VISIT:
            raise ValueError("regions apply to FIELD_VISIT steps only")
        return self

    def to_domain(self) -> Step:
        return Step(
            step_id=self.id,
            offset=self.offset,
            channel=self.channel,
            template_id=self.template,
            min_amount_minor=self.min_amount_minor,
            buckets=frozenset(self.buckets),
            risk_bands=frozenset(self.risk_bands),
            regions=frozenset(self.regions),
            band_offsets={str(band): offset for band, offset in self.band_offsets.items()},
        )


class StrategyModel(_Model):
    id: StepId
    version: str = Field(min_length=1, max_length=32)
    steps: list[StepModel] = Field(min_length=1)
    broken_promise_step: StepModel | None = None

    @field_validator("steps")
    @classmethod
    def _ordered_and_unique(cls, steps: list[StepModel]) -> list[StepModel]:
        offsets = [s.offset for s in steps]
        if offsets != sorted(offsets):
            raise ValueError(f"steps must be ordered by offset, got {offsets}")
        ids = [s.id for s in steps]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate step ids {duplicates}")
        return steps

    def to_domain(self) -> Strategy:
        return Strategy(
            strategy_id=self.id,
            version=self.version,
            steps=tuple(s.to_domain() for s in self.steps),
            broken_promise_step=self.broken_promise_step.to_domain() if self.broken_promise_step else None,
        )


class ArmModel(_Model):
    name: StepId
    weight: int = Field(ge=0, le=10_000)
    strategy: StrategyModel


class JurisdictionModel(_Model):
    arms: list[ArmModel] = Field(min_length=1)

    @field_validator("arms")
    @classmethod
    def _arms(cls, arms: list[ArmModel]) -> list[ArmModel]:
        names = [a.name for a in arms]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate arm names {names}")
        if sum(a.weight for a in arms) <= 0:
            raise ValueError("arm weights must add up to more than zero")
        return arms


class ProductModel(_Model):
    """A product's terms (arrears.domain.terms.LoanTerms); absent fields take the defaults."""

    jurisdictions: list[str] = []  # where it is offered (empty: anywhere); its steps are checked
    waterfall: Waterfall = Waterfall.INSTALMENT_MAJOR
    order: list[Component] = list(DEFAULT_ORDER)
    advance: Advance = Advance.NEXT_INSTALMENT
    prepayment: Prepayment = Prepayment.SHORTEN_TERM
    tolerance_minor: int = Field(default=0, ge=0, le=1_000_000)
    charge_off_dpd: int | None = Field(default=None, gt=0, le=3650)

    @field_validator("order")
    @classmethod
    def _every_component_once(cls, order: list[Component]) -> list[Component]:
        if sorted(order) != sorted(Component) or len(order) != len(Component):
            raise ValueError(f"order must name every component exactly once, got {[c.value for c in order]}")
        return order

    def to_domain(self, name: str, charge_off_dpd: int) -> LoanTerms:
        return LoanTerms(
            product=name,
            waterfall=self.waterfall,
            order=tuple(self.order),
            advance=self.advance,
            prepayment=self.prepayment,
            tolerance_minor=self.tolerance_minor,
            charge_off_dpd=self.charge_off_dpd or charge_off_dpd,
        )


class PolicyDocument(_Model):
    schema_: Literal[1] = Field(alias="schema")
    buckets: dict[str, int] = Field(min_length=1)
    charge_off_dpd: int = Field(gt=0, le=3650)
    products: dict[StepId, ProductModel] = {}
    jurisdictions: dict[str, JurisdictionModel] = Field(min_length=1)

    @field_validator("buckets")
    @classmethod
    def _buckets(cls, buckets: dict[str, int]) -> dict[str, int]:
        lows = list(buckets.values())
        if lows[0] != 0 or lows != sorted(set(lows)):
            raise ValueError(f"bucket lower bounds must start at 0 and strictly increase, got {lows}")
        return buckets

    @model_validator(mode="after")
    def _steps_before_charge_off(self) -> PolicyDocument:
        for code, jurisdiction in self.jurisdictions.items():
            limits = [("charge_off_dpd", self.charge_off_dpd)] + [
                (f"products.{name}.charge_off_dpd", p.charge_off_dpd)
                for name, p in self.products.items()
                if p.charge_off_dpd is not None and (not p.jurisdictions or code in p.jurisdictions)
            ]
            for arm in jurisdiction.arms:
                for where, limit in limits:
                    late = [s.id for s in arm.strategy.steps if s.offset >= limit]
                    if late:
                        raise ValueError(
                            f"jurisdictions.{code}.arms.{arm.name}: steps {late} fall on or after "
                            f"{where} {limit} and would never run"
                        )
        return self

    def to_domain(self) -> CollectionPolicy:
        buckets = BucketPolicy(tuple(self.buckets.items()), self.charge_off_dpd)
        sets = {
            code: StrategySet(tuple(Arm(a.name, a.weight, a.strategy.to_domain()) for a in j.arms))
            for code, j in self.jurisdictions.items()
        }
        first = next(iter(sets.values()))
        products = {name: p.to_domain(name, self.charge_off_dpd) for name, p in self.products.items()}
        return CollectionPolicy(
            buckets=buckets,
            strategy=first.arms[0].strategy,
            by_jurisdiction={},
            arms_by_jurisdiction=sets,
            products=products,
        )


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(document)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_policy(text: str, source: str) -> CollectionPolicy:
    """The policy in `text` (YAML, or JSON which is YAML); `source` names it in error messages."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PolicyDocumentError(f"{source}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise PolicyDocumentError(f"{source}: (document): expected a mapping, got {type(raw).__name__}")
    try:
        return PolicyDocument.model_validate(raw).to_domain()
    except ValidationError as error:
        raise PolicyDocumentError(f"{source}: {_describe(error)}") from None
    except ValueError as error:  # a domain invariant the models did not already catch
        raise PolicyDocumentError(f"{source}: {error}") from None


def bundled_text() -> str:
    return resources.files("arrears.config").joinpath("bundled", BUNDLED).read_text(encoding="utf-8")


def load_bundled() -> CollectionPolicy:
    return parse_policy(bundled_text(), f"arrears/config/bundled/{BUNDLED}")


__all__ = ["RISK_BANDS", "PolicyDocumentError", "bundled_text", "load_bundled", "parse_policy"]
