"""Fingerprints of every released version of the bundled rules, so that none is edited in place.

A contact is judged by, and its decision receipt names, the `<id>@<version>` of the rule pack in force
on its day; a loan's cost cap is fixed by the money version in force on its contract date. A review of
that contact or loan reads the version the receipt names, so a version must never change once it has
judged anything: a change is a new version with its `effective_from` (docs/compliance.md, "Adding a
state"). `released_rules.json`, next to the YAML, holds a SHA-256 per version of what the version
decides: every field but the citations and sources, which explain a rule without changing it (a
corrected section number is not a new rule), and the deployment's own settings. The unit tests fail
when a listed version's fingerprint changes or a version is not listed.

    python scripts/released_rules.py           # exit 1 when a version changed or is not listed
    python scripts/released_rules.py --write   # list new versions; never rewrites a listed one

A version that provably judged nothing (never deployed) may be corrected in place: delete its line
from `released_rules.json` in the same commit, which a reviewer then sees. A deployer adapting the
bundled example packs before its first deploy does the same for the versions it adapts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

BUNDLED = Path(__file__).resolve().parents[1] / "layers" / "arrears" / "arrears" / "config" / "bundled"
RELEASED = BUNDLED / "released_rules.json"
# The versioned files, the lists of versions in each, and the fields that name a version there (a talk
# track's version is one per language). `BY_JURISDICTION`: the file maps each jurisdiction (the id) to
# its list of versions (arrears.config.versioned).
BY_JURISDICTION = "*"
VERSIONED: Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "rulepacks.yaml": (("rule_packs", ("id", "version")), ("overlays", ("id", "version"))),
    "money.yaml": (("jurisdictions", ("id", "version")),),
    "talk_tracks.yaml": (("scripts", ("id", "version", "language")),),
    "borrower_requests.yaml": ((BY_JURISDICTION, ("id", "version")),),
    "plans.yaml": ((BY_JURISDICTION, ("id", "version")),),
}
# Keys left out of a fingerprint: what explains a rule (it decides nothing), and the deployment's own
# choices the packs hold (`settings`: the deployer's role; `parties`: the names the validation notice
# states), which a deployer sets for its stack (docs/compliance.md, "What the deployer must decide").
EXCLUDED = frozenset({"citation", "citations", "source", "sources", "settings", "parties"})


def _decisive(node: Any) -> Any:
    """`node` without the `EXCLUDED` keys, keys sorted; dates and numbers as YAML parsed them, as text."""
    if isinstance(node, Mapping):
        return {
            str(k): _decisive(v)
            for k, v in sorted(node.items(), key=lambda kv: str(kv[0]))
            if k not in EXCLUDED
        }
    if isinstance(node, list):
        return [_decisive(item) for item in node]
    return node if isinstance(node, (str, int, float, bool)) or node is None else str(node)


def _entries(document: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    if key != BY_JURISDICTION:
        return list(document.get(key) or [])
    return [
        {"id": jurisdiction, **version} for jurisdiction, versions in document.items() for version in versions
    ]


def fingerprints(bundled: Path = BUNDLED) -> dict[str, str]:
    """`{"<file>:<id>@<version>[/<language>]": sha256 hex}` of every version in the versioned files.

    Raises:
        ValueError: a version listed twice, or an entry without a field that names it.
    """
    found: dict[str, str] = {}
    for name, lists in VERSIONED.items():
        document = yaml.safe_load((bundled / name).read_text(encoding="utf-8"))
        for key, naming in lists:
            for entry in _entries(document, key):
                if any(field not in entry for field in naming):
                    raise ValueError(f"{name} {key}: an entry without {' or '.join(naming)}")
                label = f"{name}:{entry['id']}@{entry['version']}" + "".join(
                    f"/{entry[f]}" for f in naming[2:]
                )
                if label in found:
                    raise ValueError(f"{label} is listed twice")
                canonical = json.dumps(
                    _decisive(entry), sort_keys=True, ensure_ascii=False, separators=(",", ":")
                )
                found[label] = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return found


def problems(released: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """What is wrong with `current` against the `released` fingerprints, one line each (none: [])."""
    changed = [
        f"{label}: released version changed in place"
        for label in released
        if label in current and current[label] != released[label]
    ]
    removed = [f"{label}: released version removed" for label in released if label not in current]
    unlisted = [
        f"{label}: not listed in released_rules.json (run scripts/released_rules.py --write)"
        for label in current
        if label not in released
    ]
    return changed + removed + unlisted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="list the versions not listed yet")
    args = parser.parse_args(argv)
    released: dict[str, str] = json.loads(RELEASED.read_text(encoding="utf-8")) if RELEASED.exists() else {}
    current = fingerprints()
    if args.write:
        released |= {label: digest for label, digest in current.items() if label not in released}
        RELEASED.write_text(json.dumps(dict(sorted(released.items())), indent=2) + "\n", encoding="utf-8")
    found = problems(released, current)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
