"""arrears-audit on moto: verify a clean archive, then a tampered object, a deleted batch, a reordered
chain, a truncated chain; the same on an exported folder; one loan's history."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arrears.adapters.container import Container
from arrears.config.settings import load_settings
from arrears.domain.archive import Manifest, encode_lines
from arrears_cli.audit import main
from localcloud.stack import LocalStack, deploy
from tests.integration.archive_support import archive, bucket_objects, delete, overwrite, records
from tests.integration.conftest import TEMPLATE


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    """A prod stack: the archiver locks in COMPLIANCE mode for the jurisdiction's retention."""
    with mock_aws():
        yield deploy(
            TEMPLATE,
            stage="prod",
            parameters={"BureauFurnisherId": "1234567", "BureauReporterName": "FIRST LENDER"},
        )


def weaker_lock() -> dict[str, Any]:
    """What a forger with s3:PutObject could choose: GOVERNANCE for a day."""
    return {
        "ObjectLockMode": "GOVERNANCE",
        "ObjectLockRetainUntilDate": datetime.now(UTC) + timedelta(days=1),
    }


@pytest.fixture
def archived(stack: LocalStack, container: Container) -> list[str]:
    """Four CN batches (seq 1..4) and some US ones over three days."""
    batch = records(400, per_day=200)
    keys: list[str] = []
    for start in range(0, 400, 100):
        keys.extend(archive(container, batch[start : start + 100]).objects)
    return keys


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    return code, capsys.readouterr().out.splitlines()


def cn_manifests(stack: LocalStack) -> dict[int, tuple[str, bytes]]:
    found = {}
    for key, body in bucket_objects(stack, "contacts/jurisdiction=CN/").items():
        if key.endswith(".manifest.json"):
            found[Manifest.from_bytes(body).seq] = (key, body)
    return found


def test_a_clean_archive_verifies(
    stack: LocalStack, container: Container, archived: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = stack.physical["ArchiveBucket"]
    code, out = run(
        capsys, "verify", "--bucket", bucket, "--chain-table", container.settings.archive_chain_table
    )

    assert code == 0, out
    assert out[-1].startswith("OK: ")
    assert "CN seq 1..4" in out[-1]
    assert not [line for line in out if line.startswith("FAIL")]


def test_a_tampered_object_is_named(
    stack: LocalStack, archived: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    victim = next(k for k in archived if "jurisdiction=CN" in k)
    lines = [{"contact_id": "forged"}]
    overwrite(stack, victim, encode_lines(lines), **weaker_lock())

    code, out = run(capsys, "verify", "--bucket", stack.physical["ArchiveBucket"])

    assert code == 1
    problems = [line for line in out if line.startswith(f"FAIL {victim}:")]
    assert any("sha256" in line and "object altered" in line for line in problems)
    # the forged version has a weaker lock than the stage's (prod: COMPLIANCE): reported too
    assert any("Object Lock mode is GOVERNANCE, expected COMPLIANCE" in line for line in problems)
    assert out[-1].startswith("FAILED")


def test_a_deleted_batch_is_reported_as_a_missing_seq(
    stack: LocalStack, archived: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = cn_manifests(stack)[2]
    delete(stack, key)
    delete(stack, key.replace(".manifest.json", ".jsonl.gz"))

    code, out = run(capsys, "verify", "--bucket", stack.physical["ArchiveBucket"])

    assert code == 1
    assert "FAIL CN seq 2: missing: no manifest carries this seq (batch deleted?)" in out


def test_a_deleted_last_batch_is_caught_by_the_chain_head(
    stack: LocalStack, container: Container, archived: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = cn_manifests(stack)[4]
    delete(stack, key)
    delete(stack, key.replace(".manifest.json", ".jsonl.gz"))
    bucket = stack.physical["ArchiveBucket"]

    assert run(capsys, "verify", "--bucket", bucket)[0] == 0  # without the head, truncation is invisible
    code, out = run(
        capsys, "verify", "--bucket", bucket, "--chain-table", container.settings.archive_chain_table
    )

    assert code == 1
    assert "FAIL CN chain head: at seq 4 but the newest manifest is seq 3: seq 4..4 missing" in out


def test_a_data_object_whose_manifest_was_deleted_is_reported(
    stack: LocalStack, archived: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = cn_manifests(stack)[3]
    delete(stack, key)

    code, out = run(capsys, "verify", "--bucket", stack.physical["ArchiveBucket"])

    assert code == 1
    data = key.replace(".manifest.json", ".jsonl.gz")
    assert f"FAIL {data}: data object without a manifest: not in the hash chain" in out
    assert "FAIL CN seq 3: missing: no manifest carries this seq (batch deleted?)" in out


def test_a_reordered_chain_is_reported_at_the_broken_link(
    stack: LocalStack, archived: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    chain = cn_manifests(stack)
    (key2, body2), (key3, body3) = chain[2], chain[3]
    m2, m3 = Manifest.from_bytes(body2), Manifest.from_bytes(body3)
    # swap the positions of batches 2 and 3: each takes the other's seq and predecessor
    overwrite(
        stack,
        key2,
        Manifest(m2.object_key, m2.sha256, m2.records, "CN", 3, m3.prev_manifest_sha256).to_bytes(),
    )
    overwrite(
        stack,
        key3,
        Manifest(m3.object_key, m3.sha256, m3.records, "CN", 2, m2.prev_manifest_sha256).to_bytes(),
    )

    code, out = run(capsys, "verify", "--bucket", stack.physical["ArchiveBucket"])

    assert code == 1
    broken = [line for line in out if "chain reordered or a manifest replaced" in line]
    assert broken
    assert broken[0].startswith("FAIL CN seq 3 (")


def test_object_lock_headers_are_checked(
    stack: LocalStack, archived: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    key, body = cn_manifests(stack)[1]
    overwrite(stack, key, body, **weaker_lock())  # same bytes, a weaker lock than prod's COMPLIANCE

    code, out = run(capsys, "verify", "--bucket", stack.physical["ArchiveBucket"])

    assert code == 1
    problems = [line for line in out if line.startswith("FAIL ")]
    assert f"FAIL {key}: Object Lock mode is GOVERNANCE, expected COMPLIANCE" in problems
    assert any(line.startswith(f"FAIL {key}: Object Lock retain-until") for line in problems)
    assert len(problems) == 2  # same bytes: the hashes and the chain still hold


def export(stack: LocalStack, root: Path) -> None:
    for key, body in bucket_objects(stack).items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(body)


def test_an_exported_folder_verifies_without_lock_headers_and_catches_tampering(
    stack: LocalStack, archived: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export(stack, tmp_path)

    code, out = run(capsys, "verify", "--dir", str(tmp_path), "--from", "2026-03-02", "--to", "2026-03-03")
    assert code == 0, out
    assert out[0].startswith("note: exported folder: no Object Lock or encryption headers to check")

    victim = tmp_path / archived[0]
    victim.write_bytes(victim.read_bytes()[:-4] + b"\x00\x00\x00\x00")
    code, out = run(capsys, "verify", "--dir", str(tmp_path))
    assert code == 1
    assert any(line.startswith(f"FAIL {archived[0]}: sha256") for line in out)


def test_history_of_one_loan_in_time_order_without_duplicates(
    stack: LocalStack, container: Container, archived: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    batch = records(400, per_day=200)
    archive(container, [r for r in batch if r["loan_id"] == "L-00007"][:1])  # archived twice: retried batch
    expected = sorted(
        (r for r in batch if r["loan_id"] == "L-00007"), key=lambda r: (r["occurred_at"], r["contact_id"])
    )

    code, out = run(
        capsys, "history", "--loan", "L-00007", "--bucket", stack.physical["ArchiveBucket"], "--json"
    )

    assert code == 0
    rows = [json.loads(line) for line in out]
    assert [r["contact_id"] for r in rows] == [r["contact_id"] for r in expected]
    assert all("borrower_id" not in r for r in rows)
    code, table = run(capsys, "history", "--loan", "L-00007", "--bucket", stack.physical["ArchiveBucket"])
    assert table[0].startswith("occurred_at\t")
    assert "\tstatus\tattempt\tresult\t" in table[0], "a call's task, attempts and outcomes told apart"
    assert len(table) == len(expected) + 1


def test_history_of_a_loan_with_no_record_says_so_and_fails(
    stack: LocalStack, container: Container, capsys: pytest.CaptureFixture[str]
) -> None:
    archive(container, records(20, per_day=20))
    code = main(["history", "--loan", "L-NO-SUCH", "--bucket", stack.physical["ArchiveBucket"]])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert "no contact records for loan L-NO-SUCH" in captured.err


def test_erase_puts_an_erasure_request_on_the_bus(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    events = boto3.client("events")
    bus = stack.physical["LoanEventsBus"]
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="erasure-probe")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="probe", EventBusName=bus, EventPattern=json.dumps({"detail-type": ["ErasureRequested"]})
    )
    events.put_targets(Rule="probe", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

    code, out = run(
        capsys,
        "erase",
        "--bus",
        bus,
        "--borrower-id",
        "B-1",
        "--request-id",
        "ER-1",
        "--requested-at",
        "2026-03-06T09:00:00Z",
    )

    assert code == 0
    assert out[0].startswith("erasure requested: request_id=ER-1 event_id=")
    (message,) = sqs.receive_message(QueueUrl=queue).get("Messages", [])
    event = json.loads(message["Body"])
    assert (event["source"], event["detail-type"]) == ("arrears.privacy", "ErasureRequested")
    assert event["detail"] == {
        "request_id": "ER-1",
        "borrower_id": "B-1",
        "requested_at": "2026-03-06T09:00:00Z",
    }


def test_a_dev_stack_archive_is_locked_in_governance_for_a_day_and_verifies_with_a_note(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with mock_aws():
        dev = deploy(TEMPLATE)
        container = Container(
            load_settings(dev.functions["SweepFunction"].environment), boto3.session.Session()
        )
        keys = archive(container, records(40, per_day=20)).objects
        bucket = dev.physical["ArchiveBucket"]
        head = boto3.client("s3").head_object(Bucket=bucket, Key=keys[0])

        code, out = run(capsys, "verify", "--bucket", bucket)

    assert head["ObjectLockMode"] == "GOVERNANCE"
    written_on = datetime.now(UTC).date()
    assert head["ObjectLockRetainUntilDate"].date() == written_on + timedelta(days=1)
    assert code == 0, out
    assert any("dev stack: the bucket locks objects in GOVERNANCE mode for 1 day(s)" in line for line in out)
