"""Jurisdiction rule packs: the contact rules in force, with ids, versions and effective dates.

The packs are data: `arrears/config/bundled/rulepacks.yaml` (shipped in the layer), validated by
pydantic when this module loads, with errors that name the source, the field and the problem. A
contact is judged by the pack in force on its day, and every decision receipt names the pack id and
version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from arrears.domain.strategy import Channel

TIMED_CHANNELS = frozenset({Channel.SMS, Channel.EMAIL, Channel.CALL_TASK})


@dataclass(frozen=True, slots=True)
class CallCaps:
    """Voice-contact frequency caps (None = no such cap in this jurisdiction)."""

    connected_per_day: int | None = None  # CN: 3 connected voice contacts a day per debtor
    attempts_per_day_per_number: int | None = None  # CN: 6 call attempts a day to one number
    attempts_per_7_days: int | None = None  # US Reg F: 7 call attempts in 7 consecutive days per debt
    quiet_days_after_conversation: int | None = None  # US Reg F: none within 7 days after a conversation


@dataclass(frozen=True, slots=True)
class RulePack:
    pack_id: str
    version: str
    effective_from: date
    business_timezone: str
    contact_start: time
    contact_end: time
    retention_years: int
    timed_channels: frozenset[Channel] = field(default=TIMED_CHANNELS)
    call_caps: CallCaps = field(default_factory=CallCaps)
    third_party_disclosure: bool = False
    emergency_contacts_when_unreachable: bool = False
    field_visit_min_collectors: int | None = None
    field_visit_recording_required: bool = False
    field_visits_enabled: bool = True
    email_opt_out_required: bool = False
    # Under a cease-contact request only these notices may still go out (e.g. notice of a legal
    # remedy the creditor invokes, Reg F 1006.6(c)(2)); everything else is suppressed.
    cease_contact_allows: frozenset[Channel] = frozenset({Channel.LEGAL, Channel.BUREAU})
    # Collection contact while a dispute is open: none; the bureau may only be told it is disputed.
    dispute_allows: frozenset[Channel] = frozenset()
    effective_to: date | None = None  # exclusive; None = in force until superseded

    @property
    def ref(self) -> str:
        return f"{self.pack_id}@{self.version}"


class RulePackError(ValueError):
    """A rule-pack document is invalid: the message names the source, the pack, the field and the problem."""


class _Hours(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> _Hours:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class _Caps(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    connected_per_day: int | None = Field(default=None, ge=1)
    attempts_per_day_per_number: int | None = Field(default=None, ge=1)
    attempts_per_7_days: int | None = Field(default=None, ge=1)
    quiet_days_after_conversation: int | None = Field(default=None, ge=1)


class _FieldVisit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool
    min_collectors: int | None = Field(default=None, ge=1)
    recording_required: bool = False


class _Pack(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, max_length=32)
    version: str = Field(min_length=1, max_length=32)
    effective_from: date
    effective_to: date | None = None
    business_timezone: str
    contact_hours: _Hours
    retention_years: int = Field(ge=1, le=30)
    call_caps: _Caps = _Caps()
    third_party_disclosure: bool = False
    emergency_contacts_when_unreachable: bool = False
    field_visit: _FieldVisit
    email_opt_out_required: bool = False
    cease_contact_allows: list[Channel] = [Channel.LEGAL, Channel.BUREAU]
    dispute_allows: list[Channel] = []

    @model_validator(mode="after")
    def _zone_and_dates(self) -> _Pack:
        try:
            ZoneInfo(self.business_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"business_timezone {self.business_timezone!r} is not an IANA zone") from None
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")
        return self

    def to_domain(self) -> RulePack:
        return RulePack(
            pack_id=self.id,
            version=self.version,
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            business_timezone=self.business_timezone,
            contact_start=self.contact_hours.start,
            contact_end=self.contact_hours.end,
            retention_years=self.retention_years,
            call_caps=CallCaps(**self.call_caps.model_dump()),
            third_party_disclosure=self.third_party_disclosure,
            emergency_contacts_when_unreachable=self.emergency_contacts_when_unreachable,
            field_visit_min_collectors=self.field_visit.min_collectors,
            field_visit_recording_required=self.field_visit.recording_required,
            field_visits_enabled=self.field_visit.enabled,
            email_opt_out_required=self.email_opt_out_required,
            cease_contact_allows=frozenset(self.cease_contact_allows),
            dispute_allows=frozenset(self.dispute_allows),
        )


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rule_packs: list[_Pack] = Field(min_length=1)


def parse_rule_packs(text: str, source: str) -> dict[str, tuple[RulePack, ...]]:
    """Every version per jurisdiction, oldest first, from a YAML document."""
    try:
        document = _Document.model_validate(yaml.safe_load(text))
    except yaml.YAMLError as error:
        raise RulePackError(f"{source}: not YAML: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(document)'}: {e['msg']}" for e in error.errors()
        )
        raise RulePackError(f"{source}: {problems}") from None
    history: dict[str, list[RulePack]] = {}
    for pack in document.rule_packs:
        history.setdefault(pack.id, []).append(pack.to_domain())
    for pack_id, versions in history.items():
        versions.sort(key=lambda p: p.effective_from)
        refs = [p.version for p in versions]
        if len(refs) != len(set(refs)):
            raise RulePackError(f"{source}: rule_packs {pack_id}: duplicate version in {refs}")
    return {pack_id: tuple(versions) for pack_id, versions in history.items()}


BUNDLED_RULE_PACKS = "rulepacks.yaml"


def bundled_rule_packs_text() -> str:
    return resources.files("arrears.config.bundled").joinpath(BUNDLED_RULE_PACKS).read_text(encoding="utf-8")


RULE_PACK_HISTORY: dict[str, tuple[RulePack, ...]] = parse_rule_packs(
    bundled_rule_packs_text(), f"bundled {BUNDLED_RULE_PACKS}"
)
"""Every version per jurisdiction, oldest first: a contact is judged by the pack of its day."""

RULE_PACKS: dict[str, RulePack] = {pack_id: versions[-1] for pack_id, versions in RULE_PACK_HISTORY.items()}
"""The pack currently in force per jurisdiction (the latest version)."""

CN_PACK = RULE_PACKS["CN"]
US_REGF_PACK = RULE_PACKS["US-REGF"]


def rule_pack_for(jurisdiction: str, on: date | None = None) -> RulePack:
    """The pack in force for `jurisdiction` on `on` (the latest one without a date).

    A day before the first pack's effective date is judged by the first pack: rules are never
    absent for a jurisdiction we know.
    """
    history = RULE_PACK_HISTORY.get(jurisdiction)
    if not history:
        raise ValueError(f"no rule pack for jurisdiction {jurisdiction!r}; known: {sorted(RULE_PACKS)}")
    if on is None:
        return RULE_PACKS[jurisdiction]
    chosen = history[0]
    for pack in history:
        if pack.effective_from <= on and (pack.effective_to is None or on < pack.effective_to):
            chosen = pack
    return chosen
