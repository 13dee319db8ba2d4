"""Policies versioned by effective dates, per jurisdiction (`borrower_requests.yaml`, `plans.yaml`).

Each jurisdiction lists its versions, as rulepacks.yaml lists a pack's: `version`, `effective_from`
and, once a later version replaces it, `effective_to` (the last day it is in force, inclusive). A
request is judged by the version in force on its business date, so a changed limit is a new version
and the old one stays for the requests it judged (scripts/released_rules.py fingerprints each).
`in_force` answers that version for a jurisdiction, else for its base (`US-MA`, `US-WA` and the lender
overlays fall back on `US-REGF`; `CN-...` on `CN`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

_BASES = {"US": "US-REGF", "LENDER": "US-REGF"}
VALIDITY_FIELDS = ("version", "effective_from", "effective_to")


class _Validity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str = Field(min_length=1, max_length=32)
    effective_from: date
    effective_to: date | None = None


@dataclass(frozen=True, slots=True)
class Version[P]:
    """One version of a jurisdiction's policy: in force from `effective_from` to `effective_to`
    (inclusive; `None`: until replaced)."""

    version: str
    effective_from: date
    effective_to: date | None
    policy: P

    def covers(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


def parse_versions[P](
    raw: Mapping[Any, Any] | None,
    build: Callable[[str, str, Mapping[str, Any]], P],
    error: Callable[[str], ValueError],
) -> dict[str, tuple[Version[P], ...]]:
    """Each jurisdiction's versions, oldest first, from `{jurisdiction: [{version, effective_from,
    effective_to?, <policy fields>}, ...]}`; `build(jurisdiction, version, fields)` makes the policy.

    Raises:
        ValueError (from `error`): naming the jurisdiction, the version and the problem: not a list,
        a missing or invalid date, a version listed twice, or versions whose periods overlap or leave
        a version open (`effective_to` missing) before a later one.
    """
    parsed: dict[str, tuple[Version[P], ...]] = {}
    for jurisdiction, versions in (raw or {}).items():
        if not isinstance(versions, list) or not versions:
            raise error(f"{jurisdiction}: a list of versions (version, effective_from, fields)")
        found: list[Version[P]] = []
        for index, body in enumerate(versions):
            if not isinstance(body, Mapping):
                raise error(f"{jurisdiction}[{index}]: a mapping of fields")
            try:
                validity = _Validity.model_validate({k: body[k] for k in VALIDITY_FIELDS if k in body})
            except ValidationError as invalid:
                first = invalid.errors()[0]
                raise error(
                    f"{jurisdiction}[{index}].{'.'.join(map(str, first['loc']))}: {first['msg']}"
                ) from None
            fields = {k: v for k, v in body.items() if k not in VALIDITY_FIELDS}
            policy = build(str(jurisdiction), validity.version, fields)
            found.append(Version(validity.version, validity.effective_from, validity.effective_to, policy))
        found.sort(key=lambda v: v.effective_from)
        names = [v.version for v in found]
        if len(set(names)) != len(names):
            raise error(f"{jurisdiction}: a version is listed twice ({', '.join(names)})")
        for earlier, later in pairwise(found):
            if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
                raise error(
                    f"{jurisdiction}: version {earlier.version} must end (effective_to) before "
                    f"{later.version} takes effect on {later.effective_from.isoformat()}"
                )
        parsed[str(jurisdiction)] = tuple(found)
    return parsed


def in_force[P](policies: Mapping[str, tuple[Version[P], ...]], jurisdiction: str, on: date, what: str) -> P:
    """The policy of `jurisdiction` (else of its base) in force on `on`.

    Raises:
        LookupError: naming `what`, when the jurisdiction and its base have no policy, or none is in
        force on `on`.
    """
    prefix = jurisdiction.split("-", 1)[0]
    for candidate in (jurisdiction, _BASES.get(prefix, prefix)):
        if candidate in policies:
            for version in policies[candidate]:
                if version.covers(on):
                    return version.policy
            raise LookupError(f"no {what} policy of {candidate} in force on {on.isoformat()}")
    raise LookupError(f"no {what} policy for jurisdiction {jurisdiction}")
