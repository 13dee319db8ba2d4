"""Archive lines, batches and manifests."""

from __future__ import annotations

from datetime import date

from arrears.domain.archive import (
    ARCHIVE_FIELDS,
    ArchiveKey,
    Manifest,
    archive_line,
    batch_id_for,
    decode_lines,
    encode_lines,
    manifest_key,
    object_key,
    parse_key,
    retain_until,
)
from arrears.domain.tokens import borrower_token


def test_lines_hold_only_allow_listed_fields_and_a_token() -> None:
    record = {
        "contact_id": "c1",
        "borrower_id": "B-42",
        "name": "Zhang San",
        "phone": "+8613800000000",
        "email": "z@example.com",
        "body": "pay now",
        "channel": "SMS",
        "dpd": 3,
    }
    token = borrower_token(b"k", "B-42")
    line = archive_line(record, token)
    assert tuple(line) == ARCHIVE_FIELDS
    assert line["borrower_token"] == token
    assert token != "B-42"
    flat = repr(line)
    for secret in ("Zhang", "+8613800000000", "z@example.com", "pay now", "B-42"):
        assert secret not in flat


def test_batches_are_reproducible_and_keys_follow_the_layout() -> None:
    lines: list[dict[str, object]] = [{"a": 1}, {"b": "二"}]
    assert encode_lines(lines) == encode_lines(lines)
    assert decode_lines(encode_lines(lines)) == lines
    batch = batch_id_for(["x", "y"])
    assert batch == batch_id_for(["y", "x"])
    key = object_key("CN", date(2026, 3, 1), batch)
    assert key == f"contacts/jurisdiction=CN/dt=2026-03-01/{batch}.jsonl.gz"
    assert manifest_key(key) == f"contacts/jurisdiction=CN/dt=2026-03-01/{batch}.manifest.json"


def test_manifest_round_trip_and_retention() -> None:
    manifest = Manifest("k", "ab", 3, "CN", 2, "cd")
    assert Manifest.from_bytes(manifest.to_bytes()) == manifest
    assert retain_until(date(2028, 2, 29), 5) == date(2033, 2, 28)


def test_the_athena_tables_have_every_archive_field_and_partition_on_jurisdiction_and_dt() -> None:
    import re
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2] / "infrastructure" / "athena"
    sql = (root / "contacts.sql").read_text()
    raw = sql.split("CREATE EXTERNAL TABLE IF NOT EXISTS arrears_archive.contacts_raw (", 1)[1].split(
        ")\n", 1
    )[0]
    columns = [m.group(1) for m in re.finditer(r"^\s+(\w+)\s+\w", raw, re.MULTILINE)]
    expected = [f for f in ARCHIVE_FIELDS if f != "jurisdiction"]  # a partition column in Athena
    assert columns == expected
    assert "PARTITIONED BY (jurisdiction string, dt string)" in sql
    assert "contacts/jurisdiction=${jurisdiction}/dt=${dt}/" in sql

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    glue = yaml.load((root / "glue.yaml").read_text(), Loader=Loader)  # noqa: S506 - SafeLoader subclass
    table = glue["Resources"]["ContactsRawTable"]["Properties"]["TableInput"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == expected
    assert [k["Name"] for k in table["PartitionKeys"]] == ["jurisdiction", "dt"]
    assert table["Parameters"]["projection.enabled"] == "true"


def test_the_erasure_audit_record_names_fields_but_holds_no_value() -> None:
    from datetime import UTC, datetime

    from arrears.usecases.erasure import (
        ErasureOutcome,
        ErasureRequest,
        audit_record,
        erasure_audit_key,
        request_sha256,
    )

    at = datetime(2026, 3, 6, 9, tzinfo=UTC)
    request = ErasureRequest("ER-1", "B-42", at)
    outcome = ErasureOutcome(
        request_sha256("ER-1"), True, ["name", "phone"], loans=2, pseudonymised={"contacts": 7}
    )
    token = borrower_token(b"k" * 32, "B-42")

    record = audit_record(request, outcome, token, at)

    assert record["record_type"] == "ERASURE"
    assert record["borrower_token"] == token
    assert "B-42" not in str(record)
    assert "ER-1" not in str(record)
    assert record["contacts_pseudonymised"] == 7
    assert erasure_audit_key("ER-1", at.date()).startswith("erasures/dt=2026-03-06/")
    assert "ER-1" not in erasure_audit_key("ER-1", at.date())


def test_an_archive_key_reads_back_as_it_was_written() -> None:
    data = object_key("US-REGF", date(2026, 3, 9), "0a1b2c3d")
    assert parse_key(data) == ArchiveKey("US-REGF", date(2026, 3, 9), "0a1b2c3d", is_manifest=False)
    assert parse_key(manifest_key(data)) == ArchiveKey("US-REGF", date(2026, 3, 9), "0a1b2c3d", True)
    assert parse_key("contacts/jurisdiction=CN/dt=2026-02-30/0a1b.jsonl.gz") is None  # no such day
    assert parse_key("contacts/jurisdiction=CN/2026-03-09/0a1b.jsonl.gz") is None
    assert parse_key("exports/jurisdiction=CN/dt=2026-03-09/0a1b.jsonl.gz") is None
