"""No released version of the bundled rules is edited in place (scripts/released_rules.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scripts.released_rules import BUNDLED, RELEASED, VERSIONED, Fingerprint, fingerprints, problems


def test_every_bundled_version_is_listed_and_unchanged() -> None:
    raw = json.loads(RELEASED.read_text(encoding="utf-8"))
    released = {label: Fingerprint.from_json(value) for label, value in raw.items()}

    assert problems(released, fingerprints()) == []


@pytest.fixture
def bundled(tmp_path: Path) -> Path:
    for name in VERSIONED:
        shutil.copy(BUNDLED / name, tmp_path / name)
    return tmp_path


def edit(bundled: Path, name: str, *changes: tuple[str, str]) -> str:
    """Rewrite `name` in `bundled` with each (old, new) replaced at its first occurrence (each must be
    there); returns the text before."""
    path = bundled / name
    before = text = path.read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return before


def test_a_changed_rule_value_is_a_change_in_place(bundled: Path) -> None:
    released = fingerprints(bundled)
    edit(bundled, "rulepacks.yaml", ("attempts_per_7_days: 7 ", "attempts_per_7_days: 8 "))

    assert problems(released, fingerprints(bundled)) == [
        "rulepacks.yaml:US-REGF@2026.1: released version changed in place"
    ]


def test_a_talk_tracks_changed_line_is_a_change_in_place_of_that_language_only(bundled: Path) -> None:
    released = fingerprints(bundled)
    line = "Can you tell me what got in the way of the payment this month?"
    assert (bundled / "talk_tracks.yaml").read_text(encoding="utf-8").count(line) == 1
    edit(bundled, "talk_tracks.yaml", (line, "Why did you not pay?"))

    assert problems(released, fingerprints(bundled)) == [
        "talk_tracks.yaml:standard-early@2026.1/en: released version changed in place"
    ]


def test_a_corrected_citation_or_source_is_not_a_new_rule(bundled: Path) -> None:
    released = fingerprints(bundled)
    for name, old in (("rulepacks.yaml", "12 CFR 1006.6(e)"), ("money.yaml", "10 U.S.C. 987(b)")):
        edit(bundled, name, (old, old + " (corrected)"))

    assert problems(released, fingerprints(bundled)) == []


def test_the_deployments_own_settings_are_not_rules_of_the_version(bundled: Path) -> None:
    """The deployer's role and the names its validation notice states are set per stack."""
    released = fingerprints(bundled)
    edit(
        bundled,
        "rulepacks.yaml",
        ("deployer_role: debt_collector", "deployer_role: creditor"),
        ("collector_name: Example Collections LLC", "collector_name: First Lender Collections"),
    )

    assert problems(released, fingerprints(bundled)) == []


def test_a_new_version_must_be_listed_and_a_released_one_kept() -> None:
    released = {"rulepacks.yaml:CN@2026.1": Fingerprint("a"), "money.yaml:CN@2025.1": Fingerprint("b")}
    current = {"rulepacks.yaml:CN@2026.1": Fingerprint("a"), "rulepacks.yaml:CN@2027.1": Fingerprint("c")}

    assert problems(released, current) == [
        "money.yaml:CN@2025.1: released version removed",
        "rulepacks.yaml:CN@2027.1: not listed in released_rules.json (run scripts/released_rules.py --write)",
    ]


def test_closing_a_version_sets_its_effective_to_once(bundled: Path) -> None:
    released = fingerprints(bundled)
    start = "effective_from: 2025-01-01\n"
    edit(bundled, "borrower_requests.yaml", (start, start + "    effective_to: 2027-01-01\n"))
    now = fingerprints(bundled)
    assert problems(released, now) == []  # none to a date: the closing

    edit(bundled, "borrower_requests.yaml", ("effective_to: 2027-01-01", "effective_to: 2027-02-01"))
    assert problems(now, fingerprints(bundled)) == [
        "borrower_requests.yaml:US-REGF@2026.1: effective_to changed from 2027-01-01 (it is set once)"
    ]


def test_the_lpr_is_appended_to_but_its_released_entries_never_change(bundled: Path) -> None:
    released = fingerprints(bundled)
    last = '- {effective_from: 2025-05-20, one_year_bps: 300, source: "NIFC LPR announcement of 2025-05-20"}'
    new = '\n        - {effective_from: 2026-12-21, one_year_bps: 290, source: "NIFC"}'
    original = edit(bundled, "money.yaml", (last, last + new))
    assert problems(released, fingerprints(bundled)) == []

    (bundled / "money.yaml").write_text(original, encoding="utf-8")
    edit(bundled, "money.yaml", ("one_year_bps: 300", "one_year_bps: 295"))
    assert problems(released, fingerprints(bundled)) == [
        "money.yaml:CN@2026.1: released entries of cost_cap.lpr changed or removed (append only)"
    ]


def test_a_file_in_the_format_before_versions_is_named(bundled: Path) -> None:
    (bundled / "plans.yaml").write_text("CN:\n  min_instalments: {value: 2, source: x}\n", encoding="utf-8")

    with pytest.raises(ValueError, match=r"plans\.yaml: CN is not a list of versions"):
        fingerprints(bundled)


def test_a_version_listed_twice_is_refused(bundled: Path) -> None:
    edit(bundled, "money.yaml", ('id: US-REGF\n    version: "2026.1"', 'id: CN\n    version: "2026.1"'))

    with pytest.raises(ValueError, match=r"money.yaml:CN@2026.1 is listed twice"):
        fingerprints(bundled)
