"""Assertions on template.yaml, raw and SAM-translated, that an operator or an auditor would notice."""

import ast
import fnmatch
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from arrears.events.bus import HOLD_DETAIL_TYPE, HOLD_SOURCES
from localcloud.stack import load_template
from tests.infrastructure.test_iam import ALLOWED_MANAGED_POLICIES, WILDCARD_ONLY_ACTIONS, translate

pytestmark = pytest.mark.infrastructure

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
CONTRACTS = ROOT / "docs" / "contracts.md"

DATA_KEY = "DataKey"
STREAM_FAILURE_QUEUE = "StreamFailureQueue"
ASYNC_FAILURE_QUEUE = "AsyncFailureQueue"
FOURTEEN_DAYS = 14 * 24 * 3600
# Resource "*" and managed policies: the allow-lists of test_iam.py (WILDCARD_ONLY_ACTIONS,
# ALLOWED_MANAGED_POLICIES), shared so that the two modules cannot drift apart.
# Managed policies SAM attaches per trigger kind: only a function with such a trigger may have them.
TRIGGER_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole": {"DynamoDB"},
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole": {"SQS"},
}
STREAM_EVENT_TYPES = ("DynamoDB", "Kinesis")
QUEUE_EVENT_TYPES = ("SQS",)
RULE_EVENT_TYPES = ("Schedule", "EventBridgeRule", "CloudWatchEvent")  # EventBridge rules
SCHEDULER_EVENT_TYPES = ("ScheduleV2",)  # EventBridge Scheduler schedules
ASYNC_EVENT_TYPES = RULE_EVENT_TYPES + SCHEDULER_EVENT_TYPES
SCHEDULER_ROLE = "SchedulerRole"
# The dispatcher's two sending functions (new actions, deferred ones): the only roles that publish SMS.
SMS_SENDERS = {"DispatcherFunctionRole", "DeferredReleaseFunctionRole"}
FUNCTION_IDS = sorted(
    name
    for name, resource in load_template(TEMPLATE)["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
)
ENV_REFS = {
    "LOANS_TABLE": {"Ref": "LoansTable"},
    "PAYMENTS_TABLE": {"Ref": "PaymentsTable"},
    "BORROWERS_TABLE": {"Ref": "BorrowersTable"},
    "ACTIONS_TABLE": {"Ref": "ActionsTable"},
    "CONTACTS_TABLE": {"Ref": "ContactsTable"},
    "IDEMPOTENCY_TABLE": {"Ref": "IdempotencyTable"},
    "ARCHIVE_CHAIN_TABLE": {"Ref": "ArchiveChainTable"},
    "REMINDERS_TOPIC_ARN": {"Ref": "RemindersTopic"},
    "FIELD_VISIT_QUEUE_URL": {"Ref": "FieldVisitQueue"},
    "ARCHIVE_BUCKET": {"Ref": "ArchiveBucket"},
    "ARCHIVE_KMS_KEY_ID": {"Fn::GetAtt": ["DataKey", "Arn"]},
    "ARCHIVE_LOCK_MODE": {"Fn::If": ["IsProd", "COMPLIANCE", "GOVERNANCE"]},
    "ARCHIVE_LOCK_DAYS": {"Fn::If": ["IsProd", 0, {"Ref": "DevArchiveLockDays"}]},
    "TOKEN_SECRET_ARN": {"Ref": "BorrowerTokenSecret"},
    "SHARD_COUNT": {"Ref": "ShardCount"},
    "STAGE": {"Ref": "Stage"},
    "SMS_SENDER_ID": {"Ref": "SmsSenderId"},
    "CONTACT_CAPS_TABLE": {"Ref": "ContactCapsTable"},
    "CALL_TASK_QUEUE_URL": {"Ref": "CallTaskQueue"},
    "LEGAL_TOPIC_ARN": {"Ref": "LegalTopic"},
    "BUREAU_TOPIC_ARN": {"Ref": "BureauTopic"},
    "STRATEGY_PARAMETER_NAME": {"Ref": "StrategyParameter"},
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
    return translate(raw)


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


def contract_rows(title: str) -> list[list[str]]:
    """The cells of each table row of a contract section whose first cell names something in backticks."""
    return [
        [cell.strip() for cell in row.strip().strip("|").split("|")]
        for row in contract_section(title).splitlines()
        if row.startswith("| `")
    ]


def backticked(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def contract_logical_ids() -> dict[str, tuple[str, str]]:
    """Each logical id of the contract's table -> (its type column, its notes column)."""
    return {
        logical_id: (kind, notes)
        for first, kind, notes in (row[:3] for row in contract_rows("Logical ids in template.yaml"))
        for logical_id in re.findall(r"`([A-Za-z0-9]+)`", first)
    }


def contract_function_dirs() -> dict[str, str]:
    """Function logical id -> its code directory (``functions/<dir>``), as the contract lists them."""
    return {
        logical_id: kind
        for logical_id, (kind, _) in contract_logical_ids().items()
        if kind.startswith("functions/")
    }


def contract_service_names() -> set[str]:
    (row,) = [
        row
        for row in contract_rows("Environment variables (Globals, every function)")
        if backticked(row[0]) == ["POWERTOOLS_SERVICE_NAME"]
    ]
    return set(backticked(row[1]))


def service_name(raw: dict[str, Any], function: str) -> str:
    """A function's Powertools service: its code directory, with dashes (sweep_worker -> sweep-worker)."""
    return Path(props(raw["Resources"][function])["CodeUri"]).name.replace("_", "-")


def function_level_environment() -> dict[str, tuple[set[str], bool, str]]:
    """Contract: variable -> (services that may set it, required?, value column): the sweep functions'
    and the unsubscribe link's variables."""
    found = {}
    rows = (
        contract_rows("Environment variables (sweep functions only)")
        + contract_rows("Environment variables (the e-mail's unsubscribe link)")
        + contract_rows("Environment variables (court case files)")
    )
    for variable, services, value in (row[:3] for row in rows):
        (name,) = backticked(variable)
        found[name] = ({s.strip() for s in services.split(",")}, "(optional)" not in variable, value)
    return found


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


def test_the_functions_are_those_of_the_contract_with_their_code_directories(raw: dict[str, Any]) -> None:
    expected = contract_function_dirs()
    assert set(functions(raw)) == set(expected)
    for name, function in functions(raw).items():
        assert props(function)["CodeUri"].rstrip("/") == expected[name], name


def test_each_function_names_its_powertools_service(raw: dict[str, Any]) -> None:
    services = {name: service_name(raw, name) for name in functions(raw)}
    assert set(services.values()) == contract_service_names()
    assert len(set(services.values())) == len(services), "one service name per function"
    for name, function in functions(raw).items():
        assert props(function)["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == services[name], name


def test_function_level_environment_is_only_what_the_contract_allows(raw: dict[str, Any]) -> None:
    allowed = function_level_environment()
    assert allowed, "the contract lists the sweep functions' variables"
    for name, function in functions(raw).items():
        service = service_name(raw, name)
        variables = dict(props(function)["Environment"]["Variables"])
        del variables["POWERTOOLS_SERVICE_NAME"]
        assert not set(variables) & set(ENV_REFS), f"{name} overrides a Globals variable"
        for variable, value in variables.items():
            assert variable in allowed, f"{name}: {variable} is not in docs/contracts.md"
            services, _, contract_value = allowed[variable]
            assert service in services, f"{name}: the contract does not give {variable} to {service}"
            for target in re.findall(r"`!Ref (\w+)`", contract_value):
                assert value == {"Ref": target}, f"{name}: {variable}"
        for variable, (services, required, _) in allowed.items():
            if required and service in services:
                assert variable in variables, f"{name} lacks {variable}"


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


@pytest.mark.parametrize("function", FUNCTION_IDS)
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
    consumers = list(function_events(raw, *STREAM_EVENT_TYPES))
    streams = {
        name
        for name, table in of_type(raw, "AWS::DynamoDB::Table").items()
        if "StreamSpecification" in props(table)
    }
    assert streams, "the template has streams"
    # Every stream has a consumer (a stream nobody reads is a bug or dead weight) and only streams are read.
    assert {properties["Stream"]["Fn::GetAtt"][0] for _, _, properties in consumers} == streams
    for name, event, properties in consumers:
        where = f"{name}.{event}"
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"], where
        assert properties["BisectBatchOnFunctionError"] is True, where
        assert 0 <= properties["MaximumRetryAttempts"] <= 10, where
        assert 60 <= properties["MaximumRecordAgeInSeconds"] <= 86400, where
        assert properties["StartingPosition"] == "TRIM_HORIZON", where
        on_failure = properties["DestinationConfig"]["OnFailure"]
        assert on_failure["Type"] == "SQS", where
        assert refers_to(on_failure["Destination"], STREAM_FAILURE_QUEUE), where
        if name == "ReviewListerFunction":
            # Listing a batch costs an item whatever its size: the lister gathers up to five minutes
            # of writes (a loan listed later than that is read by the next sweep).
            assert properties["BatchSize"] == 1000, where
            assert properties["MaximumBatchingWindowInSeconds"] == {"Ref": "ReviewListingWindowSeconds"}, (
                where
            )
            continue
        assert properties["BatchSize"] == 100, where
        assert properties["MaximumBatchingWindowInSeconds"] == 1, where


def test_queue_consumers_report_partial_failures_and_bound_their_retries(raw: dict[str, Any]) -> None:
    consumers = list(function_events(raw, *QUEUE_EVENT_TYPES))
    assert consumers, "the sweep worker consumes SweepTasksQueue"
    for name, event, properties in consumers:
        where = f"{name}.{event}"
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"], where
        assert 1 <= properties["BatchSize"] <= 10, where
        assert properties["ScalingConfig"]["MaximumConcurrency"] >= 2, where
        queue_id = properties["Queue"]["Fn::GetAtt"][0]
        queue = props(raw["Resources"][queue_id])
        # Bounded retries: a message that keeps failing moves to a dead-letter queue.
        redrive = queue["RedrivePolicy"]
        assert 1 <= redrive["maxReceiveCount"] <= 10, where
        dlq_id = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert props(raw["Resources"][dlq_id])["MessageRetentionPeriod"] == FOURTEEN_DAYS, where
        # Lambda's advice for SQS event sources: visibility timeout at least 6 x the function timeout.
        timeout = props(raw["Resources"][name]).get("Timeout", raw["Globals"]["Function"]["Timeout"])
        assert queue["VisibilityTimeout"] >= 6 * timeout, where


def test_sweep_worker_follows_the_contract(raw: dict[str, Any]) -> None:
    worker = props(raw["Resources"]["SweepWorkerFunction"])
    (event,) = worker["Events"].values()
    assert event["Type"] == "SQS"
    assert refers_to(event["Properties"]["Queue"], "SweepTasksQueue")
    assert event["Properties"]["BatchSize"] == 1
    assert event["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 64}
    assert worker["Timeout"] == 90
    queue = props(raw["Resources"]["SweepTasksQueue"])
    assert queue["VisibilityTimeout"] == 540
    assert refers_to(queue["RedrivePolicy"]["deadLetterTargetArn"], "SweepTasksDLQ")
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 3
    call_tasks = props(raw["Resources"]["CallTaskQueue"])
    assert refers_to(call_tasks["RedrivePolicy"]["deadLetterTargetArn"], "CallTaskDLQ")
    assert call_tasks["RedrivePolicy"]["maxReceiveCount"] == 5


def test_translated_event_source_mappings_keep_the_failure_settings(
    raw: dict[str, Any], translated: dict[str, Any]
) -> None:
    mappings = of_type(translated, "AWS::Lambda::EventSourceMapping")
    declared = list(function_events(raw, *STREAM_EVENT_TYPES, *QUEUE_EVENT_TYPES))
    assert len(mappings) == len(declared) > 0, "one mapping per stream or queue trigger"
    for name, mapping in mappings.items():
        properties = props(mapping)
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name
        source = properties["EventSourceArn"]["Fn::GetAtt"]
        if source[1] == "StreamArn":
            assert properties["BisectBatchOnFunctionError"] is True, name
            assert properties["MaximumRetryAttempts"] == 5, name
            assert properties["MaximumRecordAgeInSeconds"] == 86400, name
            destination = properties["DestinationConfig"]["OnFailure"]["Destination"]
            assert refers_to(destination, STREAM_FAILURE_QUEUE), name
        else:
            # SQS: retries are bounded by the queue's redrive policy (checked above).
            assert source[1] == "Arn", name
            assert "RedrivePolicy" in props(raw["Resources"][source[0]]), name


@pytest.mark.parametrize(
    ("function", "table", "pattern"),
    [
        (
            "PlannerFunction",
            "LoansTable",
            {
                "eventName": ["INSERT", "MODIFY"],
                "dynamodb": {"NewImage": {"evaluated_on": {"S": [{"exists": True}]}}},
            },
        ),
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


def test_sweep_runs_daily_at_half_past_midnight_in_the_books_time_zone(raw: dict[str, Any]) -> None:
    (event,) = props(raw["Resources"]["SweepFunction"])["Events"].values()
    assert event["Type"] == "ScheduleV2"
    assert event["Properties"]["ScheduleExpression"] == "cron(30 0 * * ? *)"
    assert event["Properties"]["ScheduleExpressionTimezone"] == {"Ref": "SweepTimezone"}
    assert raw["Parameters"]["SweepTimezone"]["Default"] == "Asia/Shanghai"


def test_the_scheduler_role_invokes_only_the_scheduled_functions_and_dead_letters_to_the_failure_queue(
    raw: dict[str, Any],
) -> None:
    scheduled = {name for name, _, _ in function_events(raw, *SCHEDULER_EVENT_TYPES)}
    assert scheduled == {
        "SweepFunction",
        "SweepDeadlineFunction",
        "RetentionFunction",
        "ComplaintDeadlinesFunction",
        "ReportingExportFunction",
        "BureauFileFunction",
    }
    for _, _, properties in function_events(raw, *SCHEDULER_EVENT_TYPES):
        assert refers_to(properties["RoleArn"], SCHEDULER_ROLE)
    role = props(raw["Resources"][SCHEDULER_ROLE])
    (trust,) = statements(role["AssumeRolePolicyDocument"])
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    granted = {
        action: as_list(statement["Resource"])
        for policy in role["Policies"]
        for statement in statements(policy["PolicyDocument"])
        for action in as_list(statement["Action"])
    }
    assert sorted(granted) == [
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "lambda:InvokeFunction",
        "sqs:SendMessage",
    ]
    assert {
        name for name in scheduled if any(refers_to(r, name) for r in granted["lambda:InvokeFunction"])
    } == (scheduled)
    assert len(granted["lambda:InvokeFunction"]) == len(scheduled)
    assert [refers_to(r, ASYNC_FAILURE_QUEUE) for r in granted["sqs:SendMessage"]] == [True]
    assert [refers_to(r, DATA_KEY) for r in granted["kms:GenerateDataKey"]] == [True]


def test_deferred_actions_are_released_every_quarter_hour(raw: dict[str, Any]) -> None:
    (event,) = props(raw["Resources"]["DeferredReleaseFunction"])["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == "rate(15 minutes)"


def test_payments_listen_to_payments_and_reversals_on_the_loan_events_bus(raw: dict[str, Any]) -> None:
    (event,) = props(raw["Resources"]["PaymentsFunction"])["Events"].values()
    assert event["Type"] == "EventBridgeRule"
    assert event["Properties"]["EventBusName"] == {"Ref": "LoanEventsBus"}
    assert event["Properties"]["Pattern"]["detail-type"] == ["PaymentReceived", "PaymentReversed"]
    assert event["Properties"]["Pattern"]["source"] == ["arrears.lending-core"]


def test_erasure_and_call_outcomes_listen_on_the_loan_events_bus(raw: dict[str, Any]) -> None:
    (erasure,) = props(raw["Resources"]["ErasureFunction"])["Events"].values()
    assert erasure["Type"] == "EventBridgeRule"
    assert erasure["Properties"]["EventBusName"] == {"Ref": "LoanEventsBus"}
    assert erasure["Properties"]["Pattern"]["detail-type"] == ["ErasureRequested"]
    assert sorted(erasure["Properties"]["Pattern"]["source"]) == ["arrears.lending-core", "arrears.privacy"]
    events = props(raw["Resources"]["CallOutcomesFunction"])["Events"]
    assert set(events) == {"CallOutcomes", "FieldVisitReports"}
    for rule in events.values():
        assert rule["Type"] == "EventBridgeRule"
        assert rule["Properties"]["EventBusName"] == {"Ref": "LoanEventsBus"}
        assert rule["Properties"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["AsyncFailureQueue", "Arn"]}}
    assert events["CallOutcomes"]["Properties"]["Pattern"] == {
        "source": ["arrears.dialer"],
        "detail-type": ["CallOutcome", "CallAttempted"],
    }
    assert events["FieldVisitReports"]["Properties"]["Pattern"] == {
        "source": ["arrears.field"],
        "detail-type": ["FieldVisitReported"],
    }


def test_holds_come_from_the_lending_core_and_the_collector_desk(raw: dict[str, Any]) -> None:
    (event,) = props(raw["Resources"]["HoldsFunction"])["Events"].values()
    assert event["Type"] == "EventBridgeRule"
    assert event["Properties"]["EventBusName"] == {"Ref": "LoanEventsBus"}
    assert event["Properties"]["Pattern"] == {
        "source": list(HOLD_SOURCES),
        "detail-type": [HOLD_DETAIL_TYPE],
    }


def test_the_holds_function_only_reads_and_puts_loans(translated: dict[str, Any]) -> None:
    """Least privilege: GetItem and the conditional PutItem of LoanRepository.save on the Loans table
    itself; no other table (idempotency lives on the loan), no index, no update or delete; and the
    collection policy parameter its milestones come from."""
    granted = [
        (str(action), resource)
        for role, statement in role_statements(translated)
        if role == "HoldsFunctionRole"
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]
    dynamodb = sorted(
        (action, json.dumps(resource)) for action, resource in granted if action.startswith("dynamodb:")
    )
    loans = json.dumps({"Fn::GetAtt": ["LoansTable", "Arn"]})
    assert dynamodb == [("dynamodb:GetItem", loans), ("dynamodb:PutItem", loans)]
    others = {action.split(":")[0] for action, _ in granted} - {"dynamodb", "kms"}
    assert others <= {"sqs", "ssm"}  # the on-failure destination SAM grants for EventInvokeConfig
    assert {action for action, _ in granted if action.startswith("ssm:")} == {"ssm:GetParameter"}
    assert {action for action, _ in granted if action.startswith("sqs:")} == {"sqs:SendMessage"}


def test_async_invocations_retry_briefly_then_land_in_the_failure_queue(raw: dict[str, Any]) -> None:
    async_functions = {name for name, _, _ in function_events(raw, *ASYNC_EVENT_TYPES)}
    # The contract says which functions have schedule / EventBridge triggers; the template may not drop
    # one or add one silently.
    expected = {
        name
        for name, (kind, notes) in contract_logical_ids().items()
        if kind.startswith("functions/") and re.search(r"\bSchedule\b|ScheduleV2|EventBridge rule", notes)
    }
    assert {"SweepFunction", "DeferredReleaseFunction"} <= expected, "docs/contracts.md lost its triggers"
    assert async_functions == expected
    for name in async_functions:
        config = props(raw["Resources"][name])["EventInvokeConfig"]
        assert config["MaximumRetryAttempts"] <= 2, name
        on_failure = config["DestinationConfig"]["OnFailure"]
        assert on_failure["Type"] == "SQS", name
        assert refers_to(on_failure["Destination"], ASYNC_FAILURE_QUEUE), name
    for name, event, properties in function_events(raw, *ASYNC_EVENT_TYPES):
        assert refers_to(properties["DeadLetterConfig"]["Arn"], ASYNC_FAILURE_QUEUE), f"{name}.{event}"
        assert properties["RetryPolicy"]["MaximumRetryAttempts"] <= 185, f"{name}.{event}"


def test_eventbridge_may_write_dead_letters_only_from_our_rules(raw: dict[str, Any]) -> None:
    rule_names = {
        sub_text(properties.get("Name") or properties.get("RuleName"))
        for _, _, properties in function_events(raw, *RULE_EVENT_TYPES)
    }
    policies = of_type(raw, "AWS::SQS::QueuePolicy")
    # The other queue policy lets only the legal topic deliver to the case-file queue.
    assert set(policies) == {"AsyncFailureQueuePolicy", "CaseFileQueuePolicy"}
    policy = policies["AsyncFailureQueuePolicy"]
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
    contract_tables = {name for name, (kind, _) in contract_logical_ids().items() if kind == "DynamoDB"}
    assert contract_tables, "docs/contracts.md lists the tables"
    assert contract_tables <= set(tables)
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
    # The functions' groups (/aws/lambda/<stack>-*) and the HTTP API's access log (/aws/apigateway/<stack>-*).
    patterns = [
        sub_text(p) for p in as_list(statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    ]
    assert len(patterns) == 2
    for name, group in of_type(raw, "AWS::Logs::LogGroup").items():
        group_arn = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:" + sub_text(
            props(group)["LogGroupName"]
        )
        assert any(fnmatch.fnmatchcase(group_arn, pattern) for pattern in patterns), name


# Every index holds what its readers use and nothing more: keys only, the reader needs ids (and
# batch-reads the items). A small index entry, and no index write when an item's other attributes change.
INDEX_PROJECTIONS: dict[str, dict[str, Any]] = {
    "ReviewIndex": {"ProjectionType": "KEYS_ONLY"},
    "BorrowerIndex": {"ProjectionType": "KEYS_ONLY"},
    "LoanActionsIndex": {"ProjectionType": "KEYS_ONLY"},
    "DeferredIndex": {"ProjectionType": "KEYS_ONLY"},
    "PhoneKeyIndex": {"ProjectionType": "KEYS_ONLY"},
    "BorrowerTokenIndex": {"ProjectionType": "KEYS_ONLY"},
    # The retention review reads the object's manifest and its debts, never the claim's copy of the data.
    "RetentionIndex": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["manifest", "records"]},
}


@pytest.mark.parametrize(
    ("table", "keys", "indexes", "stream", "ttl"),
    [
        (
            "LoansTable",
            {"loan_id": "HASH"},
            {
                "ReviewIndex": {"review_shard": "HASH", "review_on": "RANGE"},
                "BorrowerIndex": {"borrower_id": "HASH", "loan_id": "RANGE"},
            },
            True,
            None,
        ),
        (
            "BorrowersTable",
            {"borrower_id": "HASH"},
            {"PhoneKeyIndex": {"phone_key": "HASH"}, "BorrowerTokenIndex": {"borrower_token": "HASH"}},
            False,
            None,
        ),
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
        (
            "ArchiveChainTable",
            {"jurisdiction": "HASH"},
            {"RetentionIndex": {"retention_jurisdiction": "HASH", "retain_until": "RANGE"}},
            False,
            None,
        ),
        ("ContactCapsTable", {"borrower_id": "HASH", "cap_key": "RANGE"}, {}, False, "expires_at"),
        ("SweepRunsTable", {"business_date": "HASH"}, {}, False, "expires_at"),
        ("DelinquencyHistoryTable", {"loan_id": "HASH"}, {}, False, None),
        ("ReviewDueTable", {"review_shard": "HASH", "due_key": "RANGE"}, {}, False, None),
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
        assert index["Projection"] == INDEX_PROJECTIONS[index["IndexName"]], index["IndexName"]
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
    assert retention["Days"]["Fn::If"][2] == {"Ref": "DevArchiveLockDays"}


def test_the_archivers_lock_follows_the_stage(raw: dict[str, Any]) -> None:
    """prod: COMPLIANCE for the jurisdiction's retention (days 0); dev: GOVERNANCE for a few days."""
    variables = raw["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["ARCHIVE_LOCK_MODE"] == {"Fn::If": ["IsProd", "COMPLIANCE", "GOVERNANCE"]}
    assert variables["ARCHIVE_LOCK_DAYS"] == {"Fn::If": ["IsProd", 0, {"Ref": "DevArchiveLockDays"}]}
    parameter = raw["Parameters"]["DevArchiveLockDays"]
    assert (parameter["Default"], parameter["MaxValue"]) == (1, 30)


@pytest.mark.parametrize(
    ("bucket", "policy_id"),
    [("ArchiveBucket", "ArchiveBucketPolicy"), ("BureauFilesBucket", "BureauFilesBucketPolicy")],
)
def test_archive_bucket_policy_allows_only_tls_and_sse_kms_with_the_data_key(
    raw: dict[str, Any], bucket: str, policy_id: str
) -> None:
    policies = of_type(raw, "AWS::S3::BucketPolicy")
    assert set(policies) == {
        "ArchiveBucketPolicy",
        "ImportBucketPolicy",
        "BureauFilesBucketPolicy",
        "ReportingBucketPolicy",
        "CaseFileBucketPolicy",
    }
    policy = policies[policy_id]
    assert refers_to(props(policy)["Bucket"], bucket)
    denies = [s for s in statements(props(policy)["PolicyDocument"]) if s["Effect"] == "Deny"]
    tls = next(s for s in denies if "Bool" in s.get("Condition", {}))
    assert tls["Condition"]["Bool"] == {"aws:SecureTransport": "false"}
    assert tls["Action"] == "s3:*"
    assert tls["Principal"] == "*"
    bucket_arn, objects_arn = tls["Resource"]
    assert bucket_arn == {"Fn::GetAtt": [bucket, "Arn"]}
    assert sub_text(objects_arn) == "${" + bucket + ".Arn}/*"
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
    for role, statement in wildcard:
        actions = {str(action) for action in as_list(statement["Action"])}
        assert actions <= WILDCARD_ONLY_ACTIONS, f"{role}: {sorted(actions - WILDCARD_ONLY_ACTIONS)} on *"
        if "sns:Publish" in actions:
            # Direct SMS only: publishing to topics is scoped to their ARNs.
            assert role in SMS_SENDERS, role
            assert statement.get("Sid") == "PublishSmsToPhoneNumbers", role
            assert actions == {"sns:Publish"}, role
        if "cloudwatch:PutMetricData" in actions:
            condition = statement.get("Condition", {})
            assert any("cloudwatch:namespace" in block for block in condition.values()), role
    assert {(role, "PublishSmsToPhoneNumbers") for role in SMS_SENDERS} <= {
        (role, s.get("Sid")) for role, s in wildcard
    }, "the check sees the SMS statements"


def test_roles_use_only_the_expected_managed_policies(
    raw: dict[str, Any], translated: dict[str, Any]
) -> None:
    roles = of_type(translated, "AWS::IAM::Role")
    assert set(roles) == {f"{name}Role" for name in functions(raw)} | {SCHEDULER_ROLE}
    for name, role in roles.items():
        if name == SCHEDULER_ROLE:
            assert "ManagedPolicyArns" not in props(role)
            continue
        managed = set(props(role)["ManagedPolicyArns"])
        assert managed <= ALLOWED_MANAGED_POLICIES, name
        triggers = {
            event["Type"]
            for event in props(raw["Resources"][name.removesuffix("Role")]).get("Events", {}).values()
        }
        for policy, needs in TRIGGER_MANAGED_POLICIES.items():
            # A trigger's execution policy exactly where that trigger is (SAM adds it; nowhere else).
            assert (policy in managed) == bool(triggers & needs), f"{name}: {policy}"


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


def test_the_sweep_worker_queries_the_review_index_and_only_updates_the_runs_table(
    translated: dict[str, Any],
) -> None:
    worker = [
        statement for role, statement in role_statements(translated) if role == "SweepWorkerFunctionRole"
    ]
    # The sweep Queries ReviewIndex and its due list, never the Loans table itself; the census Scans
    # the Loans table (one segment a shard) and nothing else.
    queries = [
        resource
        for statement in worker
        if "dynamodb:Query" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]
    assert len(queries) == 2
    assert [sub_text(q) for q in queries if "Fn::Sub" in q] == ["${LoansTable.Arn}/index/ReviewIndex"]
    assert sum(1 for s in worker for r in as_list(s["Resource"]) if refers_to(r, "ReviewDueTable")) == 1
    due = [s for s in worker if any(refers_to(r, "ReviewDueTable") for r in as_list(s["Resource"]))]
    assert {str(a) for s in due for a in as_list(s["Action"])} == {
        "dynamodb:Query",
        "dynamodb:BatchWriteItem",
    }
    scans = [s for s in worker if "dynamodb:Scan" in as_list(s["Action"])]
    assert len(scans) == 1
    assert all(refers_to(r, "LoansTable") for r in as_list(scans[0]["Resource"]))
    # Shards done, the heartbeat and the census claims are all conditional UpdateItems; a census claim
    # found taken reads the run record (is the census day's sweep still to be sent?): nothing else.
    runs = [s for s in worker if any(refers_to(r, "SweepRunsTable") for r in as_list(s["Resource"]))]
    assert {str(action) for s in runs for action in as_list(s["Action"])} == {
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
    }


# The roles that may touch the archive bucket, and the key prefixes each may write objects under.
ARCHIVE_WRITERS = {
    "ArchiverFunctionRole": ("contacts/*",),
    "ErasureFunctionRole": ("erasures/*",),
    "InboundSmsFunctionRole": ("preferences/*",),
    "ApiFunctionRole": ("preferences/*", "borrower-requests/*"),
    # each repayment plan's records (arrears.usecases.plans), each promise's (arrears.usecases.promises)
    "PlannerFunctionRole": ("plans/*", "promises/*"),
}
# The roles that sign (dispatch) or verify (the API's unsubscribe route) e-mail unsubscribe links.
LINK_SECRET_READERS = {"DispatcherFunctionRole", "DeferredReleaseFunctionRole", "ApiFunctionRole"}
ARCHIVE_OBJECT_ACTIONS = {"s3:PutObject", "s3:PutObjectRetention", "s3:GetObject"}


@pytest.mark.parametrize(("writer", "prefixes"), sorted(ARCHIVE_WRITERS.items()))
def test_archive_writers_write_objects_but_cannot_delete_or_bypass_retention(
    translated: dict[str, Any], writer: str, prefixes: tuple[str, ...]
) -> None:
    s3_statements = [
        statement
        for role, statement in role_statements(translated)
        if role == writer
        and any(str(action).startswith("s3:") for action in as_list(statement["Action"]))
        and "BureauFilesBucket" not in str(statement["Resource"])  # the planner's CN credit records
    ]
    s3_actions = {str(action) for statement in s3_statements for action in as_list(statement["Action"])}
    # Only these (a writer that never reads back, like the planner's plan records, has fewer): no
    # s3:Delete*, no s3:BypassGovernanceRetention, no PutObjectLegalHold/lock changes.
    assert {"s3:PutObject", "s3:PutObjectRetention"} <= s3_actions, writer
    assert s3_actions <= ARCHIVE_OBJECT_ACTIONS | {"s3:ListBucket"}, writer
    for statement in s3_statements:
        assert statement["Effect"] == "Allow", writer
        actions = {str(action) for action in as_list(statement["Action"])}
        (resource,) = as_list(statement["Resource"])
        if actions == {"s3:ListBucket"}:
            assert resource == {"Fn::GetAtt": ["ArchiveBucket", "Arn"]}, writer
        else:
            assert actions <= ARCHIVE_OBJECT_ACTIONS, writer
            assert sub_text(resource) in {"${ArchiveBucket.Arn}/" + prefix for prefix in prefixes}, writer


def test_erasure_finds_loans_through_the_borrower_index_and_never_scans(translated: dict[str, Any]) -> None:
    dynamodb = [
        statement
        for role, statement in role_statements(translated)
        if role == "ErasureFunctionRole"
        and any(str(action).startswith("dynamodb:") for action in as_list(statement["Action"]))
    ]
    on_loans = [s for s in dynamodb if any(refers_to(r, "LoansTable") for r in as_list(s["Resource"]))]
    queries = [s for s in on_loans if "dynamodb:Query" in as_list(s["Action"])]
    (statement,) = queries
    assert as_list(statement["Action"]) == ["dynamodb:Query"]
    (resource,) = as_list(statement["Resource"])
    assert sub_text(resource) == "${LoansTable.Arn}/index/BorrowerIndex"
    # The loans found: each read and its borrower id replaced by the pseudonym, nothing else.
    (writes,) = [s for s in on_loans if s is not statement]
    assert sorted(as_list(writes["Action"])) == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    assert as_list(writes["Resource"]) == [{"Fn::GetAtt": ["LoansTable", "Arn"]}]
    actions = {str(action) for s in dynamodb for action in as_list(s["Action"])}
    assert "dynamodb:Scan" not in actions
    # Items are deleted only where an item keyed by the borrower id is re-keyed under the pseudonym.
    deleting = {
        r["Fn::GetAtt"][0]
        for s in dynamodb
        if "dynamodb:DeleteItem" in as_list(s["Action"])
        for r in as_list(s["Resource"])
    }
    assert deleting == {"BorrowersTable", "ContactCapsTable"}


def test_only_the_archive_writers_touch_s3(translated: dict[str, Any]) -> None:
    touching = {
        role
        for role, statement in role_statements(translated)
        for action in as_list(statement["Action"])
        if str(action).startswith("s3:")
    }
    # The book import and the reporting export touch their own buckets only (test_the_book_import_reads_only_
    # book_files..., test_the_reporting_export_writes_only_its_snapshots...); the case-file function reads
    # the archive and writes its own bucket only (test below).
    assert touching == set(ARCHIVE_WRITERS) | {
        "RetentionFunctionRole",
        "BookImportFunctionRole",
        "ReportingExportFunctionRole",
        "ReportingSegmentFunctionRole",
        "CaseFileFunctionRole",
    } | set(BUREAU_WRITERS)  # the bureau writers: test_the_bureau_writers_only_put_objects_under_their_prefix


BUREAU_WRITERS = {"BureauFileFunctionRole": "metro2/*", "PlannerFunctionRole": "cn-credit/*"}


@pytest.mark.parametrize(("writer", "prefix"), sorted(BUREAU_WRITERS.items()))
def test_the_bureau_writers_only_put_objects_under_their_prefix(
    translated: dict[str, Any], writer: str, prefix: str
) -> None:
    (statement,) = [
        statement
        for role, statement in role_statements(translated)
        if role == writer
        and any(str(action).startswith("s3:") for action in as_list(statement["Action"]))
        and "BureauFilesBucket" in str(statement["Resource"])
    ]
    assert as_list(statement["Action"]) == ["s3:PutObject"]
    (resource,) = as_list(statement["Resource"])
    assert sub_text(resource) == "${BureauFilesBucket.Arn}/" + prefix


def test_the_case_file_function_reads_the_archive_and_writes_only_case_files_never_deletes(
    translated: dict[str, Any],
) -> None:
    grants = {
        (
            str(action),
            sub_text(resource) if isinstance(resource, dict) and "Fn::Sub" in resource else str(resource),
        )
        for role, statement in role_statements(translated)
        if role == "CaseFileFunctionRole"
        for action in as_list(statement["Action"])
        if str(action).startswith("s3:")
        for resource in as_list(statement["Resource"])
    }
    assert grants == {
        ("s3:GetObject", "${ArchiveBucket.Arn}/contacts/*"),
        ("s3:ListBucket", str({"Fn::GetAtt": ["ArchiveBucket", "Arn"]})),
        ("s3:PutObject", "${CaseFileBucket.Arn}/case-files/*"),
        ("s3:GetObject", "${CaseFileBucket.Arn}/case-files/*"),
        ("s3:ListBucket", str({"Fn::GetAtt": ["CaseFileBucket", "Arn"]})),
    }


def test_the_retention_review_extends_and_tags_archived_objects_and_can_neither_delete_nor_bypass(
    translated: dict[str, Any],
) -> None:
    s3 = [
        statement
        for role, statement in role_statements(translated)
        if role == "RetentionFunctionRole"
        and any(str(action).startswith("s3:") for action in as_list(statement["Action"]))
    ]
    (statement,) = s3
    assert set(as_list(statement["Action"])) == {"s3:PutObjectRetention", "s3:PutObjectTagging"}
    (resource,) = as_list(statement["Resource"])
    assert sub_text(resource) == "${ArchiveBucket.Arn}/contacts/*"


def test_the_import_bucket_is_encrypted_tls_only_and_sends_its_events_to_eventbridge(
    raw: dict[str, Any],
) -> None:
    bucket = props(raw["Resources"]["ImportBucket"])
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert refers_to(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"], DATA_KEY)
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    expiring = {r["Prefix"] for r in bucket["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r}
    assert expiring == {"imports/", "reports/"}  # book files hold personal data: not kept for ever
    (tls,) = statements(props(raw["Resources"]["ImportBucketPolicy"])["PolicyDocument"])
    assert tls["Effect"] == "Deny"
    assert tls["Condition"]["Bool"] == {"aws:SecureTransport": "false"}
    events = props(raw["Resources"]["BookImportFunction"])["Events"]
    pattern = events["BookFileCreated"]["Properties"]["Pattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"]["key"] == [{"prefix": "imports/"}]  # its reports go to reports/
    # The lending core's day-to-day onboarding: the same import, from the loan-events bus only.
    onboarding = events["LendingCoreOnboarding"]["Properties"]
    assert onboarding["Pattern"] == {
        "source": ["arrears.lending-core"],
        "detail-type": ["LoanDisbursed", "BorrowerUpdated"],
    }
    assert refers_to(onboarding["EventBusName"], "LoanEventsBus")
    assert refers_to(onboarding["DeadLetterConfig"]["Arn"], "AsyncFailureQueue")


def test_the_book_import_reads_only_book_files_and_writes_only_reports(translated: dict[str, Any]) -> None:
    granted = [
        (sorted(as_list(statement["Action"])), sub_text(statement["Resource"]))
        for role, statement in role_statements(translated)
        if role == "BookImportFunctionRole"
        and any(str(a).startswith("s3:") for a in as_list(statement["Action"]))
    ]
    assert granted == [
        (["s3:GetObject"], "${ImportBucket.Arn}/imports/*"),
        (["s3:PutObject"], "${ImportBucket.Arn}/reports/*"),
    ]


def test_the_reporting_export_writes_only_its_snapshots_and_reads_the_book_and_its_history(
    translated: dict[str, Any],
) -> None:
    def granted(owner: str) -> list[tuple[list[str], list[str]]]:
        return sorted(
            (
                sorted(str(a) for a in as_list(statement["Action"])),
                sorted(map(str, as_list(statement["Resource"]))),
            )
            for role, statement in role_statements(translated)
            if role == owner
            and any(str(a).startswith(("s3:", "dynamodb:")) for a in as_list(statement["Action"]))
        )

    def under(*prefixes: str) -> list[str]:
        return sorted(str({"Fn::Sub": f"${{ReportingBucket.Arn}}/{prefix}/*"}) for prefix in prefixes)

    listing = (["s3:ListBucket"], [str({"Fn::GetAtt": ["ReportingBucket", "Arn"]})])
    # The plan: the stock's size (a Query, never a Scan), the plan itself, and a new run's reset.
    assert granted("ReportingExportFunctionRole") == sorted(
        [
            (["dynamodb:Query"], [str({"Fn::GetAtt": ["BookStockTable", "Arn"]})]),
            (["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], under("exports")),
            (["s3:DeleteObject"], under("loans", "transitions", "snapshots")),
            listing,
        ]
    )
    # A segment: its Scan, its parts (and their stale successors), the completion marker written
    # (never removed), its marker beside the plan it reads.
    tables = sorted(
        map(str, [{"Fn::GetAtt": ["LoansTable", "Arn"]}, {"Fn::GetAtt": ["DelinquencyHistoryTable", "Arn"]}])
    )
    assert granted("ReportingSegmentFunctionRole") == sorted(
        [
            (["dynamodb:Scan"], tables),
            (["s3:DeleteObject", "s3:PutObject"], under("loans", "transitions")),
            (["s3:PutObject"], under("snapshots")),
            (["s3:GetObject", "s3:PutObject"], under("exports")),
            listing,
        ]
    )
    bucket = props(translated["Resources"]["ReportingBucket"])
    assert "ObjectLockConfiguration" not in bucket  # derived data: rebuilt at will, expired by lifecycle
    (expiry,) = [r for r in bucket["LifecycleConfiguration"]["Rules"] if r["Id"] == "ExpireSnapshots"]
    assert expiry["ExpirationInDays"] == {"Ref": "ReportingSnapshotDays"}


def test_only_the_functions_that_pseudonymise_read_the_token_secret(
    raw: dict[str, Any], translated: dict[str, Any]
) -> None:
    readers = set()
    link_readers = set()
    for role, statement in role_statements(translated):
        actions = {str(action) for action in as_list(statement["Action"])}
        if any(action.startswith("secretsmanager:") for action in actions):
            assert actions == {"secretsmanager:GetSecretValue"}, role
            if refers_to(statement["Resource"], "OptOutLinkSecret") or (
                statement["Resource"]["Fn::Sub"][1]["secretArn"] == {"Ref": "OptOutLinkSecret"}
            ):
                link_readers.add(role)
                continue
            assert refers_to(statement["Resource"], "BorrowerTokenSecret") or (
                statement["Resource"]["Fn::Sub"][1]["secretArn"] == {"Ref": "BorrowerTokenSecret"}
            ), role
            readers.add(role)
    assert link_readers == LINK_SECRET_READERS
    users = {f"{name}Role" for name in functions(raw) if uses_token_secret(raw, name)}
    assert readers <= users, "a role that never pseudonymises may not read the HMAC key"
    assert {"ArchiverFunctionRole", "ErasureFunctionRole"} <= readers


# Functions whose use-case modules name the token secret but never read it, and why.
NEVER_READS_THE_TOKEN_SECRET = {
    # report_call_attempt and report_field_visit take the dispatcher's ports (token secret included)
    # and use only the loans, the actions, the borrowers, the contacts, the call ledger and idempotency.
    "CallOutcomesFunction",
    # complete_erasure (arrears.usecases.erasure) reads the borrowers, the loans and the credit facts
    # and updates the tombstone under the pseudonym it is given: it never computes a token.
    "BureauFileFunction",
}


def uses_token_secret(raw: dict[str, Any], function: str) -> bool:
    """Whether the handler, or a use-case module it imports, reads the borrower-token secret."""
    if function in NEVER_READS_THE_TOKEN_SECRET:
        return False
    app = ROOT / props(raw["Resources"][function])["CodeUri"] / "app.py"
    text = app.read_text(encoding="utf-8")
    usecases = ROOT / "layers" / "arrears" / "arrears" / "usecases"
    for module in re.findall(r"from arrears\.usecases\.(\w+) import", text):
        text += (usecases / f"{module}.py").read_text(encoding="utf-8")
    return "token_secret" in text


def test_every_function_that_tokenises_borrowers_may_read_the_token_secret(
    raw: dict[str, Any], translated: dict[str, Any]
) -> None:
    readers = {
        role
        for role, statement in role_statements(translated)
        if "secretsmanager:GetSecretValue" in as_list(statement["Action"])
    }
    via_secretsmanager = {
        role
        for role, statement in role_statements(translated)
        if any(str(action).startswith("kms:") for action in as_list(statement["Action"]))
        and any(
            "secretsmanager" in sub_text(service)
            for service in statement["Condition"]["StringEquals"]["kms:ViaService"]
        )
    }
    users = {f"{name}Role" for name in functions(raw) if uses_token_secret(raw, name)}
    assert users, "some function pseudonymises"
    assert readers == users
    assert users <= via_secretsmanager


def test_only_the_dispatcher_may_send_sms(translated: dict[str, Any]) -> None:
    publishers = {role for role, s in role_statements(translated) if "sns:Publish" in as_list(s["Action"])}
    assert publishers == SMS_SENDERS


def names_table(resource: Any, table: str) -> bool:
    """Whether a policy resource is `table` (or one of its indexes), as written or as SAM expands it."""
    if refers_to(resource, table):
        return True
    if isinstance(resource, dict) and isinstance(resource.get("Fn::Sub"), list):
        _, variables = resource["Fn::Sub"]
        return any(refers_to(value, table) for value in variables.values())
    return False


def test_call_outcomes_write_a_loan_only_by_put_on_the_table(translated: dict[str, Any]) -> None:
    """A CallOutcome updates the loan's counter with LoanRepository.save (a conditional PutItem): the
    call-outcomes function may read loans, and put one, on the table itself; no update, delete, batch or
    index."""
    role = "CallOutcomesFunctionRole"
    reads = {
        "dynamodb:GetItem",
        "dynamodb:Scan",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:DescribeTable",
    }
    on_loans = [
        statement
        for name, statement in role_statements(translated)
        if name == role
        and any(names_table(resource, "LoansTable") for resource in as_list(statement["Resource"]))
    ]
    writes = [s for s in on_loans if set(as_list(s["Action"])) - reads]
    assert len(writes) == 1
    (write,) = writes
    assert as_list(write["Action"]) == ["dynamodb:PutItem"]
    assert write["Resource"] == {"Fn::GetAtt": ["LoansTable", "Arn"]}


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


def test_the_payment_ledger_is_kept_for_ever_and_only_the_payments_function_writes_it(
    raw: dict[str, Any],
) -> None:
    """Idempotency keyed on the payment id for ever, outside the loan item."""
    table = raw["Resources"]["PaymentsTable"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    properties = props(table)
    assert properties["KeySchema"] == [
        {"AttributeName": "loan_id", "KeyType": "HASH"},
        {"AttributeName": "payment_id", "KeyType": "RANGE"},
    ]
    assert "TimeToLiveSpecification" not in properties
    granted = {
        name
        for name, function in of_type(raw, "AWS::Serverless::Function").items()
        for policy in props(function).get("Policies", [])
        if isinstance(policy, dict)
        for statement in policy.get("Statement", [])
        if {"Fn::GetAtt": ["PaymentsTable", "Arn"]} in as_list(statement.get("Resource"))
    }
    # The book import records a loan's payment history (docs/import.md), through the same ledger; the
    # case-file function reads a loan's ledger (Query only).
    assert granted == {"PaymentsFunction", "BookImportFunction", "CaseFileFunction"}
    case_file = [
        statement
        for policy in props(raw["Resources"]["CaseFileFunction"]).get("Policies", [])
        if isinstance(policy, dict)
        for statement in policy.get("Statement", [])
        if {"Fn::GetAtt": ["PaymentsTable", "Arn"]} in as_list(statement.get("Resource"))
    ]
    assert [as_list(statement["Action"]) for statement in case_file] == [["dynamodb:Query"]]
