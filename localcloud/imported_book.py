"""`arrears-demo --book FILE`: the lender's own book, imported the way a lender imports it, then simulated.

The file is put under `imports/` of the stack's import bucket; S3's `Object Created` event reaches
the import function through its EventBridge rule (`LocalCloud.put_object`), which validates every
row, imports the book and writes its report under `reports/` (docs/import.md). The simulator then
reads back the loans the import registered and gives each borrower a behaviour of the generated
book (`localcloud.book`: on time, late, partial, never, recovered after charge-off), drawn from the
seed and the loan id alone, so the same file and seed give the same run.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3

from arrears.adapters.book_files import IMPORTS_PREFIX, report_keys
from arrears.adapters.dynamodb import LoanRepository
from arrears.config.playbook import bundled_playbook
from arrears.domain.costcap import ContractOverCap
from arrears.domain.ledger import LedgerEntry
from arrears.domain.moneyrules import NoCapKnown
from arrears.events.book_file import parse_book
from arrears.usecases.onboarding import registered_contract
from localcloud.book import BEHAVIOURS, Behaviour, BookEntry
from localcloud.cloud import LocalCloud

IMPORT_BUCKET = "ImportBucket"


def behaviour_of(seed: int, loan_id: str) -> tuple[Behaviour, int, int]:
    """(behaviour, days late, local hour of payment) of an imported loan's borrower: the generated
    book's mix (`localcloud.book.BEHAVIOURS`; half the US loans that never pay are recovered after
    the charge-off), drawn from the seed and the loan id."""
    rng = random.Random(f"{seed}:{loan_id}")
    behaviour = rng.choices([b for b, _ in BEHAVIOURS], [w for _, w in BEHAVIOURS])[0]
    if behaviour is Behaviour.NEVER and rng.random() < 0.5:
        behaviour = Behaviour.RECOVERED
    return behaviour, rng.randrange(2, 40), rng.randrange(7, 23)


def import_file(cloud: LocalCloud, path: Path) -> dict[str, Any]:
    """Put the book file under `imports/` and return the import's summary (what the function wrote
    under `reports/`) with its rejected rows (`problems`: line, record, id, field, problem)."""
    key = f"{IMPORTS_PREFIX}{path.name}"
    responses = cloud.put_object(IMPORT_BUCKET, key, path.read_bytes())
    if not responses or not isinstance(responses[0], dict):
        raise RuntimeError(f"{key}: the import function did not run or failed (see logs.jsonl)")
    s3 = boto3.client("s3")
    bucket = cloud.stack.physical[IMPORT_BUCKET]
    errors_key, summary_key = report_keys(key)
    summary = json.loads(s3.get_object(Bucket=bucket, Key=summary_key)["Body"].read())
    lines = s3.get_object(Bucket=bucket, Key=errors_key)["Body"].read().decode().splitlines()
    return {
        **summary,
        "report": {"errors": errors_key, "summary": summary_key},
        "problems": [json.loads(x) for x in lines],
    }


def planned_entries(path: Path, seed: int) -> list[BookEntry]:
    """The book the simulator drives, known before the import runs (the local cloud's borrowers and
    replies are chosen from it): every loan row of the file that parses, whose borrower row is in the
    file and whose contract registers (`registered_contract`, with the file's payments of the loan as
    its history), with a behaviour (`behaviour_of`), in file order. `imported` then keeps those the
    import registered."""
    records = parse_book(path.read_text(encoding="utf-8-sig"), path.name)
    playbook = bundled_playbook()
    people = {record.borrower.borrower_id: record.borrower for record in records.borrowers}
    history: dict[str, list[LedgerEntry]] = {}
    for payment in records.payments:
        history.setdefault(payment.loan_id, []).append(payment.entry)
    entries: dict[str, BookEntry] = {}
    for record in records.loans:
        borrower = people.get(record.loan.borrower_id)
        if (
            borrower is None
            or record.loan.loan_id in entries
            or record.loan.terms.product not in playbook.products
        ):
            continue
        try:
            loan = registered_contract(record.loan, borrower, playbook, history.get(record.loan.loan_id, ()))
        except (ContractOverCap, NoCapKnown):
            continue
        behaviour, late_days, hour = behaviour_of(seed, loan.loan_id)
        entries[loan.loan_id] = BookEntry(loan, borrower, behaviour, late_days=late_days, pay_hour_local=hour)
    return list(entries.values())


def imported(entries: list[BookEntry], loans: LoanRepository) -> list[BookEntry]:
    """`entries` whose loans the import registered, each with its loan as stored."""
    kept: list[BookEntry] = []
    for entry in entries:
        stored = loans.get(entry.loan.loan_id)
        if stored is not None:
            kept.append(replace(entry, loan=stored))
    return kept
