#!/usr/bin/env python3
"""Write the HTTP API's OpenAPI document, generated from the routes' code, to docs/openapi.json.

Run `python scripts/openapi.py` after changing a route or a model (tests/unit/test_openapi_doc.py
fails while the file is stale); `--check` only reports whether it is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from arrears.handlers.api_app import openapi_document

DOC = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def rendered() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    fresh = rendered()
    if "--check" in argv:
        return 0 if DOC.exists() and DOC.read_text(encoding="utf-8") == fresh else 1
    DOC.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
