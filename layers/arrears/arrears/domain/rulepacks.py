"""Jurisdiction rule packs: the contact rules in force, with ids, versions and effective dates.

The numbers come from DESIGN.md ("Collection rules, with their numbers"). A contact is judged by
the pack in force on its day, and every decision receipt names the pack id and version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

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


CN_PACK = RulePack(
    "CN",
    "2026.1",
    date(2026, 1, 1),
    "Asia/Shanghai",
    time(8),
    time(22),
    retention_years=5,
    call_caps=CallCaps(connected_per_day=3, attempts_per_day_per_number=6),
    emergency_contacts_when_unreachable=True,
    field_visit_min_collectors=2,
    field_visit_recording_required=True,
)
US_REGF_PACK = RulePack(
    "US-REGF",
    "2026.1",
    date(2026, 1, 1),
    "America/New_York",
    time(8),
    time(21),
    retention_years=3,
    call_caps=CallCaps(attempts_per_7_days=7, quiet_days_after_conversation=7),
    field_visits_enabled=False,
    email_opt_out_required=True,
)
RULE_PACKS: dict[str, RulePack] = {p.pack_id: p for p in (CN_PACK, US_REGF_PACK)}
"""The pack currently in force per jurisdiction (the latest version)."""

RULE_PACK_HISTORY: dict[str, tuple[RulePack, ...]] = {p.pack_id: (p,) for p in (CN_PACK, US_REGF_PACK)}
"""Every version per jurisdiction, oldest first: a contact is judged by the pack of its day."""


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
