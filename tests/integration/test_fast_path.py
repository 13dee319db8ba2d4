"""The fast path (in-memory AWS under the production adapters) against the moto path, on one book.

The same book, seed and days run through `CoreRun` on moto and in memory must leave the same
contact records, the same archive (every object, byte for byte), the same loans, bucket transitions
and actions, and the same figures: the fast path is a faster engine, not a second simulator.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from localcloud.book import generate_book
from localcloud.memory.run import CoreRun, in_memory, on_moto
from localcloud.memory.whatif import what_if
from localcloud.requests import RequestCount
from localcloud.stack import LocalStack

START = date(2026, 3, 1)
RANDOM = {"append_token"}  # a uuid4 each write draws (the history's own-retry token): never equal
COMPARED_TABLES = ("ContactsTable", "LoansTable", "ActionsTable", "DelinquencyHistoryTable", "PaymentsTable")


def _run(parts: tuple[object, object], loans: int, days: int) -> CoreRun:
    cloud, container = parts
    run = CoreRun(cloud, container, generate_book(loans, 11, START), START)  # type: ignore[arg-type]
    run.load()
    run.run(days)
    return run


def _drawn_apart(items: list[dict[str, object]]) -> list[dict[str, object]]:
    kept = [{k: v for k, v in item.items() if k not in RANDOM} for item in items]
    return sorted(kept, key=lambda item: sorted((k, str(v)) for k, v in item.items()))


@pytest.fixture
def runs(stack: LocalStack) -> tuple[CoreRun, CoreRun, RequestCount]:
    counted = RequestCount()  # the moto path's requests, counted by botocore's hooks
    counted.install()
    try:
        moto = _run(on_moto(stack, START), 12, 10)
    finally:
        counted.uninstall()
    fast = _run(in_memory(stack, START, seed=11), 12, 10)
    return moto, fast, counted


def test_both_paths_leave_the_same_contacts_archive_and_figures(
    runs: tuple[CoreRun, CoreRun, RequestCount],
) -> None:
    moto, fast, counted = runs
    contacts = moto.table("ContactsTable")
    assert contacts, "the book must reach contacts for the comparison to mean anything"
    for table in COMPARED_TABLES:
        assert _drawn_apart(fast.table(table)) == _drawn_apart(moto.table(table)), table
    moto_archive, fast_archive = moto.archive(), fast.archive()
    assert any(key.startswith("contacts/") for key in moto_archive)
    assert fast_archive == moto_archive
    assert fast.figures() == moto.figures()
    # The handlers made the same AWS requests (by operation and by function) and sent the same SMS
    # parts: what the report's cost is priced from.
    fast_counted: Any = fast.container
    assert fast_counted.world.requests() == counted.as_json()


def test_a_book_split_across_worlds_gives_the_figures_of_one(tmp_path: Path) -> None:
    """`arrears-whatif --workers 2` splits the borrowers across two processes: nothing in the core
    loop crosses borrowers, so the per-arm figures and the bucket transitions are those of one world
    (only the archive's batching differs: each world archives its own batches)."""
    one = what_if(loans=24, days=6, seed=5, start=START, out=tmp_path / "one", progress=False)
    two = what_if(loans=24, days=6, seed=5, start=START, out=tmp_path / "two", progress=False, workers=2)
    assert two["run"]["loans"] == one["run"]["loans"] == 24
    for key in ("contacts_by_channel_and_outcome", "loans_by_state", "payments"):
        assert two["figures"][key] == one["figures"][key], key
    assert two["outcomes"]["per_jurisdiction"] == one["outcomes"]["per_jurisdiction"]
    transitions = [(tmp_path / run / "data" / "transitions.jsonl").read_text() for run in ("one", "two")]
    assert transitions[0] == transitions[1]
    assert transitions[0], "the book must reach bucket transitions"
    assert (tmp_path / "two" / "report.html").exists()


def test_arrears_whatif_runs_in_a_shell_with_no_aws_configuration(tmp_path: Path) -> None:
    """A new user's first `arrears-whatif`, in a shell with no region, credentials or config file:
    it sets its own local ones (like `arrears-demo`) instead of failing in botocore."""
    shell = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    shell |= {"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    command = [sys.executable, "-m", "localcloud.memory.whatif", "--loans", "3", "--days", "2"]
    command += ["--no-progress", "--out", str(tmp_path / "w")]
    done = subprocess.run(command, env=shell, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr[-2000:]
    assert "report.html" in done.stdout
    assert (tmp_path / "w" / "summary.json").exists()


def test_a_payment_due_before_the_first_utc_instant_arrives_as_the_run_starts(stack: LocalStack) -> None:
    # Loan 2244 of this book is paid at 07:17 in Shanghai on day one: 23:17 UTC the day before.
    (entry,) = [e for e in generate_book(4000, 7, START) if e.loan.loan_id == "L007002244"]
    cloud, container = in_memory(stack, START, seed=7)
    run = CoreRun(cloud, container, [entry], START)
    run.load()
    run.run(1)
    assert run.stats.payments_sent == 1
