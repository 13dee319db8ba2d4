"""The collector's desk: task kinds, leases, training certifications and talk tracks (pure).

* A desk task is a call task (`CALL`, worked by role `agent`) or a field-visit task (`FIELD`, role
  `field`) taken from the dispatcher's queue into the desk's pool. A claim leases it for
  `LEASE_FOR`: while the lease runs nobody else can claim it; a lease that ran out offers the task
  again (`lease_expired`).
* A staff member may be offered a task only with a current certification for its kind
  (`certification_refusal`): the CN industry guidance requires collectors to be trained before they
  start and every year (`TRAINING_SOURCE`); the lender applies the same rule to every desk.
* A talk track is a versioned script for a strategy step, a language and a reason (a hardship call
  is not a refusal call), with the compliance lines the borrower's composed rule pack requires
  (`TalkTracks.track_for`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

LEASE_FOR = timedelta(minutes=30)
"""How long a claim holds a task: a task not reported by then is offered again."""

TRAINING_SOURCE = (
    "CBA 金融机构个人消费类贷款催收工作指引(试行) (2026): collectors are trained before taking up the work "
    "and at least once a year (the lender's reading of the guideline's staff-management rules; article "
    "number not verified here); lender policy LENDER-DESK-TRN-1 applies it to every desk"
)
CERTIFICATION_VALID_DAYS = 365
"""A certification's default life (yearly retraining, `TRAINING_SOURCE`)."""


class TaskKind(StrEnum):
    """What a desk task asks for: a call (`agent`) or a field visit (`field`)."""

    CALL = "call"
    FIELD = "visit"


@dataclass(frozen=True, slots=True)
class Certification:
    """A staff member's training for one task kind: valid from `certified_on` through `expires_on`."""

    staff_id: str
    kind: TaskKind
    certified_on: date
    expires_on: date
    recorded_by: str

    def current_on(self, day: date) -> bool:
        return self.certified_on <= day <= self.expires_on


def certification_refusal(cert: Certification | None, kind: TaskKind, day: date) -> str | None:
    """Why a staff member may not be offered a task of `kind` on `day` (`no_certification`,
    `certification_expired`, `certification_not_yet_valid`), or None when they may."""
    if cert is None or cert.kind is not kind:
        return "no_certification"
    if day > cert.expires_on:
        return "certification_expired"
    if day < cert.certified_on:
        return "certification_not_yet_valid"
    return None


def lease_expired(leased_until: str | None, now: datetime) -> bool:
    """True when a task had been leased and the lease ran out by `now` (ISO UTC instants compare as text)."""
    return bool(leased_until) and str(leased_until) <= now.strftime("%Y-%m-%dT%H:%M:%SZ")


class TrackReason(StrEnum):
    """Why the collector is calling the borrower now: picks the script (never the compliance lines)."""

    STANDARD = "standard"
    HARDSHIP = "hardship"
    REFUSAL = "refusal"
    DISPUTE = "dispute"
    BROKEN_PROMISE = "broken_promise"


@dataclass(frozen=True, slots=True)
class ComplianceLine:
    """A line the collector must say, with the rule it comes from (`source`)."""

    layer: str
    when: str  # "opening" (before anything else) or "closing"
    text: str
    source: str


@dataclass(frozen=True, slots=True)
class Script:
    track_id: str
    version: str
    steps: tuple[str, ...]  # strategy step ids; ("*",) any step
    reason: TrackReason
    language: str
    lines: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class TalkTrack:
    """What the collector reads: the script's id and version, its lines, and the pack's compliance
    lines (`opening` before the script, `closing` after)."""

    track_id: str
    version: str
    step: str
    reason: TrackReason
    language: str
    opening: tuple[ComplianceLine, ...]
    script: tuple[str, ...]
    closing: tuple[ComplianceLine, ...]
    rule_pack: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        def line(c: ComplianceLine) -> dict[str, str]:
            return {"layer": c.layer, "text": c.text, "source": c.source}

        return {
            "track_id": self.track_id,
            "version": self.version,
            "step": self.step,
            "reason": self.reason.value,
            "language": self.language,
            "rule_pack": self.rule_pack,
            "opening": [line(c) for c in self.opening],
            "script": list(self.script),
            "closing": [line(c) for c in self.closing],
            "source": self.source,
        }


class NoTalkTrack(LookupError):
    """No script for this reason and language (the data must hold one for `*` at least)."""


@dataclass(frozen=True)
class TalkTracks:
    """The bundled scripts and compliance lines (config/bundled/talk_tracks.yaml)."""

    scripts: tuple[Script, ...]
    compliance: dict[str, tuple[ComplianceLine, ...]]  # rule-pack layer id -> its lines

    def track_for(
        self, step: str, reason: TrackReason, language: str, layers: tuple[str, ...], rule_pack: str
    ) -> TalkTrack:
        """The script for `step` (an exact step id wins over `*`), `reason` and `language` (its primary
        subtag: `zh-CN` reads `zh`; falls back to `en`), with the compliance lines of every layer of
        the borrower's composed pack (`layers`: refs `<id>@<version>`). Raises `NoTalkTrack`."""

        def find(lang: str) -> Script | None:
            fits = [s for s in self.scripts if s.reason is reason and s.language == lang]
            exact = [s for s in fits if step in s.steps]
            anywhere = [s for s in fits if "*" in s.steps]
            chosen = exact or anywhere
            return chosen[0] if chosen else None

        script = find(language.split("-", maxsplit=1)[0].lower()) or find("en")
        if script is None:
            raise NoTalkTrack(f"no talk track for reason {reason.value}")
        lines = [c for ref in layers for c in self.compliance.get(ref.split("@")[0], ())]
        return TalkTrack(
            script.track_id,
            script.version,
            step,
            reason,
            script.language,
            tuple(c for c in lines if c.when == "opening"),
            script.lines,
            tuple(c for c in lines if c.when == "closing"),
            rule_pack,
            script.source,
        )
