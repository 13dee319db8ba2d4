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
    python scripts/released_rules.py --write   # list new versions, record a closing (effective_to set
                                               # once) and appended LPR entries; never rewrites what
                                               # a released version decides

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
from dataclasses import dataclass, field
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
# Kept beside the fingerprint instead of in it: `effective_to`, which closing a version sets once (from
# none to a date, never changed after), and lists a version appends to as the world publishes (the
# one-year LPR: `money.yaml`), whose released entries must stay as they were.
CLOSING = "effective_to"
APPEND_ONLY = frozenset({"lpr"})


@dataclass(frozen=True)
class Fingerprint:
    """What is checked of one version: the SHA-256 of what it decides (`sha256`), its `effective_to`,
    and the SHA-256 of each entry of its append-only lists (`appended`, by path)."""

    sha256: str
    effective_to: str | None = None
    appended: dict[str, list[str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "effective_to": self.effective_to, "appended": self.appended}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Fingerprint:
        return cls(str(value["sha256"]), value.get("effective_to"), dict(value.get("appended") or {}))


def _sha(node: Any) -> str:
    canonical = json.dumps(node, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _decisive(node: Any, path: str = "", appended: dict[str, list[str]] | None = None) -> Any:
    """`node` without the `EXCLUDED`, `CLOSING` and `APPEND_ONLY` keys, keys sorted, dates as text; the
    entries of the append-only lists go to `appended` (by their path), one SHA-256 each."""
    if isinstance(node, Mapping):
        kept: dict[str, Any] = {}
        for key, value in sorted(node.items(), key=lambda kv: str(kv[0])):
            where = f"{path}.{key}" if path else str(key)
            if key in EXCLUDED or key == CLOSING:
                continue
            if key in APPEND_ONLY and appended is not None:
                appended[where] = [_sha(_decisive(item)) for item in value or []]
                continue
            kept[str(key)] = _decisive(value, where, appended)
        return kept
    if isinstance(node, list):
        return [_decisive(item, f"{path}[{n}]", appended) for n, item in enumerate(node)]
    return node if isinstance(node, (str, int, float, bool)) or node is None else str(node)


def _entries(name: str, document: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    if key != BY_JURISDICTION:
        return list(document.get(key) or [])
    entries: list[Mapping[str, Any]] = []
    for jurisdiction, versions in document.items():
        if not isinstance(versions, list):
            raise ValueError(f"{name}: {jurisdiction} is not a list of versions (the format before versions)")
        entries += [{"id": jurisdiction, **version} for version in versions]
    return entries


def fingerprints(bundled: Path = BUNDLED) -> dict[str, Fingerprint]:
    """The `Fingerprint` of every version in the versioned files, by `<file>:<id>@<version>[/<language>]`.

    Raises:
        ValueError: a version listed twice, an entry without a field that names it, or a file in the
        format before versions.
    """
    found: dict[str, Fingerprint] = {}
    for name, lists in VERSIONED.items():
        document = yaml.safe_load((bundled / name).read_text(encoding="utf-8"))
        for key, naming in lists:
            for entry in _entries(name, document, key):
                if any(part not in entry for part in naming):
                    raise ValueError(f"{name} {key}: an entry without {' or '.join(naming)}")
                label = f"{name}:{entry['id']}@{entry['version']}" + "".join(
                    f"/{entry[f]}" for f in naming[2:]
                )
                if label in found:
                    raise ValueError(f"{label} is listed twice")
                appended: dict[str, list[str]] = {}
                digest = _sha(_decisive(entry, "", appended))
                closing = entry.get(CLOSING)
                found[label] = Fingerprint(digest, None if closing is None else str(closing), appended)
    return found


def problems(released: Mapping[str, Fingerprint], current: Mapping[str, Fingerprint]) -> list[str]:
    """What is wrong with `current` against the `released` fingerprints, one line each (none: [])."""
    found: list[str] = []
    for label, was in released.items():
        now = current.get(label)
        if now is None:
            found.append(f"{label}: released version removed")
            continue
        if now.sha256 != was.sha256:
            found.append(f"{label}: released version changed in place")
        if was.effective_to is not None and now.effective_to != was.effective_to:
            found.append(f"{label}: effective_to changed from {was.effective_to} (it is set once)")
        for path, entries in was.appended.items():
            if now.appended.get(path, [])[: len(entries)] != entries:
                found.append(f"{label}: released entries of {path} changed or removed (append only)")
    found += [
        f"{label}: not listed in released_rules.json (run scripts/released_rules.py --write)"
        for label in current
        if label not in released
    ]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", action="store_true", help="list new versions, record closings and appended entries"
    )
    args = parser.parse_args(argv)
    raw = json.loads(RELEASED.read_text(encoding="utf-8")) if RELEASED.exists() else {}
    released = {label: Fingerprint.from_json(value) for label, value in raw.items()}
    current = fingerprints()
    if args.write:
        # What may change is recorded: new versions, a first effective_to, entries appended. A listed
        # version with a problem keeps its line, so the problem stays reported.
        for label, now in current.items():
            if label not in released or not problems({label: released[label]}, {label: now}):
                released[label] = now
        text = json.dumps({k: v.as_json() for k, v in sorted(released.items())}, indent=2, ensure_ascii=False)
        RELEASED.write_text(text + "\n", encoding="utf-8")
    found = problems(released, current)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
