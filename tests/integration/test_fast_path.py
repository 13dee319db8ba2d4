"""The fast path (in-memory AWS under the production adapters) against the moto path, on one book.

The same book, seed and days run through `CoreRun` on moto and in memory must leave the same
contact records, the same archive (every object, byte for byte), the same loans, bucket transitions
and actions, and the same figures: the fast path is a faster engine, not a second simulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
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


def _run(parts: tuple[object, object], loans: int, days: int, react_seed: int | None = None) -> CoreRun:
    cloud, container = parts
    book = generate_book(loans, 11, START)
    run = CoreRun(cloud, container, book, START, react_seed=react_seed)  # type: ignore[arg-type]
    run.load()
    run.run(days)
    return run


def _drawn_apart(items: list[dict[str, object]]) -> list[dict[str, object]]:
    kept = [{k: v for k, v in item.items() if k not in RANDOM} for item in items]
    return sorted(kept, key=lambda item: sorted((k, str(v)) for k, v in item.items()))


@pytest.fixture(params=["fixed", "reacting"])
def runs(stack: LocalStack, request: pytest.FixtureRequest) -> tuple[CoreRun, CoreRun, RequestCount]:
    """The same book on both paths: borrowers on the book's fixed schedule, or reacting (the
    behaviour model reads what each path's SNS delivered and answers through LoanEventsBus)."""
    # 20 loans: the smallest book of this seed whose modelled borrowers decide a payment in 10 days
    react_seed, loans = (11, 20) if request.param == "reacting" else (None, 12)
    counted = RequestCount()  # the moto path's requests, counted by botocore's hooks
    counted.install()
    try:
        moto = _run(on_moto(stack, START), loans, 10, react_seed)
    finally:
        counted.uninstall()
    fast = _run(in_memory(stack, START, seed=11), loans, 10, react_seed)
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
    if moto.reactions is not None and fast.reactions is not None:
        # The borrowers saw the same texts and e-mails at the same instants and did the same.
        end = START + timedelta(days=10)
        behaviour = moto.reactions.summary(end)
        assert fast.reactions.summary(end) == behaviour
        assert behaviour["payments"]["scheduled"] > 0, "the model must decide payments"
        assert sum(behaviour["contacts_that_reached_them"].values()) > 0


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
    report = (tmp_path / "two" / "report.html").read_text()
    assert 'id="path"' in report
    assert "Borrowers react" in report
    assert two["behaviour"]["payments"]["scheduled"] == one["behaviour"]["payments"]["scheduled"] > 0


def test_arrears_whatif_runs_in_a_shell_with_no_aws_configuration(tmp_path: Path) -> None:
    """A new user's first `arrears-whatif`, in a shell with no region, credentials or config file:
    it sets its own local ones (like `arrears-demo`) instead of failing in botocore."""
    shell = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    shell |= {"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    command = [sys.executable, "-m", "localcloud.memory.whatif", "--loans", "3", "--days", "2"]
    command += ["--no-progress", "--fixed-schedule", "--out", str(tmp_path / "w")]
    done = subprocess.run(command, env=shell, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr[-2000:]
    assert "report.html" in done.stdout
    summary = json.loads((tmp_path / "w" / "summary.json").read_text())
    assert summary["run"]["borrowers"] == "fixed schedule"
    # the report says what a fixed schedule means for the arms' comparison
    assert "ignore every contact" in (tmp_path / "w" / "report.html").read_text()


def test_a_payment_due_before_the_first_utc_instant_arrives_as_the_run_starts(stack: LocalStack) -> None:
    # Loan 2244 of this book is paid at 07:17 in Shanghai on day one: 23:17 UTC the day before.
    (entry,) = [e for e in generate_book(4000, 7, START) if e.loan.loan_id == "L007002244"]
    cloud, container = in_memory(stack, START, seed=7)
    run = CoreRun(cloud, container, [entry], START)
    run.load()
    run.run(1)
    assert run.stats.payments_sent == 1
