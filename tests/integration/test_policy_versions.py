"""Which policy version a request and a plan are judged and archived by, when a new version takes effect
between a request and its retry, or between a request and a supervisor's decision on it.

The bundled documents are replaced by versions of US-REGF: `old` in force until 2026-03-11, `new` from
then on (and, for plans, `newer` from 2026-03-13), each with its own sources (and, for plans, its own
grace days), so that a record citing the wrong one shows.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from importlib import resources
from typing import Any

import boto3
import pytest
import yaml

from arrears.adapters.container import Container
from arrears.config import borrower_requests as request_config
from arrears.config import plans as plan_config
from arrears.config.settings import load_settings
from arrears.domain.money import amount_due
from arrears.domain.plans import PlanEvent, plan_record_key
from arrears.usecases.borrower_requests import BorrowerApiPorts, promise_to_pay
from arrears.usecases.plans import PlanTerms, archive_plan_events, decide_plan_request, request_plan
from localcloud.stack import LocalStack
from tests.integration.test_http_api import NOON_NEW_YORK, archived, loan_of

NEW_FROM, NEWER_FROM = date(2026, 3, 11), date(2026, 3, 13)
AFTER_NEW = NOON_NEW_YORK + timedelta(days=2)  # 2026-03-12 in New York: `new` is in force
PLAN_VERSIONS: tuple[tuple[str, date, dict[str, int]], ...] = (
    ("old", date(2025, 1, 1), {}),
    ("new", NEW_FROM, {"grace_days": 9}),
    ("newer", NEWER_FROM, {"grace_days": 11}),
)


def _versions(document: str, *changes: tuple[str, date, dict[str, int]]) -> dict[str, Any]:
    """US-REGF's bundled fields as one version per `(name, effective_from, changed values)`, each in
    force until the next, every source suffixed with its version's name."""
    text = resources.files("arrears.config.bundled").joinpath(document).read_text("utf-8")
    fields = {
        k: v for k, v in yaml.safe_load(text)["US-REGF"][-1].items() if not k.startswith(("version", "eff"))
    }
    versions = []
    for index, (name, effective_from, changed) in enumerate(changes):
        cited = {
            k: {"value": changed.get(k, v["value"]), "source": f"{v['source']} [{name}]"}
            for k, v in fields.items()
        }
        until = {"effective_to": changes[index + 1][1]} if index + 1 < len(changes) else {}
        versions.append({"version": name, "effective_from": effective_from, **until, **cited})
    return {"US-REGF": versions}


@pytest.fixture
def api_container(stack: LocalStack) -> Container:
    """The API function's own wiring (its environment names the BorrowerRequests table)."""
    environment = {
        **stack.functions["SweepFunction"].environment,
        **stack.functions["ApiFunction"].environment,
    }
    return Container(load_settings(environment), boto3.session.Session())


@pytest.fixture
def ports(api_container: Container, monkeypatch: pytest.MonkeyPatch) -> BorrowerApiPorts:
    container = api_container
    requests = request_config.parse_borrower_request_policies(
        yaml.safe_dump(
            _versions("borrower_requests.yaml", ("old", date(2025, 1, 1), {}), ("new", NEW_FROM, {}))
        )
    )
    plans = plan_config.parse_plan_policies(yaml.safe_dump(_versions("plans.yaml", *PLAN_VERSIONS)))
    monkeypatch.setattr(request_config, "bundled_borrower_request_policies", lambda: requests)
    monkeypatch.setattr(plan_config, "bundled_plan_policies", lambda: plans)
    return BorrowerApiPorts.wired(container, container.playbook_source().current)


class Interrupted(RuntimeError):
    pass


def _die(*_args: Any, **_kwargs: Any) -> None:
    raise Interrupted


def test_a_promise_retried_after_a_new_version_took_effect_is_archived_under_the_version_that_judged_it(
    ports: BorrowerApiPorts, container: Container, stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    due = amount_due(loan_of(container, "L-PV", "B-1"), date(2026, 3, 10))
    with monkeypatch.context() as patched:  # the first attempt stores the request, then dies
        patched.setattr(ports.store, "put", _die)
        with pytest.raises(Interrupted):
            promise_to_pay(
                ports, "B-1", "L-PV", "R-PV", pay_on=date(2026, 3, 15), amount_minor=due, at=NOON_NEW_YORK
            )
    stored = container.loans.get("L-PV")
    assert stored is not None
    assert stored.holds.promise_to_pay_until is None, "the first attempt died before the hold"

    retried = promise_to_pay(
        ports, "B-1", "L-PV", "R-PV", pay_on=date(2026, 3, 15), amount_minor=due, at=AFTER_NEW
    )

    assert not retried.created
    (record,) = archived(stack, "borrower-requests/promise_to_pay/")
    assert (record["at"], record["policy"]) == (NOON_NEW_YORK.isoformat(), "US-REGF@old")
    assert record["sources"]["promise_max_days"].endswith("[old]")
    held = container.loans.get("L-PV")
    assert held is not None
    assert held.holds.promise_to_pay_until == date(2026, 3, 15)


def test_a_plan_agreed_by_a_supervisor_under_a_new_version_names_it_and_its_records_cite_it(
    ports: BorrowerApiPorts, container: Container, stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request is judged (queued) under `old`; the supervisor agrees the plan two days later under
    `new` (its grace days, 9): the plan keeps `new`'s name and its archived events cite `new`, however
    its dates fall; the request's own record still cites `old`."""
    loan_of(container, "L-PQV", "B-2")
    asked = request_plan(ports, "B-2", "L-PQV", "R-PQV", PlanTerms(6), NOON_NEW_YORK)
    assert asked.answer["status"] == "queued", "6 instalments are beyond the auto limits"

    with monkeypatch.context() as patched:  # the decision is recorded, then the run dies
        patched.setattr(ports.loans, "update", _die)
        with pytest.raises(Interrupted):
            decide_plan_request(ports, "S-1", "R-PQV", approve=True, at=AFTER_NEW)
    # Retried a day later, when `newer` is in force: the decision's day still judges.
    decided = decide_plan_request(ports, "S-1", "R-PQV", approve=True, at=AFTER_NEW + timedelta(days=1))

    loan = container.loans.get("L-PQV")
    assert loan is not None
    assert loan.plan is not None
    assert decided.answer["plan_id"] == loan.plan.plan_id
    assert (loan.plan.policy, loan.plan.grace_days) == ("US-REGF@new", 9)
    (request,) = archived(stack, "borrower-requests/plan/")
    assert request["policy"] == "US-REGF@old"

    assert archive_plan_events(None, loan, AFTER_NEW, container.archive_store) == 1
    s3 = boto3.client("s3")
    key = plan_record_key(loan.plan, PlanEvent.AGREED, 0, AFTER_NEW)
    body = s3.get_object(Bucket=stack.physical["ArchiveBucket"], Key=key)["Body"].read()
    agreed = json.loads(body)
    assert agreed["policy"] == "US-REGF@new"
    assert agreed["sources"]["grace_days"].endswith("[new]")
