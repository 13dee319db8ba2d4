"""The whole HTTP API fuzzed from its OpenAPI document (Schemathesis) over HTTP on 127.0.0.1, and the
authorisation matrix: each caller (borrower on their own or another's loan, each staff role, no token)
on each route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from moto import mock_aws
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from arrears.adapters.container import Container
from arrears.adapters.desk import DeskRepository
from arrears.config.settings import load_settings
from localcloud.cloud import LocalCloud
from localcloud.http_api import LocalHttpApi, http_call
from localcloud.stack import deploy
from tests.integration.conftest import ROOT, TEMPLATE, us_regf_loan, utc
from tests.integration.test_dispatch import overdue, us_borrower

EXAMPLES_PER_OPERATION = 30  # bounded: the test command's CPU budget (each example is a Lambda invocation)
NOON_NEW_YORK = utc(2026, 3, 10, 17, 0)


@pytest.fixture(scope="module")
def api() -> Iterator[LocalHttpApi]:
    with mock_aws():
        stack = deploy(TEMPLATE)
        functions = stack.functions
        env = {**functions["DispatcherFunction"].environment, **functions["SweepFunction"].environment}
        import boto3

        container = Container(load_settings(env), boto3.session.Session())
        for loan_id, borrower_id, phone in (
            ("L-OWN", "B-OWN", "+14155550111"),
            ("L-OTHER", "B-OTHER", "+14155550122"),
        ):
            base = replace(us_regf_loan(loan_id), borrower_id=borrower_id)
            overdue(container, base, us_borrower(base, "America/New_York", phone=phone))
        # The agent of the matrix is trained for calls: a claim reaches the (empty) pool.
        desk = DeskRepository(boto3.resource("dynamodb").Table(stack.physical["DeskTable"]))
        desk.put_certification(
            "S-agent",
            "call",
            {"certified_on": "2026-01-01", "expires_on": "2026-12-31", "recorded_by": "S-boss"},
        )
        with LocalHttpApi(LocalCloud(stack, start=NOON_NEW_YORK, keep_invocations=False)) as served:
            yield served


DOCUMENT = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]  # type: ignore[union-attr]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{op.method.upper()} {op.path}" for op in OPERATIONS])
def test_no_route_answers_5xx_or_outside_its_schema(api: LocalHttpApi, operation: Any) -> None:
    token = api.issuer.borrower_token("B-OWN")
    if operation.path.startswith("/staff/"):
        token = api.issuer.staff_token("S-1", "compliance")

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def fuzz(case: Any) -> None:
        response = case.call(base_url=api.url, headers={"Authorization": f"Bearer {token}"})
        case.validate_response(
            response, checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
        )

    fuzz()


# -- the authorisation matrix ---------------------------------------------------------------------

CALLERS = ("own", "other", "agent", "field", "supervisor", "compliance", "none")
BODIES: dict[str, Any] = {
    "promises": {"pay_on": "2026-03-12", "amount_minor": 10**7},
    "disputes": {"reason": "not_my_debt"},
    "hardship": {"reason": "illness"},
    "complaints": {"category": "fees"},
}
ROUTES = [
    ("GET", "/me/loans/{loan}", None),
    ("GET", "/me/loans", None),
    *[("POST", f"/me/loans/{{loan}}/{name}", body) for name, body in BODIES.items()],
    ("PUT", "/me/preferences", {"language": "en"}),
    ("GET", "/staff/complaints/due", None),
    ("GET", "/me/loans/{loan}/plans", None),
    ("POST", "/me/loans/{loan}/plan-requests", {"instalments": 2}),
    ("POST", "/staff/loans/{loan}/plans", {"instalments": 2}),
    ("POST", "/staff/plan-requests/" + "0" * 32 + "/decision", {"approve": False}),
    ("POST", "/staff/tasks/claim", {"kind": "call", "region": "NY"}),
    ("POST", "/staff/tasks/T-NONE/attempts", {"disposition": "no_answer"}),
    ("POST", "/staff/tasks/T-NONE/visit", {"outcome": "not_home"}),
    ("GET", "/staff/tasks/T-NONE/talk-track", None),
    ("PUT", "/staff/members/S-new/certifications/call", {"certified_on": "2026-03-01"}),
    ("POST", f"/staff/complaints/{'0' * 32}/response", {"outcome": "upheld"}),
    ("POST", f"/staff/complaints/{'0' * 32}/extension", {"reason": "complex_case"}),
]
# Each staff route: the roles it is open to, and what they get here (an empty pool, no such task or
# complaint: the route was reached); every other caller gets 403.
STAFF_ROUTES: dict[str, tuple[set[str], set[int]]] = {
    "/staff/complaints/due": ({"supervisor", "compliance"}, {200}),
    "/staff/tasks/claim": ({"agent"}, {404}),
    "/staff/tasks/T-NONE/attempts": ({"agent"}, {404}),
    "/staff/tasks/T-NONE/visit": ({"field"}, {404}),
    "/staff/tasks/T-NONE/talk-track": ({"agent"}, {404}),
    "/staff/members/S-new/certifications/call": ({"supervisor"}, {200}),
    f"/staff/complaints/{'0' * 32}/response": ({"compliance"}, {404}),
    f"/staff/complaints/{'0' * 32}/extension": ({"compliance"}, {404}),
}


def expected(caller: str, method: str, path: str) -> set[int]:
    if caller == "none":
        return {401}
    if path.startswith("/staff/loans/"):
        # A plan negotiated on a call (409: a plan is already in force on the loan).
        return {200, 201, 409} if caller in ("agent", "supervisor") else {403}
    if path.startswith("/staff/plan-requests/"):
        return {404} if caller == "supervisor" else {403}  # no such request: only a supervisor learns it
    if path.startswith("/staff/"):
        roles, statuses = STAFF_ROUTES[path]
        return statuses if caller in roles else {403}
    if caller not in ("own", "other"):
        return {403}
    if caller == "other" and "{loan}" in path:
        return {404}  # another borrower's loan answers as if it did not exist
    if path.endswith("/promises"):
        return {400}  # the amount is above the payoff: judged only on one's own loan
    if path.endswith("/plan-requests"):
        return {200, 201, 409}  # 409: a plan is already in force (agreed by another caller or the fuzzer)
    return {200, 201}


@pytest.mark.parametrize("caller", CALLERS)
def test_the_authorisation_matrix(api: LocalHttpApi, caller: str) -> None:
    tokens = {
        "own": api.issuer.borrower_token("B-OWN"),
        "other": api.issuer.borrower_token("B-OTHER"),
        "none": None,
    }
    token = tokens.get(caller) if caller in tokens else api.issuer.staff_token(f"S-{caller}", caller)
    seen = {}
    for n, (method, path, body) in enumerate(ROUTES):
        # "other" is B-OTHER asking about B-OWN's loan; "own" asks about their own.
        url = api.url + path.format(loan="L-OWN")
        answer = http_call(
            method, url, token=token, body=body, headers={"Idempotency-Key": f"matrix-{caller}-{n:03d}"}
        )
        seen[f"{method} {path}"] = answer.status
        assert answer.status in expected(caller, method, path), (caller, method, path, answer.text)
        if answer.status >= 400 and answer.status != 401:
            assert set(answer.json()["error"]) == {"code", "message", "field"}
    assert len(seen) == len(ROUTES)
