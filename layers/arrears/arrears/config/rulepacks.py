"""Loading the jurisdiction rule packs (YAML) into `arrears.domain.rulepacks` types, validated by pydantic.

The document has `rule_packs` (the bases: one entry per version of a federal or national pack) and
`overlays` (state and lender-policy layers composed on top of a base per borrower). Every rule a
layer sets must carry its citation (`citations:`, rule name -> regulation and section or the
lender's policy id); a pack's per-deployment choices live in its `settings:` block.

The packs ship in the layer as `arrears/config/bundled/rulepacks.yaml`, the only copy. The bundled
document is read on first use (`bundled_rule_packs`, cached for the life of the process), never at
import. Every problem is reported as `<source>: <field path>: <problem>` (`RulePackError`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from arrears.domain.bureau import BureauPrecondition
from arrears.domain.business_time import business_date
from arrears.domain.call_limits import CallLimits, ContactLimit, Scope
from arrears.domain.compliance import HOLD_RULES
from arrears.domain.limitation import LIMITATION_KNOWN_RULE, LimitationRule
from arrears.domain.optouts import ReplyKeywords, normalise_keyword
from arrears.domain.retention import RetentionFrom
from arrears.domain.rulepacks import (
    CALL_LIMIT_RULES,
    ELECTRONIC_CHANNELS,
    DeployerRole,
    OptOutNotice,
    Overlay,
    PackSettings,
    RulePack,
    RulePackHistory,
)
from arrears.domain.strategy import Channel
from arrears.domain.validation_notice import ItemizationDate, NoticeParties, ValidationNoticeRule

__all__ = [
    "BUNDLED_RULE_PACKS",
    "RulePackError",
    "bundled_rule_packs",
    "bundled_rule_packs_text",
    "parse_rule_packs",
    "rule_pack_for",
    "rule_pack_in_force",
]

BUNDLED_RULE_PACKS = "rulepacks.yaml"


class RulePackError(ValueError):
    """A rule-pack document is invalid: the message names the source, the pack, the field and the problem."""


class _Hours(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> _Hours:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class _CallLimits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    connected_per_day: int | None = Field(default=None, ge=1)
    attempts_per_day_per_number: int | None = Field(default=None, ge=1)
    attempts_per_7_days: int | None = Field(default=None, ge=1)
    quiet_days_after_conversation: int | None = Field(default=None, ge=1)


class _ContactLimit(BaseModel):
    """A frequency limit: at most `max` contacts on `channels` in any `days` consecutive days, per `scope`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rule: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    channels: list[Channel] = Field(min_length=1)
    max: int = Field(ge=1)
    days: int = Field(ge=1, le=30)
    scope: Scope
    citation: str = Field(min_length=1)

    def to_domain(self, layer: str) -> ContactLimit:
        return ContactLimit(
            rule=self.rule,
            channels=frozenset(channel.value for channel in self.channels),
            max_contacts=self.max,
            days=self.days,
            scope=self.scope,
            citation=self.citation,
            layer=layer,
        )


class _Settings(BaseModel):
    """A base pack's per-deployment settings (see `arrears.domain.rulepacks.PackSettings`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    deployer_role: DeployerRole = DeployerRole.DEBT_COLLECTOR

    def to_domain(self) -> PackSettings:
        return PackSettings(deployer_role=self.deployer_role)


def _rules_set(pack: _Pack | _Overlay) -> set[str]:
    """The rule names a layer sets, each of which needs a citation: a base pack's hold rules
    (`HOLD_RULES`, which every receipt attributes to the base) and, where it names the rule against
    suing on a time-barred debt, `limitation_period_known`; its contact hours and call caps."""
    rules: set[str] = set(HOLD_RULES) if isinstance(pack, _Pack) else set()
    if isinstance(pack, _Pack) and pack.time_barred_debt:
        rules.add(LIMITATION_KNOWN_RULE)  # the hold while a borrower's state's period is unknown
    if pack.contact_hours is not None:
        rules.add("contact_hours")
    if pack.call_caps is not None:
        for attribute, rule in CALL_LIMIT_RULES:
            if getattr(pack.call_caps, attribute) is not None:
                rules.add(rule)
    return rules


def _check_citations(pack: _Pack | _Overlay) -> None:
    missing = sorted(_rules_set(pack) - set(pack.citations))
    if missing:
        raise ValueError(f"citations: no citation for {missing}")


class _FieldVisit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    enabled: bool
    min_collectors: int | None = Field(default=None, ge=1)
    recording_required: bool = False


class _OptOutNotice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    citation: str = Field(min_length=1)
    lines: dict[Channel, dict[str, str]] = Field(min_length=1)

    @model_validator(mode="after")
    def _worded(self) -> _OptOutNotice:
        for channel, wording in self.lines.items():
            if channel not in ELECTRONIC_CHANNELS:
                raise ValueError(f"{channel.value} carries no written message: an opt-out line cannot apply")
            if "en" not in wording:
                raise ValueError(f"{channel.value}: an `en` line is required (the fallback language)")
            for language, line in wording.items():
                try:
                    formatted = line.format(opt_out_url="")
                except (KeyError, IndexError, ValueError):
                    raise ValueError(
                        f"{channel.value} {language}: only {{opt_out_url}} may be filled in"
                    ) from None
                if not formatted.strip():
                    raise ValueError(f"{channel.value} {language}: the line is empty")
        return self

    def to_domain(self) -> OptOutNotice:
        return OptOutNotice(
            self.citation,
            tuple(
                (channel, tuple(sorted(wording.items())))
                for channel, wording in sorted(self.lines.items(), key=lambda item: item[0].value)
            ),
        )


class _BureauPrecondition(BaseModel):
    """`bureau_precondition:` the notice a bureau report waits for (`arrears.domain.bureau`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    citation: str = Field(min_length=1)
    wait_days: int = Field(ge=0, le=365)
    notice_channels: list[Channel] = Field(min_length=1)
    notice_templates: list[str] = []
    notice_lines: dict[str, str] = {}

    @model_validator(mode="after")
    def _notice(self) -> _BureauPrecondition:
        if not set(self.notice_channels) <= ELECTRONIC_CHANNELS:
            raise ValueError("notice_channels: only channels that deliver a written message to the borrower")
        if self.notice_lines and "en" not in self.notice_lines:
            raise ValueError("notice_lines: an `en` line is required (the fallback language)")
        if self.notice_lines and not self.notice_templates:
            raise ValueError("notice_lines need notice_templates: the messages that carry them")
        return self

    def to_domain(self) -> BureauPrecondition:
        return BureauPrecondition(
            citation=self.citation,
            wait_days=self.wait_days,
            notice_channels=frozenset(self.notice_channels),
            notice_templates=frozenset(self.notice_templates),
            notice_lines=tuple(sorted(self.notice_lines.items())),
        )


class _NoticeParties(BaseModel):
    """`validation_notice.parties:` the deployer's names and mailing address the notice states."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    collector_name: str = Field(min_length=1)
    collector_mailing_address: str = Field(min_length=1)
    creditor_name: str = Field(min_length=1)
    citation: str = Field(min_length=1)

    def to_domain(self) -> NoticeParties:
        return NoticeParties(
            collector_name=self.collector_name,
            collector_mailing_address=self.collector_mailing_address,
            creditor_name=self.creditor_name,
            citation=" ".join(self.citation.split()),
        )


class _ValidationNotice(BaseModel):
    """`validation_notice:` the Reg F validation notice duty (`arrears.domain.validation_notice`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    citation: str = Field(min_length=1)
    itemization_date: ItemizationDate
    itemization_citation: str = Field(min_length=1)
    receipt_days: int = Field(default=5, ge=0, le=30)
    validation_days: int = Field(default=30, ge=30, le=365)
    with_channels: list[Channel] = Field(min_length=1)
    defer_until_period_end: list[Channel] = []
    parties: _NoticeParties

    def to_domain(self) -> ValidationNoticeRule:
        return ValidationNoticeRule(
            citation=" ".join(self.citation.split()),
            itemization_date=self.itemization_date,
            itemization_citation=" ".join(self.itemization_citation.split()),
            receipt_days=self.receipt_days,
            validation_days=self.validation_days,
            with_channels=frozenset(self.with_channels),
            defer_until_period_end=frozenset(self.defer_until_period_end),
            parties=self.parties.to_domain(),
        )


class _Limitation(BaseModel):
    """`limitation:` the limitation period (`arrears.domain.limitation`): years from the default."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    years: int = Field(ge=1, le=30)
    citation: str = Field(min_length=1)

    def to_domain(self) -> LimitationRule:
        return LimitationRule(years=self.years, citation=" ".join(self.citation.split()))


class _ReplyKeywords(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    citations: list[str] = Field(min_length=1)
    opt_out: list[str] = Field(min_length=1)
    opt_in: list[str] = []

    @model_validator(mode="after")
    def _distinct(self) -> _ReplyKeywords:
        both = {normalise_keyword(w) for w in self.opt_out} & {normalise_keyword(w) for w in self.opt_in}
        if both:
            raise ValueError(f"{sorted(both)} cannot both opt out and opt in")
        if any(not normalise_keyword(word) for word in self.opt_out + self.opt_in):
            raise ValueError("a keyword is empty")
        return self

    def to_domain(self) -> ReplyKeywords:
        return ReplyKeywords(
            frozenset(normalise_keyword(word) for word in self.opt_out),
            frozenset(normalise_keyword(word) for word in self.opt_in),
            tuple(self.citations),
        )


class _Pack(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    id: str = Field(min_length=1, max_length=32)
    version: str = Field(min_length=1, max_length=32)
    effective_from: date
    effective_to: date | None = None
    business_timezone: str
    contact_hours: _Hours
    retention_years: int = Field(ge=1, le=30)
    retention_from: RetentionFrom = RetentionFrom.RECORD
    call_caps: _CallLimits = _CallLimits()
    field_visit: _FieldVisit
    opt_out_notice: _OptOutNotice | None = None
    reply_keywords: _ReplyKeywords | None = None
    cease_contact_allows: list[Channel] = [Channel.LEGAL, Channel.BUREAU]
    dispute_allows: list[Channel] = []
    bureau_precondition: _BureauPrecondition | None = None
    validation_notice: _ValidationNotice | None = None
    contact_limits: list[_ContactLimit] = []
    settings: _Settings = _Settings()
    limitation: _Limitation | None = None
    time_barred_debt: str = ""  # the rule against suing or threatening suit on a time-barred debt
    citations: dict[str, str] = {}
    collector_only: list[str] = []

    @model_validator(mode="after")
    def _zone_and_dates(self) -> _Pack:
        try:
            ZoneInfo(self.business_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"business_timezone {self.business_timezone!r} is not an IANA zone") from None
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")
        _check_citations(self)
        known = _rules_set(self) | {"opt_out_notice"} | {limit.rule for limit in self.contact_limits}
        if self.bureau_precondition is not None:
            known.add("bureau_precondition")
        if self.validation_notice is not None:
            known.add("validation_notice")
        unknown = sorted(set(self.collector_only) - known)
        if unknown:
            raise ValueError(f"collector_only: {unknown} are not rules of this pack")
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
            retention_from=self.retention_from,
            call_limits=CallLimits(**self.call_caps.model_dump()),
            field_visit_min_collectors=self.field_visit.min_collectors,
            field_visit_recording_required=self.field_visit.recording_required,
            field_visits_enabled=self.field_visit.enabled,
            opt_out_notice=self.opt_out_notice.to_domain() if self.opt_out_notice else None,
            reply_keywords=self.reply_keywords.to_domain() if self.reply_keywords else None,
            cease_contact_allows=frozenset(self.cease_contact_allows),
            dispute_allows=frozenset(self.dispute_allows),
            bureau_precondition=self.bureau_precondition.to_domain() if self.bureau_precondition else None,
            validation_notice=self.validation_notice.to_domain() if self.validation_notice else None,
            contact_limits=tuple(
                limit.to_domain(f"{self.id}@{self.version}") for limit in self.contact_limits
            ),
            settings=self.settings.to_domain(),
            limitation=self.limitation.to_domain() if self.limitation else None,
            time_barred_citation=" ".join(self.time_barred_debt.split()),
            citations=tuple(sorted(self.citations.items())),
            collector_only=frozenset(self.collector_only),
        )


class _AppliesTo(BaseModel):
    """Which borrowers an overlay binds: loans of `base`, living in one of `address_states` (empty =
    all of the base's borrowers, as a lender policy), under a deployer of one of `roles` (empty = any)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    base: str = Field(min_length=1)
    address_states: list[str] = []
    roles: list[DeployerRole] = []


class _Overlay(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, max_length=32)
    version: str = Field(min_length=1, max_length=32)
    effective_from: date
    effective_to: date | None = None
    applies_to: _AppliesTo
    contact_hours: _Hours | None = None
    call_caps: _CallLimits | None = None
    contact_limits: list[_ContactLimit] = []
    field_visits_enabled: bool | None = None
    limitation: _Limitation | None = None
    citations: dict[str, str] = {}

    @model_validator(mode="after")
    def _cited(self) -> _Overlay:
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")
        _check_citations(self)
        if self.field_visits_enabled is not None and "field_visits_enabled" not in self.citations:
            raise ValueError("citations: no citation for ['field_visits_enabled']")
        return self

    def to_domain(self) -> Overlay:
        ref = f"{self.id}@{self.version}"
        return Overlay(
            overlay_id=self.id,
            version=self.version,
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            base=self.applies_to.base,
            address_states=frozenset(state.upper() for state in self.applies_to.address_states),
            roles=frozenset(self.applies_to.roles),
            contact_start=self.contact_hours.start if self.contact_hours else None,
            contact_end=self.contact_hours.end if self.contact_hours else None,
            call_limits=CallLimits(**self.call_caps.model_dump()) if self.call_caps else CallLimits(),
            contact_limits=tuple(limit.to_domain(ref) for limit in self.contact_limits),
            field_visits_enabled=self.field_visits_enabled,
            citations=tuple(sorted(self.citations.items())),
            limitation=self.limitation.to_domain() if self.limitation else None,
        )


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    rule_packs: list[_Pack] = Field(min_length=1)
    overlays: list[_Overlay] = []


def parse_rule_packs(text: str, source: str) -> RulePackHistory:
    """Every version per jurisdiction, oldest first, from a YAML document; `source` names it in errors.

    Raises `RulePackError` for text that is not YAML, a document that breaks the schema, or a
    jurisdiction that lists one version twice.
    """
    import yaml  # on first parse, not at import (a handler module imports this module)

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
    overlays: dict[str, list[Overlay]] = {}
    for overlay in document.overlays:
        overlays.setdefault(overlay.id, []).append(overlay.to_domain())
    for kind, layers in (("rule_packs", history), ("overlays", overlays)):
        for layer_id, versions in layers.items():
            refs = [p.version for p in versions]
            if len(refs) != len(set(refs)):
                raise RulePackError(f"{source}: {kind} {layer_id}: duplicate version in {refs}")
    try:
        return RulePackHistory(
            {pack_id: tuple(versions) for pack_id, versions in history.items()},
            {overlay_id: tuple(versions) for overlay_id, versions in overlays.items()},
        )
    except ValueError as error:
        raise RulePackError(f"{source}: {error}") from None


def bundled_rule_packs_text() -> str:
    """The bundled document's text (read from the installed package on every call)."""
    return resources.files("arrears.config.bundled").joinpath(BUNDLED_RULE_PACKS).read_text(encoding="utf-8")


@cache
def bundled_rule_packs() -> RulePackHistory:
    """The bundled packs, read and validated on first use and cached for the life of the process."""
    return parse_rule_packs(bundled_rule_packs_text(), f"bundled {BUNDLED_RULE_PACKS}")


def rule_pack_for(jurisdiction: str, on: date | None = None) -> RulePack:
    """The bundled pack in force for `jurisdiction` on business date `on` (the latest without a date).

    See `RulePackHistory.in_force`; an unknown jurisdiction raises `ValueError`.
    """
    return bundled_rule_packs().in_force(jurisdiction, on)


def rule_pack_in_force(
    jurisdiction: str, at: datetime, packs: RulePackHistory | None = None, *, address_state: str | None = None
) -> RulePack:
    """The pack that judges a contact made at the aware instant `at`: the version in force on `at`'s
    business date in the jurisdiction (a version with a later effective date does not apply yet).
    `packs` defaults to the bundled ones.

    With `address_state` (the borrower's two-letter state or region code; "" when unknown) the pack is
    composed: the base plus every overlay in force that binds that borrower (`RulePackHistory.composed`).
    """
    history = packs if packs is not None else bundled_rule_packs()
    zone_of = history.in_force(jurisdiction)  # every version of a jurisdiction shares its business zone
    on = business_date(at, zone_of)
    if address_state is None:
        return history.in_force(jurisdiction, on)
    return history.composed(jurisdiction, on, address_state)
