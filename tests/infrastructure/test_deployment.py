"""Deployment settings: samconfig.toml environments against template.yaml's parameters, logs, tracing."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest

from localcloud.stack import load_template

pytestmark = pytest.mark.infrastructure

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("default", "dev", "prod")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def samconfig() -> dict[str, Any]:
    with (ROOT / "samconfig.toml").open("rb") as handle:
        return tomllib.load(handle)


def overrides(samconfig: dict[str, Any], environment: str) -> dict[str, str]:
    text = samconfig[environment]["deploy"]["parameters"]["parameter_overrides"]
    return dict(item.split("=", 1) for item in shlex.split(text))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_deploys_a_named_stack_with_the_capabilities_it_needs(
    samconfig: dict[str, Any], environment: str
) -> None:
    deploy = samconfig[environment]["deploy"]["parameters"]
    stage = "prod" if environment == "prod" else "dev"
    assert deploy["stack_name"] == f"arrears-{stage}"
    assert samconfig[environment]["delete"]["parameters"]["stack_name"] == deploy["stack_name"]
    assert set(deploy["capabilities"].split()) == {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}
    assert deploy["confirm_changeset"] is True
    assert overrides(samconfig, environment)["Stage"] == stage


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_overrides_name_declared_parameters_with_allowed_values(
    samconfig: dict[str, Any], template: dict[str, Any], environment: str
) -> None:
    declared = template["Parameters"]
    for name, value in overrides(samconfig, environment).items():
        assert name in declared, f"{environment}: {name} is not a template parameter"
        spec = declared[name]
        if "AllowedValues" in spec:
            assert value in [str(v) for v in spec["AllowedValues"]], f"{environment}: {name}={value}"
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], value), f"{environment}: {name}={value}"
        if spec["Type"] == "Number":
            number = int(value)
            assert number >= spec.get("MinValue", number), name
            assert number <= spec.get("MaxValue", number), name


def test_prod_pages_someone_and_keeps_logs_a_year(samconfig: dict[str, Any]) -> None:
    prod = overrides(samconfig, "prod")
    assert "@" in prod["AlarmEmail"]
    assert int(prod["LogRetentionDays"]) >= 365


def test_the_operator_parameters_exist(template: dict[str, Any]) -> None:
    for name in ("Stage", "Jurisdiction", "AlarmEmail", "ShardCount", "SmsSenderId", "LogRetentionDays"):
        assert name in template["Parameters"], name


def test_the_readme_documents_every_parameter_with_its_default(template: dict[str, Any]) -> None:
    """README "Deploying" is where a deployer learns what to set: a parameter missing there keeps a
    default nobody chose (the demo's bureau identity did)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    deploying = readme[readme.index("## Deploying") :]
    deploying = deploying[: deploying.index("\n## ", 1)]
    missing = [name for name in template["Parameters"] if f"`{name}`" not in deploying]
    assert missing == []


def test_prod_refuses_every_demo_bureau_identity(template: dict[str, Any]) -> None:
    """Each parameter the demo's bureau identity defaults has a prod assertion against that default."""
    rule = template["Rules"]["ProdFurnishesUnderTheLendersIdentity"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    params = template["Parameters"]
    assert [assertion["Assert"] for assertion in rule["Assertions"]] == [
        {"Fn::Not": [{"Fn::Equals": [{"Ref": name}, params[name]["Default"]]}]}
        for name in ("BureauFurnisherId", "BureauReporterName")
    ]


def test_every_function_traces_and_logs_to_a_group_with_retention(template: dict[str, Any]) -> None:
    assert template["Globals"]["Function"]["Tracing"] == "Active"
    resources = template["Resources"]
    groups = {n for n, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
    for name, group in ((n, resources[n]) for n in groups):
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
        assert "KmsKeyId" in group["Properties"], name
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Serverless::Function":
            assert resource["Properties"].get("Tracing", "Active") == "Active", name
            group = resource["Properties"]["LoggingConfig"]["LogGroup"]
            assert group["Ref"] in groups, name
