"""Loading the borrower-request policy (`bundled/borrower_requests.yaml`), validated by pydantic.

`borrower_request_policy(jurisdiction)` answers the policy of a loan's jurisdiction: its own entry, else
that of its base (`US-MA`, `US-WA` and the lender overlays fall back on `US-REGF`). Every value carries
its source, so a refusal can cite it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arrears.domain.borrower_requests import BorrowerRequestPolicy

BUNDLED_BORROWER_REQUESTS = "borrower_requests.yaml"
_BASES = {"US": "US-REGF", "LENDER": "US-REGF"}


class BorrowerRequestPolicyError(ValueError):
    """The document is invalid: the message names the jurisdiction, the field and the problem."""


class _Cited(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    value: int = Field(ge=0, le=3650)
    source: str = Field(min_length=1)


class _Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    promise_max_days: _Cited
    promise_min_percent: _Cited
    dispute_verification_days: _Cited
    hardship_pause_days: _Cited
    complaint_ack_days: _Cited
    complaint_close_days: _Cited
    complaint_extension_days: _Cited


def parse_borrower_request_policies(text: str) -> dict[str, BorrowerRequestPolicy]:
    raw = yaml.safe_load(text) or {}
    policies: dict[str, BorrowerRequestPolicy] = {}
    for jurisdiction, body in raw.items():
        try:
            model = _Policy.model_validate(body)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise BorrowerRequestPolicyError(f"{jurisdiction}.{where}: {first['msg']}") from None
        fields = model.model_dump()
        policies[str(jurisdiction)] = BorrowerRequestPolicy(
            jurisdiction=str(jurisdiction),
            sources={name: cited["source"] for name, cited in fields.items()},
            **{name: cited["value"] for name, cited in fields.items()},
        )
    return policies


@cache
def bundled_borrower_request_policies() -> dict[str, BorrowerRequestPolicy]:
    text = resources.files("arrears.config.bundled").joinpath(BUNDLED_BORROWER_REQUESTS).read_text("utf-8")
    return parse_borrower_request_policies(text)


def policy_of_jurisdiction[P](policies: Mapping[str, P], jurisdiction: str, what: str) -> P:
    """`policies[jurisdiction]`, else the policy of its base (`US-MA` -> `US-REGF`, `CN-...` -> `CN`);
    `LookupError` naming `what` when there is neither (shared by the request and plan policies)."""
    if jurisdiction in policies:
        return policies[jurisdiction]
    prefix = jurisdiction.split("-", 1)[0]
    base = _BASES.get(prefix, prefix)
    if base in policies:
        return policies[base]
    raise LookupError(f"no {what} policy for jurisdiction {jurisdiction}")


def borrower_request_policy(jurisdiction: str) -> BorrowerRequestPolicy:
    """The policy of `jurisdiction` (or of its base); `LookupError` when there is none."""
    return policy_of_jurisdiction(bundled_borrower_request_policies(), jurisdiction, "borrower-request")
