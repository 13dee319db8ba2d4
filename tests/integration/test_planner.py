"""The planner on the local cloud: holds, receipts, stops, the policy from SSM, the stream filter."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from datetime import date, timedelta

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from boto3.dynamodb.types import TypeSerializer

from arrears.adapters.container import Container
from arrears.adapters.items import loan_to_item
from arrears.config.bundled import STRATEGIES, document_path
from arrears.config.playbook import bundled_playbook
from arrears.domain.actions import Action, ActionStatus
from arrears.domain.loans import Holds, Loan
from arrears.usecases.planning import plan_for_change
from localcloud.cloud import LocalCloud, passes_filters
from localcloud.emf import emf_points, emf_totals
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, us_regf_loan, utc

SWEEP = "SweepFunction"
DUE = date(2026, 3, 1)
DOCUMENT = document_path(STRATEGIES)


@pytest.fixture(autouse=True)
def _fresh_parameter_cache() -> Iterator[None]:
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    yield
    parameters.clear_caches()  # type: ignore[no-untyped-call]


def sweep_days(cloud: LocalCloud, first_day: int, last_day: int) -> None:
    """The daily sweep at 00:30 Shanghai for DPD `first_day`..`last_day` of a loan due on Sunday 1
    March: on time until Monday 2 March, the next working day, so DPD 1 is on 3 March."""
    for day in range(first_day, last_day + 1):
        cloud.advance_to(utc(2026, 3, 1, 16, 30) + timedelta(days=day))
        cloud.schedule(SWEEP)


def _start(
    make_cloud: CloudFactory, container: Container, **cloud_options: object
) -> tuple[LocalCloud, Loan]:
    loan = cn_cash_loan(due=DUE)
    cloud = make_cloud(utc(2026, 2, 20, 2, 0), **cloud_options)
    register(container, loan, borrower_for(loan), cloud.clock)
    cloud.settle()
    return cloud, loan


def _hold(container: Container, cloud: LocalCloud, loan_id: str, holds: Holds) -> None:
    stored = container.loans.get(loan_id)
    assert stored is not None
    container.loans.save(stored.with_changes(holds=holds))
    cloud.settle()


def _by_step(container: Container, loan_id: str) -> dict[str, Action]:
    return {a.step_id: a for a in container.actions.for_loan(loan_id)}


def test_a_planned_action_carries_its_receipt(make_cloud: CloudFactory, container: Container) -> None:
    cloud, loan = _start(make_cloud, container)
    sweep_days(cloud, 1, 1)
    action = _by_step(container, loan.loan_id)["sms-d1"]
    receipt = action.receipt
    assert receipt["strategy"]["id"] in {"cn-consumer", "cn-consumer-early-call"}
    assert receipt["strategy"]["version"] == "2026.11.1"
    assert receipt["strategy"]["arm"] == action.strategy_arm in {"champion", "challenger"}
    assert receipt["rule_pack"] == {"id": "CN", "version": "2026.1", "layers": ["CN@2026.1"]}
    assert receipt["inputs"]["dpd"] == 1
    assert receipt["inputs"]["bucket"] == "M1"
    assert receipt["inputs"]["risk_band"] in {"LOW", "MEDIUM", "HIGH"}
    assert receipt["inputs"]["amount_due_minor"] == action.amount_due_minor > 0
    assert {r.split(":")[0] for r in receipt["rules_checked"]} >= {
        "loan_open",
        "stop_hold",
        "dispute_open",
        "promise_to_pay",
    }
    assert all(r.endswith(":PASS") for r in receipt["rules_checked"])
    assert receipt["risk"]["features"][0].startswith("max_dpd=1:")


def test_an_open_dispute_suppresses_contact_and_records_why(
    make_cloud: CloudFactory, container: Container
) -> None:
    cloud, loan = _start(make_cloud, container)
    _hold(container, cloud, loan.loan_id, Holds(dispute_open=True))
    sweep_days(cloud, 1, 1)
    action = _by_step(container, loan.loan_id)["sms-d1"]
    assert action.status is ActionStatus.SUPPRESSED
    assert action.receipt["rules_checked"][-1] == "dispute_open:FAIL"
    statuses = {(c["step"], c["status"], c["reason"]) for c in container.contacts.for_loan(loan.loan_id)}
    assert ("sms-d1", "SUPPRESSED", "debt under dispute: collection contact suppressed") in statuses


def test_a_promise_pauses_steps_and_a_broken_promise_escalates(
    make_cloud: CloudFactory, container: Container
) -> None:
    cloud, loan = _start(make_cloud, container)
    promised = DUE + timedelta(days=3)
    _hold(container, cloud, loan.loan_id, Holds(promise_to_pay_until=promised))
    sweep_days(cloud, 1, 1)
    held = _by_step(container, loan.loan_id)["sms-d1"]
    assert held.status is ActionStatus.DEFERRED
    assert held.not_before == utc(2026, 3, 5, 0, 0)  # 08:00 Shanghai the day after the promised date
    assert held.receipt["decision"]["resume_on"] == "2026-03-05"

    sweep_days(cloud, 2, 5)  # the promise passes unpaid
    steps = _by_step(container, loan.loan_id)
    escalation = steps["ptp-broken-call-2026-03-04"]
    assert escalation.channel.value == "CALL_TASK"
    assert escalation.receipt["step"]["trigger"] == "broken_promise"
    assert escalation.status in {ActionStatus.PENDING, ActionStatus.DEFERRED, ActionStatus.FAILED}


def _planner_metrics(cloud: LocalCloud) -> dict[str, float]:
    assert isinstance(cloud.log, io.StringIO)
    totals = emf_totals(emf_points(cloud.log.getvalue().splitlines()))
    names = ("ActionsPlanned", "ActionsDeferredToWindow", "ActionsHeld")
    return {name: totals.sum(name, service="planner") for name in names}


def test_the_planner_counts_actions_deferred_to_the_contact_window_apart_from_holds(
    make_cloud: CloudFactory, container: Container
) -> None:
    cloud, loan = _start(make_cloud, container)
    sweep_days(cloud, 1, 1)  # 00:30 in Shanghai: outside the borrower's contact window
    window = [a for a in _by_step(container, loan.loan_id).values() if a.status is ActionStatus.DEFERRED]
    assert window
    assert all(a.receipt["decision"]["verdict"] == "PLAN" for a in window)
    assert not [c for c in container.contacts.for_loan(loan.loan_id) if c["status"] == "DEFERRED"]
    counted = _planner_metrics(cloud)
    assert counted["ActionsDeferredToWindow"] == len(window)
    assert counted["ActionsPlanned"] >= len(window)  # ActionsDeferredToWindow is a part of ActionsPlanned
    assert counted["ActionsHeld"] == 0


def test_a_held_action_is_counted_as_held_not_as_deferred_to_the_window(
    make_cloud: CloudFactory, container: Container
) -> None:
    cloud, loan = _start(make_cloud, container)
    _hold(container, cloud, loan.loan_id, Holds(promise_to_pay_until=DUE + timedelta(days=3)))
    sweep_days(cloud, 1, 1)
    held = [a for a in _by_step(container, loan.loan_id).values() if a.status is ActionStatus.DEFERRED]
    assert held
    assert all(a.receipt["decision"]["verdict"] == "DEFER" for a in held)
    counted = _planner_metrics(cloud)
    assert counted["ActionsHeld"] == len(held)
    assert counted["ActionsDeferredToWindow"] == 0


def test_bankruptcy_stops_everything_and_cancels_open_actions(
    make_cloud: CloudFactory, container: Container
) -> None:
    cloud, loan = _start(make_cloud, container)
    sweep_days(cloud, 1, 1)
    assert _by_step(container, loan.loan_id)["sms-d1"].status is ActionStatus.DEFERRED  # 00:30 local
    _hold(container, cloud, loan.loan_id, Holds(bankruptcy=True))
    assert _by_step(container, loan.loan_id)["sms-d1"].status is ActionStatus.CANCELLED
    sweep_days(cloud, 2, 20)
    assert set(_by_step(container, loan.loan_id)) == {"sms-d1"}  # nothing more planned


def test_a_cancelled_action_records_its_rules_and_the_borrowers_zone(
    make_cloud: CloudFactory, container: Container
) -> None:
    """A CN loan whose borrower lives in Urumqi: the cancellation record carries a receipt like any other."""
    loan = cn_cash_loan("L-URUMQI", due=DUE)
    cloud = make_cloud(utc(2026, 2, 20, 2, 0))
    register(container, loan, borrower_for(loan, zone="Asia/Urumqi"), cloud.clock)
    cloud.settle()
    sweep_days(cloud, 1, 1)
    _hold(container, cloud, loan.loan_id, Holds(deceased=True))

    (record,) = [c for c in container.contacts.for_loan(loan.loan_id) if c["status"] == "CANCELLED"]
    assert record["borrower_timezone"] == "Asia/Urumqi"
    assert record["rules_checked"] == ["loan_open:PASS", "stop_hold:FAIL"]
    assert record["rule_pack"] == "CN@2026.1"
    assert record["reason"] == "bankruptcy or death recorded: all collection stopped"


def test_operators_change_the_strategy_through_ssm(
    make_cloud: CloudFactory, container: Container, stack: LocalStack
) -> None:
    name = stack.functions["PlannerFunction"].environment["STRATEGY_PARAMETER_NAME"]
    ssm = boto3.client("ssm")
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "bundled"
    document = (
        DOCUMENT.read_text()
        .replace("id: cn-consumer\n", "id: cn-ops\n")
        .replace("id: cn-consumer-early-call\n", "id: cn-ops\n")
    )
    ssm.put_parameter(Name=name, Value=document, Type="String", Overwrite=True, Tier="Advanced")
    cloud, loan = _start(make_cloud, container)
    sweep_days(cloud, 1, 1)
    assert _by_step(container, loan.loan_id)["sms-d1"].strategy_id == "cn-ops"


def test_an_invalid_document_in_ssm_is_logged_and_the_bundled_policy_stays(
    make_cloud: CloudFactory, container: Container, stack: LocalStack
) -> None:
    name = stack.functions["PlannerFunction"].environment["STRATEGY_PARAMETER_NAME"]
    boto3.client("ssm").put_parameter(
        Name=name,
        Value=DOCUMENT.read_text().replace("channel: EMAIL", "channel: FAX"),
        Type="String",
        Overwrite=True,
        Tier="Advanced",
    )
    log = io.StringIO()
    cloud, loan = _start(make_cloud, container, log=log)
    sweep_days(cloud, 1, 1)
    assert _by_step(container, loan.loan_id)["sms-d1"].strategy_id.startswith("cn-consumer")
    assert f"ssm:{name}: jurisdictions.CN.arms.0.strategy.steps." in log.getvalue()


def test_the_stream_filter_drops_removes_and_unassessed_loans(stack: LocalStack) -> None:
    (source,) = [e for e in stack.functions["PlannerFunction"].events if e.kind == "dynamodb_stream"]
    serializer = TypeSerializer()
    loan = cn_cash_loan()
    image = {k: serializer.serialize(v) for k, v in loan_to_item(loan, shard_count=16).items()}
    assessed = {**image, "evaluated_on": {"S": "2026-03-02"}}

    def record(name: str, new: Mapping[str, object] | None) -> dict[str, object]:
        body: dict[str, object] = {"Keys": {"loan_id": {"S": loan.loan_id}}}
        if new is not None:
            body["NewImage"] = new
        return {"eventName": name, "dynamodb": body}

    assert passes_filters(record("MODIFY", assessed), source.properties)
    assert passes_filters(record("INSERT", assessed), source.properties)
    assert not passes_filters(record("MODIFY", image), source.properties)
    assert not passes_filters(record("REMOVE", None), source.properties)
    assert json.loads(source.properties["FilterCriteria"]["Filters"][0]["Pattern"])["eventName"] == [
        "INSERT",
        "MODIFY",
    ]


def test_without_the_parameter_the_bundled_policy_applies(
    make_cloud: CloudFactory, container: Container, stack: LocalStack
) -> None:
    boto3.client("ssm").delete_parameter(
        Name=stack.functions["PlannerFunction"].environment["STRATEGY_PARAMETER_NAME"]
    )
    cloud, loan = _start(make_cloud, container)
    sweep_days(cloud, 1, 1)
    assert _by_step(container, loan.loan_id)["sms-d1"].strategy_id.startswith("cn-consumer")


def test_a_step_moved_in_the_ssm_policy_is_a_milestone_of_the_sweep_too(
    make_cloud: CloudFactory, container: Container, stack: LocalStack
) -> None:
    # Given operators move the CN e-mail of D+3 to D+4 in both arms (nothing else falls on D+4)
    name = stack.functions["PlannerFunction"].environment["STRATEGY_PARAMETER_NAME"]
    document = DOCUMENT.read_text().replace("{id: email-d3, offset: 3,", "{id: email-d3, offset: 4,")
    assert document != DOCUMENT.read_text()
    boto3.client("ssm").put_parameter(
        Name=name, Value=document, Type="String", Overwrite=True, Tier="Advanced"
    )
    cloud, loan = _start(make_cloud, container)

    # When the sweep runs on D+1 to D+4
    sweep_days(cloud, 1, 4)

    # Then the sweep itself reviewed the loan on D+4 (its milestones come from the same document), and
    # the planner planned the moved step that day, not a day late at the next bundled milestone (D+5)
    stored = container.loans.get(loan.loan_id)
    assert stored is not None
    assert stored.evaluated_on == date(2026, 3, 6)  # D+4: four days after Monday 2 March
    assert "email-d3" in _by_step(container, loan.loan_id)


def test_the_planner_judges_by_the_layers_that_bind_the_borrower(
    make_cloud: CloudFactory, container: Container
) -> None:
    """A Massachusetts borrower's planner-written record names every layer in force for them (the
    base, the lender's US policy and the state overlay), as the dispatcher's gate does; the layer that
    decided a dispute's suppression is the base pack's (15 U.S.C. 1692g(b))."""
    loan = us_regf_loan("L-MA-PLAN", due=DUE)
    cloud = make_cloud(utc(2026, 2, 20, 2, 0))
    register(container, loan, borrower_for(loan, zone="America/New_York", region="MA"), cloud.clock)
    cloud.settle()
    _hold(container, cloud, loan.loan_id, Holds(dispute_open=True))
    sweep_days(cloud, 1, 3)
    actions = container.actions.for_loan(loan.loan_id)
    assert actions, "the US strategy plans a step in its first days"
    layers = ["US-REGF@2026.1", "LENDER-US@2026.1", "US-MA@2026.1"]
    for action in actions:
        assert action.status is ActionStatus.SUPPRESSED
        assert action.receipt["rule_pack"] == {"id": "US-REGF", "version": "2026.1", "layers": layers}
    records = [c for c in container.contacts.for_loan(loan.loan_id) if c["status"] == "SUPPRESSED"]
    assert records
    assert {r["rule_pack"] for r in records} == {"+".join(layers)}
    assert {r["decided_by"] for r in records} == {"US-REGF@2026.1"}


def test_a_step_reached_again_keeps_its_one_contact_record(
    make_cloud: CloudFactory, container: Container
) -> None:
    """A suppressed step reached a second time (its day moved back by a change of risk band) writes no
    second record of the same outcome at a later instant (the archive would hold it twice)."""
    cloud, loan = _start(make_cloud, container)
    _hold(container, cloud, loan.loan_id, Holds(dispute_open=True))
    sweep_days(cloud, 1, 1)
    stored = container.loans.get(loan.loan_id)
    assert stored is not None
    again = plan_for_change(
        stored.with_changes(due_offset=0),  # as if the day of sms-d1 had not been reached yet
        stored,
        cloud.clock + timedelta(days=1),
        actions=container.actions,
        contacts=container.contacts,
        borrowers=container.borrowers,
        field_visits=container.field_visits,
        call_tasks=container.call_tasks,
        playbook=bundled_playbook(),
        call_ledger=container.call_ledger,
    )
    assert again.duplicates >= 1
    records = [c for c in container.contacts.for_loan(loan.loan_id) if c["step"] == "sms-d1"]
    assert len(records) == 1
