"""Assertions on template.yaml, raw and SAM-translated, that an operator or an auditor would notice."""

import ast
import copy
import fnmatch
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from arrears_local.stack import load_template

pytestmark = pytest.mark.infrastructure

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
CONTRACTS = ROOT / "docs" / "contracts.md"

DATA_KEY = "DataKey"
STREAM_FAILURE_QUEUE = "StreamFailureQueue"
ASYNC_FAILURE_QUEUE = "AsyncFailureQueue"
FOURTEEN_DAYS = 14 * 24 * 3600
# The only statements allowed to use Resource "*": direct SMS has no resource ARN; X-Ray takes none.
WILDCARD_RESOURCE_SIDS = {"PublishSmsToPhoneNumbers", "XRayWrite"}
ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",
}
SERVICE_NAMES = {
    "SweepFunction": "sweep",
    "PlannerFunction": "planner",
    "DispatcherFunction": "dispatcher",
    "ArchiverFunction": "archiver",
    "PaymentsFunction": "payments",
}
ENV_REFS = {
    "LOANS_TABLE": {"Ref": "LoansTable"},
    "BORROWERS_TABLE": {"Ref": "BorrowersTable"},
    "ACTIONS_TABLE": {"Ref": "ActionsTable"},
    "CONTACTS_TABLE": {"Ref": "ContactsTable"},
    "IDEMPOTENCY_TABLE": {"Ref": "IdempotencyTable"},
    "ARCHIVE_CHAIN_TABLE": {"Ref": "ArchiveChainTable"},
    "REMINDERS_TOPIC_ARN": {"Ref": "RemindersTopic"},
    "FIELD_VISIT_QUEUE_URL": {"Ref": "FieldVisitQueue"},
    "ARCHIVE_BUCKET": {"Ref": "ArchiveBucket"},
    "ARCHIVE_KMS_KEY_ID": {"Fn::GetAtt": ["DataKey", "Arn"]},
    "TOKEN_SECRET_ARN": {"Ref": "BorrowerTokenSecret"},
    "SHARD_COUNT": {"Ref": "ShardCount"},
    "STAGE": {"Ref": "Stage"},
    "SMS_SENDER_ID": {"Ref": "SmsSenderId"},
    "POWERTOOLS_METRICS_NAMESPACE": "Arrears",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}


# --------------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def translated(raw: dict[str, Any]) -> dict[str, Any]:
    """The template after the SAM transform, as CloudFormation would see it (offline translation)."""
    sam = copy.deepcopy(raw)
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/function.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = "s3://bucket/layer.zip"
    translator = Translator(
        managed_policy_map={}, sam_parser=Parser(), boto_session=boto3.Session(region_name="us-east-1")
    )
    result: dict[str, Any] = translator.translate(sam_template=sam, parameter_values={})
    return result


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def props(resource: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = resource.get("Properties", {})
    return value


def refers_to(node: Any, logical_id: str) -> bool:
    """True if ``node`` is ``!Ref logical_id``, ``!GetAtt logical_id.X`` or a ``!Sub`` naming it."""
    if isinstance(node, dict) and len(node) == 1:
        (key, value), *_ = node.items()
        if key == "Ref":
            return bool(value == logical_id)
        if key == "Fn::GetAtt":
            target = value[0] if isinstance(value, list) else str(value).split(".")[0]
            return bool(target == logical_id)
        if key == "Fn::Sub":
            text = value[0] if isinstance(value, list) else value
            return bool(re.search(r"\$\{" + re.escape(logical_id) + r"[.}]", str(text)))
    return False


def sub_text(node: Any) -> str:
    assert isinstance(node, dict), node
    assert "Fn::Sub" in node, node
    text = node["Fn::Sub"]
    return str(text[0] if isinstance(text, list) else text)


def service_of(statement: dict[str, Any]) -> str:
    """The service principal of a policy statement ("" if it names none)."""
    service = statement["Principal"].get("Service", "") if isinstance(statement["Principal"], dict) else ""
    return sub_text(service) if isinstance(service, dict) else str(service)


def functions(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return of_type(raw, "AWS::Serverless::Function")


def function_events(raw: dict[str, Any], *types: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, function in functions(raw).items():
        for event_name, event in props(function).get("Events", {}).items():
            if event["Type"] in types:
                yield name, event_name, event["Properties"]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def contract_section(title: str) -> str:
    text = CONTRACTS.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"docs/contracts.md has no section {title!r}"
    return match.group(1)


# --------------------------------------------------------------------------------------------------
# Contract: logical ids, environment, code
# --------------------------------------------------------------------------------------------------
def test_every_logical_id_of_the_contract_is_declared(raw: dict[str, Any]) -> None:
    section = contract_section("Logical ids in template.yaml")
    declared = set(raw["Resources"])
    for row in section.splitlines():
        if row.startswith("| `"):
            first_column = row.split("|")[1]
            for logical_id in re.findall(r"`([A-Za-z0-9]+)`", first_column):
                assert logical_id in declared, f"{logical_id} (docs/contracts.md) is not in template.yaml"


def test_globals_set_exactly_the_environment_of_the_contract(raw: dict[str, Any]) -> None:
    section = contract_section("Environment variables (Globals, every function)")
    contract_names = {
        name
        for row in section.splitlines()
        if row.startswith("| `")
        for name in re.findall(r"`([A-Z_]+)`", row.split("|")[1])
    }
    variables = raw["Globals"]["Function"]["Environment"]["Variables"]
    assert set(variables) | {"POWERTOOLS_SERVICE_NAME"} == contract_names
    assert variables == ENV_REFS


def test_each_function_names_its_powertools_service(raw: dict[str, Any]) -> None:
    assert set(functions(raw)) == set(SERVICE_NAMES)
    for name, function in functions(raw).items():
        assert props(function)["Environment"]["Variables"] == {"POWERTOOLS_SERVICE_NAME": SERVICE_NAMES[name]}


def test_functions_run_python313_on_arm64_with_the_layer(raw: dict[str, Any]) -> None:
    globals_ = raw["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Architectures"] == ["arm64"]
    assert globals_["Tracing"] == "Active"
    assert globals_["Layers"] == [{"Ref": "ArrearsLayer"}]
    for function in functions(raw).values():
        assert props(function).get("Handler", globals_.get("Handler")) == "app.handler"
        for key in ("Runtime", "Architectures", "Layers"):
            assert key not in props(function), "set once in Globals"
    layer = raw["Resources"]["ArrearsLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert props(layer)["ContentUri"].rstrip("/") == "layers/arrears"
    assert props(layer)["CompatibleRuntimes"] == ["python3.13"]
    assert props(layer)["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}


@pytest.mark.parametrize("function", sorted(SERVICE_NAMES))
def test_code_uri_holds_an_app_module_with_a_handler(raw: dict[str, Any], function: str) -> None:
    code_dir = ROOT / props(raw["Resources"][function])["CodeUri"]
    app = code_dir / "app.py"
    assert app.is_file(), f"{app} is missing"
    tree = ast.parse(app.read_text(encoding="utf-8"))
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)} | {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    assert "handler" in names, f"{app} defines no top-level `handler`"


# --------------------------------------------------------------------------------------------------
# Triggers: bounded retries, partial batch failures, somewhere for failures to go
# --------------------------------------------------------------------------------------------------
def test_stream_consumers_report_partial_failures_and_bound_their_retries(raw: dict[str, Any]) -> None:
    consumers = list(function_events(raw, "DynamoDB", "Kinesis", "SQS"))
    assert {name for name, _, _ in consumers} == {"PlannerFunction", "DispatcherFunction", "ArchiverFunction"}
    for name, event, properties in consumers:
        where = f"{name}.{event}"
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"], where
        if "Stream" in properties:
            assert properties["BisectBatchOnFunctionError"] is True, where
            assert 0 <= properties["MaximumRetryAttempts"] <= 10, where
            assert 60 <= properties["MaximumRecordAgeInSeconds"] <= 86400, where
            assert properties["StartingPosition"] == "TRIM_HORIZON", where
            on_failure = properties["DestinationConfig"]["OnFailure"]
            assert on_failure["Type"] == "SQS", where
            assert refers_to(on_failure["Destination"], STREAM_FAILURE_QUEUE), where
        assert properties["BatchSize"] == 100, where
        assert properties["MaximumBatchingWindowInSeconds"] == 1, where


def test_translated_event_source_mappings_keep_the_failure_settings(translated: dict[str, Any]) -> None:
    mappings = of_type(translated, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 3
    for name, mapping in mappings.items():
        properties = props(mapping)
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name
        assert properties["BisectBatchOnFunctionError"] is True, name
        assert properties["MaximumRetryAttempts"] == 5, name
        assert properties["MaximumRecordAgeInSeconds"] == 86400, name
        assert refers_to(properties["DestinationConfig"]["OnFailure"]["Destination"], STREAM_FAILURE_QUEUE)


@pytest.mark.parametrize(
    ("function", "table", "pattern"),
    [
        ("PlannerFunction", "LoansTable", {"eventName": ["INSERT", "MODIFY"]}),
        ("DispatcherFunction", "ActionsTable", {"dynamodb": {"NewImage": {"status": {"S": ["PENDING"]}}}}),
        ("ArchiverFunction", "ContactsTable", {"eventName": ["INSERT"]}),
    ],
)
def test_stream_triggers_read_the_right_table_through_the_right_filter(
    raw: dict[str, Any], function: str, table: str, pattern: dict[str, Any]
) -> None:
    (event,) = [e for e in props(raw["Resources"][function])["Events"].values() if e["Type"] == "DynamoDB"]
    assert event["Properties"]["Stream"] == {"Fn::GetAtt": [table, "StreamArn"]}
    filters = event["Properties"]["FilterCriteria"]["Filters"]
    assert [json.loads(item["Pattern"]) for item in filters] == [pattern]


def test_sweep_runs_daily_at_half_past_midnight_shanghai(raw: dict[str, Any]) -> None:
    (event,) = props(raw["Resources"]["SweepFunction"])["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == "cron(30 16 * * ? *)"  # 16:30 UTC = 00:30 UTC+8


def test_dispatcher_releases_deferred_actions_every_quarter_hour(raw: dict[str, Any]) -> None:
    (event,) = [
        e for e in props(raw["Resources"]["DispatcherFunction"])["Events"].values() if e["Type"] == "Schedule"
    ]
    assert event["Properties"]["Schedule"] == "rate(15 minutes)"


def test_payments_listen_to_payment_received_on_the_loan_events_bus(raw: dict[str, Any]) -> None:
    (event,) = props(raw["Resources"]["PaymentsFunction"])["Events"].values()
    assert event["Type"] == "EventBridgeRule"
    assert event["Properties"]["EventBusName"] == {"Ref": "LoanEventsBus"}
    assert event["Properties"]["Pattern"]["detail-type"] == ["PaymentReceived"]
    assert event["Properties"]["Pattern"]["source"] == ["arrears.lending-core"]


def test_async_invocations_retry_briefly_then_land_in_the_failure_queue(raw: dict[str, Any]) -> None:
    async_functions = {name for name, _, _ in function_events(raw, "Schedule", "EventBridgeRule")}
    assert async_functions == {"SweepFunction", "DispatcherFunction", "PaymentsFunction"}
    for name in async_functions:
        config = props(raw["Resources"][name])["EventInvokeConfig"]
        assert config["MaximumRetryAttempts"] <= 2, name
        on_failure = config["DestinationConfig"]["OnFailure"]
        assert on_failure["Type"] == "SQS", name
        assert refers_to(on_failure["Destination"], ASYNC_FAILURE_QUEUE), name
    for name, event, properties in function_events(raw, "Schedule", "EventBridgeRule"):
        assert refers_to(properties["DeadLetterConfig"]["Arn"], ASYNC_FAILURE_QUEUE), f"{name}.{event}"
        assert properties["RetryPolicy"]["MaximumRetryAttempts"] <= 185, f"{name}.{event}"


def test_eventbridge_may_write_dead_letters_only_from_our_rules(raw: dict[str, Any]) -> None:
    rule_names = {
        sub_text(properties.get("Name") or properties.get("RuleName"))
        for _, _, properties in function_events(raw, "Schedule", "EventBridgeRule")
    }
    (policy,) = of_type(raw, "AWS::SQS::QueuePolicy").values()
    assert [refers_to(queue, ASYNC_FAILURE_QUEUE) for queue in props(policy)["Queues"]] == [True]
    (statement,) = statements(props(policy)["PolicyDocument"])
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    source_arns = [sub_text(arn) for arn in statement["Condition"]["ArnEquals"]["aws:SourceArn"]]
    key_statement = next(
        s
        for s in statements(props(raw["Resources"][DATA_KEY])["KeyPolicy"])
        if service_of(s) == "events.amazonaws.com"
    )
    key_source_arns = [sub_text(arn) for arn in key_statement["Condition"]["ArnEquals"]["aws:SourceArn"]]
    assert key_source_arns == source_arns
    for rule_name in rule_names:
        assert any(arn.endswith("/" + rule_name) for arn in source_arns), rule_name


def test_field_visit_queue_is_fifo_with_a_dead_letter_queue(raw: dict[str, Any]) -> None:
    queue = props(raw["Resources"]["FieldVisitQueue"])
    dlq = props(raw["Resources"]["FieldVisitDLQ"])
    assert queue["FifoQueue"] is True
    assert dlq["FifoQueue"] is True
    assert queue["ContentBasedDeduplication"] is False, "the dispatcher sets the deduplication id"
    assert refers_to(queue["RedrivePolicy"]["deadLetterTargetArn"], "FieldVisitDLQ")
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    for name in ("FieldVisitDLQ", STREAM_FAILURE_QUEUE, ASYNC_FAILURE_QUEUE):
        assert props(raw["Resources"][name])["MessageRetentionPeriod"] == FOURTEEN_DAYS, name


# --------------------------------------------------------------------------------------------------
# Data at rest
# --------------------------------------------------------------------------------------------------
def test_data_key_rotates_and_names_no_wildcard_principal(raw: dict[str, Any]) -> None:
    key = props(raw["Resources"][DATA_KEY])
    assert key["EnableKeyRotation"] is True
    for statement in statements(key["KeyPolicy"]):
        assert statement["Principal"] != "*"
        assert statement["Principal"].get("AWS") != "*"
        if "Service" in statement["Principal"]:
            assert "Condition" in statement, f"{statement['Sid']} is not scoped"
    assert refers_to(props(raw["Resources"]["DataKeyAlias"])["TargetKeyId"], DATA_KEY)


def test_every_table_is_encrypted_with_the_data_key_and_recoverable(raw: dict[str, Any]) -> None:
    tables = of_type(raw, "AWS::DynamoDB::Table")
    assert len(tables) == 6
    for name, table in tables.items():
        properties = props(table)
        sse = properties["SSESpecification"]
        assert sse["SSEEnabled"] is True, name
        assert sse["SSEType"] == "KMS", name
        assert refers_to(sse["KMSMasterKeyId"], DATA_KEY), name
        assert properties["BillingMode"] == "PAY_PER_REQUEST", name
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name


@pytest.mark.parametrize("resource_type", ["AWS::SQS::Queue", "AWS::SNS::Topic"])
def test_every_queue_and_topic_is_encrypted_with_the_data_key(
    raw: dict[str, Any], resource_type: str
) -> None:
    resources = of_type(raw, resource_type)
    assert resources
    for name, resource in resources.items():
        assert refers_to(props(resource).get("KmsMasterKeyId"), DATA_KEY), name


def test_secret_and_log_groups_are_encrypted_with_the_data_key(raw: dict[str, Any]) -> None:
    secret = props(raw["Resources"]["BorrowerTokenSecret"])
    assert refers_to(secret["KmsKeyId"], DATA_KEY)
    assert secret["GenerateSecretString"]["PasswordLength"] == 64
    for name, group in of_type(raw, "AWS::Logs::LogGroup").items():
        assert refers_to(props(group)["KmsKeyId"], DATA_KEY), name


def test_logs_service_may_use_the_key_for_exactly_our_log_groups(raw: dict[str, Any]) -> None:
    statement = next(
        s
        for s in statements(props(raw["Resources"][DATA_KEY])["KeyPolicy"])
        if service_of(s).startswith("logs.")
    )
    pattern = sub_text(statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    for name, group in of_type(raw, "AWS::Logs::LogGroup").items():
        group_arn = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:" + sub_text(
            props(group)["LogGroupName"]
        )
        assert fnmatch.fnmatchcase(group_arn, pattern), name


@pytest.mark.parametrize(
    ("table", "keys", "indexes", "stream", "ttl"),
    [
        (
            "LoansTable",
            {"loan_id": "HASH"},
            {"ReviewIndex": {"review_shard": "HASH", "next_review_on": "RANGE"}},
            True,
            None,
        ),
        ("BorrowersTable", {"borrower_id": "HASH"}, {}, False, None),
        (
            "ActionsTable",
            {"action_id": "HASH"},
            {
                "LoanActionsIndex": {"loan_id": "HASH", "planned_at": "RANGE"},
                "DeferredIndex": {"defer_partition": "HASH", "not_before": "RANGE"},
            },
            True,
            None,
        ),
        ("ContactsTable", {"loan_id": "HASH", "contact_key": "RANGE"}, {}, True, "expires_at"),
        ("IdempotencyTable", {"id": "HASH"}, {}, False, "expiration"),
        ("ArchiveChainTable", {"jurisdiction": "HASH"}, {}, False, None),
    ],
)
def test_tables_have_the_keys_of_the_contract(
    raw: dict[str, Any],
    table: str,
    keys: dict[str, str],
    indexes: dict[str, dict[str, str]],
    stream: bool,
    ttl: str | None,
) -> None:
    properties = props(raw["Resources"][table])
    assert {k["AttributeName"]: k["KeyType"] for k in properties["KeySchema"]} == keys
    declared = {
        index["IndexName"]: {k["AttributeName"]: k["KeyType"] for k in index["KeySchema"]}
        for index in properties.get("GlobalSecondaryIndexes", [])
    }
    assert declared == indexes
    for index in properties.get("GlobalSecondaryIndexes", []):
        assert index["Projection"] == {"ProjectionType": "ALL"}
    attribute_types = {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]}
    key_attributes = set(keys) | {name for index in indexes.values() for name in index}
    assert set(attribute_types) == key_attributes, "declare exactly the key attributes"
    if table == "LoansTable":
        assert attribute_types["review_shard"] == "N"
    if stream:
        assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    else:
        assert "StreamSpecification" not in properties
    if ttl:
        assert properties["TimeToLiveSpecification"] == {"AttributeName": ttl, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in properties


# --------------------------------------------------------------------------------------------------
# The archive bucket
# --------------------------------------------------------------------------------------------------
def test_archive_bucket_is_write_once_versioned_private_and_kms_encrypted(raw: dict[str, Any]) -> None:
    bucket = raw["Resources"]["ArchiveBucket"]
    properties = props(bucket)
    assert properties["ObjectLockEnabled"] is True
    lock = properties["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    assert set(lock["Rule"]["DefaultRetention"]) == {"Mode", "Days"}
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert refers_to(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"], DATA_KEY)
    assert rule["BucketKeyEnabled"] is True
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert bucket["DeletionPolicy"] == "Retain"


def test_object_lock_default_is_compliance_in_prod(raw: dict[str, Any]) -> None:
    retention = props(raw["Resources"]["ArchiveBucket"])["ObjectLockConfiguration"]["Rule"][
        "DefaultRetention"
    ]
    assert retention["Mode"] == {"Fn::If": ["IsProd", "COMPLIANCE", "GOVERNANCE"]}
    prod_days = retention["Days"]["Fn::If"][1]
    assert prod_days >= 3 * 365, "at least the shortest jurisdiction minimum (US Regulation F: 3 years)"
    assert raw["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}


def test_archive_bucket_policy_allows_only_tls_and_sse_kms_with_the_data_key(raw: dict[str, Any]) -> None:
    (policy,) = of_type(raw, "AWS::S3::BucketPolicy").values()
    assert refers_to(props(policy)["Bucket"], "ArchiveBucket")
    denies = [s for s in statements(props(policy)["PolicyDocument"]) if s["Effect"] == "Deny"]
    tls = next(s for s in denies if "Bool" in s.get("Condition", {}))
    assert tls["Condition"]["Bool"] == {"aws:SecureTransport": "false"}
    assert tls["Action"] == "s3:*"
    assert tls["Principal"] == "*"
    bucket_arn, objects_arn = tls["Resource"]
    assert bucket_arn == {"Fn::GetAtt": ["ArchiveBucket", "Arn"]}
    assert sub_text(objects_arn) == "${ArchiveBucket.Arn}/*"
    puts = [s for s in denies if s["Action"] == "s3:PutObject"]
    conditions = {key: value for s in puts for key, value in s["Condition"]["StringNotEquals"].items()}
    assert conditions["s3:x-amz-server-side-encryption"] == "aws:kms"
    assert refers_to(conditions["s3:x-amz-server-side-encryption-aws-kms-key-id"], DATA_KEY)


# --------------------------------------------------------------------------------------------------
# Logs
# --------------------------------------------------------------------------------------------------
def test_every_function_logs_json_to_its_own_log_group_with_retention(raw: dict[str, Any]) -> None:
    groups = of_type(raw, "AWS::Logs::LogGroup")
    assert raw["Globals"]["Function"]["LoggingConfig"]["LogFormat"] == "JSON"
    for name, function in functions(raw).items():
        group_ref = props(function)["LoggingConfig"]["LogGroup"]
        group_id = group_ref["Ref"]
        assert group_id in groups, name
        group_name = sub_text(props(groups[group_id])["LogGroupName"])
        assert group_name == "/aws/lambda/" + sub_text(props(function)["FunctionName"]), name
    for name, group in groups.items():
        assert props(group)["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
    assert raw["Parameters"]["LogRetentionDays"]["Default"] == 90


# --------------------------------------------------------------------------------------------------
# IAM
# --------------------------------------------------------------------------------------------------
def role_statements(translated: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, role in of_type(translated, "AWS::IAM::Role").items():
        for policy in props(role).get("Policies", []):
            for statement in statements(policy["PolicyDocument"]):
                yield name, statement


def test_no_statement_allows_every_action(translated: dict[str, Any]) -> None:
    for role, statement in role_statements(translated):
        for action in as_list(statement["Action"]):
            assert action != "*", role
            assert not str(action).endswith(":*"), f"{role}: {action}"


def test_resource_wildcards_only_where_aws_allows_nothing_narrower(translated: dict[str, Any]) -> None:
    wildcard = [(role, s) for role, s in role_statements(translated) if "*" in as_list(s["Resource"])]
    assert {role for role, _ in wildcard} == {"DispatcherFunctionRole"}
    for role, statement in wildcard:
        assert statement.get("Sid") in WILDCARD_RESOURCE_SIDS, role
        if statement.get("Sid") == "PublishSmsToPhoneNumbers":
            assert as_list(statement["Action"]) == ["sns:Publish"]


def test_roles_use_only_the_expected_managed_policies(translated: dict[str, Any]) -> None:
    for name, role in of_type(translated, "AWS::IAM::Role").items():
        assert set(props(role)["ManagedPolicyArns"]) <= ALLOWED_MANAGED_POLICIES, name


def test_key_use_is_scoped_to_the_data_key_through_services(translated: dict[str, Any]) -> None:
    roles = set(of_type(translated, "AWS::IAM::Role"))
    scoped = set()
    for role, statement in role_statements(translated):
        actions = as_list(statement["Action"])
        if any(str(action).startswith("kms:") for action in actions):
            assert refers_to(statement["Resource"], DATA_KEY), role
            assert set(actions) <= {"kms:Decrypt", "kms:GenerateDataKey"}, role
            assert "kms:ViaService" in statement["Condition"]["StringEquals"], role
            scoped.add(role)
    assert scoped == roles


def test_archiver_writes_objects_but_cannot_delete_or_bypass_retention(translated: dict[str, Any]) -> None:
    s3_actions = {
        str(action)
        for role, statement in role_statements(translated)
        if role == "ArchiverFunctionRole"
        for action in as_list(statement["Action"])
        if str(action).startswith("s3:")
    }
    assert s3_actions == {"s3:PutObject", "s3:PutObjectRetention", "s3:GetObject", "s3:ListBucket"}
    others = {
        str(action)
        for role, statement in role_statements(translated)
        if role != "ArchiverFunctionRole"
        for action in as_list(statement["Action"])
    }
    assert not any(action.startswith(("s3:", "secretsmanager:")) for action in others)


def test_only_the_dispatcher_may_send_sms(translated: dict[str, Any]) -> None:
    publishers = {role for role, s in role_statements(translated) if "sns:Publish" in as_list(s["Action"])}
    assert publishers == {"DispatcherFunctionRole"}


# --------------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------------
def test_outputs_name_every_table_queue_topic_bucket_and_bus(raw: dict[str, Any]) -> None:
    exported = {
        output["Value"]["Ref"]
        for output in raw["Outputs"].values()
        if isinstance(output["Value"], dict) and "Ref" in output["Value"]
    }
    for resource_type in (
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::S3::Bucket",
        "AWS::Events::EventBus",
    ):
        for name in of_type(raw, resource_type):
            assert name in exported, name
