"""The monitoring nested stack: every alarm with its metric, dimensions, threshold and action.

moto does not model CloudWatch alarms, so these assertions on infrastructure/monitoring.yaml (and on
what template.yaml passes to it) are how the alarms are tested. They also fail when a function, a
stream consumer or a dead-letter / failure queue is added to template.yaml without its alarms.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from localcloud.stack import load_template

pytestmark = pytest.mark.infrastructure

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
MONITORING = ROOT / "infrastructure" / "monitoring.yaml"
RUNBOOKS = ROOT / "docs" / "runbooks"
CONTRACTS = ROOT / "docs" / "contracts.md"
OPS_TOPIC = {"Ref": "OpsTopicArn"}


@pytest.fixture(scope="module")
def root() -> dict[str, Any]:
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def nested() -> dict[str, Any]:
    return load_template(MONITORING)


@pytest.fixture(scope="module")
def passed(root: dict[str, Any]) -> dict[str, Any]:
    """The parameters template.yaml passes to the monitoring stack."""
    monitoring = root["Resources"]["Monitoring"]
    assert monitoring["Type"] == "AWS::Serverless::Application"
    assert monitoring["Properties"]["Location"] == "infrastructure/monitoring.yaml"
    parameters: dict[str, Any] = monitoring["Properties"]["Parameters"]
    return parameters


def alarms(nested: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in nested["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def parameter_for(passed: dict[str, Any], value: Any) -> str:
    names = [name for name, given in passed.items() if given == value]
    assert len(names) == 1, f"the monitoring stack is not passed {value} (exactly once)"
    return names[0]


def alarms_on(
    nested: dict[str, Any], namespace: str, metric: str, dimension: str, parameter: str
) -> list[str]:
    return [
        name
        for name, alarm in alarms(nested).items()
        if alarm.get("Namespace") == namespace
        and alarm.get("MetricName") == metric
        and alarm.get("Dimensions") == [{"Name": dimension, "Value": {"Ref": parameter}}]
    ]


def functions(root: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in root["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def failure_queues(root: dict[str, Any]) -> set[str]:
    """Queues named *DLQ / *FailureQueue, and every queue some redrive policy or destination targets."""
    queues = {name for name, r in root["Resources"].items() if r["Type"] == "AWS::SQS::Queue"}
    named = {name for name in queues if name.endswith(("DLQ", "FailureQueue"))}
    text = json.dumps(root["Resources"])
    targeted = {
        name
        for name in queues
        if re.search(rf'"deadLetterTargetArn": \{{"Fn::GetAtt": \["{name}", "Arn"\]', text)
        or re.search(rf'"(Destination|Arn)": \{{"Fn::GetAtt": \["{name}", "Arn"\]\}}', text)
    }
    return named | targeted


# --------------------------------------------------------------------------------------------------
# Wiring
# --------------------------------------------------------------------------------------------------
def test_the_monitoring_stack_gets_every_parameter_it_needs_and_no_other(
    nested: dict[str, Any], passed: dict[str, Any]
) -> None:
    declared = nested["Parameters"]
    # Every parameter is passed, defaults too: a threshold or runbook URL documented as overridable
    # at `sam deploy` must reach the nested stack, not sit at the nested stack's default.
    assert set(passed) == set(declared)
    assert passed["OpsTopicArn"] == {"Ref": "OpsTopic"}
    assert passed["AppName"] == {"Ref": "AWS::StackName"}
    for tunable in ("SmsMinimumVolume", "RunbookBaseUrl", "SmsFailureRatePercent"):
        assert passed[tunable] == {"Ref": tunable}


def test_the_ops_topic_is_encrypted_and_mails_the_alarm_address(root: dict[str, Any]) -> None:
    resources = root["Resources"]
    assert resources["OpsTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "DataKey"}
    subscription = resources["OpsAlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "OpsTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }
    # CloudWatch may use the key to publish to the encrypted topic, for this account's alarms only.
    statements = resources["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    [cloudwatch] = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_every_alarm_notifies_the_ops_topic_and_links_an_existing_runbook(nested: dict[str, Any]) -> None:
    found = alarms(nested)
    assert len(found) >= 20
    for name, alarm in found.items():
        assert alarm["AlarmActions"] == [OPS_TOPIC], name
        assert alarm["OKActions"] == [OPS_TOPIC], name
        description = alarm["AlarmDescription"]["Fn::Sub"]
        links = re.findall(r"\$\{RunbookBaseUrl\}/([a-z0-9-]+\.md)", description)
        assert len(links) == 1, f"{name}: its description must link one runbook"
        assert (RUNBOOKS / links[0]).is_file(), f"{name}: {links[0]} missing in docs/runbooks"
        assert alarm["AlarmName"]["Fn::Sub"].startswith("${AppName}-"), name
        assert alarm["TreatMissingData"] in {"breaching", "notBreaching"}, name


def test_every_runbook_is_linked_from_an_alarm_or_is_the_index(nested: dict[str, Any]) -> None:
    text = json.dumps(nested["Resources"])
    for runbook in RUNBOOKS.glob("*.md"):
        if runbook.name != "README.md":
            assert runbook.name in text, f"{runbook.name} is linked from no alarm"


PER_RESOURCE_ALARMS = re.compile(r"\$\{AppName\}-(errors|throttles|iterator-age|dlq)-")


def test_the_readme_names_every_alarm_that_is_not_per_resource(nested: dict[str, Any]) -> None:
    """README "Operating" is the operator's list of what can page them: every business alarm by name
    (the per-function and per-queue ones by their pattern)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    operating = readme[readme.index("## Operating") :]
    operating = operating[: operating.index("\n## ", 1)]
    names = [
        alarm["AlarmName"]["Fn::Sub"].removeprefix("${AppName}-")
        for alarm in alarms(nested).values()
        if not PER_RESOURCE_ALARMS.match(alarm["AlarmName"]["Fn::Sub"])
    ]
    assert len(names) >= 5
    assert [name for name in names if f"`{name}`" not in operating] == []
    for pattern in ("dlq-<queue>", "errors-<function>", "throttles-<function>", "iterator-age-<consumer>"):
        assert f"`{pattern}`" in operating


def test_the_runbooks_name_every_functions_log_group(root: dict[str, Any]) -> None:
    conventions = (RUNBOOKS / "README.md").read_text(encoding="utf-8")
    for function in functions(root):
        name = root["Resources"][function]["Properties"]["FunctionName"]["Fn::Sub"]
        suffix = name.removeprefix("${AWS::StackName}-")
        assert f"`{suffix}`" in conventions, f"{function}: log group /aws/lambda/$STACK-{suffix} not listed"


# --------------------------------------------------------------------------------------------------
# Per-resource alarms: every function, every stream consumer, every failure queue
# --------------------------------------------------------------------------------------------------
def test_every_function_has_an_errors_and_a_throttles_alarm(
    root: dict[str, Any], nested: dict[str, Any], passed: dict[str, Any]
) -> None:
    for function in functions(root):
        parameter = parameter_for(passed, {"Ref": function})
        for metric in ("Errors", "Throttles"):
            [name] = alarms_on(nested, "AWS/Lambda", metric, "FunctionName", parameter)
            alarm = alarms(nested)[name]
            assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Sum", 300, 1), name
            assert alarm["Threshold"] == 1, name
            assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", name
            assert alarm["TreatMissingData"] == "notBreaching", name


def test_every_stream_consumer_has_an_iterator_age_alarm(
    root: dict[str, Any], nested: dict[str, Any], passed: dict[str, Any]
) -> None:
    consumers = [
        name
        for name, props in functions(root).items()
        if any(e["Type"] in {"DynamoDB", "Kinesis"} for e in props.get("Events", {}).values())
    ]
    assert {"PlannerFunction", "DispatcherFunction", "ArchiverFunction"} <= set(consumers)
    for function in consumers:
        parameter = parameter_for(passed, {"Ref": function})
        [name] = alarms_on(nested, "AWS/Lambda", "IteratorAge", "FunctionName", parameter)
        alarm = alarms(nested)[name]
        assert alarm["Statistic"] == "Maximum"
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (2, 2)
        if function == "ReviewListerFunction":
            # its batching window (at most 300 s: the parameter's MaxValue) ages every batch: its own
            # threshold, the window plus the others' default 10 minutes
            window = root["Parameters"]["ReviewListingWindowSeconds"]["MaxValue"]
            assert alarm["Threshold"] == (window + 600) * 1000
        else:
            assert alarm["Threshold"] == {"Ref": "IteratorAgeThresholdMs"}
    assert passed["IteratorAgeThresholdMs"] == {"Ref": "IteratorAgeThresholdMs"}


def test_every_dead_letter_and_failure_queue_has_a_messages_alarm(
    root: dict[str, Any], nested: dict[str, Any], passed: dict[str, Any]
) -> None:
    queues = failure_queues(root)
    assert {"FieldVisitDLQ", "StreamFailureQueue", "AsyncFailureQueue"} <= queues
    for queue in queues:
        parameter = parameter_for(passed, {"Fn::GetAtt": [queue, "QueueName"]})
        [name] = alarms_on(nested, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", parameter)
        alarm = alarms(nested)[name]
        assert (alarm["Statistic"], alarm["Threshold"]) == ("Maximum", 1), name
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", name


# --------------------------------------------------------------------------------------------------
# Business alarms
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("alarm_id", "expected"),
    [
        (
            "SweepHeartbeatMissingAlarm",
            {
                "Namespace": "Arrears",
                "MetricName": "SweepHeartbeat",
                "Dimensions": [{"Name": "service", "Value": "sweep"}],
                "Statistic": "Sum",
                "Period": 86400,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "LessThanThreshold",
                "TreatMissingData": "breaching",
            },
        ),
        (
            "ArchiveLagAlarm",
            {
                "Namespace": "Arrears",
                "MetricName": "ArchiveLagSeconds",
                "Dimensions": [{"Name": "service", "Value": "archiver"}],
                "Statistic": "Maximum",
                "Threshold": {"Ref": "ArchiveLagThresholdSeconds"},
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
            },
        ),
        (
            "PolicyDocumentInvalidAlarm",
            {
                "Namespace": "Arrears",
                "MetricName": "PolicyDocumentInvalid",
                "Dimensions": [{"Name": "service", "Value": "planner"}],
                "Statistic": "Sum",
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
            },
        ),
        (
            "DeferredBacklogAlarm",
            {
                "Namespace": "Arrears",
                "MetricName": "DeferredBacklog",
                "Dimensions": [{"Name": "service", "Value": "dispatcher"}],
                "Statistic": "Maximum",
                "Period": 900,
                "Threshold": {"Ref": "DeferredBacklogThreshold"},
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
            },
        ),
    ],
)
def test_business_metric_alarms(nested: dict[str, Any], alarm_id: str, expected: dict[str, Any]) -> None:
    alarm = alarms(nested)[alarm_id]
    assert {key: alarm.get(key) for key in expected} == expected


def metric_stats(alarm: dict[str, Any]) -> dict[str, tuple[str, str, list[Any], str, int]]:
    return {
        query["Id"]: (
            query["MetricStat"]["Metric"]["Namespace"],
            query["MetricStat"]["Metric"]["MetricName"],
            query["MetricStat"]["Metric"]["Dimensions"],
            query["MetricStat"]["Stat"],
            query["MetricStat"]["Period"],
        )
        for query in alarm["Metrics"]
        if "MetricStat" in query
    }


def expressions(alarm: dict[str, Any], values: dict[str, Any]) -> dict[str, str]:
    """Each expression with the stack parameters substituted (as CloudFormation's Fn::Sub would)."""
    out = {}
    for query in alarm["Metrics"]:
        if "Expression" in query:
            text = query["Expression"]
            text = text["Fn::Sub"] if isinstance(text, dict) else text
            out[query["Id"]] = re.sub(r"\$\{(\w+)\}", lambda m: str(values[m.group(1)]), text)
    return out


def test_sms_failure_rate_is_failed_over_attempts_with_a_minimum_volume(nested: dict[str, Any]) -> None:
    alarm = alarms(nested)["SmsFailureRateAlarm"]
    dispatcher = [{"Name": "service", "Value": "dispatcher"}]
    assert metric_stats(alarm) == {
        "failed": ("Arrears", "SmsFailed", dispatcher, "Sum", 3600),
        "sent": ("Arrears", "SmsSent", dispatcher, "Sum", 3600),
    }
    [returned] = [q for q in alarm["Metrics"] if q.get("ReturnData")]
    assert returned["Id"] == "rate"
    assert alarm["Threshold"] == {"Ref": "SmsFailureRatePercent"}
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"

    rate = expressions(alarm, {"SmsMinimumVolume": 20})["rate"]

    def evaluate(failed: float, sent: float) -> float:
        python = rate.replace("FILL(failed, 0)", str(failed)).replace("FILL(sent, 0)", str(sent))
        return float(eval(python, {"IF": lambda c, a, b: a if c else b}))  # noqa: S307 - our own template

    assert evaluate(10, 90) == 10
    assert evaluate(0, 500) == 0
    assert evaluate(15, 15) == 50
    assert evaluate(1, 1) == 0  # below the minimum volume: no rate


def test_sweep_late_watches_what_the_deadline_check_emits_as_often_as_it_runs(
    nested: dict[str, Any], root: dict[str, Any]
) -> None:
    alarm = alarms(nested)["SweepLateAlarm"]
    function = root["Resources"]["SweepDeadlineFunction"]["Properties"]
    (schedule,) = [e["Properties"] for e in function["Events"].values() if e["Type"] == "ScheduleV2"]
    service = function["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]

    # The alarm reads the metric the function emits, under the function's service dimension
    assert (alarm["Namespace"], alarm["MetricName"]) == ("Arrears", "SweepLate")
    assert alarm["Dimensions"] == [{"Name": "service", "Value": service}]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Maximum",
        1,
        "GreaterThanOrEqualToThreshold",
    )
    # Checked every 15 minutes from the deadline hour to midnight, in the book's time zone (DST-aware):
    # every 15-minute period after the deadline has a point, and no point before it means "not late"
    assert schedule["ScheduleExpression"] == {"Fn::Sub": "cron(0/15 ${SweepDeadlineLocalHour}-23 * * ? *)"}
    assert schedule["ScheduleExpressionTimezone"] == {"Ref": "SweepTimezone"}
    assert alarm["Period"] == 15 * 60
    assert alarm["EvaluationPeriods"] == 1
    assert alarm["TreatMissingData"] == "notBreaching"
    # The sweep itself starts at 00:30 in the same zone, and both get their business time from the schedule
    (daily,) = [
        e["Properties"]
        for e in root["Resources"]["SweepFunction"]["Properties"]["Events"].values()
        if e["Type"] == "ScheduleV2"
    ]
    assert daily["ScheduleExpression"] == "cron(30 0 * * ? *)"
    assert daily["ScheduleExpressionTimezone"] == {"Ref": "SweepTimezone"}
    for properties in (schedule, daily):
        assert json.loads(properties["Input"])["time"] == "<aws.scheduler.scheduled-time>"
        assert properties["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["AsyncFailureQueue", "Arn"]}}


def test_every_arrears_metric_an_alarm_or_panel_uses_is_in_the_contract(nested: dict[str, Any]) -> None:
    contract = CONTRACTS.read_text(encoding="utf-8")
    body = nested["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    text = json.dumps(alarms(nested))
    used = set(re.findall(r'"MetricName": "(\w+)"', text))
    used |= set(re.findall(r'"Arrears", "(\w+)"', body)) | set(re.findall(r'MetricName=\\"(\w+)\\"', body))
    lambda_or_sqs = {"Errors", "Throttles", "IteratorAge", "ApproximateNumberOfMessagesVisible", "Duration"}
    for metric in used - lambda_or_sqs:
        assert f"`{metric}`" in contract, f"{metric} is not in docs/contracts.md"


# --------------------------------------------------------------------------------------------------
# Dashboard
# --------------------------------------------------------------------------------------------------
def test_the_dashboard_is_valid_json_with_business_and_technical_panels(
    nested: dict[str, Any], passed: dict[str, Any], root: dict[str, Any]
) -> None:
    body = nested["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    parsed = json.loads(re.sub(r"\$\{[^}]+\}", "0", body))
    titles = {w["properties"].get("title", "") for w in parsed["widgets"]}
    for title in (
        "Contacts by channel and outcome (per day)",
        "Deferrals and suppressions (per day)",
        "Payments and cures (per day)",
        "Lambda errors",
        "Lambda throttles",
        "Stream iterator age (ms, max)",
        "Dead-letter / failure queue depth",
        "Duration (ms, p95)",
        "Open loans by delinquency bucket (stock from flows)",
    ):
        assert title in titles
    # every function and failure queue is on it
    for function in functions(root):
        assert "${" + parameter_for(passed, {"Ref": function}) + "}" in body
    for queue in failure_queues(root):
        assert "${" + parameter_for(passed, {"Fn::GetAtt": [queue, "QueueName"]}) + "}" in body


def dashboard_widgets(nested: dict[str, Any]) -> list[dict[str, Any]]:
    body = nested["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets: list[dict[str, Any]] = json.loads(re.sub(r"\$\{[^}]+\}", "0", body))["widgets"]
    return widgets


def test_the_dashboard_widgets_fit_the_grid_without_overlapping(nested: dict[str, Any]) -> None:
    cells: dict[tuple[int, int], str] = {}
    for widget in dashboard_widgets(nested):
        title = widget["properties"].get("title", widget["type"])
        x, y, width, height = widget["x"], widget["y"], widget["width"], widget["height"]
        assert x >= 0, title
        assert x + width <= 24, title
        for column in range(x, x + width):
            for row in range(y, y + height):
                assert (column, row) not in cells, f"{title} overlaps {cells[(column, row)]}"
                cells[(column, row)] = title


def test_the_census_panel_sums_open_loans_per_jurisdiction_and_bucket_per_day(nested: dict[str, Any]) -> None:
    (panel,) = [
        w
        for w in dashboard_widgets(nested)
        if w["properties"].get("title") == "Open loans by delinquency bucket (stock from flows)"
    ]
    properties = panel["properties"]
    assert (properties["stacked"], properties["period"], properties["stat"]) == (True, 86400, "Sum")
    ((query,),) = properties["metrics"]
    # the dimensions the sweep worker emits (docs/contracts.md): every shard's series sums into one
    assert query["expression"] == (
        "SEARCH('{Arrears,service,jurisdiction,bucket} MetricName=\"OpenLoans\"', 'Sum', 86400)"
    )
