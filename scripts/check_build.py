#!/usr/bin/env python3
"""Check what `sam build` produced before anyone deploys it.

Reads the built template (``.aws-sam/build/template.yaml``) and, without importing anything from the
build (this machine is x86_64, the Lambda functions run on arm64), checks:

* every shared object in every built layer and function is an aarch64 ELF file, and every Python
  extension module is tagged for CPython 3.13 on aarch64 (``cpython-313-aarch64-linux-gnu``) or is
  ``abi3``; nothing for another Python, another architecture, Windows or macOS;
* a layer that ships ``pydantic_core`` ships its cpython-313 aarch64 extension;
* no layer bundles what the Lambda runtime already provides (boto3, botocore, ...), and every
  distribution in a layer or function has its requirements beside it (``make build`` installs with
  PIP_NO_DEPS=1, so the pins must list transitive dependencies too);
* every function runs python3.13 on arm64, its handler module exists in its ``CodeUri`` and defines the
  handler attribute at module level;
* every import reachable from the handler resolves against the function's directory, its layers'
  ``python/`` directories and the Lambda python3.13 runtime (standard library + the AWS SDK it ships).

Imports are followed statically with ``ast``: relative imports, ``from x import y`` where ``y`` is a
submodule, and packages' ``__init__`` modules are handled; imports under ``if TYPE_CHECKING:`` are skipped,
imports guarded by ``try: ... except ImportError:`` are optional, and ``sys.version_info`` /
``sys.platform`` tests are evaluated for python3.13 on Linux. In first-party code (the function and any
layer package without ``*.dist-info``) every import counts, function-level ones included; in third-party
packages only the imports that run when the module is imported count (module and class bodies).

Exit status: 0 when everything holds, 1 with a report of every problem, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path
from typing import Any

import yaml
from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

RUNTIME = "python3.13"
ARCHITECTURE = "arm64"
PY_VERSION = (3, 13)
EXTENSION_TAG = "cpython-313-aarch64-linux-gnu"
# Suffixes CPython 3.13 on aarch64 Linux loads extensions from (importlib.machinery.EXTENSION_SUFFIXES).
EXTENSION_SUFFIXES = (f".{EXTENSION_TAG}.so", ".abi3.so", ".so")
# Packages the Lambda python3.13 runtime provides next to the standard library.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"})
# ... and the distributions they come in.
RUNTIME_DISTRIBUTIONS = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six"}
)
# Of those, the ones a layer must not bundle (jmespath is a direct requirement of Powertools).
MUST_NOT_BUNDLE = frozenset({"boto3", "botocore", "s3transfer", "dateutil", "urllib3", "six"})
STDLIB = frozenset(sys.stdlib_module_names) | frozenset(sys.builtin_module_names)

EM_X86_64 = 62
EM_AARCH64 = 183
ELF_MACHINES = {3: "x86 (i386)", 8: "mips", 20: "ppc", 21: "ppc64", 40: "arm", EM_X86_64: "x86_64",
                EM_AARCH64: "aarch64", 243: "riscv"}  # fmt: skip
NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
PY_TAG = re.compile(r"^(?P<module>[^.]+)\.(?P<tag>(?:cpython|cp\d|pypy|graalpy|abi\d)[^.]*)\.(?:so|pyd)$")
SO_VERSIONED = re.compile(r"\.so(\.\d+)*$")


# --------------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------------
@dataclass
class Report:
    """Problems found (each makes the check fail) and notes (informational)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)

    def note(self, message: str) -> None:
        self.notes.append(message)


# --------------------------------------------------------------------------------------------------
# template
# --------------------------------------------------------------------------------------------------
class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short-form tags (!Ref, !GetAtt, !Sub, ...) as plain data."""


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(
            None, None, f"unexpected node for !{tag_suffix}", node.start_mark
        )
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path) -> dict[str, Any]:
    loader = _CfnLoader(path.read_text(encoding="utf-8"))
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a CloudFormation template")
    return data


@dataclass
class Layer:
    logical_id: str
    content: Path

    @property
    def python_roots(self) -> list[Path]:
        """Where Lambda puts a python layer on sys.path (under /opt)."""
        base = self.content / "python"
        return [base / "lib" / f"python{PY_VERSION[0]}.{PY_VERSION[1]}" / "site-packages", base]


@dataclass
class Function:
    logical_id: str
    code: Path
    handler: str
    runtime: str
    architectures: list[str]
    layers: list[Layer]
    external_layers: list[str]


def _local_path(base: Path, value: Any) -> Path | None:
    if isinstance(value, str) and not value.startswith(("s3://", "arn:", "http://", "https://")):
        return (base / value).resolve()
    return None


def read_template(path: Path, report: Report) -> tuple[list[Function], list[Layer], list[Path]]:
    """Functions, layers and local nested templates declared in a built template."""
    template = load_template(path)
    base = path.parent
    resources: dict[str, Any] = template.get("Resources") or {}
    glob_fn: dict[str, Any] = (template.get("Globals") or {}).get("Function") or {}

    layers: dict[str, Layer] = {}
    for logical_id, resource in resources.items():
        rtype = resource.get("Type")
        props = resource.get("Properties") or {}
        if rtype == "AWS::Serverless::LayerVersion":
            content = _local_path(base, props.get("ContentUri"))
        elif rtype == "AWS::Lambda::LayerVersion":
            content = _local_path(base, props.get("Content"))
        else:
            continue
        if content is None or not content.is_dir():
            report.problem(f"layer {logical_id}: built content not found ({props})")
            continue
        layers[logical_id] = Layer(logical_id, content)

    functions: list[Function] = []
    nested: list[Path] = []
    for logical_id, resource in resources.items():
        rtype = resource.get("Type")
        props = resource.get("Properties") or {}
        if rtype in {"AWS::Serverless::Application", "AWS::CloudFormation::Stack"}:
            location = props.get("Location") if rtype == "AWS::Serverless::Application" else None
            location = location or props.get("TemplateURL")
            nested_path = _local_path(base, location)
            if nested_path is not None and nested_path.is_file():
                nested.append(nested_path)
            continue
        if rtype == "AWS::Serverless::Function":
            merged = {**glob_fn, **props}
            if merged.get("PackageType") == "Image" or "InlineCode" in props:
                report.note(f"function {logical_id}: image or inline code, not checked")
                continue
            code_value = merged.get("CodeUri")
            layer_refs = list(glob_fn.get("Layers") or []) + list(props.get("Layers") or [])
        elif rtype == "AWS::Lambda::Function":
            merged = dict(props)
            if merged.get("PackageType") == "Image" or isinstance(merged.get("Code"), dict):
                report.note(f"function {logical_id}: image or inline/S3 code, not checked")
                continue
            code_value = merged.get("Code")
            layer_refs = list(props.get("Layers") or [])
        else:
            continue
        code = _local_path(base, code_value)
        if code is None or not code.is_dir():
            report.problem(f"function {logical_id}: built code not found (CodeUri {code_value!r})")
            continue
        fn_layers: list[Layer] = []
        external: list[str] = []
        for ref in layer_refs:
            if isinstance(ref, dict) and isinstance(ref.get("Ref"), str) and ref["Ref"] in layers:
                fn_layers.append(layers[ref["Ref"]])
            else:
                external.append(str(ref))
        archs = merged.get("Architectures") or ["x86_64"]
        functions.append(
            Function(
                logical_id=logical_id,
                code=code,
                handler=str(merged.get("Handler", "")),
                runtime=str(merged.get("Runtime", "")),
                architectures=[str(a) for a in archs],
                layers=fn_layers,
                external_layers=external,
            )
        )
    return functions, list(layers.values()), nested


# --------------------------------------------------------------------------------------------------
# binaries
# --------------------------------------------------------------------------------------------------
def elf_machine(path: Path) -> int | None:
    """The ELF e_machine of a file, or None when it is not an ELF file."""
    try:
        with path.open("rb") as handle:
            header = handle.read(20)
    except OSError:
        return None
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def check_binaries(root: Path, label: str, report: Report) -> int:
    """Every native file under root is an aarch64 ELF built for CPython 3.13. Returns how many."""
    count = 0
    for path in _files(root):
        rel = path.relative_to(root)
        name = path.name
        machine = elf_machine(path)
        looks_native = name.endswith(NATIVE_SUFFIXES) or bool(SO_VERSIONED.search(name))
        if machine is None and not looks_native:
            continue
        count += 1
        if name.endswith((".pyd", ".dll", ".dylib")):
            report.problem(f"{label}: {rel}: Windows/macOS binary")
            continue
        if machine is None:
            report.problem(f"{label}: {rel}: not an ELF shared object")
        elif machine != EM_AARCH64:
            arch = ELF_MACHINES.get(machine, f"e_machine {machine}")
            report.problem(f"{label}: {rel}: built for {arch}, Lambda runs aarch64")
        tagged = PY_TAG.match(name)
        if tagged and tagged["tag"] not in {EXTENSION_TAG, "abi3"}:
            report.problem(
                f"{label}: {rel}: extension tagged {tagged['tag']}, expected {EXTENSION_TAG} or abi3"
            )
    return count


def _marker_environment() -> dict[str, str]:
    env: dict[str, str] = {key: str(value) for key, value in default_environment().items()}
    env.update(
        python_version=f"{PY_VERSION[0]}.{PY_VERSION[1]}",
        python_full_version=f"{PY_VERSION[0]}.{PY_VERSION[1]}.0",
        sys_platform="linux",
        platform_system="Linux",
        platform_machine="aarch64",
        os_name="posix",
        implementation_name="cpython",
        platform_python_implementation="CPython",
    )
    return env


def _metadata(info: Path) -> tuple[str, str, list[str]] | None:
    """(name, version, Requires-Dist lines) of a .dist-info directory."""
    path = info / "METADATA"
    if not path.is_file():
        return None
    parsed = Parser().parsestr(path.read_text(encoding="utf-8", errors="replace"), headersonly=True)
    name, version = parsed.get("Name"), parsed.get("Version")
    if not name or not version:
        return None
    return str(name), str(version), [str(r) for r in parsed.get_all("Requires-Dist") or []]


def _requested_extras(root: Path) -> dict[str, set[str]]:
    """Extras asked for in the requirements.txt that sam build copies next to the packages."""
    extras: dict[str, set[str]] = {}
    requirements = root / "requirements.txt"
    if requirements.is_file():
        # `make lock` continues each requirement over several lines (a backslash, then its --hash options).
        text = re.sub(r"\\\r?\n", " ", requirements.read_text(encoding="utf-8"))
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            line = line.split(" --", 1)[0].strip()  # options after the requirement (--hash=...)
            if not line or line.startswith("-"):
                continue
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            extras.setdefault(canonicalize_name(req.name), set()).update(req.extras)
    return extras


def check_distributions(root: Path, label: str, report: Report) -> None:
    """Every distribution installed under root has its requirements beside it (or in the runtime)."""
    installed: dict[str, str] = {}
    requires: dict[str, list[str]] = {}
    for info in sorted(root.glob("*.dist-info")):
        meta = _metadata(info)
        if meta is None:
            report.problem(f"{label}: {info.name}: no readable METADATA")
            continue
        name, version, lines = meta
        installed[canonicalize_name(name)] = version
        requires[name] = lines
    extras = _requested_extras(root)
    base_env = _marker_environment()
    for dist, lines in requires.items():
        wanted = {""} | extras.get(canonicalize_name(dist), set())
        for line in lines:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                report.problem(f"{label}: {dist}: unreadable requirement {line!r}")
                continue
            if req.marker is not None and not any(
                req.marker.evaluate({**base_env, "extra": extra}) for extra in wanted
            ):
                continue
            key = canonicalize_name(req.name)
            if key in installed:
                if req.specifier and not req.specifier.contains(installed[key], prereleases=True):
                    report.problem(f"{label}: {dist} needs {req}, the layer has {req.name} {installed[key]}")
            elif key not in RUNTIME_DISTRIBUTIONS:
                report.problem(f"{label}: {dist} needs {req}, which is not in the layer")


def check_layer(layer: Layer, report: Report) -> None:
    label = f"layer {layer.logical_id}"
    count = check_binaries(layer.content, label, report)
    python_dirs = [root for root in layer.python_roots if root.is_dir()]
    if not python_dirs:
        report.problem(f"{label}: no python/ directory in {layer.content}")
    for root in python_dirs:
        check_distributions(root, label, report)
        core = root / "pydantic_core"
        if core.is_dir() and not (core / f"_pydantic_core.{EXTENSION_TAG}.so").is_file():
            found = sorted(p.name for p in core.glob("_pydantic_core*")) or ["nothing"]
            report.problem(
                f"{label}: pydantic_core has no _pydantic_core.{EXTENSION_TAG}.so (found: {', '.join(found)})"
            )
        for name in sorted(MUST_NOT_BUNDLE):
            if (root / name).is_dir() or (root / f"{name}.py").is_file():
                report.problem(
                    f"{label}: bundles {name!r}, which the Lambda runtime provides "
                    "(build with PIP_NO_DEPS=1: `make build`)"
                )
    report.note(f"{label}: {count} native file(s) checked")


# --------------------------------------------------------------------------------------------------
# static import resolution
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Module:
    name: str
    kind: str  # "source", "package", "namespace", "extension", "runtime"
    path: Path | None  # source file (package: its __init__.py), extension file; None for the others
    search: tuple[Path, ...] = ()  # where submodules are looked for (packages and namespaces)
    first_party: bool = False


@dataclass(frozen=True)
class Import:
    module: str  # absolute name when level == 0, else the relative part ("" for `from . import x`)
    level: int
    names: tuple[str, ...]  # for `from module import names`; () for `import module`
    line: int
    optional: bool


def _dist_top_levels(root: Path) -> frozenset[str]:
    """Top-level names installed by the *.dist-info in a site-packages-like directory."""
    names: set[str] = set()
    for info in root.glob("*.dist-info"):
        top = info / "top_level.txt"
        if top.is_file():
            names.update(line.strip().split("/")[0] for line in top.read_text().splitlines() if line.strip())
        record = info / "RECORD"
        if record.is_file():
            for line in record.read_text(errors="replace").splitlines():
                first = line.split(",", 1)[0].split("/", 1)[0]
                if first and not first.endswith((".dist-info", ".data")) and first != "..":
                    names.add(first.removesuffix(".py").split(".", 1)[0])
    return frozenset(names)


class Resolver:
    """Finds modules the way Python's PathFinder would, over a fixed list of directories."""

    def __init__(self, roots: list[Path], first_party_roots: Iterable[Path]) -> None:
        self.roots = [root for root in roots if root.is_dir()]
        first = {root.resolve() for root in first_party_roots}
        self._third_party = {
            root: _dist_top_levels(root) for root in self.roots if root.resolve() not in first
        }
        self._cache: dict[str, Module | None] = {}

    def _find_in(self, name: str, leaf: str, dirs: Iterable[Path], first_party: bool | None) -> Module | None:
        portions: list[Path] = []
        portion_first_party = False
        for directory in dirs:
            fp = first_party
            if fp is None:  # top level: first party unless a dist-info in this root claims it
                fp = leaf not in self._third_party.get(directory, frozenset())
            package = directory / leaf
            init = package / "__init__.py"
            if init.is_file():
                return Module(name, "package", init, (package,), fp)
            source = directory / f"{leaf}.py"
            if source.is_file():
                return Module(name, "source", source, (), fp)
            for suffix in EXTENSION_SUFFIXES:
                ext = directory / f"{leaf}{suffix}"
                if ext.is_file():
                    return Module(name, "extension", ext, (), fp)
            if package.is_dir():
                portions.append(package)
                portion_first_party = portion_first_party or fp
        if portions:
            return Module(name, "namespace", None, tuple(portions), portion_first_party)
        return None

    def find(self, name: str) -> Module | None:
        if name in self._cache:
            return self._cache[name]
        parent_name, _, leaf = name.rpartition(".")
        top = name.split(".", 1)[0]
        found: Module | None
        if not parent_name:
            if top in sys.builtin_module_names:
                found = Module(name, "runtime", None)
            else:
                found = self._find_in(name, leaf, self.roots, None)
                if found is None and (top in STDLIB or top in RUNTIME_PROVIDED):
                    found = Module(name, "runtime", None)
        else:
            parent = self.find(parent_name)
            if parent is None:
                found = None
            elif parent.kind == "runtime":
                found = Module(name, "runtime", None)
            elif parent.kind in {"package", "namespace"}:
                found = self._find_in(name, leaf, parent.search, parent.first_party)
            else:
                found = None
        self._cache[name] = found
        return found


# --- reading imports out of a module --------------------------------------------------------------
_UNKNOWN = object()
_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def _const(node: ast.expr) -> Any:
    """The value of a test expression for python3.13 on Linux at run time, or _UNKNOWN."""
    result: Any = _UNKNOWN
    match node:
        case ast.Constant(value=value):
            result = value
        case ast.Name(id="TYPE_CHECKING") | ast.Attribute(attr="TYPE_CHECKING"):
            result = False
        case ast.Name(id="__name__"):
            result = "<module>"
        case ast.Attribute(value=ast.Name(id="sys"), attr="version_info"):
            result = (*PY_VERSION, 0)
        case ast.Attribute(value=ast.Name(id="sys"), attr="platform"):
            result = "linux"
        case ast.Attribute(value=ast.Name(id="os"), attr="name"):
            result = "posix"
        case ast.Tuple(elts=elts):
            values = [_const(elt) for elt in elts]
            result = _UNKNOWN if _UNKNOWN in values else tuple(values)
        case ast.Subscript(value=inner, slice=index):
            base, key = _const(inner), _const(index)
            if isinstance(base, tuple) and isinstance(key, int):
                result = base[key]
            elif isinstance(base, tuple) and isinstance(index, ast.Slice):
                lower = _const(index.lower) if index.lower else None
                upper = _const(index.upper) if index.upper else None
                if (lower is None or isinstance(lower, int)) and (upper is None or isinstance(upper, int)):
                    result = base[lower:upper]
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            value = _const(operand)
            result = _UNKNOWN if value is _UNKNOWN else not value
        case ast.BoolOp(op=op, values=values):
            consts = [_const(v) for v in values]
            if isinstance(op, ast.And):
                if any(c is not _UNKNOWN and not c for c in consts):
                    result = False
                elif _UNKNOWN not in consts:
                    result = True
            elif any(c is not _UNKNOWN and c for c in consts):
                result = True
            elif _UNKNOWN not in consts:
                result = False
        case ast.Call(func=ast.Attribute(value=target, attr="startswith"), args=[prefix]):
            value, start = _const(target), _const(prefix)
            if isinstance(value, str) and isinstance(start, str | tuple):
                result = value.startswith(start)
        case ast.Compare(left=left, ops=[op], comparators=[right]):
            result = _compare(_const(left), op, _const(right))
    return result


def _compare(left: Any, op: ast.cmpop, right: Any) -> Any:
    if left is _UNKNOWN or right is _UNKNOWN:
        return _UNKNOWN
    try:
        match op:
            case ast.Eq():
                return left == right
            case ast.NotEq():
                return left != right
            case ast.Lt():
                return left < right
            case ast.LtE():
                return left <= right
            case ast.Gt():
                return left > right
            case ast.GtE():
                return left >= right
            case ast.In():
                return left in right
            case ast.NotIn():
                return left not in right
    except TypeError:
        return _UNKNOWN
    return _UNKNOWN


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for kind in kinds:
        name = kind.attr if isinstance(kind, ast.Attribute) else getattr(kind, "id", "")
        if name in _IMPORT_ERRORS:
            return True
    return False


class _ImportCollector:
    """Collects the imports a module performs; `eager_only` skips function bodies (third-party code)."""

    def __init__(self, eager_only: bool) -> None:
        self.eager_only = eager_only
        self.imports: list[Import] = []

    def body(self, statements: list[ast.stmt], optional: bool) -> None:
        for statement in statements:
            self.statement(statement, optional)

    def statement(self, node: ast.stmt, optional: bool) -> None:
        match node:
            case ast.Import(names=aliases):
                for alias in aliases:
                    self.imports.append(Import(alias.name, 0, (), node.lineno, optional))
            case ast.ImportFrom(module=module, level=level, names=aliases):
                names = tuple(alias.name for alias in aliases)
                self.imports.append(Import(module or "", level or 0, names, node.lineno, optional))
            case ast.If(test=test, body=body, orelse=orelse):
                value = _const(test)
                if value is _UNKNOWN or value:
                    self.body(body, optional)
                if value is _UNKNOWN or not value:
                    self.body(orelse, optional)
            case (
                ast.Try(body=body, handlers=handlers, orelse=orelse, finalbody=final)
                | ast.TryStar(body=body, handlers=handlers, orelse=orelse, finalbody=final)
            ):
                guarded = any(_catches_import_error(h) for h in handlers)
                self.body(body, optional or guarded)
                for handler in handlers:
                    self.body(handler.body, optional or guarded)
                self.body(orelse, optional)
                self.body(final, optional)
            case ast.FunctionDef(body=body) | ast.AsyncFunctionDef(body=body):
                if not self.eager_only:
                    self.body(body, optional)
            case ast.ClassDef(body=body):
                self.body(body, optional)
            case ast.With(body=body) | ast.AsyncWith(body=body):
                self.body(body, optional)
            case (
                ast.For(body=body, orelse=orelse)
                | ast.AsyncFor(body=body, orelse=orelse)
                | ast.While(body=body, orelse=orelse)
            ):
                self.body(body, optional)
                self.body(orelse, optional)
            case ast.Match(cases=cases):
                for case in cases:
                    self.body(case.body, optional)
            case _:
                if not self.eager_only:
                    self.dynamic(node, optional)

    def dynamic(self, node: ast.stmt, optional: bool) -> None:
        """importlib.import_module("literal") in first-party code counts as an import."""
        for call in ast.walk(node):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute | ast.Name)
                and (getattr(call.func, "attr", None) or getattr(call.func, "id", None)) == "import_module"
                and call.args
                and isinstance(call.args[0], ast.Constant)
                and isinstance(call.args[0].value, str)
                and not call.args[0].value.startswith(".")
            ):
                self.imports.append(Import(call.args[0].value, 0, (), call.lineno, optional))


_PARSED: dict[tuple[Path, bool], list[Import] | SyntaxError] = {}


def imports_of(path: Path, eager_only: bool) -> list[Import] | SyntaxError:
    key = (path, eager_only)
    if key not in _PARSED:
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except SyntaxError as error:
            _PARSED[key] = error
        else:
            collector = _ImportCollector(eager_only)
            collector.body(tree.body, optional=False)
            _PARSED[key] = collector.imports
    return _PARSED[key]


def _absolute(imp: Import, importer: Module) -> str | None:
    if imp.level == 0:
        return imp.module
    package = importer.name if importer.kind == "package" else importer.name.rpartition(".")[0]
    parts = package.split(".") if package else []
    if imp.level - 1 > len(parts) or not package:
        return None
    base = ".".join(parts[: len(parts) - (imp.level - 1)])
    if not base:
        return None
    return f"{base}.{imp.module}" if imp.module else base


def _display(path: Path, roots: list[Path]) -> str:
    for root in roots:
        if path.is_relative_to(root):
            return str(path.relative_to(root))
    return str(path)


def follow_imports(entry: Module, resolver: Resolver, label: str, report: Report) -> set[str]:
    """Walks every import reachable from entry; returns the names of the modules it reached."""
    # A module reached only through optional imports (try/except ImportError) is read, but what it fails
    # to import is not a problem: at run time that ImportError is caught. Reached again through a
    # required import, it is read again as required.
    seen: dict[str, bool] = {entry.name: False}  # name -> reached only optionally
    queue: list[tuple[Module, bool]] = [(entry, False)]
    roots = sorted(resolver.roots, key=lambda p: len(p.parts), reverse=True)

    def missing(name: str, where: Module, line: int) -> None:
        shown = _display(where.path, roots) if where.path else where.name
        report.problem(f"{label}: cannot import {name!r} (needed by {shown}:{line})")

    def need(name: str, importer: Module, line: int, optional: bool) -> Module | None:
        """Resolves name and all its parent packages, queueing what it finds."""
        parts = name.split(".")
        module: Module | None = None
        for i in range(1, len(parts) + 1):
            module = resolver.find(".".join(parts[:i]))
            if module is None:
                if not optional:
                    missing(".".join(parts[:i]), importer, line)
                return None
            if module.name not in seen or (seen[module.name] and not optional):
                seen[module.name] = optional
                queue.append((module, optional))
        return module

    while queue:
        module, module_optional = queue.pop()
        if module.kind not in {"source", "package"} or module.path is None:
            continue
        parsed = imports_of(module.path, eager_only=not module.first_party)
        if isinstance(parsed, SyntaxError):
            if not module_optional:
                shown = _display(module.path, roots)
                report.problem(f"{label}: {shown}: syntax error for python3.13: {parsed.msg}")
            continue
        for imp in parsed:
            optional = module_optional or imp.optional
            name = _absolute(imp, module)
            if name is None:
                if not optional:
                    shown = _display(module.path, roots)
                    report.problem(
                        f"{label}: relative import beyond the top-level package in {shown}:{imp.line}"
                    )
                continue
            target = need(name, module, imp.line, optional)
            if target is None:
                continue
            for attr in imp.names:
                if attr == "*":
                    continue
                sub = f"{target.name}.{attr}"
                if target.kind in {"package", "namespace"} and resolver.find(sub) is not None:
                    need(sub, module, imp.line, optional)
                elif target.kind == "namespace" and not optional:
                    missing(sub, module, imp.line)
    return {name for name, only_optional in seen.items() if not only_optional}


# --------------------------------------------------------------------------------------------------
# handlers
# --------------------------------------------------------------------------------------------------
def module_level_names(tree: ast.Module) -> set[str]:
    """Names bound at module level (also inside module-level if/try/with blocks)."""
    names: set[str] = set()

    def bind(target: ast.expr) -> None:
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                bind(element)
        elif isinstance(target, ast.Starred):
            bind(target.value)

    def walk(statements: list[ast.stmt]) -> None:
        for node in statements:
            match node:
                case ast.FunctionDef(name=name) | ast.AsyncFunctionDef(name=name) | ast.ClassDef(name=name):
                    names.add(name)
                case ast.Assign(targets=targets):
                    for target in targets:
                        bind(target)
                case ast.AnnAssign(target=target, value=value) if value is not None:
                    bind(target)
                case ast.AugAssign(target=target):
                    bind(target)
                case ast.Import(names=aliases):
                    names.update((a.asname or a.name).split(".")[0] for a in aliases)
                case ast.ImportFrom(names=aliases):
                    names.update(a.asname or a.name for a in aliases if a.name != "*")
                case ast.If(body=body, orelse=orelse):
                    walk(body)
                    walk(orelse)
                case ast.Try(body=body, handlers=handlers, orelse=orelse, finalbody=final):
                    walk(body)
                    for handler in handlers:
                        walk(handler.body)
                    walk(orelse)
                    walk(final)
                case ast.With(body=body):
                    walk(body)

    walk(tree.body)
    return names


def check_function(fn: Function, report: Report) -> None:
    label = f"function {fn.logical_id}"
    if fn.runtime != RUNTIME:
        report.problem(f"{label}: runtime {fn.runtime or '(none)'}, expected {RUNTIME}")
    if fn.architectures != [ARCHITECTURE]:
        report.problem(f"{label}: architectures {fn.architectures}, expected [{ARCHITECTURE}]")
    for ref in fn.external_layers:
        report.note(f"{label}: layer {ref} is not built here; its contents are not checked")
    check_binaries(fn.code, label, report)
    check_distributions(fn.code, label, report)

    module_name, dot, attr = fn.handler.rpartition(".")
    if not dot or not module_name or not attr:
        report.problem(f"{label}: handler {fn.handler!r} is not of the form module.function")
        return
    module_name = module_name.replace("/", ".")
    handler_file = fn.code.joinpath(*module_name.split(".")).with_suffix(".py")
    if not handler_file.is_file():
        package_init = handler_file.with_suffix("") / "__init__.py"
        if not package_init.is_file():
            rel = handler_file.relative_to(fn.code)
            report.problem(f"{label}: handler module {module_name!r} not found: no {rel} in {fn.code.name}/")
            return
        handler_file = package_init
    try:
        tree = ast.parse(handler_file.read_bytes(), filename=str(handler_file))
    except SyntaxError as error:
        report.problem(f"{label}: {handler_file.name}: syntax error for python3.13: {error.msg}")
        return
    if attr not in module_level_names(tree):
        report.problem(f"{label}: handler {fn.handler!r}: {attr!r} is not defined at module level")

    layer_roots = [root for layer in fn.layers for root in layer.python_roots]
    resolver = Resolver([fn.code, *layer_roots], first_party_roots=[fn.code])
    entry = resolver.find(module_name)
    if entry is None:
        report.problem(f"{label}: handler module {module_name!r} does not resolve")
        return
    reached = follow_imports(entry, resolver, label, report)
    # zoneinfo reads /usr/share/zoneinfo, which the Amazon Linux 2023 based runtimes may lack, then the
    # tzdata package: ship it.
    if "zoneinfo" in reached and (
        resolver.find("tzdata") is None or resolver.find("tzdata.zoneinfo") is None
    ):
        report.problem(
            f"{label}: imports zoneinfo but the tzdata package is not in the function or its layers"
        )
    report.note(f"{label}: handler {fn.handler} found; {len(reached)} module(s) reached, imports resolved")


# --------------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------------
def check_build(build_dir: Path, template: Path | None = None) -> Report:
    report = Report()
    template = template or build_dir / "template.yaml"
    if not template.is_file():
        report.problem(f"no built template at {template}: run `make build` first")
        return report
    pending = [template.resolve()]
    done: set[Path] = set()
    total_functions = 0
    while pending:
        current = pending.pop(0)
        if current in done:
            continue
        done.add(current)
        try:
            functions, layers, nested = read_template(current, report)
        except (OSError, ValueError, yaml.YAMLError) as error:
            report.problem(f"cannot read {current}: {error}")
            continue
        pending.extend(nested)
        for layer in layers:
            check_layer(layer, report)
        for fn in functions:
            check_function(fn, report)
        total_functions += len(functions)
    if total_functions == 0:
        report.problem(f"no function found in {template}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--build-dir", type=Path, default=Path(".aws-sam/build"), help="sam build output")
    parser.add_argument(
        "--template", type=Path, default=None, help="built template (default BUILD/template.yaml)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    args = parser.parse_args(argv)

    if sys.version_info[:2] != PY_VERSION:
        wanted = f"{PY_VERSION[0]}.{PY_VERSION[1]}"
        print(f"warning: run me with Python {wanted}: its standard library is the reference")
    report = check_build(args.build_dir, args.template)
    if not args.quiet:
        for line in report.notes:
            print(f"  ok  {line}")
    if report.ok:
        print(f"check_build: OK ({args.build_dir})")
        return 0
    print(f"check_build: {len(report.problems)} problem(s) in {args.build_dir}:")
    for line in report.problems:
        print(f"  FAIL {line}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
