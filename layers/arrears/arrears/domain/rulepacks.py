"""Jurisdiction rule packs: the contact rules in force, with ids, versions and effective dates.

A pack is data (the YAML document is read and validated by `arrears.config.rulepacks`); this module
holds only the types. A contact is judged by the pack in force on its day, and every decision
receipt names the pack id and version (`RulePack.ref`, e.g. `CN@2026.1`). The numbers of the
bundled packs come from docs/architecture.md, "Collection rules, with their numbers".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, time

from arrears.domain.bureau import BureauPrecondition
from arrears.domain.call_limits import CallLimits
from arrears.domain.strategy import Channel

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
    timed_channels: frozenset[Channel] = field(default=TIMED_CHANNELS)
    call_limits: CallLimits = field(default_factory=CallLimits)
    field_visit_min_collectors: int | None = None
    field_visit_recording_required: bool = False
    field_visits_enabled: bool = True
    # The opt-out instruction every electronic message on its channels must carry (US Reg F
    # 12 CFR 1006.6(e): e-mails and texts); None = no such requirement.
    opt_out_notice: OptOutNotice | None = None
    # Under a cease-contact request only these notices may still go out (e.g. notice of a legal
    # remedy the creditor invokes, Reg F 1006.6(c)(2)); everything else is suppressed.
    cease_contact_allows: frozenset[Channel] = frozenset({Channel.LEGAL, Channel.BUREAU})
    # Collection contact while a dispute is open: none; the bureau may only be told it is disputed.
    dispute_allows: frozenset[Channel] = frozenset()
    # A bureau report waits until the borrower was told (`arrears.domain.bureau`); None = no precondition.
    bureau_precondition: BureauPrecondition | None = None
    effective_to: date | None = None  # exclusive; None = in force until superseded

    @property
    def email_opt_out_required(self) -> bool:
        return self.opt_out_notice is not None and Channel.EMAIL in self.opt_out_notice.channels

    def opt_out_wording(self, channel: Channel) -> dict[str, str]:
        """The opt-out line per language a message on `channel` must carry; empty when none."""
        return self.opt_out_notice.wording(channel) if self.opt_out_notice is not None else {}

    @property
    def ref(self) -> str:
        """`<pack_id>@<version>`, as receipts and contact records name the pack."""
        return f"{self.pack_id}@{self.version}"


class RulePackHistory(Mapping[str, tuple[RulePack, ...]]):
    """Every version of every jurisdiction's pack: jurisdiction -> versions, oldest first.

    Immutable. `in_force(jurisdiction, on)` answers the pack that judges a contact of business date
    `on`; `latest` the version currently in force per jurisdiction. Raises `ValueError` when built
    from a jurisdiction without versions.
    """

    __slots__ = ("_history",)

    def __init__(self, history: Mapping[str, tuple[RulePack, ...]]) -> None:
        for jurisdiction, versions in history.items():
            if not versions:
                raise ValueError(f"rule packs {jurisdiction}: no version")
        self._history = {
            jurisdiction: tuple(sorted(versions, key=lambda pack: pack.effective_from))
            for jurisdiction, versions in history.items()
        }

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
        if on is None:
            return history[-1]
        chosen = history[0]
        for pack in history:
            if pack.effective_from <= on and (pack.effective_to is None or on < pack.effective_to):
                chosen = pack
        return chosen
