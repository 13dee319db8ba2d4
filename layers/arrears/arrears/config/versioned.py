"""Policies versioned by effective dates, per jurisdiction (`borrower_requests.yaml`, `plans.yaml`).

Each jurisdiction lists its versions, as rulepacks.yaml lists a pack's: `version`, `effective_from`
(inclusive) and, once a later version replaces it, `effective_to` (exclusive: the later version's
`effective_from`). A request is judged by the version in force on its business date, so a changed
limit is a new version and the old one stays for the requests it judged (scripts/released_rules.py
fingerprints each). `in_force` answers that version for a jurisdiction, else for its base (`US-MA`,
`US-WA` and the lender overlays fall back on `US-REGF`; `CN-...` on `CN`); a date before the first
version gets the first, as the rule packs do (a policy is never absent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arrears.domain.versions import version_on

_BASES = {"US": "US-REGF", "LENDER": "US-REGF"}
VALIDITY_FIELDS = ("version", "effective_from", "effective_to")


class _Validity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str = Field(min_length=1, max_length=32)
    effective_from: date
    effective_to: date | None = None


@dataclass(frozen=True, slots=True)
class Version[P]:
    """One version of a jurisdiction's policy: in force from `effective_from` (inclusive) until
    `effective_to` (exclusive; `None`: until replaced), as `arrears.domain.versions` reads them."""

    version: str
    effective_from: date
    effective_to: date | None
    policy: P


def parse_versions[P](
    raw: Mapping[Any, Any] | None,
    build: Callable[[str, str, Mapping[str, Any]], P],
    error: Callable[[str], ValueError],
) -> dict[str, tuple[Version[P], ...]]:
    """Each jurisdiction's versions, oldest first, from `{jurisdiction: [{version, effective_from,
    effective_to?, <policy fields>}, ...]}`; `build(jurisdiction, version, fields)` makes the policy.

    Raises:
        ValueError (from `error`): naming the jurisdiction, the version and the problem: not a list
        (the format before versions), a missing or invalid date, an empty period, a version listed
        twice, versions that do not follow one another (each `effective_to` is the next
        `effective_from`: no gap, no overlap), or a latest version with an `effective_to`.
    """
    parsed: dict[str, tuple[Version[P], ...]] = {}
    for jurisdiction, versions in (raw or {}).items():
        if isinstance(versions, Mapping):
            raise error(
                f"{jurisdiction}: a mapping of fields, the format before versions; list them under "
                "'- version: ..., effective_from: ...' (CHANGELOG, Upgrade)"
            )
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
            if validity.effective_to is not None and validity.effective_to <= validity.effective_from:
                raise error(f"{jurisdiction}@{validity.version}: effective_to is not after effective_from")
            fields = {k: v for k, v in body.items() if k not in VALIDITY_FIELDS}
            policy = build(str(jurisdiction), validity.version, fields)
            found.append(Version(validity.version, validity.effective_from, validity.effective_to, policy))
        found.sort(key=lambda v: v.effective_from)
        names = [v.version for v in found]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise error(f"{jurisdiction}: version {', '.join(twice)} is listed twice")
        for earlier, later in pairwise(found):
            if earlier.effective_to != later.effective_from:
                raise error(
                    f"{jurisdiction}: version {earlier.version} must end (effective_to) on the day "
                    f"{later.version} takes effect, {later.effective_from.isoformat()}"
                )
        if found[-1].effective_to is not None:
            raise error(
                f"{jurisdiction}@{found[-1].version}: the latest version has no effective_to (no successor)"
            )
        parsed[str(jurisdiction)] = tuple(found)
    return parsed


def in_force[P](policies: Mapping[str, tuple[Version[P], ...]], jurisdiction: str, on: date, what: str) -> P:
    """The policy of `jurisdiction` (else of its base) in force on `on`; before its first version, the
    first (versions follow one another without a gap, so no later date is uncovered).

    Raises:
        LookupError: naming `what`, the jurisdiction and its base, when neither has a policy.
    """
    prefix = jurisdiction.split("-", 1)[0]
    base = _BASES.get(prefix, prefix)
    for candidate in (jurisdiction, base):
        if candidate in policies:
            return version_on(policies[candidate], on).policy
    raise LookupError(f"no {what} policy for jurisdiction {jurisdiction} (nor its base {base})")


def by_ref[P](policies: Mapping[str, tuple[Version[P], ...]], ref: str, what: str) -> P:
    """The policy version named `ref` (`<jurisdiction>@<version>`, as a policy's `.ref` gives it and an
    archived record or a plan keeps it), whatever its dates: what judged a request is reread by name.

    Raises:
        LookupError: naming `what` and `ref`, when no such version is bundled (a version is never
        removed once released: scripts/released_rules.py).
    """
    jurisdiction, _, version = ref.partition("@")
    for candidate in policies.get(jurisdiction, ()):
        if candidate.version == version:
            return candidate.policy
    raise LookupError(f"no {what} policy version {ref!r}")
