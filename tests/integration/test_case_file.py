"""The court case file on moto: built once from the loan, the ledger, the borrower and the archive,
with a hash-chain proof a court can recompute with sha256 alone."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest

from arrears.adapters.container import Container
from arrears.adapters.items import contact_to_item
from arrears.config.playbook import bundled_playbook
from arrears.config.settings import load_settings
from arrears.domain.case_file import case_file_keys, verify
from arrears.usecases.case_file import CaseFilePorts, TimeBarred, build_or_fetch
from arrears.usecases.payments import PaymentReceived, receive_payment
from arrears_cli import legal
from benchmarks.archive import synthetic_contacts
from localcloud.stack import LocalStack
from tests.integration.archive_support import archive
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, utc

LOAN = "L-COURT"
REFERRED = utc(2026, 3, 20, 4, 0)  # 12:00 in Shanghai, 19 days past due


@pytest.fixture
def case_container(stack: LocalStack) -> Container:
    return Container(load_settings(stack.functions["CaseFileFunction"].environment), boto3.session.Session())


def _ports(container: Container) -> CaseFilePorts:
    return CaseFilePorts(
        loans=container.loans,
        borrowers=container.borrowers,
        payments=container.payments,
        contacts=container.contacts,
        archive=container.archive_store,
        chain=container.archive_chain,
        store=container.case_files,
        token_secret=container.token_secret.value,
    )


def _history(container: Container) -> list[dict[str, Any]]:
    """Three days of archived contacts of many loans, some of them this loan's, in several batches."""
    records = [contact_to_item(c) for c in synthetic_contacts(90, per_day=30, start=utc(2026, 3, 2))]
    for n, record in enumerate(records):
        if record["jurisdiction"] == "CN" and n % 4 == 1:
            record["loan_id"] = LOAN
            record["borrower_id"] = f"B-{LOAN}"
    for batch in (records[:40], records[40:70], records[70:]):
        archive(container, batch)
    return [r for r in records if r["loan_id"] == LOAN]


def _independently_verified(case: dict[str, Any]) -> None:
    """The verification procedure, recomputed here with hashlib and gzip only (not the domain's `verify`)."""
    proof = case["proof"]
    objects = {}
    for entry in proof["objects"]:
        data = base64.b64decode(entry["data_base64"])
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        objects[entry["key"]] = [json.loads(line) for line in gzip.decompress(data).decode().splitlines()]
    for line in case["contact_history"]:
        record = {k: v for k, v in line.items() if k != "object_key"}
        assert record in objects[line["object_key"]]
    previous = None
    for entry in proof["manifests"]:
        body = entry["body"].encode()
        digest = hashlib.sha256(body).hexdigest()
        assert digest == entry["sha256"]
        manifest = json.loads(body)
        if previous is not None:
            assert manifest["seq"] == previous[0] + 1
            assert manifest["prev_manifest_sha256"] == previous[1]
        if manifest["object_key"] in objects:
            data = base64.b64decode(
                next(o["data_base64"] for o in proof["objects"] if o["key"] == manifest["object_key"])
            )
            assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
            assert manifest["records"] == len(objects[manifest["object_key"]])
        previous = (manifest["seq"], digest)
    assert previous is not None
    assert previous[1] == proof["anchor"]["manifest_sha256"] == proof["anchor"]["chain_head_sha256"]


def test_a_referral_builds_one_case_file_with_a_proof_a_court_can_recompute(
    stack: LocalStack, container: Container, case_container: Container
) -> None:
    loan = cn_cash_loan(LOAN, due=date(2026, 3, 1))
    register(container, loan, borrower_for(loan), utc(2026, 2, 1))
    receive_payment(
        PaymentReceived("P-1", LOAN, 100_000, "CNY", utc(2026, 3, 5, 2)),
        loans=container.loans,
        ledger=container.payments,
        playbook=bundled_playbook(),
    )
    mine = _history(container)

    result = build_or_fetch(LOAN, "A-LEGAL-1", REFERRED, _ports(case_container), jurisdiction="CN")

    case = result.document
    assert result.written
    assert result.problems == ()
    assert [line["contact_id"] for line in case["contact_history"]] == sorted(
        (r["contact_id"] for r in mine),
        key=lambda c: next(r["occurred_at"] for r in mine if r["contact_id"] == c),
    )
    assert all("name" not in line and "phone" not in line for line in case["contact_history"])
    _independently_verified(case)
    # The identity is in the file (inside the trust boundary), the amounts split and within the cap.
    assert case["borrower"]["name"] == "王小明"
    claim = case["claim"]
    # Due Sunday 1 March, payable Monday 2 March; 100,000 paid on 5 March: penalty 750 (3 days at 500
    # ppm a day on 500,000), fee 1,000, interest 3,500, then 94,750 of principal.
    assert claim["principal_minor"] == 500_000 - 94_750
    assert claim["interest_minor"] == 0
    assert claim["fee_minor"] == 0
    assert claim["penalty_minor"] > 0
    assert claim["total_minor"] == sum(
        claim[k] for k in ("principal_minor", "interest_minor", "fee_minor", "penalty_minor")
    )
    assert claim["cap"]["within_cap"], claim["cap"]
    assert "LPR" in claim["cap"]["source"]
    assert case["payments"] == [
        {
            "payment_id": "P-1",
            "value_date": "2026-03-05",
            "amount_minor": 100_000,
            "currency": "CNY",
            "reversed": False,
        }
    ]
    assert case["limitation"]["default_on"] == "2026-03-03"  # the day after the last on-time day
    assert case["limitation"]["ends_on"] == "2029-03-03"
    assert "art. 188" in case["limitation"]["source"]
    # Both renderings are in the restricted bucket, encrypted with the data key.
    s3 = boto3.client("s3")
    bucket = case_container.settings.case_file_bucket
    json_key, html_key = case_file_keys("CN", LOAN, "A-LEGAL-1")
    head = s3.head_object(Bucket=bucket, Key=json_key)
    assert head["ServerSideEncryption"] == "aws:kms"
    page = s3.get_object(Bucket=bucket, Key=html_key)["Body"].read().decode()
    assert "王小明" in page
    assert "<script" not in page
    assert "http" not in page.replace("http-equiv", "")

    # A redelivered referral writes nothing: the same file, one version.
    again = build_or_fetch(LOAN, "A-LEGAL-1", REFERRED, _ports(case_container), jurisdiction="CN")
    assert not again.written
    assert again.document == case
    versions = s3.list_object_versions(Bucket=bucket, Prefix=json_key).get("Versions", [])
    assert len(versions) == 1


def test_a_container_reads_each_archive_object_once(
    stack: LocalStack, container: Container, case_container: Container
) -> None:
    """A referral used to re-read the jurisdiction's whole archive: a book's case files cost its
    referrals times its archive. One container's catalogue reads each object once; a later referral
    reads only what is new, and the holding objects again for the bytes the proof embeds."""
    loan = cn_cash_loan(LOAN, due=date(2026, 3, 1))
    register(container, loan, borrower_for(loan), utc(2026, 2, 1))
    _history(container)
    archive(
        container, [contact_to_item(c) for c in synthetic_contacts(30, per_day=30, start=utc(2026, 3, 6))]
    )
    ports = _ports(case_container)
    listed = ports.archive.keys("contacts/jurisdiction=CN/")

    first = build_or_fetch(LOAN, "A-LEGAL-5", REFERRED, ports, jurisdiction="CN").document
    assert ports.catalogue.reads == len(listed)  # each manifest and data object once
    held = len(first["proof"]["objects"])
    assert 0 < held < len(listed) // 2

    second = build_or_fetch(LOAN, "A-LEGAL-6", REFERRED, ports, jurisdiction="CN").document
    assert ports.catalogue.reads == len(listed) + held
    assert second["contact_history"] == first["contact_history"]

    later = [contact_to_item(c) for c in synthetic_contacts(12, per_day=12, start=utc(2026, 3, 9))]
    for record in later:
        if record["jurisdiction"] == "CN":
            record["loan_id"], record["borrower_id"] = LOAN, f"B-{LOAN}"
    archive(container, later)
    new_objects = len(ports.archive.keys("contacts/jurisdiction=CN/")) - len(listed)
    before = ports.catalogue.reads
    third = build_or_fetch(LOAN, "A-LEGAL-7", REFERRED, ports, jurisdiction="CN")
    assert new_objects == 2
    assert ports.catalogue.reads - before == new_objects + held  # the new pair, the old holders' bytes
    assert third.records == len(first["contact_history"]) + sum(r["jurisdiction"] == "CN" for r in later)
    assert third.problems == ()
    _independently_verified(third.document)


def test_an_altered_archive_object_breaks_the_proof(
    stack: LocalStack, container: Container, case_container: Container
) -> None:
    loan = cn_cash_loan(LOAN, due=date(2026, 3, 1))
    register(container, loan, borrower_for(loan), utc(2026, 2, 1))
    _history(container)
    case = build_or_fetch(LOAN, "A-LEGAL-2", REFERRED, _ports(case_container), jurisdiction="CN").document
    assert verify(case) == []

    tampered = json.loads(json.dumps(case))
    line = tampered["contact_history"][0]
    line["status"] = "SUPPRESSED"
    assert any("not a line of" in problem for problem in verify(tampered))
    relinked = json.loads(json.dumps(case))
    body = json.loads(relinked["proof"]["manifests"][-1]["body"])
    body["records"] += 1
    relinked["proof"]["manifests"][-1]["body"] = json.dumps(body, sort_keys=True, separators=(",", ":"))
    assert verify(relinked)


def test_no_case_file_for_a_time_barred_claim(
    stack: LocalStack, container: Container, case_container: Container
) -> None:
    loan = replace(cn_cash_loan(LOAN, due=date(2026, 3, 1)), original_default_on=date(2022, 5, 1))
    register(container, loan, borrower_for(loan), utc(2026, 2, 1))

    with pytest.raises(TimeBarred):
        build_or_fetch(LOAN, "A-LEGAL-3", REFERRED, _ports(case_container), jurisdiction="CN")

    listed = boto3.client("s3").list_objects_v2(Bucket=case_container.settings.case_file_bucket)
    assert listed.get("KeyCount", 0) == 0


def test_arrears_legal_builds_then_fetches_and_verifies(
    stack: LocalStack,
    container: Container,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    loan = cn_cash_loan(LOAN, due=date(2026, 3, 1))
    register(container, loan, borrower_for(loan), utc(2026, 2, 1))
    _history(container)
    environment = tmp_path / "env.json"
    environment.write_text(json.dumps(stack.functions["CaseFileFunction"].environment))
    command = ["case", "--loan", LOAN, "--environment", str(environment), "--out", str(tmp_path)]

    assert legal.main([*command, "--at", "2026-03-20T04:00:00Z"]) == 0
    built = capsys.readouterr().out
    assert f"{LOAN} case manual-20260320: built" in built
    assert "proof verified" in built
    case = json.loads((tmp_path / "manual-20260320.json").read_text())
    assert verify(case) == []
    assert (tmp_path / "manual-20260320.html").read_text().startswith("<!DOCTYPE html>")

    assert legal.main(command) == 0  # no case id: the loan's file in the bucket, fetched
    assert f"{LOAN} case manual-20260320: fetched" in capsys.readouterr().out


def test_arrears_legal_refuses_a_time_barred_claim(
    stack: LocalStack, container: Container, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loan = replace(cn_cash_loan(LOAN, due=date(2026, 3, 1)), original_default_on=date(2022, 5, 1))
    register(container, loan, borrower_for(loan), utc(2026, 2, 1))
    environment = tmp_path / "env.json"
    environment.write_text(json.dumps(stack.functions["CaseFileFunction"].environment))

    code = legal.main(
        ["case", "--loan", LOAN, "--environment", str(environment), "--at", "2026-03-20T04:00:00Z"]
    )

    assert code == 1
    assert "limitation period ended on 2025-05-01" in capsys.readouterr().err


def test_a_referral_on_the_legal_topic_reaches_the_case_file_function(
    stack: LocalStack, container: Container, make_cloud: CloudFactory
) -> None:
    loan = cn_cash_loan(LOAN, due=date(2026, 3, 1))
    register(container, loan, borrower_for(loan), utc(2026, 2, 1))
    _history(container)
    cloud = make_cloud(REFERRED)
    referral = {
        "type": "LEGAL_REFERRAL",
        "action_id": "A-LEGAL-TOPIC",
        "loan_id": LOAN,
        "borrower_token": "tok",
        "jurisdiction": "CN",
        "step": "legal-d90",
        "referred_at": "2026-03-20T04:00:00Z",
    }
    # As the dispatcher publishes it: SNS delivers to the subscribed queue, the queue to the function.
    boto3.client("sns").publish(TopicArn=stack.physical["LegalTopic"], Message=json.dumps(referral))
    cloud.settle()
    boto3.client("sns").publish(TopicArn=stack.physical["LegalTopic"], Message=json.dumps(referral))
    cloud.settle()

    assert cloud.counts.get("CaseFileFunction") == 2
    bucket = stack.physical["CaseFileBucket"]
    json_key, _ = case_file_keys("CN", LOAN, "A-LEGAL-TOPIC")
    case = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=json_key)["Body"].read())
    assert verify(case) == []
    versions = boto3.client("s3").list_object_versions(Bucket=bucket, Prefix=json_key).get("Versions", [])
    assert len(versions) == 1  # the redelivered referral found the file


def test_a_malformed_referral_fails_alone_and_reaches_the_dlq(
    stack: LocalStack, container: Container, make_cloud: CloudFactory
) -> None:
    cloud = make_cloud(REFERRED)
    boto3.client("sns").publish(
        TopicArn=stack.physical["LegalTopic"], Message=json.dumps({"type": "LEGAL_REFERRAL"})
    )
    for _ in range(4):
        cloud.settle()

    assert not boto3.client("s3").list_objects_v2(Bucket=stack.physical["CaseFileBucket"]).get("Contents")
    dlq = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.physical["CaseFileDLQ"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert dlq == "1"
