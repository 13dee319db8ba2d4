"""The demo's summary counts every deferral, and its figures agree with what the tables recorded.

A small book runs through the real handlers (as `make demo` does, fewer loans and days); the summary's
deferral figures, summed from the handlers' metrics in the log, are then checked against the Actions
table's own change log (its stream, read from the start) and the Contacts table.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from moto import mock_aws

from arrears_local.emf import emf_totals
from arrears_local.simulation import Simulation, export_archive, summarise

LOANS = 12
DAYS = 8


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


def test_the_summary_counts_deferrals_by_who_deferred_and_agrees_with_the_tables(tmp_path: Path) -> None:
    log = io.StringIO()
    with mock_aws():
        sim = Simulation(loans=LOANS, seed=7, start=date(2026, 3, 1), log=log)
        sim.load_book()
        sim.run(DAYS)
        (tmp_path / "logs.jsonl").write_text(log.getvalue())
        keys = export_archive(sim.stack, tmp_path / "archive")
        summary = summarise(sim, keys, tmp_path / "archive", 0.0, DAYS, logs=tmp_path / "logs.jsonl")
        changes = action_changes(sim.stack.arns["ActionsTable.StreamArn"])

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
    totals = emf_totals(lines)
    assert totals.sum("ActionsHeld", service="planner") == 3
    assert totals.sum("Contacts", outcome="DEFERRED") == 1
    assert totals.sum("Contacts", service="dispatcher") == 2
    assert totals.sum("Contacts", outcome="SUPPRESSED") == 0
    assert totals.sum("ActionsDeferredToWindow") == 0
