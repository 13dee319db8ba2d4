"""The demo's proof, from the exported archive alone, that the call caps held per borrower across loans.

Reads every data object under `<out>/archive/contacts/` (the production key layout), keeps each contact
once (a retried batch may archive a record twice), and recounts the calls and visits with
`arrears.domain.call_audit`, each attempt judged by the rule-pack version in force at its instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from arrears.config.rulepacks import bundled_rule_packs, rule_pack_in_force
from arrears.domain.archive import DATA_SUFFIX, decode_lines
from arrears.domain.call_audit import audit_calls, audit_contact_limits, audit_visits


def archive_lines(archive: Path) -> list[dict[str, Any]]:
    """Every contact of the exported archive once (by `contact_id`), from the data objects only."""
    seen: dict[str, dict[str, Any]] = {}
    for path in sorted((archive / "contacts").rglob(f"*{DATA_SUFFIX}")):
        for line in decode_lines(path.read_bytes()):
            seen.setdefault(str(line["contact_id"]), line)
    return list(seen.values())


def archive_audit(archive: Path) -> dict[str, Any]:
    """`call_caps_from_archive` (attempts, connections, conversations, the highest figure under each
    cap, violations by rule), `contact_limits_from_archive` (the layers' frequency limits, each
    contact judged by the layers its record names) and `field_visits_from_archive` (reported, by
    outcome, breaches)."""
    lines = archive_lines(archive)
    calls = audit_calls(lines, rule_pack_in_force)
    return {
        "call_caps_from_archive": calls.as_dict(),
        "contact_limits_from_archive": audit_contact_limits(
            lines, bundled_rule_packs().contact_limits_named
        ).as_dict(),
        "field_visits_from_archive": audit_visits(lines).as_dict(),
    }
