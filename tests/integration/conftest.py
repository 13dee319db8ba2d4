"""Integration fixtures: the stack from template.yaml deployed into moto, and the local cloud."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arrears.adapters.container import Container
from arrears.config.playbook import bundled_playbook
from arrears.config.settings import Settings, load_settings
from arrears.domain.borrowers import Borrower
from arrears.domain.loans import Instalment, Loan
from arrears.usecases.onboarding import register_loan
from localcloud.cloud import LocalCloud
from localcloud.stack import LocalStack, deploy

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with mock_aws():
        yield deploy(TEMPLATE)


@pytest.fixture
def settings(stack: LocalStack) -> Settings:
    # The sweep's environment, with the dispatcher's own settings (the e-mail's unsubscribe link) added.
    functions = stack.functions
    return load_settings(
        {**functions["DispatcherFunction"].environment, **functions["SweepFunction"].environment}
    )


@pytest.fixture
def container(settings: Settings) -> Container:
    return Container(settings, boto3.session.Session())


CloudFactory = Callable[..., LocalCloud]


@pytest.fixture
def atomic_moto_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make each moto DynamoDB request atomic, as each DynamoDB request is.

    moto evaluates a ConditionExpression and then writes, with no lock between: two threads can both
    pass the same condition. It also serialises a read from the live item, so a read racing a write
    can fail with "dictionary changed size during iteration". DynamoDB never lets either happen, and
    the code under test relies on it (optimistic concurrency on `version`). Tests that race threads
    through our conditional writes use this fixture: each request (read or write, including its
    response) runs whole under one lock, while the requests of different threads still interleave
    freely, so the test exercises our code and not moto's missing lock.
    """
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoHandler, "call_action", locked)


@pytest.fixture
def make_cloud(stack: LocalStack) -> Iterator[CloudFactory]:
    """A factory of local clouds over the test's stack, each closed after the test (its handler
    modules unloaded: a session of hundreds of clouds would otherwise keep every one's)."""
    made: list[LocalCloud] = []

    def make(start: datetime, **kwargs: Any) -> LocalCloud:
        cloud = LocalCloud(stack, start=start, **kwargs)
        made.append(cloud)
        return cloud

    yield make
    for cloud in made:
        cloud.close()


def log_lines(cloud: LocalCloud, message: str) -> list[dict[str, Any]]:
    """The JSON log lines of `cloud`'s functions whose `message` is `message`, in order."""
    assert isinstance(cloud.log, io.StringIO)
    lines = [json.loads(line) for line in cloud.log.getvalue().splitlines() if line.startswith("{")]
    return [d for d in lines if d.get("message") == message]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def cn_cash_loan(loan_id: str = "L-1", due: date = date(2026, 3, 1), principal: int = 500_000) -> Loan:
    return Loan(
        loan_id=loan_id,
        borrower_id=f"B-{loan_id}",
        jurisdiction="CN",
        currency="CNY",
        principal_minor=principal,
        # Disbursed a month before an early due date (a loan cannot fall due before it is lent).
        disbursed_on=min(date(2026, 1, 30), due - timedelta(days=30)),
        # 3,500 + 1,000 over 30 days on 500,000: 10.95 % a year, within CN's 12 % (4 x LPR 3.00 %).
        instalments=(Instalment(1, due, principal, principal * 7 // 1000, principal // 500),),
        penalty_daily_ppm=500,
        apr_cap_bps=2400,
    )


def in_arm(loan: Loan, arm: str) -> Loan:
    """`loan` with a borrower the bundled playbook assigns to `arm` at registration (arms are a hash
    of the borrower id: `CollectionPlaybook.assign_arm`): the first `B-<loan_id>-<k>` that lands there."""
    playbook = bundled_playbook()
    for k in range(1000):
        candidate = loan.with_changes(borrower_id=f"B-{loan.loan_id}-{k}")
        if playbook.assign_arm(candidate).name == arm:
            return candidate
    raise AssertionError(f"no borrower id of {loan.loan_id} lands in arm {arm}")


def us_regf_loan(
    loan_id: str,
    *,
    due: date = date(2026, 3, 1),
    principal: int = 120_000,
    interest: int = 1_500,
    fee: int = 0,
    penalty_daily_ppm: int = 0,
) -> Loan:
    """A one-instalment US loan under the Reg F pack (USD, 36 % APR cap), due on 1 March by default."""
    return Loan(
        loan_id=loan_id,
        borrower_id=f"B-{loan_id}",
        jurisdiction="US-REGF",
        currency="USD",
        principal_minor=principal,
        disbursed_on=min(date(2026, 1, 30), due - timedelta(days=30)),
        instalments=(Instalment(1, due, principal, interest, fee),),
        penalty_daily_ppm=penalty_daily_ppm,
        apr_cap_bps=3600,
    )


# A phone number per test zone whose area code lies in that zone: a borrower's phone and address
# agree unless a test gives another number (the gate checks the hours in the phone's zone too).
ZONE_PHONES = {
    "America/New_York": "+12125550100",
    "America/Chicago": "+13125550100",
    "America/Los_Angeles": "+14155550100",
    "Pacific/Honolulu": "+18085550100",
    "Pacific/Auckland": "+6495550100",
}


def borrower_for(loan: Loan, zone: str = "Asia/Shanghai", **changes: Any) -> Borrower:
    values: dict[str, Any] = {
        "borrower_id": loan.borrower_id,
        "timezone": zone,
        "language": "zh-CN",
        "region": "Shanghai",
        "name": "王小明",
        "phone": ZONE_PHONES.get(zone, "+8613800138000"),
        "email": "xiaoming.wang@example.cn",
        "address": "上海市浦东新区世纪大道100号",
    }
    values.update(changes)
    return Borrower(**values)


def register(container: Container, loan: Loan, borrower: Borrower, at: datetime) -> None:
    assert register_loan(
        loan,
        borrower,
        at,
        loans=container.loans,
        borrowers=container.borrowers,
        playbook=bundled_playbook(),
    )
