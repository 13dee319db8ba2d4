"""Jurisdiction rule packs: the contact rules in force, with ids, versions, effective dates and sources.

A pack is data (the YAML document is read and validated by `arrears.config.rulepacks`); this module
holds the types and how layers combine (`compose`). A pack a contact is judged by is a **base** (the
federal or national rules of the loan's governing law: `US-REGF`, `CN`) plus the **overlays** that
apply to the borrower (a US state of their address, a lender's own stricter policy), each layer in the
version in force on the contact's day. Per rule the strictest layer wins (`compose`), and the
composed pack remembers, per rule, which layer set it and that layer's citation (`RulePack.source`),
so a receipt can name the layer that decided. Every receipt names the layers' versions
(`RulePack.ref`, e.g. `US-REGF@2026.1+US-MA@2026.1`). The bundled rules, with their citations, are
tabled in docs/compliance.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, time
from enum import StrEnum

from arrears.domain.bureau import BUREAU_PRECONDITION_RULE, BureauPrecondition
from arrears.domain.call_limits import CallLimits, ContactLimit
from arrears.domain.limitation import LIMITATION_RULE, LimitationRule
from arrears.domain.optouts import ReplyKeywords
from arrears.domain.retention import RetentionFrom
from arrears.domain.strategy import Channel
from arrears.domain.validation_notice import ValidationNoticeRule
from arrears.domain.versions import in_force_on, version_on

TIMED_CHANNELS = frozenset({Channel.SMS, Channel.EMAIL, Channel.CALL_TASK})
"""Channels that reach the borrower at a moment, and so only inside the contact hours."""


ELECTRONIC_CHANNELS = frozenset({Channel.SMS, Channel.EMAIL})
"""Channels that carry a written electronic message to the borrower (an opt-out notice applies to them)."""


@dataclass(frozen=True, slots=True)
class OptOutNotice:
    """The opt-out instruction a pack requires in electronic messages: the law that requires it, and
    for each channel it applies to, its wording per language (`{opt_out_url}` may appear in a line).

    `lines` is ((channel, ((language, line), ...)), ...); every channel has an `en` line, the
    fallback for a language the pack does not word.
    """

    citation: str
    lines: tuple[tuple[Channel, tuple[tuple[str, str], ...]], ...]

    @property
    def channels(self) -> frozenset[Channel]:
        return frozenset(channel for channel, _ in self.lines)

    def wording(self, channel: Channel) -> dict[str, str]:
        """The line per language for `channel`; empty when the notice does not apply to it."""
        for each, lines in self.lines:
            if each is channel:
                return dict(lines)
        return {}


class DeployerRole(StrEnum):
    """Who collects, which decides whether Regulation F binds the deployer (12 CFR 1006.2(i): a
    "debt collector" collects debts owed or due another; a creditor collecting its own debts in its own
    name is not one). The deployer states it in the base pack's `settings.deployer_role`."""

    CREDITOR = "creditor"
    DEBT_COLLECTOR = "debt_collector"


@dataclass(frozen=True, slots=True)
class PackSettings:
    """Per-pack settings the deployer decides (the YAML `settings:` block of a base pack).

    `deployer_role`: see `DeployerRole`; rules a pack marks `collector_only` apply only to a
    `debt_collector` deployment. Other features add their settings here, one field each.
    """

    deployer_role: DeployerRole = DeployerRole.DEBT_COLLECTOR


@dataclass(frozen=True, slots=True)
class RuleSource:
    """Where a rule of a composed pack comes from: the layer (`<id>@<version>`) and its citation."""

    layer: str
    citation: str

    def __str__(self) -> str:
        return f"{self.layer} ({self.citation})"


@dataclass(frozen=True, slots=True)
class RulePack:
    """One version of one jurisdiction's contact rules.

    `contact_start`/`contact_end`: the lawful window, [start, end) in the borrower's local time.
    `business_timezone`: the zone whose calendar dates are the jurisdiction's business dates.
    `effective_from` (inclusive) / `effective_to` (exclusive, None = until superseded): the
    business dates the version is in force. `retention_years`: how long archived records are kept.
    """

    pack_id: str
    version: str
    effective_from: date
    business_timezone: str
    contact_start: time
    contact_end: time
    retention_years: int
    # Counted from each record's day, or from the last collection activity on the debt
    # (arrears.domain.retention).
    retention_from: RetentionFrom = RetentionFrom.RECORD
    timed_channels: frozenset[Channel] = field(default=TIMED_CHANNELS)
    call_limits: CallLimits = field(default_factory=CallLimits)
    field_visit_min_collectors: int | None = None
    field_visit_recording_required: bool = False
    field_visits_enabled: bool = True
    # The opt-out instruction every electronic message on its channels must carry (US Reg F
    # 12 CFR 1006.6(e): e-mails and texts); None = no such requirement.
    opt_out_notice: OptOutNotice | None = None
    # The words of a text reply that opt the borrower out of (or back into) texts, with their sources
    # (arrears.domain.optouts); None = the pack names none.
    reply_keywords: ReplyKeywords | None = None
    # Under a cease-contact request only these notices may still go out (e.g. notice of a legal
    # remedy the creditor invokes, Reg F 1006.6(c)(2)); everything else is suppressed.
    cease_contact_allows: frozenset[Channel] = frozenset({Channel.LEGAL, Channel.BUREAU})
    # Collection contact while a dispute is open: none; the bureau may only be told it is disputed.
    dispute_allows: frozenset[Channel] = frozenset()
    # A bureau report waits until the borrower was told (`arrears.domain.bureau`); None = no precondition.
    bureau_precondition: BureauPrecondition | None = None
    # Reg F validation notice with the first communication (arrears.domain.validation_notice); None = none.
    validation_notice: ValidationNoticeRule | None = None
    effective_to: date | None = None  # exclusive; None = in force until superseded
    # Frequency limits counted on the contact ledger (per debt or per borrower, over rolling days).
    contact_limits: tuple[ContactLimit, ...] = ()
    settings: PackSettings = field(default_factory=PackSettings)
    # The limitation period (arrears.domain.limitation): no legal step and no threat of suit after
    # it; None = this layer sets none (a US base: each state's overlay does).
    limitation: LimitationRule | None = None
    # The rule that forbids suing or threatening suit on a time-barred debt (US: 12 CFR 1006.26(b));
    # "" when the limitation period's own law is the only source.
    time_barred_citation: str = ""
    # Rule name -> citation, as the pack's document states them (a base pack's own rules).
    citations: tuple[tuple[str, str], ...] = ()
    # Rules that are Regulation F's own (apply only when the deployer is a debt collector).
    collector_only: frozenset[str] = frozenset()
    # Set by `compose`: the layers (`<id>@<version>`, base first) and, per rule, the deciding layer.
    layers: tuple[str, ...] = ()
    sources: tuple[tuple[str, RuleSource], ...] = ()

    def source(self, rule: str) -> RuleSource:
        """The layer that set `rule` and its citation; the pack itself when no layer is recorded."""
        for name, source in self.sources:
            if name == rule:
                return source
        return RuleSource(self.own_ref, self.citation(rule))

    def citation(self, rule: str) -> str:
        """This layer's own source for `rule` (a rule name as receipts record it): its `citations`
        entry, else the citation a structured rule carries (a frequency limit, the limitation period
        or the rule against suing on a time-barred debt, the bureau precondition, the validation
        notice, the opt-out notice); `NOT_CITED` when the layer names none."""
        own = _cited(rule, self.citations, self.contact_limits, self.limitation)
        if own:
            return own
        structured = {
            LIMITATION_RULE: self.time_barred_citation,
            BUREAU_PRECONDITION_RULE: self.bureau_precondition.citation if self.bureau_precondition else "",
            "validation_notice": self.validation_notice.citation if self.validation_notice else "",
            "opt_out_notice": self.opt_out_notice.citation if self.opt_out_notice else "",
        }
        return structured.get(rule) or NOT_CITED

    def decided_by(self, rule: str) -> str:
        """`<layer>@<version>` of the layer whose rule `rule` decided (for receipts and metrics)."""
        return self.source(rule).layer

    @property
    def email_opt_out_required(self) -> bool:
        return self.opt_out_notice is not None and Channel.EMAIL in self.opt_out_notice.channels

    def opt_out_wording(self, channel: Channel) -> dict[str, str]:
        """The opt-out line per language a message on `channel` must carry; empty when none."""
        return self.opt_out_notice.wording(channel) if self.opt_out_notice is not None else {}

    @property
    def own_ref(self) -> str:
        """`<pack_id>@<version>` of this layer alone."""
        return f"{self.pack_id}@{self.version}"

    @property
    def ref(self) -> str:
        """As receipts and contact records name the pack: `<pack_id>@<version>`, and for a composed
        pack every layer in force, base first, joined by `+` (`US-REGF@2026.1+US-MA@2026.1`)."""
        return "+".join(self.layers) if self.layers else self.own_ref


@dataclass(frozen=True, slots=True)
class Overlay:
    """One version of an overlay: rules added on top of a base pack for the borrowers it applies to.

    Applies to a loan of base `base` when the borrower's address state is in `address_states` (empty
    = every borrower of the base: a lender policy) and the deployer's role is in `roles` (empty = any).
    Every value is optional; each carries its citation in `citations` (rule name -> citation).
    `contact_start`/`contact_end` narrow the window; `call_limits` fields lower the caps;
    `contact_limits` add limits; `field_visits_enabled=False` forbids visits.
    """

    overlay_id: str
    version: str
    effective_from: date
    base: str
    address_states: frozenset[str] = frozenset()
    roles: frozenset[DeployerRole] = frozenset()
    contact_start: time | None = None
    contact_end: time | None = None
    call_limits: CallLimits = field(default_factory=CallLimits)
    contact_limits: tuple[ContactLimit, ...] = ()
    field_visits_enabled: bool | None = None
    citations: tuple[tuple[str, str], ...] = ()
    effective_to: date | None = None
    # A state's statute of limitations (years and citation); composed with the base's, shortest wins.
    limitation: LimitationRule | None = None

    @property
    def ref(self) -> str:
        return f"{self.overlay_id}@{self.version}"

    def citation(self, rule: str) -> str:
        """This overlay's source for `rule`: its `citations` entry, else its frequency limit's or
        limitation period's citation; `NOT_CITED` when it names none."""
        return _cited(rule, self.citations, self.contact_limits, self.limitation) or NOT_CITED

    def applies(self, address_state: str, role: DeployerRole) -> bool:
        """Whether this overlay binds a borrower whose address is in `address_state` (two-letter code)."""
        if self.roles and role not in self.roles:
            return False
        return not self.address_states or address_state.upper() in self.address_states


NOT_CITED = "citation not recorded"
"""What a layer answers for a rule it states no source for."""


def _cited(
    rule: str,
    citations: tuple[tuple[str, str], ...],
    limits: tuple[ContactLimit, ...],
    limitation: LimitationRule | None,
) -> str:
    """A layer's `citations` entry for `rule`, else its frequency limit's or limitation period's
    citation; "" when none."""
    for name, citation in citations:
        if name == rule:
            return citation
    for limit in limits:
        if limit.rule == rule:
            return limit.citation
    return limitation.citation if rule == LIMITATION_RULE and limitation is not None else ""


CALL_LIMIT_RULES = (
    ("connected_per_day", "call_connected_per_day"),
    ("attempts_per_day_per_number", "call_attempts_per_day"),
    ("attempts_per_7_days", "call_attempts_7_days"),
    ("quiet_days_after_conversation", "call_after_conversation"),
)
"""(CallLimits field, the rule name receipts use for it)."""


def _without_collector_duties(base: RulePack) -> RulePack:
    """The base as it binds a creditor collecting its own debts: its `collector_only` rules dropped."""
    off = base.collector_only
    limits = base.call_limits
    for attribute, rule in CALL_LIMIT_RULES:
        if rule in off:
            limits = replace(limits, **{attribute: None})
    return replace(
        base,
        call_limits=limits,
        opt_out_notice=None if "opt_out_notice" in off else base.opt_out_notice,
        bureau_precondition=None if "bureau_precondition" in off else base.bureau_precondition,
        validation_notice=None if "validation_notice" in off else base.validation_notice,
        contact_limits=tuple(limit for limit in base.contact_limits if limit.rule not in off),
        # No federal time-of-day rule binds a creditor: a window of the whole day, unless an overlay
        # (the lender's policy, a state) narrows it.
        contact_start=time(0) if "contact_hours" in off else base.contact_start,
        contact_end=time.max if "contact_hours" in off else base.contact_end,
    )


def compose(base: RulePack, overlays: Iterable[Overlay]) -> RulePack:
    """The pack a contact is judged by: `base` (as it binds the deployer's role) plus `overlays`.

    Strictest wins, per rule: the latest contact-hours start and the earliest end; the lowest of each
    call cap; every contact limit of every layer (each counted on its own); field visits only if no
    layer forbids them; the shortest limitation period. Each rule's deciding layer and citation is
    recorded (`RulePack.source`); on a tie the base (then the earlier overlay) keeps it.
    """
    pack = base
    if base.settings.deployer_role is DeployerRole.CREDITOR:
        pack = _without_collector_duties(base)
    own = base.own_ref
    sources: dict[str, RuleSource] = {}
    if (pack.contact_start, pack.contact_end) != (time(0), time.max):
        for bound in ("contact_hours.start", "contact_hours.end"):
            sources[bound] = RuleSource(own, base.citation("contact_hours"))
    for attribute, rule in CALL_LIMIT_RULES:
        if getattr(pack.call_limits, attribute) is not None:
            sources[rule] = RuleSource(own, base.citation(rule))
    sources["field_visits_enabled"] = RuleSource(own, base.citation("field_visits_enabled"))
    limits = list(pack.contact_limits)
    start, end, call_limits, visits = (
        pack.contact_start,
        pack.contact_end,
        pack.call_limits,
        pack.field_visits_enabled,
    )
    layers = [own]
    limitation = pack.limitation
    if limitation is not None:
        sources[LIMITATION_RULE] = RuleSource(own, limitation.citation)
    for overlay in overlays:
        layers.append(overlay.ref)
        if overlay.limitation is not None and (
            limitation is None or overlay.limitation.years < limitation.years
        ):
            limitation = overlay.limitation
            sources[LIMITATION_RULE] = RuleSource(overlay.ref, overlay.limitation.citation)
        if overlay.contact_start is not None and overlay.contact_start > start:
            start = overlay.contact_start
            sources["contact_hours.start"] = RuleSource(overlay.ref, overlay.citation("contact_hours"))
        if overlay.contact_end is not None and overlay.contact_end < end:
            end = overlay.contact_end
            sources["contact_hours.end"] = RuleSource(overlay.ref, overlay.citation("contact_hours"))
        for attribute, rule in CALL_LIMIT_RULES:
            mine = getattr(overlay.call_limits, attribute)
            theirs = getattr(call_limits, attribute)
            if mine is not None and (theirs is None or mine < theirs):
                call_limits = replace(call_limits, **{attribute: mine})
                sources[rule] = RuleSource(overlay.ref, overlay.citation(rule))
        limits.extend(overlay.contact_limits)
        if overlay.field_visits_enabled is False and visits:
            visits = False
            sources["field_visits_enabled"] = RuleSource(
                overlay.ref, overlay.citation("field_visits_enabled")
            )
    for limit in limits:
        sources.setdefault(limit.rule, RuleSource(limit.layer or own, limit.citation))
    if start >= end:
        raise ValueError(f"{'+'.join(layers)}: the combined contact hours leave no time to contact")
    return replace(
        pack,
        contact_start=start,
        contact_end=end,
        call_limits=call_limits,
        contact_limits=tuple(limits),
        field_visits_enabled=visits,
        limitation=limitation,
        layers=tuple(layers),
        sources=tuple(sorted(sources.items())),
    )


class RulePackHistory(Mapping[str, tuple[RulePack, ...]]):
    """Every version of every jurisdiction's pack: jurisdiction -> versions, oldest first.

    Immutable. `in_force(jurisdiction, on)` answers the pack that judges a contact of business date
    `on`; `latest` the version currently in force per jurisdiction. Raises `ValueError` when built
    from a jurisdiction without versions.
    """

    __slots__ = ("_history", "overlays")

    def __init__(
        self,
        history: Mapping[str, tuple[RulePack, ...]],
        overlays: Mapping[str, tuple[Overlay, ...]] | None = None,
    ) -> None:
        for jurisdiction, versions in history.items():
            if not versions:
                raise ValueError(f"rule packs {jurisdiction}: no version")
        self._history = {
            jurisdiction: tuple(sorted(versions, key=lambda pack: pack.effective_from))
            for jurisdiction, versions in history.items()
        }
        self.overlays: dict[str, tuple[Overlay, ...]] = {
            overlay_id: tuple(sorted(versions, key=lambda overlay: overlay.effective_from))
            for overlay_id, versions in (overlays or {}).items()
        }
        for overlay_id, layered in self.overlays.items():
            for overlay in layered:
                if overlay.base not in self._history:
                    raise ValueError(f"overlay {overlay_id}: unknown base {overlay.base!r}")

    def overlays_in_force(self, jurisdiction: str, on: date, address_state: str) -> tuple[Overlay, ...]:
        """The overlays, one version each (the one in force on `on`), that bind a borrower of
        `jurisdiction`'s base living in `address_state`, in document order."""
        role = self.in_force(jurisdiction, on).settings.deployer_role
        chosen: list[Overlay] = []
        for versions in self.overlays.values():
            current = [overlay for overlay in versions if in_force_on(overlay, on)]
            if current and current[-1].base == jurisdiction and current[-1].applies(address_state, role):
                chosen.append(current[-1])
        return tuple(chosen)

    def composed(self, jurisdiction: str, on: date, address_state: str = "") -> RulePack:
        """The pack that judges a contact on business date `on` with a borrower living in
        `address_state`: the base in force, composed with the overlays in force that bind them."""
        return compose(
            self.in_force(jurisdiction, on), self.overlays_in_force(jurisdiction, on, address_state)
        )

    def contact_limits_named(self, ref: str) -> tuple[ContactLimit, ...]:
        """The frequency limits of the layers a receipt names (`RulePack.ref`: `US-REGF@2026.1` or
        `US-REGF@2026.1+US-MA@2026.1`), base first; a layer this history does not hold adds none.
        What an audit of the archive judges a recorded contact by."""
        layers = set(ref.split("+"))
        limits = [
            limit
            for versions in self._history.values()
            for pack in versions
            if pack.own_ref in layers
            for limit in pack.contact_limits
        ]
        limits += [
            limit
            for versions in self.overlays.values()
            for overlay in versions
            if overlay.ref in layers
            for limit in overlay.contact_limits
        ]
        return tuple(limits)

    def citation(self, layer: str, rule: str) -> str:
        """The source layer `layer` (`<id>@<version>`, as a receipt's `decided_by` names it) states for
        `rule`; `NOT_CITED` when the layer is not in this history or names none. What a report of
        the archive cites beside each rule that held a contact back."""
        for versions in self._history.values():
            for pack in versions:
                if pack.own_ref == layer:
                    return pack.citation(rule)
        for layered in self.overlays.values():
            for overlay in layered:
                if overlay.ref == layer:
                    return overlay.citation(rule)
        return NOT_CITED

    def __getitem__(self, jurisdiction: str) -> tuple[RulePack, ...]:
        return self._history[jurisdiction]

    def __iter__(self) -> Iterator[str]:
        return iter(self._history)

    def __len__(self) -> int:
        return len(self._history)

    @property
    def latest(self) -> dict[str, RulePack]:
        """The version in force now per jurisdiction (the one with the latest effective date)."""
        return {jurisdiction: versions[-1] for jurisdiction, versions in self._history.items()}

    def in_force(self, jurisdiction: str, on: date | None = None) -> RulePack:
        """The pack in force for `jurisdiction` on business date `on` (the latest one without a date).

        A day before the first pack's effective date is judged by the first pack: rules are never
        absent for a jurisdiction we know. An unknown jurisdiction raises `ValueError`.
        """
        history = self._history.get(jurisdiction)
        if not history:
            raise ValueError(
                f"no rule pack for jurisdiction {jurisdiction!r}; known: {sorted(self._history)}"
            )
        return version_on(history, on)
