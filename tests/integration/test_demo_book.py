"""`arrears-demo --book samples/book.csv` end to end, in small: the lender's file is put under imports/,
imported by the import function, its malformed row reported and skipped, and the imported loans
simulated through the real handlers."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

from localcloud.simulation import run_demo

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "book.csv"


def test_the_demo_imports_the_sample_book_skips_its_malformed_row_and_simulates_the_rest(
    tmp_path: Path,
) -> None:
    # An earlier run's output in the same folder: its case files and bureau files must not pass for
    # this run's (a trial found three stale US case files beside this run's two).
    for stale in ("case-files/jurisdiction=US-REGF/old.json", "bureau/old.txt", "archive/old.json"):
        (tmp_path / stale).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / stale).write_text("{}")
    summary = run_demo(out=tmp_path, loans=0, days=2, seed=7, start=date(2026, 3, 1), book=SAMPLE)
    for stale in ("case-files/jurisdiction=US-REGF/old.json", "bureau/old.txt", "archive/old.json"):
        assert not (tmp_path / stale).exists(), stale
    imported = summary["book_import"]
    assert (imported["rows_read"], imported["imported"], imported["rejected"]) == (97, 96, 1)
    assert imported["problems"] == [
        {
            "field": "disbursed_on",
            "id": "SL-0999",
            "line": 98,
            "problem": "Input should be a valid date or datetime, day value is outside expected range",
            "record": "loan",
        }
    ]
    assert summary["run"]["loans"] == 36
    # the book's 36 loans and those the lending core disbursed during the run (localcloud.lending_core)
    assert sum(summary["loans_by_bucket"].values()) == 36 + summary["lending_core"]["loans_registered"]
    assert summary["invariants"]["ok"], summary["invariants"]
    assert summary["contact_records"] > 0  # the imported overdue loans are collected
    # The file's personal data went to the Borrowers table only: not to the logs, the summary, the archive.
    written = (tmp_path / "logs.jsonl").read_text() + json.dumps(summary, ensure_ascii=False)
    for path in (tmp_path / "archive").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            written += (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode(errors="ignore")
    for line in SAMPLE.read_text().splitlines()[1:31]:  # the borrower rows
        cells = line.split(",")
        for value in (cells[6], cells[7], cells[8]):  # name, phone, e-mail
            assert value not in written, value
