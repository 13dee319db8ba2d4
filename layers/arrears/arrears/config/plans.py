"""Loading the repayment-plan policy (`bundled/plans.yaml`), validated by pydantic.

`plan_policy(jurisdiction, on)` answers the version in force on a business date of a loan's
jurisdiction's policy: its own entry, else that of its base (`US-MA`, `US-WA` and the lender overlays
fall back on `US-REGF`; `arrears.config.versioned`); `plan_policy_named(ref)` the version a plan
names. Every value carries its source, so a refusal can cite it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arrears.config.versioned import Version, by_ref, in_force, parse_versions
from arrears.domain.plans import PlanPolicy

BUNDLED_PLANS = "plans.yaml"


class PlanPolicyError(ValueError):
    """The document is invalid: the message names the jurisdiction, the field and the problem."""


class _Cited(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    value: int = Field(ge=0, le=10**12)
    source: str = Field(min_length=1)


class _Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min_instalments: _Cited
    max_instalments: _Cited
    min_instalment_minor: _Cited
    max_days_between: _Cited
    max_plan_days: _Cited
    grace_days: _Cited
    auto_max_minor: _Cited
    auto_max_instalments: _Cited
    agent_max_minor: _Cited
    agent_max_instalments: _Cited


def _policy(jurisdiction: str, version: str, body: Mapping[str, Any]) -> PlanPolicy:
    try:
        model = _Policy.model_validate(body)
        fields = model.model_dump()
        return PlanPolicy(
            jurisdiction=jurisdiction,
            version=version,
            sources={name: cited["source"] for name, cited in fields.items()},
            **{name: cited["value"] for name, cited in fields.items()},
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PlanPolicyError(f"{jurisdiction}@{version}.{where}: {first['msg']}") from None
    except ValueError as error:
        raise PlanPolicyError(f"{error} (version {version})") from None


def parse_plan_policies(text: str) -> dict[str, tuple[Version[PlanPolicy], ...]]:
    """Each jurisdiction's versions of the plan policy; `PlanPolicyError` naming the problem."""
    return parse_versions(yaml.safe_load(text), _policy, PlanPolicyError)


@cache
def bundled_plan_policies() -> dict[str, tuple[Version[PlanPolicy], ...]]:
    text = resources.files("arrears.config.bundled").joinpath(BUNDLED_PLANS).read_text("utf-8")
    return parse_plan_policies(text)


def plan_policy(jurisdiction: str, on: date) -> PlanPolicy:
    """The plan policy of `jurisdiction` (or of its base) in force on the business date `on`;
    `LookupError` when there is none."""
    return in_force(bundled_plan_policies(), jurisdiction, on, "repayment-plan")


def plan_policy_named(ref: str) -> PlanPolicy:
    """The plan policy version `ref` (`<jurisdiction>@<version>`, as `RepaymentPlan.policy` keeps it);
    `LookupError` when no such version is bundled."""
    return by_ref(bundled_plan_policies(), ref, "repayment-plan")
