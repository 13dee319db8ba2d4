"""Least privilege, checked on every policy of the stack, raw (as written) and SAM-translated.

Policy templates (DynamoDBCrudPolicy, SQSSendMessagePolicy ...) only expand in the translation, so
both forms are checked. Rules:

* no Allow statement grants the action ``*`` (nor ``service:*``, except ``kms:*`` for the account in
  the key's own policy, which is how a key is administered);
* no Allow statement has the principal ``*``;
* an identity policy names ``Resource: "*"`` only for what AWS allows nothing narrower for: direct SMS
  (``sns:Publish`` to a phone number has no ARN), X-Ray, and CloudWatch ``PutMetricData`` with a
  ``cloudwatch:namespace`` condition; in a key policy ``*`` means "this key" and is fine, but every
  statement for a service principal must carry a condition;
* the only managed policies are the three SAM attaches, each listed here with the reason;
* DynamoDB is granted by scoped statements, never by SAM's DynamoDB policy templates (which add
  Scan, BatchWriteItem, DeleteItem ... on the table and all its indexes): only item reads and
  writes and Query, each on a named table or index; no role may Scan; only the idempotency table
  may lose items (Powertools deletes its record when the guarded send fails).
  tests/integration/test_iam_coverage.py checks the other half: every call is allowed, and every
  DynamoDB grant is used.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from localcloud.stack import load_template

pytestmark = pytest.mark.infrastructure

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [ROOT / "template.yaml", ROOT / "infrastructure" / "monitoring.yaml"]

# Actions AWS offers no resource-level permission for (or, for SMS, no resource ARN at all).
WILDCARD_ONLY_ACTIONS = {
    "sns:Publish",  # Publish with PhoneNumber: there is no ARN for a phone number
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
    "cloudwatch:PutMetricData",  # only with a cloudwatch:namespace condition (checked below)
    "ssm:DescribeParameters",  # part of SAM's SSMParameterReadPolicy; has no resource-level permission
}
ALLOWED_MANAGED_POLICIES = {
    # CreateLogGroup/CreateLogStream/PutLogEvents: SAM attaches it to every function role.
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    # Tracing: Active. X-Ray has no resource-level permissions.
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    # SAM attaches it for a DynamoDB stream event source; the event source mapping needs
    # DescribeStream/GetRecords/GetShardIterator/ListStreams on the stream.
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",
    # SAM attaches it for an SQS event source (ReceiveMessage/DeleteMessage/GetQueueAttributes).
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
}


# The DynamoDB actions a role may be granted (by name, no wildcard), and those that remove items.
DYNAMODB_ITEM_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:BatchWriteItem",  # the sweep's due list: a page's entries in one request
    # A TransactWriteItems member that writes nothing: the send outbox's claim checks the action, the
    # planner's cancellation checks that no claim exists (each conditional on the other).
    "dynamodb:ConditionCheckItem",
}
DYNAMODB_REMOVING_ACTIONS = ("dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:PartiQLDelete")
IDEMPOTENCY_TABLE_ARN = {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}
REVIEW_DUE_TABLE_ARN = {"Fn::GetAtt": ["ReviewDueTable", "Arn"]}
LOANS_TABLE_ARN = {"Fn::GetAtt": ["LoansTable", "Arn"]}
# The one Scan: the open-loan census reads its shard as one segment of a parallel Scan of the Loans
# table (loans the sweep parked are off ReviewIndex); the stock kept from bucket transitions is to
# replace it (docs/scaling.md, "Write amplification").
CENSUS_SCAN = ("SweepWorkerFunctionRole", "CountOpenLoans")
# The whole-table readers and what each may scan: the census (the loans, projected), the reporting
# export (every loan and its transitions, weekly, for Athena, one Scan segment an invocation) and the
# monthly bureau file.
SCANS = {
    CENSUS_SCAN: [LOANS_TABLE_ARN],
    ("ReportingSegmentFunctionRole", "ReadBookForReporting"): [
        LOANS_TABLE_ARN,
        {"Fn::GetAtt": ["DelinquencyHistoryTable", "Arn"]},
    ],
    # The monthly Metro 2 build lists the loans with a history (keys and jurisdiction) once a month;
    # at scale it reads a DynamoDB export instead (docs/scaling.md, "The monthly bureau file").
    ("BureauFileFunctionRole", "ListBureauAccounts"): [{"Fn::GetAtt": ["DelinquencyHistoryTable", "Arn"]}],
}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def translate(raw: dict[str, Any]) -> dict[str, Any]:
    sam = copy.deepcopy(raw)
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/function.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = "s3://bucket/layer.zip"
        elif resource["Type"] == "AWS::Serverless::Application":
            resource["Properties"]["Location"] = "https://s3.amazonaws.com/bucket/monitoring.yaml"
    translator = Translator(
        managed_policy_map={}, sam_parser=Parser(), boto_session=boto3.Session(region_name="us-east-1")
    )
    result: dict[str, Any] = translator.translate(sam_template=sam, parameter_values={})
    return result


@pytest.fixture(scope="module", params=[t.name for t in TEMPLATES])
def raw(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load_template(next(t for t in TEMPLATES if t.name == request.param))


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return translate(load_template(TEMPLATES[0]))


def identity_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(owner, statement) of every identity policy: function Policies, roles, managed and inline policies."""
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        documents: list[Any] = []
        if kind == "AWS::Serverless::Function":
            documents = [
                p for p in as_list(props.get("Policies", [])) if isinstance(p, dict) and "Statement" in p
            ]
        elif kind == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        elif kind in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            documents = [props["PolicyDocument"]]
        for document in documents:
            for statement in as_list(document["Statement"]):
                yield name, statement


def resource_statements(template: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(owner, type, statement) of every resource policy: key, queue, topic and bucket policies."""
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        document = props.get("KeyPolicy") or props.get("PolicyDocument")
        if resource["Type"].startswith("AWS::IAM::") or not isinstance(document, dict):
            continue
        for statement in as_list(document.get("Statement", [])):
            yield name, resource["Type"], statement


def templates(raw: dict[str, Any], translated: dict[str, Any]) -> list[dict[str, Any]]:
    return [raw, translated] if "Transform" in raw else [raw]


def test_no_allow_statement_grants_every_action(raw: dict[str, Any], translated: dict[str, Any]) -> None:
    for template in templates(raw, translated):
        for owner, statement in identity_statements(template):
            if statement.get("Effect") == "Allow":
                for action in as_list(statement["Action"]):
                    assert action != "*", owner
                    assert not str(action).endswith(":*"), f"{owner}: {action}"
        for owner, kind, statement in resource_statements(template):
            if statement.get("Effect") == "Allow":
                for action in as_list(statement["Action"]):
                    assert action != "*", f"{owner}: {action}"
                    if str(action).endswith(":*"):
                        # The key's administrator statement: the account root, in the key's own policy.
                        assert kind == "AWS::KMS::Key", owner
                        assert action == "kms:*", owner
                        assert set(statement["Principal"]) == {"AWS"}, owner


def test_no_allow_statement_names_the_principal_star(raw: dict[str, Any], translated: dict[str, Any]) -> None:
    for template in templates(raw, translated):
        for owner, _, statement in resource_statements(template):
            if statement.get("Effect") == "Allow":
                principal = statement.get("Principal")
                assert principal not in ("*", {"AWS": "*"}), owner


def test_resource_star_only_where_aws_allows_nothing_narrower(
    raw: dict[str, Any], translated: dict[str, Any]
) -> None:
    found: set[str] = set()
    for template in templates(raw, translated):
        for owner, statement in identity_statements(template):
            if statement.get("Effect") != "Allow" or "*" not in as_list(statement.get("Resource", [])):
                continue
            actions = {str(a) for a in as_list(statement["Action"])}
            assert actions <= WILDCARD_ONLY_ACTIONS, (
                f"{owner}: {sorted(actions - WILDCARD_ONLY_ACTIONS)} on *"
            )
            if "cloudwatch:PutMetricData" in actions:
                condition = statement.get("Condition", {})
                assert any("cloudwatch:namespace" in block for block in condition.values()), owner
            found |= actions
    assert found <= WILDCARD_ONLY_ACTIONS


def test_service_principals_in_resource_policies_are_conditioned(
    raw: dict[str, Any], translated: dict[str, Any]
) -> None:
    for template in templates(raw, translated):
        for owner, _, statement in resource_statements(template):
            principal = statement.get("Principal")
            if statement.get("Effect") == "Allow" and isinstance(principal, dict) and "Service" in principal:
                assert statement.get("Condition"), f"{owner}: {statement.get('Sid')} lacks a condition"


def test_only_the_managed_policies_sam_attaches(translated: dict[str, Any]) -> None:
    for name, resource in translated["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            assert set(resource["Properties"].get("ManagedPolicyArns", [])) <= ALLOWED_MANAGED_POLICIES, name


def test_the_checks_see_the_policies(translated: dict[str, Any]) -> None:
    """Guard against a vacuous pass: the translation has a role per function with inline statements."""
    roles = [n for n, r in translated["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
    assert len(roles) >= 5
    assert sum(1 for _ in identity_statements(translated)) >= 20
    assert any(kind == "AWS::KMS::Key" for _, kind, _ in resource_statements(translated))


def grants(statement: dict[str, Any], action: str) -> bool:
    """Whether an Allow statement grants `action` (IAM wildcards: `*` any run, `?` one character)."""
    if statement.get("Effect") != "Allow":
        return False
    for pattern in as_list(statement.get("Action", [])):
        text = re.escape(str(pattern)).replace(r"\*", ".*").replace(r"\?", ".")
        if re.fullmatch(text, action, flags=re.IGNORECASE):
            return True
    return False


def test_dynamodb_is_granted_by_scoped_statements_not_policy_templates(translated: dict[str, Any]) -> None:
    for name, resource in load_template(TEMPLATES[0])["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            for policy in as_list(resource["Properties"].get("Policies", [])):
                templates_used = (
                    [key for key in policy if key.startswith("DynamoDB")] if isinstance(policy, dict) else []
                )
                assert not templates_used, f"{name}: {templates_used} grants more than the code uses"
    granted = set()
    for owner, statement in identity_statements(translated):
        for action in as_list(statement.get("Action", [])):
            if str(action).lower().startswith("dynamodb:"):
                if (owner, statement.get("Sid")) in SCANS and action == "dynamodb:Scan":
                    continue  # test_only_the_census_and_the_reporting_export_scan_and_only_their_tables
                assert action in DYNAMODB_ITEM_ACTIONS, f"{owner}: {statement.get('Sid')} grants {action}"
                granted.add(action)
    assert granted == DYNAMODB_ITEM_ACTIONS, "the check sees the DynamoDB statements"


def test_only_the_census_and_the_reporting_export_scan_and_only_their_tables(
    translated: dict[str, Any],
) -> None:
    scanners = []
    for owner, statement in identity_statements(translated):
        if grants(statement, "dynamodb:Scan"):
            key = (owner, statement.get("Sid"))
            assert key in SCANS, f"{owner}: {statement.get('Sid')} allows a Scan"
            assert as_list(statement["Resource"]) == SCANS[key], statement["Resource"]
            scanners.append(key)
    assert sorted(scanners) == sorted(SCANS)


ERASURE_REKEYS = {
    ("ErasureFunctionRole", "EraseBorrowerPii"): {"Fn::GetAtt": ["BorrowersTable", "Arn"]},
    ("ErasureFunctionRole", "RekeyCallLedger"): {"Fn::GetAtt": ["ContactCapsTable", "Arn"]},
}


def test_only_the_idempotency_table_may_lose_items(translated: dict[str, Any]) -> None:
    removers = set()
    for owner, statement in identity_statements(translated):
        if any(grants(statement, action) for action in DYNAMODB_REMOVING_ACTIONS):
            if owner == "SweepWorkerFunctionRole" and as_list(statement["Resource"]) == [
                REVIEW_DUE_TABLE_ARN
            ]:
                # A due-list entry is deleted once every loan it names is settled (each loan written
                # or found elsewhere first): derived data, never the only trace of a loan.
                continue
            rekeyed = ERASURE_REKEYS.get((owner, str(statement.get("Sid"))))
            if rekeyed is not None and as_list(statement["Resource"]) == [rekeyed]:
                # An erasure re-keys the borrower's tombstone and call ledger under the pseudonym: the
                # new item is written (conditional put, or one transaction) before the old one goes.
                continue
            assert as_list(statement["Resource"]) == [IDEMPOTENCY_TABLE_ARN], (
                f"{owner}: {statement.get('Sid')} may delete items of {statement['Resource']}"
            )
            removers.add(owner)
    # Powertools idempotency deletes its record when the guarded effect fails: the dispatcher's sends (new
    # and deferred actions) and the call outcomes it applies (the dialer's, and desk agents' via the API).
    assert removers == {
        "DispatcherFunctionRole",
        "DeferredReleaseFunctionRole",
        "CallOutcomesFunctionRole",
        "ApiFunctionRole",
    }
