"""The collection playbook and rule-pack documents the layer ships (the only copies in the tree)."""

from __future__ import annotations

from pathlib import Path

STRATEGIES = "strategies.yaml"
RULE_PACKS = "rulepacks.yaml"


def document_path(name: str) -> Path:
    """Where the bundled document `name` (`STRATEGIES` or `RULE_PACKS`) lies; nothing is read here."""
    return Path(__file__).resolve().parent / name
