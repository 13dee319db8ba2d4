#!/usr/bin/env python3
"""Write the JSON Schemas of the dialer contract into docs/contracts.md, generated from the models.

Each schema sits between `<!-- schema:<Name> -->` and `<!-- /schema:<Name> -->` in "The dialer contract";
`arrears.events.dialer.CONTRACT_MODELS` names them. Run `python scripts/contract_schemas.py` after
changing a model (tests/unit/test_dialer_contract.py fails while the doc is stale); `--check` only
reports whether it is.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from arrears.events.dialer import CONTRACT_MODELS, schema_block

DOC = Path(__file__).resolve().parents[1] / "docs" / "contracts.md"


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
