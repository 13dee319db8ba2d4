"""`make demo` in small: simulated days through the whole stack, the archive verified, no PII out."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from arrears_local import audit
from arrears_local.book import generate_book
from arrears_local.simulation import run_demo

LOANS, DAYS, SEED, START = 40, 8, 7, date(2026, 3, 1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("demo")
    return out, run_demo(out=out, loans=LOANS, days=DAYS, seed=SEED, start=START)


def test_every_scheduled_function_ran_and_every_sweep_finished_before_its_deadline(
    demo: tuple[Path, dict[str, Any]],
) -> None:
    _, summary = demo
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
        "ArchiverFunction",
        "PaymentsFunction",
    }
    assert sum(summary["loans_by_bucket"].values()) == LOANS


def test_the_exported_archive_verifies(
    demo: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    out, summary = demo
    assert summary["records_archived"]
    assert audit.main(["verify", "--dir", str(out / "archive")]) == 0, capsys.readouterr().out


def test_no_personal_data_reaches_the_logs_or_the_archive(demo: tuple[Path, dict[str, Any]]) -> None:
    out, _ = demo
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
