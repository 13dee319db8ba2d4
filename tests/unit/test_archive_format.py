"""Archive lines, batches and manifests."""

from __future__ import annotations

from datetime import date

from arrears.domain.archive import (
    ARCHIVE_FIELDS,
    Manifest,
    archive_line,
    batch_id_for,
    decode_lines,
    encode_lines,
    manifest_key,
    object_key,
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
