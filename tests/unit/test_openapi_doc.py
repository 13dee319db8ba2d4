"""docs/openapi.json is the API's OpenAPI document as the code generates it (scripts/openapi.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("openapi_script", ROOT / "scripts" / "openapi.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_openapi_json_is_not_stale() -> None:
    script = _script()
    assert (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8") == script.rendered(), (
        "docs/openapi.json is stale: run `python scripts/openapi.py`"
    )


def test_every_route_documents_its_errors_in_the_error_shape() -> None:
    document = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path.startswith(("/me/", "/staff/")):
                assert "403" in operation["responses"], f"{method} {path}"
                schema = operation["responses"]["403"]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}
