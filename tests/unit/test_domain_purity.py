"""The domain reads no file when it is imported: every document is loaded by `arrears.config`, lazily.

Each domain module is imported in a fresh interpreter with an audit hook that records every file
opened (`open` audit events: builtins.open, io.open, pathlib's read_text, importlib.resources) once
the modules the domain imports from outside `arrears` are loaded (and pydantic has looked up its
plugins). Source and bytecode files the import system itself opens are not reads of data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "arrears"
DOMAIN = LAYER / "arrears" / "domain"

PROBE = r"""
import ast, importlib, json, pathlib, sys

domain = pathlib.Path(sys.argv[1])
module = sys.argv[2]
# What the module imports from outside the package loads first: its own reads are not ours.
for node in ast.walk(ast.parse((domain / f"{module}.py").read_text(encoding="utf-8"))):
    names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
        [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else []
    )
    for name in names:
        if not name.startswith("arrears"):
            importlib.import_module(name)
if "pydantic" in sys.modules:
    # pydantic reads its plugins' entry points when the first model class is built: prime it.
    class _Primer(sys.modules["pydantic"].BaseModel):
        pass
import arrears.domain  # the package itself

opened = []

def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)):
        path = args[0].decode() if isinstance(args[0], bytes) else args[0]
        if not path.endswith((".py", ".pyc")):
            opened.append(path)

sys.addaudithook(hook)
importlib.import_module(f"arrears.domain.{module}")
print(json.dumps(opened))
"""

MODULES = sorted(path.stem for path in DOMAIN.glob("*.py") if path.stem != "__init__")


def test_every_domain_module_is_probed() -> None:
    assert {"rulepacks", "compliance", "planning", "playbook", "business_time"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_importing_a_domain_module_opens_no_file(module: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(LAYER), "PYTHONDONTWRITEBYTECODE": "1"}
    completed = subprocess.run(  # noqa: S603 (our own interpreter, our own probe)
        [sys.executable, "-c", PROBE, str(DOMAIN), module],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == []
