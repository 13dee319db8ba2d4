"""Loading the talk tracks (`bundled/talk_tracks.yaml`), validated by pydantic.

`talk_tracks()` answers `arrears.domain.desk.TalkTracks`: the versioned scripts (per step, language
and reason) and the compliance lines of each rule-pack layer, every one with its source.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arrears.domain.desk import ComplianceLine, Script, TalkTracks, TrackReason

BUNDLED_TALK_TRACKS = "talk_tracks.yaml"


class TalkTrackError(ValueError):
    """The document is invalid: the message names the field and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Script(_Strict):
    id: str = Field(pattern=r"^[a-z0-9-]{1,64}$")
    version: str = Field(min_length=1)
    steps: list[str] = Field(min_length=1)
    reason: TrackReason
    language: str = Field(pattern=r"^[a-z]{2}$")
    source: str = Field(min_length=1)
    lines: list[str] = Field(min_length=1)


class _Line(_Strict):
    when: Literal["opening", "closing"]
    text: str = Field(min_length=1)
    source: str = Field(min_length=1)


class _Document(_Strict):
    scripts: list[_Script]
    compliance: dict[str, list[_Line]]


def parse_talk_tracks(text: str) -> TalkTracks:
    """The talk tracks of a YAML document; `TalkTrackError` names the first problem. Every reason
    must have an English script for any step (`*`), so every call has a track."""
    try:
        doc = _Document.model_validate(yaml.safe_load(text) or {})
    except ValidationError as error:
        first = error.errors()[0]
        raise TalkTrackError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    covered = {s.reason for s in doc.scripts if s.language == "en" and "*" in s.steps}
    missing = sorted(r.value for r in TrackReason if r not in covered)
    if missing:
        raise TalkTrackError(f"scripts: no English script for any step for {', '.join(missing)}")
    return TalkTracks(
        tuple(
            Script(s.id, s.version, tuple(s.steps), s.reason, s.language, tuple(s.lines), s.source)
            for s in doc.scripts
        ),
        {
            layer: tuple(ComplianceLine(layer, line.when, line.text, line.source) for line in lines)
            for layer, lines in doc.compliance.items()
        },
    )


@cache
def talk_tracks() -> TalkTracks:
    """The bundled talk tracks, read and validated once per process."""
    text = resources.files("arrears.config.bundled").joinpath(BUNDLED_TALK_TRACKS).read_text("utf-8")
    return parse_talk_tracks(text)
