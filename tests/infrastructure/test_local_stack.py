"""deploy() builds, in moto, exactly the resources template.yaml declares."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.models import botocore_stubber

from localcloud.stack import EventSource, LocalStack, LocalStackError, deploy, load_template

pytestmark = pytest.mark.infrastructure

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def aws() -> Iterator[None]:
    """Fake credentials, no endpoint override, moto active for the whole module."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_ENVIRONMENT.items():
            patch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        with mock_aws():
            yield


@pytest.fixture(scope="module")
def stack(aws: None) -> LocalStack:
    return deploy(TEMPLATE)


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource.get("Properties", {})
        for name, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


# --------------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------------
def test_every_table_has_the_template_keys_indexes_streams_and_ttl(
    template: dict[str, Any], stack: LocalStack
) -> None:
    dynamodb = boto3.client("dynamodb")
    tables = resources(template, "AWS::DynamoDB::Table")
    assert tables
    assert set(tables) <= set(stack.physical)
    for name, props in tables.items():
        described = dynamodb.describe_table(TableName=stack.physical[name])["Table"]
        assert described["KeySchema"] == props["KeySchema"], name
        assert sorted(described["AttributeDefinitions"], key=str) == sorted(
            props["AttributeDefinitions"], key=str
        )
        assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST", name
        indexes = {
            index["IndexName"]: (index["KeySchema"], index["Projection"])
            for index in described.get("GlobalSecondaryIndexes", [])
        }
        expected = {
            index["IndexName"]: (index["KeySchema"], index["Projection"])
            for index in props.get("GlobalSecondaryIndexes", [])
        }
        assert indexes == expected, name
        if "StreamSpecification" in props:
            assert described["StreamSpecification"] == {
                "StreamEnabled": True,
                "StreamViewType": props["StreamSpecification"]["StreamViewType"],
            }
            assert stack.arns[f"{name}.StreamArn"] == described["LatestStreamArn"]
        else:
            assert "StreamSpecification" not in described, name
            assert f"{name}.StreamArn" not in stack.arns
        ttl = dynamodb.describe_time_to_live(TableName=stack.physical[name])["TimeToLiveDescription"]
        if "TimeToLiveSpecification" in props:
            assert ttl["TimeToLiveStatus"] == "ENABLED", name
            assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED", name
        assert described["SSEDescription"]["SSEType"] == "KMS", name
        # AWS answers the key ARN; moto echoes the key id it was given.
        assert described["SSEDescription"]["KMSMasterKeyArn"] in {
            stack.arns["DataKey"],
            stack.physical["DataKey"],
        }
        assert described["TableArn"] == stack.arns[name]
        backups = dynamodb.describe_continuous_backups(TableName=stack.physical[name])
        recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert recovery["PointInTimeRecoveryStatus"] == "ENABLED", name


def test_the_sparse_review_index_serves_only_open_loans(stack: LocalStack) -> None:
    dynamodb = boto3.client("dynamodb")
    table = stack.physical["LoansTable"]
    dynamodb.put_item(
        TableName=table,
        Item={"loan_id": {"S": "open"}, "review_shard": {"N": "3"}, "review_on": {"S": "2026-01-02"}},
    )
    dynamodb.put_item(TableName=table, Item={"loan_id": {"S": "closed"}})
    # parked by the sweep: a shard and a date, no review_on
    dynamodb.put_item(
        TableName=table,
        Item={"loan_id": {"S": "parked"}, "review_shard": {"N": "3"}, "next_review_on": {"S": "2026-01-02"}},
    )
    found = dynamodb.query(
        TableName=table,
        IndexName="ReviewIndex",
        KeyConditionExpression="review_shard = :shard AND review_on <= :today",
        ExpressionAttributeValues={":shard": {"N": "3"}, ":today": {"S": "2026-01-02"}},
    )
    assert [item["loan_id"]["S"] for item in found["Items"]] == ["open"]


def test_the_borrower_index_holds_keys_only(stack: LocalStack) -> None:
    dynamodb = boto3.client("dynamodb")
    table = stack.physical["LoansTable"]
    for loan_id, borrower_id in (("L-2", "B-1"), ("L-1", "B-1"), ("L-3", "B-2")):
        dynamodb.put_item(
            TableName=table,
            Item={"loan_id": {"S": loan_id}, "borrower_id": {"S": borrower_id}, "status": {"S": "OPEN"}},
        )
    found = dynamodb.query(
        TableName=table,
        IndexName="BorrowerIndex",
        KeyConditionExpression="borrower_id = :b",
        ExpressionAttributeValues={":b": {"S": "B-1"}},
    )
    assert found["Items"] == [
        {"loan_id": {"S": "L-1"}, "borrower_id": {"S": "B-1"}},
        {"loan_id": {"S": "L-2"}, "borrower_id": {"S": "B-1"}},
    ]


# --------------------------------------------------------------------------------------------------
# Queues, topic, bus, key, secret, logs
# --------------------------------------------------------------------------------------------------
def test_every_queue_has_the_template_attributes(template: dict[str, Any], stack: LocalStack) -> None:
    sqs = boto3.client("sqs")
    queues = resources(template, "AWS::SQS::Queue")
    assert queues
    assert set(queues) <= set(stack.physical)
    redriven = set()
    for name, props in queues.items():
        url = stack.physical[name]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["QueueArn"] == stack.arns[name]
        assert attributes["KmsMasterKeyId"] == stack.physical["DataKey"], name
        assert attributes["MessageRetentionPeriod"] == str(props["MessageRetentionPeriod"]), name
        fifo = props.get("FifoQueue", False)
        assert attributes.get("FifoQueue", "false") == str(fifo).lower(), name
        assert url.endswith(".fifo") == fifo, name
        if fifo:
            assert attributes["ContentBasedDeduplication"] == "false", name
        if "VisibilityTimeout" in props:
            assert attributes["VisibilityTimeout"] == str(props["VisibilityTimeout"]), name
        if "RedrivePolicy" in props:
            redrive = json.loads(attributes["RedrivePolicy"])
            target = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert redrive["deadLetterTargetArn"] == stack.arns[target], name
            assert int(redrive["maxReceiveCount"]) == props["RedrivePolicy"]["maxReceiveCount"], name
            redriven.add(name)
        else:
            assert "RedrivePolicy" not in attributes, name
    assert {"FieldVisitQueue", "CallTaskQueue", "SweepTasksQueue"} <= redriven


def test_eventbridge_may_send_to_the_async_failure_queue(stack: LocalStack) -> None:
    sqs = boto3.client("sqs")
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=stack.physical["AsyncFailureQueue"], AttributeNames=["Policy"])[
            "Attributes"
        ]["Policy"]
    )
    (statement,) = policy["Statement"]
    assert statement["Resource"] == stack.arns["AsyncFailureQueue"]
    source_arns = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    bus = stack.physical["LoanEventsBus"]
    assert any(f":rule/{bus}/" in arn for arn in source_arns)


def test_fifo_queue_deduplicates_on_the_id_the_dispatcher_sets(stack: LocalStack) -> None:
    sqs = boto3.client("sqs")
    url = stack.physical["FieldVisitQueue"]
    for _ in range(2):
        sqs.send_message(
            QueueUrl=url, MessageBody="{}", MessageGroupId="region-1", MessageDeduplicationId="action-1"
        )
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert len(received["Messages"]) == 1


def test_topic_bus_key_secret_and_log_groups_exist(template: dict[str, Any], stack: LocalStack) -> None:
    sns = boto3.client("sns")
    topics = resources(template, "AWS::SNS::Topic")
    assert "RemindersTopic" in topics
    for name in topics:
        topic = sns.get_topic_attributes(TopicArn=stack.physical[name])["Attributes"]
        assert topic["KmsMasterKeyId"] == stack.physical["DataKey"], name

    bus = boto3.client("events").describe_event_bus(Name=stack.physical["LoanEventsBus"])
    assert bus["Arn"] == stack.arns["LoanEventsBus"]

    kms = boto3.client("kms")
    assert kms.describe_key(KeyId=stack.physical["DataKey"])["KeyMetadata"]["Arn"] == stack.arns["DataKey"]
    assert kms.get_key_rotation_status(KeyId=stack.physical["DataKey"])["KeyRotationEnabled"] is True
    aliases = kms.list_aliases(KeyId=stack.physical["DataKey"])["Aliases"]
    assert [alias["AliasName"] for alias in aliases] == [stack.physical["DataKeyAlias"]]

    secrets = boto3.client("secretsmanager")
    secret = secrets.get_secret_value(SecretId=stack.physical["BorrowerTokenSecret"])
    assert len(secret["SecretString"]) == 64
    assert secret["SecretString"].isalnum(), "ExcludePunctuation"
    described = secrets.describe_secret(SecretId=stack.physical["BorrowerTokenSecret"])
    assert described["KmsKeyId"] == stack.physical["DataKey"]

    logs = boto3.client("logs")
    for name in resources(template, "AWS::Logs::LogGroup"):
        # By prefix, then exactly: "<stack>-sweep" is a prefix of "<stack>-sweep-worker".
        (group,) = [
            group
            for group in logs.describe_log_groups(logGroupNamePrefix=stack.physical[name])["logGroups"]
            if group["logGroupName"] == stack.physical[name]
        ]
        assert group["retentionInDays"] == int(stack.parameters["LogRetentionDays"]), name
        # the functions' groups, and the HTTP API's access log (the key policy lets Logs use the key for both)
        assert group["logGroupName"].startswith(
            ("/aws/lambda/arrears-local-", "/aws/apigateway/arrears-local-")
        ), name


# --------------------------------------------------------------------------------------------------
# The archive bucket
# --------------------------------------------------------------------------------------------------
def test_archive_bucket_is_locked_versioned_encrypted_and_private(stack: LocalStack) -> None:
    s3 = boto3.client("s3")
    bucket = stack.physical["ArchiveBucket"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    retention = lock["Rule"]["DefaultRetention"]
    assert (retention["Mode"], retention["Days"]) == ("GOVERNANCE", 1), "not prod"
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": stack.arns["DataKey"],
    }
    assert rule["BucketKeyEnabled"] is True
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    assert len(block) == 4
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_archiver_can_write_an_object_that_nobody_can_delete(stack: LocalStack) -> None:
    s3 = boto3.client("s3")
    bucket = stack.physical["ArchiveBucket"]
    written = s3.put_object(
        Bucket=bucket,
        Key="contacts/jurisdiction=CN/dt=2026-01-02/batch-1.jsonl.gz",
        Body=b"{}",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=stack.arns["DataKey"],
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=datetime(2031, 1, 2, tzinfo=UTC),
    )
    head = s3.head_object(Bucket=bucket, Key="contacts/jurisdiction=CN/dt=2026-01-02/batch-1.jsonl.gz")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ServerSideEncryption"] == "aws:kms"
    with pytest.raises(ClientError):
        s3.delete_object(
            Bucket=bucket,
            Key="contacts/jurisdiction=CN/dt=2026-01-02/batch-1.jsonl.gz",
            VersionId=written["VersionId"],
        )


# --------------------------------------------------------------------------------------------------
# Functions
# --------------------------------------------------------------------------------------------------
def test_functions_get_the_resolved_environment_of_the_template(
    template: dict[str, Any], stack: LocalStack
) -> None:
    declared = resources(template, "AWS::Serverless::Function")
    assert set(stack.functions) == set(declared)
    assert {"SweepFunction", "SweepWorkerFunction", "DispatcherFunction", "ErasureFunction"} <= set(declared)
    physical = stack.physical
    # Function-level variables (docs/contracts.md: the sweep functions only), resolved.
    own = {
        "SweepFunction": {
            "SWEEP_TASKS_QUEUE_URL": physical["SweepTasksQueue"],
            "BOOK_STOCK_TABLE": physical["BookStockTable"],
            "SWEEP_RUNS_TABLE": physical["SweepRunsTable"],
            "OPEN_LOAN_CENSUS": "Enabled",
            "CENSUS_INTERVAL_DAYS": "7",
            "SWEEP_LOANS_PER_TASK": "20000",
        },
        "SweepWorkerFunction": {
            "SWEEP_TASKS_QUEUE_URL": physical["SweepTasksQueue"],
            "SWEEP_RUNS_TABLE": physical["SweepRunsTable"],
            "REVIEW_DUE_TABLE": physical["ReviewDueTable"],
            "SWEEP_SAFETY_MARGIN_MS": "15000",
            "OPEN_LOAN_CENSUS": "Enabled",
            "BOOK_STOCK_TABLE": physical["BookStockTable"],
            "SWEEP_LOANS_PER_TASK": "20000",
        },
        "SweepDeadlineFunction": {
            "SWEEP_RUNS_TABLE": physical["SweepRunsTable"],
            "SWEEP_TIMEZONE": "Asia/Shanghai",
        },
        "ReviewListerFunction": {"REVIEW_DUE_TABLE": physical["ReviewDueTable"]},
        "PlannerFunction": {
            "DELINQUENCY_HISTORY_TABLE": physical["DelinquencyHistoryTable"],
            "BOOK_STOCK_TABLE": physical["BookStockTable"],
            "BUREAU_FILES_BUCKET": physical["BureauFilesBucket"],
        },
        "BureauFileFunction": {
            "DELINQUENCY_HISTORY_TABLE": physical["DelinquencyHistoryTable"],
            "BUREAU_FILES_BUCKET": physical["BureauFilesBucket"],
            "BUREAU_FURNISHER_ID": "ARREARSDEMO",
            "BUREAU_REPORTER_NAME": "ARREARS LENDER",
        },
        "ReportingExportFunction": {
            "BOOK_STOCK_TABLE": physical["BookStockTable"],
            "REPORTING_BUCKET": physical["ReportingBucket"],
            "REPORTING_SEGMENTS_QUEUE_URL": physical["ReportingSegmentsQueue"],
            "REPORTING_LOANS_PER_SEGMENT": "500000",
        },
        "ReportingSegmentFunction": {
            "DELINQUENCY_HISTORY_TABLE": physical["DelinquencyHistoryTable"],
            "REPORTING_BUCKET": physical["ReportingBucket"],
            "REPORTING_SEGMENTS_QUEUE_URL": physical["ReportingSegmentsQueue"],
            "REPORTING_PART_ITEMS": "50000",
            "REPORTING_SAFETY_MARGIN_MS": "120000",
        },
        "ApiFunction": {
            "OPT_OUT_LINK_SECRET_ARN": physical["OptOutLinkSecret"],
            "BORROWER_REQUESTS_TABLE": physical["BorrowerRequestsTable"],
            "DESK_TABLE": physical["DeskTable"],
        },
        "ComplaintDeadlinesFunction": {
            "BORROWER_REQUESTS_TABLE": physical["BorrowerRequestsTable"],
            "COMPLAINT_WARN_DAYS": "3",
        },
        # An erasure pseudonymises the borrower's requests.
        "ErasureFunction": {
            "BORROWER_REQUESTS_TABLE": physical["BorrowerRequestsTable"],
            "DESK_TABLE": physical["DeskTable"],
            "DELINQUENCY_HISTORY_TABLE": physical["DelinquencyHistoryTable"],
        },
    }
    # The senders sign the e-mail's unsubscribe link for the API's own URL (no OptOutBaseUrl given).
    unsubscribe_url = stack.functions["DispatcherFunction"].environment["EMAIL_OPT_OUT_URL"]
    assert unsubscribe_url == (
        f"https://{physical['Api']}.execute-api.us-east-1.amazonaws.com/preferences/unsubscribe"
    )
    own["CaseFileFunction"] = {
        "CASE_FILE_BUCKET": physical["CaseFileBucket"],
        "CASE_FILE_KMS_KEY_ID": stack.arns["DataKey"],
    }
    for sender in ("DispatcherFunction", "DeferredReleaseFunction"):
        own[sender] = {
            "EMAIL_OPT_OUT_URL": unsubscribe_url,
            "OPT_OUT_LINK_SECRET_ARN": physical["OptOutLinkSecret"],
            "OPT_OUT_LINK_TTL_DAYS": "60",
        }
    for name, spec in stack.functions.items():
        props = declared[name]
        code_uri = props["CodeUri"].rstrip("/")
        assert spec.logical_id == name
        assert spec.handler == "app.handler"
        assert spec.timeout_s == props.get("Timeout", template["Globals"]["Function"]["Timeout"]), name
        assert spec.code_dir == ROOT / code_uri
        assert spec.environment == {
            "LOANS_TABLE": physical["LoansTable"],
            "PAYMENTS_TABLE": physical["PaymentsTable"],
            "BORROWERS_TABLE": physical["BorrowersTable"],
            "ACTIONS_TABLE": physical["ActionsTable"],
            "CONTACTS_TABLE": physical["ContactsTable"],
            "IDEMPOTENCY_TABLE": physical["IdempotencyTable"],
            "ARCHIVE_CHAIN_TABLE": physical["ArchiveChainTable"],
            "REMINDERS_TOPIC_ARN": physical["RemindersTopic"],
            "FIELD_VISIT_QUEUE_URL": physical["FieldVisitQueue"],
            "ARCHIVE_BUCKET": physical["ArchiveBucket"],
            "ARCHIVE_KMS_KEY_ID": stack.arns["DataKey"],
            "ARCHIVE_LOCK_MODE": "GOVERNANCE",  # not prod
            "ARCHIVE_LOCK_DAYS": "1",
            "TOKEN_SECRET_ARN": physical["BorrowerTokenSecret"],
            "SHARD_COUNT": "16",
            "STAGE": "local",
            "SMS_SENDER_ID": "Arrears",
            "CONTACT_CAPS_TABLE": physical["ContactCapsTable"],
            "CALL_TASK_QUEUE_URL": physical["CallTaskQueue"],
            "LEGAL_TOPIC_ARN": physical["LegalTopic"],
            "BUREAU_TOPIC_ARN": physical["BureauTopic"],
            "STRATEGY_PARAMETER_NAME": physical["StrategyParameter"],
            "POWERTOOLS_METRICS_NAMESPACE": "Arrears",
            "POWERTOOLS_SERVICE_NAME": Path(code_uri).name.replace("_", "-"),
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **own.get(name, {}),
        }, name
    assert physical["StrategyParameter"].endswith("/collection-policy")
    defaults = {name: str(spec["Default"]) for name, spec in template["Parameters"].items()}
    assert stack.parameters == defaults | {"Stage": "local"}
    assert {key: stack.parameters[key] for key in ("ShardCount", "SmsSenderId", "LogRetentionDays")} == {
        "ShardCount": "16",
        "SmsSenderId": "Arrears",
        "LogRetentionDays": "90",
    }


def test_function_triggers_are_read_from_the_template(stack: LocalStack) -> None:
    triggers = {name: [(e.kind, e.source) for e in spec.events] for name, spec in stack.functions.items()}
    assert triggers == {
        "SweepFunction": [("schedule", "")],
        "SweepDeadlineFunction": [("schedule", "")],
        "RetentionFunction": [("schedule", "")],
        "BureauFileFunction": [("schedule", "")],
        "ComplaintDeadlinesFunction": [("schedule", "")],
        "ReportingExportFunction": [("schedule", "")],
        "ReportingSegmentFunction": [("sqs", "ReportingSegmentsQueue")],
        "SweepWorkerFunction": [("sqs", "SweepTasksQueue")],
        "PlannerFunction": [("dynamodb_stream", "LoansTable")],
        "ReviewListerFunction": [("dynamodb_stream", "LoansTable")],
        "DispatcherFunction": [("dynamodb_stream", "ActionsTable")],
        "DeferredReleaseFunction": [("schedule", "")],
        "CallOutcomesFunction": [
            ("eventbridge_rule", "LoanEventsBus"),
            ("eventbridge_rule", "LoanEventsBus"),
        ],
        "ArchiverFunction": [("dynamodb_stream", "ContactsTable")],
        "PaymentsFunction": [("eventbridge_rule", "LoanEventsBus")],
        "ErasureFunction": [("eventbridge_rule", "LoanEventsBus")],
        "HoldsFunction": [("eventbridge_rule", "LoanEventsBus")],
        "InboundSmsFunction": [("sns", "InboundSmsTopic")],
        "ApiFunction": [("http_api", "Api"), ("http_api", "Api"), ("http_api", "Api")],
        # The default bus (S3's events), and the lending core's onboarding events.
        "BookImportFunction": [("eventbridge_rule", ""), ("eventbridge_rule", "LoanEventsBus")],
        "CaseFileFunction": [("sqs", "CaseFileQueue")],  # behind LegalTopic
    }
    # A schedule's timing and Input are resolved: the local cloud fires it from them
    (schedule,) = stack.functions["SweepFunction"].events
    assert schedule.properties["ScheduleExpression"] == "cron(30 0 * * ? *)"
    assert schedule.properties["ScheduleExpressionTimezone"] == "Asia/Shanghai"
    (deadline,) = stack.functions["SweepDeadlineFunction"].events
    assert deadline.properties["ScheduleExpression"] == "cron(0/15 6-23 * * ? *)"
    assert json.loads(deadline.properties["Input"])["time"] == "<aws.scheduler.scheduled-time>"
    (tasks,) = stack.functions["SweepWorkerFunction"].events
    assert tasks.properties["BatchSize"] == 1
    assert tasks.properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    (deferred,) = stack.functions["DeferredReleaseFunction"].events
    outcomes, visits = stack.functions["CallOutcomesFunction"].events
    (stream,) = stack.functions["DispatcherFunction"].events
    assert deferred.properties["Schedule"] == "rate(15 minutes)"
    assert outcomes.properties["Pattern"]["detail-type"] == ["CallOutcome", "CallAttempted"]
    assert visits.properties["Pattern"]["detail-type"] == ["FieldVisitReported"]
    assert stream.properties["BatchSize"] == 100
    assert stream.properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream.properties["Stream"] == {"Fn::GetAtt": ["ActionsTable", "StreamArn"]}, "intrinsics as is"
    assert json.loads(stream.properties["FilterCriteria"]["Filters"][0]["Pattern"]) == {
        "dynamodb": {"NewImage": {"status": {"S": ["PENDING"]}}}
    }
    (rule,) = stack.functions["PaymentsFunction"].events
    assert rule == EventSource(kind="eventbridge_rule", source="LoanEventsBus", properties=rule.properties)
    assert rule.properties["Pattern"]["detail-type"] == ["PaymentReceived", "PaymentReversed"]
    (erasure,) = stack.functions["ErasureFunction"].events
    assert erasure.properties["Pattern"]["detail-type"] == ["ErasureRequested"]


# --------------------------------------------------------------------------------------------------
# deploy() itself
# --------------------------------------------------------------------------------------------------
def test_every_deploy_gets_its_own_names(aws: None, stack: LocalStack) -> None:
    second = deploy(TEMPLATE)
    assert set(second.physical) == set(stack.physical)
    shared = {name for name in stack.physical if stack.physical[name] == second.physical[name]}
    assert shared <= {"AsyncFailureQueuePolicy", "CaseFileQueuePolicy"}, "only the policy ids repeat"


# A prod stack's credit-bureau identity (the template refuses the demo's: test below).
LENDER_BUREAU_IDENTITY = {"BureauFurnisherId": "1234567", "BureauReporterName": "FIRST LENDER"}


def test_prod_parameters_flow_into_conditions_and_environment(aws: None) -> None:
    prod = deploy(TEMPLATE, stage="prod", parameters={"ShardCount": "4", **LENDER_BUREAU_IDENTITY})
    assert prod.parameters["Stage"] == "prod"
    assert prod.functions["SweepFunction"].environment["SHARD_COUNT"] == "4"
    bureau_file = prod.functions["BureauFileFunction"].environment
    assert (bureau_file["BUREAU_FURNISHER_ID"], bureau_file["BUREAU_REPORTER_NAME"]) == (
        "1234567",
        "FIRST LENDER",
    )
    assert prod.functions["SweepFunction"].environment["STAGE"] == "prod"
    retention = boto3.client("s3").get_object_lock_configuration(Bucket=prod.physical["ArchiveBucket"])[
        "ObjectLockConfiguration"
    ]["Rule"]["DefaultRetention"]
    assert (retention["Mode"], retention["Days"]) == ("COMPLIANCE", 1095)
    table = boto3.client("dynamodb").describe_table(TableName=prod.physical["LoansTable"])["Table"]
    assert table["DeletionProtectionEnabled"] is True


def test_the_alarm_email_subscription_is_skipped_locally(aws: None, template: dict[str, Any]) -> None:
    # Only with AlarmEmail set does the template declare it (condition HasAlarmEmail).
    subscription = template["Resources"]["OpsAlarmEmailSubscription"]
    assert subscription["Type"] == "AWS::SNS::Subscription"
    assert subscription["Condition"] == "HasAlarmEmail"
    built = deploy(TEMPLATE, parameters={"AlarmEmail": "ops@example.com"})
    assert built.parameters["AlarmEmail"] == "ops@example.com"
    assert "OpsTopic" in built.physical
    assert "OpsAlarmEmailSubscription" not in built.physical
    sns = boto3.client("sns")
    assert sns.list_subscriptions_by_topic(TopicArn=built.physical["OpsTopic"])["Subscriptions"] == []


def test_unknown_parameters_are_refused(aws: None) -> None:
    with pytest.raises(LocalStackError, match="NoSuchParameter"):
        deploy(TEMPLATE, parameters={"NoSuchParameter": "1"})


def test_prod_refuses_the_demo_credit_bureau_identity(aws: None) -> None:
    """The template's Rules, as CloudFormation checks them before creating anything: a prod stack
    furnishing the bureaus under the demo's number or name is refused, naming the parameter."""
    with pytest.raises(LocalStackError, match="BureauFurnisherId"):
        deploy(TEMPLATE, stage="prod", parameters={"BureauReporterName": "FIRST LENDER"})
    with pytest.raises(LocalStackError, match="BureauReporterName"):
        deploy(TEMPLATE, stage="prod", parameters={"BureauFurnisherId": "1234567"})


def test_rules_apply_only_where_their_condition_holds(aws: None, tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        """\
Parameters:
  Stage: {Type: String, Default: dev}
  Name: {Type: String, Default: demo}
Rules:
  ProdNamed:
    RuleCondition: !Equals [!Ref Stage, prod]
    Assertions:
      - Assert: !Not [!Equals [!Ref Name, demo]]
        AssertDescription: prod needs Name
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${AWS::StackName}-${Name}"
""",
        encoding="utf-8",
    )
    assert "Topic" in deploy(template, stage="dev").physical
    assert "Topic" in deploy(template, stage="prod", parameters={"Name": "lender"}).physical
    with pytest.raises(LocalStackError, match="rule ProdNamed: prod needs Name"):
        deploy(template, stage="prod")


def test_resources_the_deployer_cannot_build_are_refused(aws: None, tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        "Resources:\n  Thing:\n    Type: AWS::Foo::Bar\n"
        "    Properties:\n      Name: !Sub '${AWS::StackName}-x'\n",
        encoding="utf-8",
    )
    with pytest.raises(LocalStackError, match=r"AWS::Foo::Bar"):
        deploy(template)


def test_short_form_intrinsics_and_conditions_resolve(aws: None, tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        """\
Parameters:
  Stage: {Type: String, Default: dev}
  Names: {Type: String, Default: "a,b,c"}
Conditions:
  IsLocal: !Equals [!Ref Stage, local]
  NotLocal: !Not [!Condition IsLocal]
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Join ["-", [!Select [1, !Split [",", !Ref Names]], !If [IsLocal, here, there]]]
  Skipped:
    Type: AWS::SQS::Queue
    Condition: NotLocal
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: code/
      Handler: app.handler
      Timeout: 7
      Environment:
        Variables:
          QUEUE: !Sub ["${Url}?arn=${Queue.Arn}&literal=${!Keep}", {Url: !Ref Queue}]
          DROPPED: !If [IsLocal, !Ref AWS::NoValue, kept]
""",
        encoding="utf-8",
    )
    built = deploy(template)
    assert set(built.physical) == {"Queue"}
    assert built.physical["Queue"].endswith("/b-here")
    spec = built.functions["Fn"]
    assert spec.environment == {
        "QUEUE": f"{built.physical['Queue']}?arn={built.arns['Queue']}&literal=${{Keep}}"
    }
    assert spec.timeout_s == 7
    assert spec.code_dir == tmp_path / "code"


def test_deploy_refuses_to_run_outside_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    # Other tests of this module may hold mock_aws() open: switch its interception off for this one.
    monkeypatch.setattr(botocore_stubber, "enabled", False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with pytest.raises(LocalStackError, match="only under moto"):
        deploy(TEMPLATE)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://dynamodb.us-east-1.amazonaws.com")
    with pytest.raises(LocalStackError, match="not a local moto server"):
        deploy(TEMPLATE)


def test_deploy_works_against_a_threaded_moto_server(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("flask", reason="ThreadedMotoServer needs moto[server]")
    from moto.server import ThreadedMotoServer

    monkeypatch.setattr(botocore_stubber, "enabled", False)  # talk to the server, not in-process moto
    for name, value in FAKE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        built = deploy(TEMPLATE)
        names = boto3.client("dynamodb").list_tables()["TableNames"]
        assert built.physical["LoansTable"] in names
    finally:
        server.stop()
