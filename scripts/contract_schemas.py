#!/usr/bin/env python3
"""Write the JSON Schemas of the dialer contract and of the lending core's onboarding events into
docs/contracts.md, generated from the models.

Each schema sits between `<!-- schema:<Name> -->` and `<!-- /schema:<Name> -->`;
`arrears.events.dialer.CONTRACT_MODELS` and `arrears.events.onboarding.CONTRACT_MODELS` name them.
Run `python scripts/contract_schemas.py` after changing a model (tests/unit/test_dialer_contract.py
fails while the doc is stale); `--check` only reports whether it is.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from arrears.events.dialer import CONTRACT_MODELS as DIALER_MODELS
from arrears.events.onboarding import CONTRACT_MODELS as ONBOARDING_MODELS

CONTRACT_MODELS = {**DIALER_MODELS, **ONBOARDING_MODELS}

DOC = Path(__file__).resolve().parents[1] / "docs" / "contracts.md"


def schema_block(name: str) -> str:
    """The fenced JSON block of `name`'s schema (draft 2020-12, pydantic's; sorted keys, 2-space indent)."""
    schema = CONTRACT_MODELS[name].model_json_schema(mode="validation")
    return "```json\n" + json.dumps(schema, indent=2, sort_keys=True) + "\n```"


def _replacement(block: str) -> Callable[[re.Match[str]], str]:
    return lambda match: match.group(1) + block + "\n" + match.group(2)


def rendered(text: str) -> str:
    """`text` with every schema block replaced by the current model's schema."""
    for name in CONTRACT_MODELS:
        pattern = re.compile(rf"(<!-- schema:{name} -->\n)(?:.*?\n)?(<!-- /schema:{name} -->)", re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"docs/contracts.md has no <!-- schema:{name} --> block")
        text = pattern.sub(_replacement(schema_block(name)), text)
    return text


def main(argv: list[str]) -> int:
    text = DOC.read_text(encoding="utf-8")
    fresh = rendered(text)
    if "--check" in argv:
        return 0 if fresh == text else 1
    DOC.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
