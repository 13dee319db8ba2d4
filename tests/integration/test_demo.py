"""`make demo` in small: simulated days through the whole stack, checked against what the tables recorded.

A small book runs through the real handlers (as `make demo` does, fewer loans and days), once for the
module: every scheduled function runs, every sweep finishes before its deadline, the exported archive
verifies, no personal data reaches the logs or the archive, and the summary's deferral figures (summed
from the handlers' metrics in the log) agree with the Actions table's own change log (its stream, read
from the start) and the Contacts table.
"""

from __future__ import annotations

import gzip
import io
import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from arrears.adapters.phone_zones import zones_of_number
from arrears_cli import audit
from localcloud.book import generate_book
from localcloud.emf import emf_points, emf_totals
from localcloud.simulation import Simulation, export_archive, summarise

LOANS, DAYS, SEED, START = 30, 8, 7, date(2026, 3, 1)


@dataclass(frozen=True)
class DemoRun:
    out: Path
    summary: dict[str, Any]
    action_changes: list[tuple[str, dict[str, Any], dict[str, Any]]]
    sms: list[tuple[str, str]]  # (number, body) of every SMS the dispatcher sent


def action_changes(stream_arn: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(event name, old image, new image) of every change to the Actions table, oldest first."""
    streams = boto3.client("dynamodbstreams")
    deserializer = TypeDeserializer()

    def plain(image: dict[str, Any] | None) -> dict[str, Any]:
        return {k: deserializer.deserialize(v) for k, v in (image or {}).items()}

    changes: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator: str | None = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            for record in page["Records"]:
                data = record["dynamodb"]
                changes.append(
                    (record["eventName"], plain(data.get("OldImage")), plain(data.get("NewImage")))
                )
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return changes


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    out = tmp_path_factory.mktemp("demo")
    log = io.StringIO()
    with mock_aws():
        sim = Simulation(loans=LOANS, seed=SEED, start=START, log=log)
        sim.load_book()
        sim.run(DAYS)
        (out / "logs.jsonl").write_text(log.getvalue())
        keys = export_archive(sim.stack, out / "archive")
        summary = summarise(sim, keys, out / "archive", 0.0, DAYS, logs=out / "logs.jsonl")
        changes = action_changes(sim.stack.arns["ActionsTable.StreamArn"])
        sent = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()
        sms = [(str(number), str(body)) for number, body in sent]
    return DemoRun(out, summary, changes, sms)


def test_every_scheduled_function_ran_and_every_sweep_finished_before_its_deadline(
    demo: DemoRun,
) -> None:
    summary = demo.summary
    run = summary["run"]
    # One 00:30 Shanghai sweep a day (16:30 UTC), each finished before its 06:00 deadline
    assert run["invocations"]["SweepFunction"] == DAYS
    assert run["sweep_deadline_checks"]["late"] == 0
    assert run["sweep_deadline_checks"]["days_finished_by_deadline"] == DAYS
    assert set(run["invocations"]) == {
        "SweepFunction",
        "SweepWorkerFunction",
        "SweepDeadlineFunction",
        "PlannerFunction",
        "DispatcherFunction",
        "DeferredReleaseFunction",
        "ArchiverFunction",
        "PaymentsFunction",
    }
    assert sum(summary["loans_by_bucket"].values()) == LOANS


def test_the_exported_archive_verifies(demo: DemoRun, capsys: pytest.CaptureFixture[str]) -> None:
    out, summary = demo.out, demo.summary
    assert summary["records_archived"]
    assert audit.main(["verify", "--dir", str(out / "archive")]) == 0, capsys.readouterr().out


def test_no_personal_data_reaches_the_logs_or_the_archive(demo: DemoRun) -> None:
    out = demo.out
    written = (out / "logs.jsonl").read_text() + "".join(
        (gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()).decode()
        for path in (out / "archive").rglob("*")
        if path.is_file()
    )
    assert written
    values = [
        value
        for entry in generate_book(LOANS, SEED, START)
        for value in (
            entry.borrower.name,
            entry.borrower.phone,
            entry.borrower.email,
            entry.borrower.address,
            entry.borrower.borrower_id,
        )
    ]
    assert all(values), "the book gives every borrower a name, phone, e-mail and address"
    assert [value for value in values if value in written] == []


def test_the_summary_counts_deferrals_by_who_deferred_and_agrees_with_the_tables(demo: DemoRun) -> None:
    summary, changes = demo.summary, demo.action_changes

    created_deferred = Counter(
        new["receipt"]["decision"]["verdict"]
        for event, _, new in changes
        if event == "INSERT" and new["status"] == "DEFERRED"
    )
    deferred_later = sum(
        1
        for event, old, new in changes
        if event == "MODIFY" and new["status"] == "DEFERRED" and new["version"] != old["version"]
    )
    deferrals = summary["deferrals"]
    # The sweep runs at 00:30 in Shanghai: the CN book's reminders are planned outside contact hours.
    assert deferrals["planned_outside_contact_hours"] > 0
    assert deferrals["planned_outside_contact_hours"] == created_deferred["PLAN"]
    assert deferrals["held_by_planner"] == created_deferred["DEFER"]
    assert deferrals["deferred_at_send_time"] == deferred_later
    assert deferrals["deferral_records"] == deferrals["held_by_planner"] + deferrals["deferred_at_send_time"]
    assert (
        summary["deferred"]
        == deferrals["total"]
        == (
            deferrals["planned_outside_contact_hours"]
            + deferrals["held_by_planner"]
            + deferrals["deferred_at_send_time"]
        )
    )


def test_every_us_text_message_of_the_demo_carries_the_opt_out_line(demo: DemoRun) -> None:
    us = [body for number, body in demo.sms if number.startswith("+1")]
    cn = [body for number, body in demo.sms if number.startswith("+86")]

    assert us, "the demo sent no US text message"
    assert all(body.endswith("\n\nReply STOP to stop these texts.") for body in us)
    assert cn
    assert not any("STOP" in body or "退订" in body for body in cn)


def test_emf_totals_sum_metrics_by_dimensions_and_ignore_other_lines() -> None:
    lines = [
        '{"level":"INFO","message":"action dispatched","outcome":"DEFERRED"}',
        "not json at all",
        '{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"Arrears","Dimensions":[["service"]],'
        '"Metrics":[{"Name":"ActionsHeld","Unit":"Count"}]}]},"service":"planner","ActionsHeld":[1.0,0.0,2.0]}',
        '{"_aws":{"Timestamp":2,"CloudWatchMetrics":[{"Namespace":"Arrears","Dimensions":[["channel","outcome",'
        '"service"]],"Metrics":[{"Name":"Contacts","Unit":"Count"}]}]},"channel":"SMS","outcome":"DEFERRED",'
        '"service":"dispatcher","Contacts":1.0}',
        '{"_aws":{"Timestamp":3,"CloudWatchMetrics":[{"Namespace":"Arrears","Dimensions":[["channel","outcome",'
        '"service"]],"Metrics":[{"Name":"Contacts","Unit":"Count"}]}]},"channel":"EMAIL","outcome":"SENT",'
        '"service":"dispatcher","Contacts":[1.0]}',
    ]
    totals = emf_totals(emf_points(lines))
    assert totals.sum("ActionsHeld", service="planner") == 3
    assert totals.sum("Contacts", outcome="DEFERRED") == 1
    assert totals.sum("Contacts", service="dispatcher") == 2
    assert totals.sum("Contacts", outcome="SUPPRESSED") == 0
    assert totals.sum("ActionsDeferredToWindow") == 0


def test_the_summary_reports_recoveries_after_charge_off_and_reversals(demo: DemoRun) -> None:
    """The book has a charged-off borrower who pays, and a payment that is returned."""
    payments = demo.summary["payments"]
    recoveries = payments["recoveries_after_charge_off"]
    assert payments["charged_off_loans"] >= 1
    assert recoveries["payments"] >= 1
    assert recoveries["loans"] >= 1
    assert sum(recoveries["recovered_minor"].values()) > 0
    reversals = payments["reversals"]
    assert reversals["sent"] >= 1
    assert reversals["applied"] == reversals["reversed_in_ledger"] >= 1
    assert payments["ledger_entries"] >= payments["applied"]


def test_borrowers_preferring_hours_across_midnight_are_judged_by_them(demo: DemoRun) -> None:
    """The book gives some borrowers 19:00-01:00 or 20:00-10:00; their contacts name `preferred_hours`."""
    lines = [
        json.loads(line)
        for path in (demo.out / "archive").rglob("*.jsonl.gz")
        for line in gzip.decompress(path.read_bytes()).decode().splitlines()
    ]
    judged = [r for r in lines if any(rule.startswith("preferred_hours:") for rule in r["rules_checked"])]

    assert judged, "no archived contact was judged by a borrower's preferred hours"
    assert {r["status"] for r in judged} <= {"SENT", "DEFERRED"}


def test_the_archive_names_the_rule_pack_layer_that_decided_and_the_zones_checked(demo: DemoRun) -> None:
    book = generate_book(LOANS, SEED, START)
    us = [entry.borrower for entry in book if entry.loan.jurisdiction == "US-REGF"]
    assert any(borrower.region == "MA" for borrower in us)
    assert any(zones_of_number(b.phone) != (b.timezone,) for b in us), "phones from another state's zone"

    layers = demo.summary["decided_by_layer"]
    # Massachusetts' 2 calls and texts per debt in 7 days held a third contact on one debt.
    assert layers["DEFERRED"] == {"US-MA@2026.1": 1}
    assert layers["by_rule"] == {"US-MA@2026.1 ma_calls_texts_7_days": 1}
    assert layers["checked_in_several_zones"] == 3
    lines = [
        json.loads(line)
        for path in (demo.out / "archive").rglob("*.jsonl.gz")
        for line in gzip.decompress(path.read_bytes()).decode().splitlines()
    ]
    (held,) = [line for line in lines if line["decided_by"] == "US-MA@2026.1"]
    assert (held["status"], held["channel"]) == ("DEFERRED", "CALL_TASK")
    assert held["rule_pack"] == "US-REGF@2026.1+LENDER-US@2026.1+US-MA@2026.1"
    assert held["rules_checked"][-1] == "ma_calls_texts_7_days:FAIL"
    assert held["zones_checked"] == ["America/New_York"]
    assert sum(len(line["zones_checked"]) > 1 for line in lines) == 3
