"""scripts/check_build.py on small fake `sam build` outputs: it passes a good tree and names each fault."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from scripts.check_build import EM_AARCH64, EM_X86_64, check_build, elf_machine, main

pytestmark = pytest.mark.infrastructure

CP313_ARM = "cpython-313-aarch64-linux-gnu"

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.13
    Architectures: [arm64]
    Handler: app.handler
    Layers:
      - !Ref ArrearsLayer
Resources:
  ArrearsLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: ArrearsLayer
      CompatibleRuntimes: [python3.13]
    Metadata:
      BuildMethod: python3.13
      BuildArchitecture: arm64
  SweepFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: SweepFunction
  PaymentsFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: PaymentsFunction
      Layers:
        - Ref: ArrearsLayer
"""

SWEEP_APP = """\
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from arrears.domain import rules
from arrears.domain.rules import due

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

try:
    import orjson
except ImportError:
    orjson = None


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    from arrears import adapters

    return {"due": due(), "rules": rules.NAME, "adapters": adapters.NAME}
"""

PAYMENTS_APP = """\
from arrears import adapters as _adapters
import arrears.domain


handler = _adapters.make_handler()
"""


def elf(machine: int) -> bytes:
    """A minimal 64-bit little-endian ELF header for a shared object (enough for e_machine)."""
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    return ident + (3).to_bytes(2, "little") + machine.to_bytes(2, "little") + bytes(44)


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")


def dist_info(name: str, version: str, top: str, requires: tuple[str, ...] = ()) -> dict[str, str | bytes]:
    folder = f"{name.replace('-', '_')}-{version}.dist-info"
    metadata = "Metadata-Version: 2.1\nName: {}\nVersion: {}\n{}".format(
        name, version, "".join(f"Requires-Dist: {r}\n" for r in requires)
    )
    return {
        f"{folder}/METADATA": metadata,
        f"{folder}/RECORD": f"{top}/__init__.py,,\n{folder}/METADATA,,\n",
    }


def layer_files() -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {
        # first party (no dist-info): every import counts, function-level ones too
        "arrears/__init__.py": '"""layer package"""\n',
        "arrears/domain/__init__.py": "from . import rules\nfrom .rules import due\n",
        "arrears/domain/rules.py": """\
            import json
            import zoneinfo
            from datetime import date

            import pydantic_core
            import yaml

            from ..adapters import NAME as ADAPTERS

            NAME = "rules"


            def due() -> str:
                import jmespath
                return date(2026, 1, 2).isoformat()
            """,
        "arrears/adapters/__init__.py": """\
            import sys

            if sys.version_info < (3, 11):
                import tomli as toml
            else:
                import tomllib as toml

            NAME = "adapters"


            def make_handler():
                from botocore.config import Config
                return lambda event, context: None
            """,
        # third party: only what runs at import time counts
        "yaml/__init__.py": """\
            from .loader import load

            def dump_fast():
                import some_optional_accelerator
            """,
        "yaml/loader.py": "def load(text):\n    return text\n",
        "pydantic_core/__init__.py": "from ._pydantic_core import validate\n",
        f"pydantic_core/_pydantic_core.{CP313_ARM}.so": elf(EM_AARCH64),
        "pydantic_core.libs/libhelper-1a2b.so.1.0": elf(EM_AARCH64),
        "tzdata/__init__.py": "",
        "tzdata/zoneinfo/__init__.py": "",
        "requirements.txt": "pyyaml==6.0.4\npydantic-core==2.46.5\ntzdata==2026.6\n",
    }
    files.update(dist_info("PyYAML", "6.0.4", "yaml"))
    files.update(dist_info("pydantic_core", "2.46.5", "pydantic_core", ("typing-extensions>=4.14.1",)))
    files.update(dist_info("typing_extensions", "4.16.0", "typing_extensions"))
    files["typing_extensions.py"] = ""
    files.update(dist_info("tzdata", "2026.6", "tzdata"))
    return files


@pytest.fixture
def build(tmp_path: Path) -> Path:
    """A good build tree: template, one layer, two functions."""
    root = tmp_path / "build"
    write(root, {"template.yaml": TEMPLATE})
    write(root / "ArrearsLayer" / "python", layer_files())
    write(root / "SweepFunction", {"app.py": SWEEP_APP})
    write(root / "PaymentsFunction", {"app.py": PAYMENTS_APP})
    return root


def problems(build: Path) -> list[str]:
    return check_build(build).problems


def test_good_tree_passes(build: Path) -> None:
    report = check_build(build)

    assert report.problems == []
    assert any("SweepFunction" in note and "imports resolved" in note for note in report.notes)
    assert any("PaymentsFunction" in note for note in report.notes)


def test_main_reports_ok_and_exit_code_zero(build: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--build-dir", str(build)]) == 0
    assert "check_build: OK" in capsys.readouterr().out


def test_missing_module_in_handler_is_reported(build: Path) -> None:
    write(build / "SweepFunction", {"app.py": SWEEP_APP + "\nimport arrears.reporting\n"})

    found = problems(build)

    assert len(found) == 1
    assert "SweepFunction" in found[0]
    assert "'arrears.reporting'" in found[0]
    assert "app.py" in found[0]


def test_missing_module_deep_in_the_layer_package_is_reported(build: Path) -> None:
    rules = build / "ArrearsLayer/python/arrears/domain/rules.py"
    rules.write_text(rules.read_text() + "\n\ndef fetch():\n    import requests\n")

    found = problems(build)

    # both functions reach rules.py
    assert len(found) == 2
    assert all("'requests'" in p and "arrears/domain/rules.py" in p for p in found)


def test_from_import_of_a_missing_submodule_of_a_namespace_package(build: Path) -> None:
    write(
        build / "SweepFunction",
        {"helpers/util.py": "X = 1\n", "app.py": SWEEP_APP + "from helpers import nope\n"},
    )

    assert any("'helpers.nope'" in p for p in problems(build))


def test_relative_import_beyond_top_level_is_reported(build: Path) -> None:
    write(build / "SweepFunction", {"app.py": SWEEP_APP + "from . import sibling\n"})

    assert any("relative import beyond" in p for p in problems(build))


def test_x86_64_extension_is_reported(build: Path) -> None:
    core = build / "ArrearsLayer/python/pydantic_core"
    (core / f"_pydantic_core.{CP313_ARM}.so").unlink()
    (core / "_pydantic_core.cpython-313-x86_64-linux-gnu.so").write_bytes(elf(EM_X86_64))

    found = "\n".join(problems(build))

    assert "_pydantic_core.cpython-313-x86_64-linux-gnu.so: built for x86_64" in found
    assert "extension tagged cpython-313-x86_64-linux-gnu" in found
    assert f"pydantic_core has no _pydantic_core.{CP313_ARM}.so" in found
    assert "cannot import 'pydantic_core._pydantic_core'" in found


def test_x86_64_binary_without_a_python_tag_is_reported(build: Path) -> None:
    (build / "ArrearsLayer/python/pydantic_core.libs/libhelper-1a2b.so.1.0").write_bytes(elf(EM_X86_64))

    found = problems(build)

    assert found == [
        "layer ArrearsLayer: python/pydantic_core.libs/libhelper-1a2b.so.1.0: "
        "built for x86_64, Lambda runs aarch64"
    ]


def test_cpython_312_extension_is_reported(build: Path) -> None:
    core = build / "ArrearsLayer/python/pydantic_core"
    (core / f"_pydantic_core.{CP313_ARM}.so").rename(core / "_pydantic_core.cpython-312-aarch64-linux-gnu.so")

    found = "\n".join(problems(build))

    assert "extension tagged cpython-312-aarch64-linux-gnu" in found
    assert f"pydantic_core has no _pydantic_core.{CP313_ARM}.so" in found
    assert "cannot import 'pydantic_core._pydantic_core'" in found


def test_abi3_extension_is_accepted(build: Path) -> None:
    fastlib: dict[str, str | bytes] = {
        "fastlib/__init__.py": "from ._speed import go\n",
        "fastlib/_speed.abi3.so": elf(EM_AARCH64),
    }
    write(build / "ArrearsLayer/python", fastlib)
    write(build / "SweepFunction", {"app.py": SWEEP_APP + "import fastlib\n"})

    assert problems(build) == []


def test_missing_handler_function_is_reported(build: Path) -> None:
    write(build / "SweepFunction", {"app.py": SWEEP_APP.replace("def handler(", "def handle(")})

    found = problems(build)

    assert found == [
        "function SweepFunction: handler 'app.handler': 'handler' is not defined at module level"
    ]


def test_handler_defined_inside_a_function_does_not_count(build: Path) -> None:
    write(
        build / "PaymentsFunction",
        {"app.py": "def outer():\n    def handler(event, context):\n        pass\n"},
    )

    assert any("'handler' is not defined at module level" in p for p in problems(build))


def test_missing_handler_module_is_reported(build: Path) -> None:
    (build / "PaymentsFunction/app.py").unlink()

    assert problems(build) == [
        "function PaymentsFunction: handler module 'app' not found: no app.py in PaymentsFunction/"
    ]


def test_runtime_provided_sdk_bundled_in_layer_is_reported(build: Path) -> None:
    write(build / "ArrearsLayer/python", {"botocore/__init__.py": ""})

    assert any("bundles 'botocore'" in p for p in problems(build))


def test_missing_distribution_requirement_is_reported(build: Path) -> None:
    layer = build / "ArrearsLayer/python"
    (layer / "typing_extensions.py").unlink()
    for folder in layer.glob("typing_extensions-*.dist-info"):
        shutil.rmtree(folder)

    assert problems(build) == [
        "layer ArrearsLayer: pydantic_core needs typing-extensions>=4.14.1, which is not in the layer"
    ]


def test_zoneinfo_without_tzdata_is_reported(build: Path) -> None:
    layer = build / "ArrearsLayer/python"
    for folder in layer.glob("tzdata*"):
        shutil.rmtree(folder)

    found = problems(build)

    assert len(found) == 2
    assert all("imports zoneinfo but the tzdata package is not" in p for p in found)


def test_wrong_runtime_and_architecture_are_reported(build: Path) -> None:
    template = build / "template.yaml"
    template.write_text(template.read_text().replace("Architectures: [arm64]", "Architectures: [x86_64]"))

    found = problems(build)

    assert len(found) == 2
    assert all("expected [arm64]" in p for p in found)


def test_no_build_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--build-dir", str(tmp_path / "nothing")]) == 1
    assert "run `make build` first" in capsys.readouterr().out


def test_elf_machine_reads_the_header(tmp_path: Path) -> None:
    arm, text = tmp_path / "arm.so", tmp_path / "text.so"
    arm.write_bytes(elf(EM_AARCH64))
    text.write_text("not a binary")

    assert elf_machine(arm) == EM_AARCH64
    assert elf_machine(text) is None
