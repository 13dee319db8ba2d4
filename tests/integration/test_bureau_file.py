"""The bureau files of a seeded book through the whole stack: the Metro 2 file and the CN records.

A small generated book runs a few simulated days (the planner keeps each loan's facts from the Loans
stream, CN records are written as loans change); then the clock moves to 1 April and the monthly
schedule fires the Metro 2 function for March, twice (a retried schedule). The file must pass the
independent validator, agree with the function's counts and the loans' facts, be the same bytes on
the retry, and no personal data may reach the logs or the CN records.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arrears.adapters.items import plain
from arrears.adapters.tables import all_items
from arrears.domain.metro2 import BASE, field_value
from localcloud.bureau_report import bureau_files_summary
from localcloud.faults import FaultInjector, FaultPlan
from localcloud.simulation import Simulation
from tests.unit.metro2_validator import validate

LOANS, DAYS, SEED, START = 24, 5, 7, date(2026, 3, 1)


@dataclass(frozen=True)
class BureauRun:
    cycle: dict[str, Any]
    retried: dict[str, Any]
    metro2: str
    metro2_after_retry: str
    summary: dict[str, Any]
    history: dict[str, dict[str, Any]]
    loans: dict[str, dict[str, Any]]
    cn_lines: list[dict[str, Any]]
    logs: str
    names: list[str]
    told: set[str]
    metro2_under_faults: str
    faults_injected: int


@pytest.fixture(scope="module")
def bureau(tmp_path_factory: pytest.TempPathFactory) -> BureauRun:
    out: Path = tmp_path_factory.mktemp("bureau")
    log = io.StringIO()
    with mock_aws():
        sim = Simulation(loans=LOANS, seed=SEED, start=START, log=log)
        sim.load_book()
        sim.run(DAYS)
        sim.cloud.advance_to(datetime(2026, 4, 1, 12, tzinfo=UTC))
        cycle = sim.cloud.schedule("BureauFileFunction")
        bucket = sim.stack.physical["BureauFilesBucket"]
        s3 = boto3.client("s3")
        text = s3.get_object(Bucket=bucket, Key=cycle["key"])["Body"].read().decode("ascii")
        retried = sim.cloud.schedule("BureauFileFunction")
        again = s3.get_object(Bucket=bucket, Key=retried["key"])["Body"].read().decode("ascii")
        # One invocation of the same cycle while 5 % of its AWS calls fail, before or after the
        # service applied them (localcloud.faults): no invocation retry, its accounts retry alone.
        sim.cloud.faults = FaultInjector(FaultPlan(0.05, 3, kinds=("before", "after")))
        faulted = sim.cloud.invoke("BureauFileFunction", sim.cloud.scheduled_event("BureauFileFunction"))
        faults_injected = sum(sim.cloud.faults.injected.values())
        sim.cloud.faults = FaultInjector(None)
        under_faults = s3.get_object(Bucket=bucket, Key=faulted["key"])["Body"].read().decode("ascii")
        summary = bureau_files_summary(bucket, [cycle], out)
        history_table = boto3.resource("dynamodb").Table(sim.stack.physical["DelinquencyHistoryTable"])
        history = {str(i["loan_id"]): plain(i) for i in all_items(history_table.scan)}
        loans_table = boto3.resource("dynamodb").Table(sim.settings.loans_table)
        loans = {str(i["loan_id"]): plain(i) for i in all_items(loans_table.scan)}
        # CN loans given the prior notice (an overdue message delivered: the CN pack's templates).
        actions_table = boto3.resource("dynamodb").Table(sim.settings.actions_table)
        told = {
            str(a["loan_id"])
            for a in map(plain, all_items(actions_table.scan))
            if a["status"] == "SENT" and a["template_id"] in ("sms_overdue", "email_overdue")
        }
    cn_lines = [json.loads(line) for line in (out / "bureau" / "cn-credit.jsonl").read_text().splitlines()]
    names = [entry.borrower.name for entry in sim.book]
    return BureauRun(
        cycle,
        retried,
        text,
        again,
        summary,
        history,
        loans,
        cn_lines,
        log.getvalue(),
        names,
        told,
        under_faults,
        faults_injected,
    )


def test_the_march_file_passes_the_independent_validator_and_agrees_with_the_counts(
    bureau: BureauRun,
) -> None:
    assert validate(bureau.metro2) == []
    bases = bureau.metro2.rstrip("\n").split("\n")[1:-1]
    assert bureau.cycle["period"] == "2026-03"
    assert bureau.cycle["accounts"] == len(bases) > 0
    assert bureau.summary["metro2"]["accounts_by_status"] == bureau.cycle["by_status"]
    # Every account is a US loan; held ones (borrower never told) are not in the file.
    reported = {field_value(BASE, b, "consumer_account_number").strip() for b in bases}
    assert all(bureau.loans[loan_id]["jurisdiction"].startswith("US") for loan_id in reported)
    # The loans the planner has seen change (a loan never assessed has no history, nothing to report).
    us_loans = {
        k for k, v in bureau.loans.items() if str(v["jurisdiction"]).startswith("US") and k in bureau.history
    }
    # The rest: held (not told), lent after March, paid and closed before March without a report, or
    # of a borrower whose name was erased.
    left_out = (
        bureau.cycle["held_by_precondition"]
        + bureau.cycle["not_open_yet"]
        + bureau.cycle["closed_before"]
        + bureau.cycle["no_identity"]
    )
    assert len(reported) + left_out == len(us_loans)
    assert bureau.cycle["held_by_precondition"] > 0  # loan 2's borrower opted out of every channel


def test_a_retried_schedule_writes_the_same_file(bureau: BureauRun) -> None:
    assert bureau.retried["key"] == bureau.cycle["key"]
    assert bureau.metro2_after_retry == bureau.metro2


def test_transient_errors_in_one_invocation_retry_their_account_and_write_the_same_file(
    bureau: BureauRun,
) -> None:
    # Before, any of them failed the whole invocation: over a book, no attempt ever finished.
    assert bureau.faults_injected >= 3
    assert bureau.metro2_under_faults == bureau.metro2


def test_each_account_reports_the_dofd_its_history_keeps_and_its_march_snapshot(bureau: BureauRun) -> None:
    for base in bureau.metro2.rstrip("\n").split("\n")[1:-1]:
        loan_id = field_value(BASE, base, "consumer_account_number").strip()
        item = bureau.history[loan_id]
        assert "month#2026-03" in item
        assert item["bureau_reported_from"] == "2026-03"
        dofd = item["credit_facts"]["dofd"]
        status = field_value(BASE, base, "account_status")
        if status in {"71", "78", "80", "82", "83", "84", "97"}:
            assert field_value(BASE, base, "date_of_first_delinquency") == date.fromisoformat(dofd).strftime(
                "%m%d%Y"
            )


def test_cn_records_name_every_cn_loan_with_its_codes_and_no_personal_data(bureau: BureauRun) -> None:
    cn_loans = {k for k, v in bureau.loans.items() if v["jurisdiction"] == "CN" and k in bureau.history}
    opened = {r["loan_id"] for r in bureau.cn_lines if r["event"] == "NEW_ACCOUNT"}
    assert len(opened) == len([r for r in bureau.cn_lines if r["event"] == "NEW_ACCOUNT"])  # once each
    # A loan not overdue is reported opened; an overdue one once its borrower was told (art. 15).
    assert {k for k in cn_loans if bureau.loans[k]["dpd"] == 0} <= opened <= cn_loans
    for record in bureau.cn_lines:
        if record["repayment_status"] not in ("N", "C"):
            assert record["loan_id"] in bureau.told, record
    assert {r["repayment_status"] for r in bureau.cn_lines} <= {"N", "1", "2", "3", "4", "5", "6", "7", "C"}
    assert {r["five_level_class"] for r in bureau.cn_lines} <= {"正常", "关注", "次级", "可疑", "损失"}
    assert len({r["record_id"] for r in bureau.cn_lines}) == len(bureau.cn_lines)
    text = json.dumps(bureau.cn_lines, ensure_ascii=False)
    assert not [name for name in bureau.names if name in text]


def test_no_borrower_name_reaches_the_logs(bureau: BureauRun) -> None:
    assert bureau.names
    assert not [name for name in bureau.names if name in bureau.logs]
    assert any(name.split()[-1].upper() in bureau.metro2 for name in bureau.names)  # the file carries them
