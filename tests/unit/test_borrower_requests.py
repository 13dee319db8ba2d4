"""Borrower requests judged by the cited policy, and who a token says the caller is."""

from __future__ import annotations

from datetime import date
from importlib import resources
from typing import Any

import pytest
import yaml

from arrears.config.borrower_requests import (
    BorrowerRequestPolicyError,
    borrower_request_policy,
    parse_borrower_request_policies,
)
from arrears.config.versioned import in_force
from arrears.domain.borrower_requests import RequestRefused, complaint_deadlines, judge_promise, request_id
from arrears.handlers.api import ApiError, Role, caller_of

TODAY = date(2026, 3, 10)
US = borrower_request_policy("US-REGF", TODAY)
CN = borrower_request_policy("CN", TODAY)


def promise(pay_on: date, amount: int, due: int = 10_000, payoff: int = 50_000) -> None:
    judge_promise(US, today=TODAY, pay_on=pay_on, amount_minor=amount, due_minor=due, payoff_minor=payoff)


def test_a_promise_within_the_policy_passes_at_its_limits() -> None:
    promise(date(2026, 3, 24), 2_500)  # 14 days ahead, 25% of 100.00
    promise(TODAY, 50_000)  # today, the payoff


@pytest.mark.parametrize(
    ("pay_on", "amount", "code", "field"),
    [
        (date(2026, 3, 25), 5_000, "promise_too_far", "pay_on"),
        (date(2026, 3, 9), 5_000, "promise_date_past", "pay_on"),
        (date(2026, 3, 12), 2_499, "promise_too_small", "amount_minor"),
        (date(2026, 3, 12), 50_001, "promise_above_payoff", "amount_minor"),
    ],
)
def test_a_promise_outside_the_policy_is_refused_citing_the_policy(
    pay_on: date, amount: int, code: str, field: str
) -> None:
    with pytest.raises(RequestRefused) as refused:
        promise(pay_on, amount)
    assert (refused.value.code, refused.value.field) == (code, field)
    if code in ("promise_too_far", "promise_too_small"):
        assert "LENDER-COLL-PTP" in str(refused.value)


def test_the_minimum_share_of_the_amount_due_rounds_up_in_minor_units() -> None:
    with pytest.raises(RequestRefused):
        promise(date(2026, 3, 12), 1, due=7)  # 25% of 7 is 1.75: at least 2
    promise(date(2026, 3, 12), 2, due=7, payoff=7)


def test_complaint_deadlines_per_jurisdiction() -> None:
    us = complaint_deadlines(US, TODAY)
    cn = complaint_deadlines(CN, TODAY)
    assert (us.acknowledge_by, us.close_by, us.extended_close_by) == (
        date(2026, 3, 25),
        date(2026, 5, 9),
        date(2026, 5, 9),
    )
    assert (cn.acknowledge_by, cn.close_by, cn.extended_close_by) == (
        date(2026, 3, 25),
        date(2026, 3, 25),
        date(2026, 4, 9),  # a complex case: to 30 days from receipt (CBIRC Order 2020 No. 3)
    )
    assert "art. 21" in CN.sources["complaint_extension_days"]
    assert "CFPB" in US.sources["complaint_close_days"]


def test_state_overlays_use_the_us_policy_and_every_value_is_cited() -> None:
    assert borrower_request_policy("US-MA", TODAY) is US
    assert all(US.sources.values())
    assert set(US.sources) >= {"promise_max_days", "dispute_verification_days"}
    with pytest.raises(LookupError):
        borrower_request_policy("FR", TODAY)


def test_a_request_is_judged_by_the_version_in_force_on_its_business_date() -> None:
    """`effective_to` is the first day a version is no longer in force (as in the rule packs); a day
    before the first version gets the first."""
    ordered = [
        _cn("1", date(2025, 1, 1), date(2026, 12, 3)),
        {**_cn("2", date(2026, 12, 3)), "complaint_extension_days": {"value": 10, "source": "x"}},
    ]
    versions = parse_borrower_request_policies(yaml.safe_dump({"CN": ordered}, allow_unicode=True))
    on = {
        day: in_force(versions, "CN-GD", day, "borrower-request")
        for day in (date(2024, 1, 1), date(2026, 12, 2), date(2026, 12, 3))
    }
    assert [(p.version, p.complaint_extension_days) for p in on.values()] == [("1", 15), ("1", 15), ("2", 10)]
    assert on[date(2026, 12, 3)].ref == "CN@2", "named in the archive records"
    with pytest.raises(LookupError, match="no borrower-request policy for jurisdiction FR"):
        in_force(versions, "FR", date(2026, 1, 1), "borrower-request")


def test_a_policy_without_a_source_is_refused_naming_the_field() -> None:
    text = 'US-REGF:\n  - {version: "1", effective_from: 2025-01-01, promise_max_days: {value: 14}}\n'
    with pytest.raises(BorrowerRequestPolicyError, match=r"US-REGF@1\.promise_max_days"):
        parse_borrower_request_policies(text)


def _cn(version: str, effective_from: date, effective_to: date | None = None) -> dict[str, Any]:
    """A version of CN's policy with the bundled fields."""
    bundled = resources.files("arrears.config.bundled").joinpath("borrower_requests.yaml").read_text("utf-8")
    fields = {
        k: v
        for k, v in yaml.safe_load(bundled)["CN"][-1].items()
        if not k.startswith(("version", "effective"))
    }
    dates = {"effective_from": effective_from} | ({"effective_to": effective_to} if effective_to else {})
    return {"version": version, **dates, **fields}


@pytest.mark.parametrize(
    ("versions", "problem"),
    [
        (
            [_cn("1", date(2025, 1, 1)), _cn("2", date(2026, 1, 1))],
            r"version 1 must end \(effective_to\) on the day 2",
        ),
        ([_cn("1", date(2025, 1, 1), date(2025, 12, 1)), _cn("2", date(2026, 1, 1))], "version 1 must end"),
        ([_cn("1", date(2025, 1, 1), date(2026, 2, 1)), _cn("2", date(2026, 1, 1))], "version 1 must end"),
        (
            [_cn("1", date(2025, 1, 1), date(2026, 1, 1)), _cn("1", date(2026, 1, 1))],
            "version 1 is listed twice",
        ),
        ([_cn("1", date(2025, 1, 1), date(2025, 1, 1))], "effective_to is not after effective_from"),
        ([_cn("1", date(2025, 1, 1), date(2026, 1, 1))], "the latest version has no effective_to"),
        ([{"version": "1"}], r"CN\[0\]\.effective_from: Field required"),
    ],
)
def test_versions_follow_one_another_with_no_gap_and_no_overlap(
    versions: list[dict[str, Any]], problem: str
) -> None:
    with pytest.raises(BorrowerRequestPolicyError, match=problem):
        parse_borrower_request_policies(yaml.safe_dump({"CN": versions}, allow_unicode=True))


def test_a_file_in_the_format_before_versions_is_refused_with_the_way_out() -> None:
    with pytest.raises(BorrowerRequestPolicyError, match="the format before versions"):
        parse_borrower_request_policies("CN:\n  promise_max_days: {value: 7, source: x}\n")


def test_the_same_caller_route_and_key_name_the_same_request() -> None:
    assert request_id("sub-1", "promise", "k-00000001") == request_id("sub-1", "promise", "k-00000001")
    assert request_id("sub-1", "promise", "k-00000001") != request_id("sub-2", "promise", "k-00000001")
    assert request_id("sub-1", "promise", "k-00000001") != request_id("sub-1", "dispute", "k-00000001")


@pytest.mark.parametrize(
    ("groups", "roles"),
    [
        ("[agent supervisor]", {Role.AGENT, Role.SUPERVISOR}),  # as API Gateway flattens a list claim
        (["compliance"], {Role.COMPLIANCE}),
        ("[borrower admin]", set()),  # no group makes a borrower, unknown groups are nothing
        (None, set()),
    ],
)
def test_staff_roles_come_from_cognito_groups(groups: object, roles: set[Role]) -> None:
    assert caller_of({"sub": "s-1", "cognito:groups": groups}).roles == roles


def test_a_borrower_is_who_their_borrower_id_claim_says_and_no_subject_is_401() -> None:
    caller = caller_of({"sub": "u-1", "custom:borrower_id": "B-9"})
    assert (caller.borrower_id, caller.roles) == ("B-9", frozenset({Role.BORROWER}))
    with pytest.raises(ApiError) as refused:
        caller_of({"custom:borrower_id": "B-9"})
    assert refused.value.status == 401
