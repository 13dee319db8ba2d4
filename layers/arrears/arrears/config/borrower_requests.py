"""Loading the borrower-request policy (`bundled/borrower_requests.yaml`), validated by pydantic.

`borrower_request_policy(jurisdiction, on)` answers the version in force on a request's business date
of a loan's jurisdiction's policy: its own entry, else that of its base (`US-MA`, `US-WA` and the lender
overlays fall back on `US-REGF`; `arrears.config.versioned`). Every value carries its source, so a
refusal can cite it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arrears.config.versioned import Version, in_force, parse_versions
from arrears.domain.borrower_requests import BorrowerRequestPolicy

BUNDLED_BORROWER_REQUESTS = "borrower_requests.yaml"


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


def _policy(jurisdiction: str, version: str, body: Mapping[str, Any]) -> BorrowerRequestPolicy:
    try:
        model = _Policy.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BorrowerRequestPolicyError(f"{jurisdiction}@{version}.{where}: {first['msg']}") from None
    fields = model.model_dump()
    return BorrowerRequestPolicy(
        jurisdiction=jurisdiction,
        version=version,
        sources={name: cited["source"] for name, cited in fields.items()},
        **{name: cited["value"] for name, cited in fields.items()},
    )


def parse_borrower_request_policies(text: str) -> dict[str, tuple[Version[BorrowerRequestPolicy], ...]]:
    """Each jurisdiction's versions of the policy; `BorrowerRequestPolicyError` naming the jurisdiction,
    the version, the field and the problem."""
    return parse_versions(yaml.safe_load(text), _policy, BorrowerRequestPolicyError)


@cache
def bundled_borrower_request_policies() -> dict[str, tuple[Version[BorrowerRequestPolicy], ...]]:
    text = resources.files("arrears.config.bundled").joinpath(BUNDLED_BORROWER_REQUESTS).read_text("utf-8")
    return parse_borrower_request_policies(text)


def borrower_request_policy(jurisdiction: str, on: date) -> BorrowerRequestPolicy:
    """The policy of `jurisdiction` (or of its base) in force on the business date `on`; `LookupError`
    when there is none."""
    return in_force(bundled_borrower_request_policies(), jurisdiction, on, "borrower-request")
