"""The collection playbook document (YAML): its schema, its loading, and the playbook in force.

The document's shape is `arrears/config/bundled/strategies.yaml` (the only copy, shipped in the
layer), validated by pydantic into an `arrears.domain.playbook.CollectionPlaybook`. Every problem is
reported as `<source>: <field path>: <problem>` (`PlaybookDocumentError`), so an operator who pushes
a bad document to SSM reads which file (or parameter), which field and what is wrong.

`bundled_playbook()` is the bundled document, read on first use and cached (never at import).
`PlaybookSource` answers the playbook a handler should use now: the document in the SSM parameter
named by STRATEGY_PARAMETER_NAME when there is one, read through Powertools Parameters and cached
for `max_age` seconds; the bundled one when the name is empty, the parameter is absent, or it holds
the placeholder `bundled`. A parameter that holds an invalid document is an error (reported with
its field and problem) and the last good playbook stays in force: an operator's typo never stops
collection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from arrears.domain.delinquency import DelinquencyBuckets
from arrears.domain.playbook import CollectionPlaybook
from arrears.domain.strategy import CONDITIONS, RISK_BANDS, Arm, Branch, Channel, Step, Strategy, StrategySet
from arrears.domain.terms import DEFAULT_ORDER, Advance, Component, LoanTerms, Prepayment, Waterfall

__all__ = [
    "BUNDLED_MARKER",
    "BUNDLED_PLAYBOOK",
    "RISK_BANDS",
    "PlaybookDocumentError",
    "PlaybookSource",
    "bundled_playbook",
    "bundled_playbook_text",
    "parse_playbook",
]

BUNDLED_PLAYBOOK = "strategies.yaml"
BUNDLED_MARKER = "bundled"
StepId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Band = Literal["LOW", "MEDIUM", "HIGH"]


class PlaybookDocumentError(ValueError):
    """The playbook document is not valid: the message names the source, the field and the problem."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


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


class BranchModel(_Model):
    id: StepId
    when: list[str] = Field(min_length=1)
    steps: list[StepModel] = Field(min_length=1)

    @field_validator("when")
    @classmethod
    def _known(cls, when: list[str]) -> list[str]:
        unknown = sorted(set(when) - CONDITIONS)
        if unknown:
            raise ValueError(f"unknown conditions {unknown}; known: {sorted(CONDITIONS)}")
        return when

    def to_domain(self) -> Branch:
        return Branch(self.id, frozenset(self.when), tuple(s.to_domain() for s in self.steps))


class StrategyModel(_Model):
    id: StepId
    version: str = Field(min_length=1, max_length=32)
    steps: list[StepModel] = Field(min_length=1)
    broken_promise_step: StepModel | None = None
    branches: list[BranchModel] = []

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
            branches=tuple(b.to_domain() for b in self.branches),
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


class PlaybookDocument(_Model):
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
    def _steps_before_charge_off(self) -> PlaybookDocument:
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

    def to_domain(self) -> CollectionPlaybook:
        buckets = DelinquencyBuckets(tuple(self.buckets.items()), self.charge_off_dpd)
        sets = {
            code: StrategySet(tuple(Arm(a.name, a.weight, a.strategy.to_domain()) for a in j.arms))
            for code, j in self.jurisdictions.items()
        }
        first = next(iter(sets.values()))
        products = {name: p.to_domain(name, self.charge_off_dpd) for name, p in self.products.items()}
        return CollectionPlaybook(
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


def parse_playbook(text: str, source: str) -> CollectionPlaybook:
    """The playbook in `text` (YAML, or JSON which is YAML); `source` names it in error messages.

    Raises `PlaybookDocumentError` naming the field path and the problem.
    """
    import yaml  # on first parse, not at import (a handler module imports this module)

    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PlaybookDocumentError(f"{source}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise PlaybookDocumentError(f"{source}: (document): expected a mapping, got {type(raw).__name__}")
    try:
        return PlaybookDocument.model_validate(raw).to_domain()
    except ValidationError as error:
        raise PlaybookDocumentError(f"{source}: {_describe(error)}") from None
    except ValueError as error:  # a domain invariant the models did not already catch
        raise PlaybookDocumentError(f"{source}: {error}") from None


def bundled_playbook_text() -> str:
    """The bundled document's text (read from the installed package on every call)."""
    return resources.files("arrears.config").joinpath("bundled", BUNDLED_PLAYBOOK).read_text(encoding="utf-8")


@cache
def bundled_playbook() -> CollectionPlaybook:
    """The bundled playbook, read and validated on first use and cached for the life of the process."""
    return parse_playbook(bundled_playbook_text(), f"arrears/config/bundled/{BUNDLED_PLAYBOOK}")


logger = logging.getLogger(__name__)

Fetch = Callable[[str, int], str | None]
"""(parameter name, max age in seconds) -> the parameter's value, or None when it does not exist."""


def ssm_fetch(name: str, max_age: int) -> str | None:
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        return str(parameters.get_parameter(name, max_age=max_age))
    except GetParameterError as error:
        if "ParameterNotFound" in str(error):
            return None
        raise


@dataclass
class PlaybookSource:
    """The playbook in force: the SSM document named `parameter_name`, else the bundled one."""

    parameter_name: str = ""
    max_age: int = 300
    fetch: Fetch = ssm_fetch
    report: Callable[[str], None] | None = None  # told of an invalid document (the handler logs it)
    _last_text: str | None = field(default=None, repr=False)
    _last: CollectionPlaybook = field(default_factory=bundled_playbook, repr=False)
    _bad_text: str | None = field(default=None, repr=False)

    def current(self) -> CollectionPlaybook:
        if not self.parameter_name:
            return bundled_playbook()
        text = self.fetch(self.parameter_name, self.max_age)
        if text is None or text.strip() in ("", BUNDLED_MARKER):
            return bundled_playbook()
        if text == self._bad_text:
            return self._last  # already reported
        if text != self._last_text:
            try:
                self._last = parse_playbook(text, f"ssm:{self.parameter_name}")
            except PlaybookDocumentError as error:
                self._bad_text = text
                if self.report is not None:
                    self.report(str(error))
                else:
                    logger.error("invalid collection policy document; keeping the last good one: %s", error)
                return self._last
            self._last_text = text
        return self._last
