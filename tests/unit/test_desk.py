"""The desk's pure rules: certifications, leases, and talk tracks with each pack's compliance lines."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from arrears.config.rulepacks import rule_pack_in_force
from arrears.config.talk_tracks import TalkTrackError, parse_talk_tracks, talk_tracks
from arrears.domain.desk import Certification, TaskKind, TrackReason, certification_refusal, lease_expired

NOON = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)


def cert(on: date, until: date, kind: TaskKind = TaskKind.CALL) -> Certification:
    return Certification("S-1", kind, on, until, "S-BOSS")


def test_a_task_is_offered_only_under_a_current_certification_for_its_kind() -> None:
    year = cert(date(2026, 1, 1), date(2026, 12, 31))
    assert certification_refusal(year, TaskKind.CALL, date(2026, 12, 31)) is None
    assert certification_refusal(year, TaskKind.CALL, date(2027, 1, 1)) == "certification_expired"
    assert certification_refusal(year, TaskKind.CALL, date(2025, 12, 31)) == "certification_not_yet_valid"
    assert certification_refusal(year, TaskKind.FIELD, date(2026, 6, 1)) == "no_certification"
    assert certification_refusal(None, TaskKind.CALL, date(2026, 6, 1)) == "no_certification"


def test_a_lease_has_expired_only_once_it_ran_out() -> None:
    assert lease_expired("2026-03-10T17:00:00Z", NOON)
    assert not lease_expired("2026-03-10T17:00:01Z", NOON)
    assert not lease_expired(None, NOON)


def track(jurisdiction: str, state: str, reason: TrackReason, language: str = "en") -> dict[str, object]:
    pack = rule_pack_in_force(jurisdiction, NOON, address_state=state)
    return (
        talk_tracks().track_for("call-d5", reason, language, pack.layers or (pack.ref,), pack.ref).as_dict()
    )


def texts(lines: object) -> str:
    assert isinstance(lines, list)
    return " | ".join(str(line["text"]) for line in lines)


@pytest.mark.parametrize(
    ("jurisdiction", "state", "must_say"),
    [
        ("US-REGF", "NY", "This is an attempt to collect a debt"),  # 12 CFR 1006.18(e)
        ("US-REGF", "MA", "more than twice in a seven-day period"),  # 940 CMR 7.04(1)(f)
        ("CN", "", "本次通话将被录音"),  # CBA guideline: identity and recording
    ],
)
def test_each_jurisdiction_s_lines_open_every_script_whatever_the_reason(
    jurisdiction: str, state: str, must_say: str
) -> None:
    standard = track(jurisdiction, state, TrackReason.STANDARD)
    hardship = track(jurisdiction, state, TrackReason.HARDSHIP)
    said = texts(standard["opening"]) + texts(standard["closing"])
    assert must_say in said
    assert standard["opening"] == hardship["opening"]
    assert standard["script"] != hardship["script"]  # a hardship call is not a refusal or a demand
    assert all(line["source"] for line in standard["opening"])  # type: ignore[attr-defined]


def test_the_us_disclosure_is_not_read_on_a_cn_call_and_the_script_follows_the_borrowers_language() -> None:
    cn = track("CN", "", TrackReason.REFUSAL, "zh-CN")
    assert "attempt to collect a debt" not in texts(cn["opening"])
    assert (cn["track_id"], cn["language"]) == ("refusal", "zh")
    assert track("CN", "", TrackReason.DISPUTE, "zh-CN")["language"] == "en"  # no zh dispute script: English


def test_a_step_specific_script_wins_over_the_general_one() -> None:
    pack = rule_pack_in_force("US-REGF", NOON, address_state="NY")
    late = talk_tracks().track_for("call-d15", TrackReason.STANDARD, "en", pack.layers, pack.ref)
    early = talk_tracks().track_for("call-d5", TrackReason.STANDARD, "en", pack.layers, pack.ref)
    assert (late.track_id, early.track_id) == ("standard-late", "standard-early")


def test_talk_tracks_without_an_english_script_for_a_reason_are_refused() -> None:
    text = """
scripts:
  - {id: only, version: "1", steps: ["*"], reason: standard, language: en, source: s, lines: [a]}
compliance: {}
"""
    with pytest.raises(TalkTrackError, match="hardship"):
        parse_talk_tracks(text)
