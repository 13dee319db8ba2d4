"""Write the sample book (samples/book.csv and samples/book.jsonl): the file `arrears-demo --book` and
`arrears-import` read in the docs and tests.

Three dozen loans across CN and US-REGF (New York, Illinois, California, Massachusetts, Washington),
some borrowers with two loans, cash loans and instalment plans, payment history up to the demo's
default start (2026-03-01), priced within each jurisdiction's cost cap. One row is malformed on
purpose (a loan disbursed on 30 February: line `MALFORMED_LINE` of the CSV) and is reported and
skipped by every import. Deterministic: running it again writes the same files.

    python scripts/sample_book.py [--out samples]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from arrears.config.playbook import bundled_playbook
from arrears.domain.borrowers import Borrower
from arrears.domain.costcap import ContractOverCap
from arrears.domain.loans import Loan, build_schedule
from arrears.domain.terms import LoanTerms
from arrears.events.book_file import CSV_COLUMNS
from arrears.usecases.onboarding import registered_contract

START = date(2026, 3, 1)
SEED = 2026
LOANS = 36
BAD_LOAN_ID = "SL-0999"  # the malformed row's loan
CN_PLACES = (("Asia/Shanghai", "Shanghai"), ("Asia/Shanghai", "Guangdong"), ("Asia/Urumqi", "Xinjiang"))
US_PLACES = (
    ("America/New_York", "NY", 212),
    ("America/Chicago", "IL", 312),
    ("America/Los_Angeles", "CA", 415),
    ("America/New_York", "MA", 617),
    ("America/Los_Angeles", "WA", 206),
)
CN_NAMES = ("王伟", "李娜", "张敏", "刘洋", "陈静", "杨磊", "黄丽", "赵强")
US_NAMES = ("Ann Lee", "Bo Diaz", "Cy Hart", "Di Moss", "Ed Park", "Flo Kim", "Gus Vale", "Hal Roe")


def _borrower(rng: random.Random, n: int, jurisdiction: str) -> dict[str, Any]:
    if jurisdiction == "CN":
        zone, region = rng.choice(CN_PLACES)
        return {
            "borrower_id": f"SB-{n:04d}",
            "timezone": zone,
            "region": region,
            "language": "zh-CN",
            "name": rng.choice(CN_NAMES),
            "phone": f"+86139{rng.randrange(10**7, 10**8)}",
            "email": f"sample{n:04d}@example.cn",
            "address": f"{rng.randrange(1, 300)} 示例路, {region}",
        }
    zone, region, area = rng.choice(US_PLACES)
    row: dict[str, Any] = {
        "borrower_id": f"SB-{n:04d}",
        "timezone": zone,
        "region": region,
        "language": "en",
        "name": rng.choice(US_NAMES),
        "phone": f"+1{area}555{rng.randrange(1000, 10000)}",
        "email": f"sample{n:04d}@example.com",
        "address": f"{rng.randrange(1, 999)} Sample Street, {region}",
    }
    if n % 5 == 0:
        row |= {"contact_from_hour": 18, "contact_to_hour": 21}
    return row


def _priced(loan: dict[str, Any], borrower: dict[str, Any]) -> dict[str, Any]:
    """The loan at the first monthly rate (then fee) its jurisdiction's cost cap allows."""
    playbook = bundled_playbook()
    person = Borrower(borrower["borrower_id"], borrower["timezone"], region=borrower["region"])
    for rate in (loan["monthly_interest_bps"], 80, 60, 40, 20):
        for fee in (loan["fee_minor"], 0):
            contract = Loan(
                loan_id=loan["loan_id"],
                borrower_id=loan["borrower_id"],
                jurisdiction=loan["jurisdiction"],
                currency=loan["currency"],
                principal_minor=loan["principal_minor"],
                disbursed_on=date.fromisoformat(loan["disbursed_on"]),
                instalments=build_schedule(
                    loan["principal_minor"],
                    disbursed_on=date.fromisoformat(loan["disbursed_on"]),
                    instalments=loan["instalments"],
                    monthly_interest_bps=rate,
                    fee_minor=fee,
                    cash_loan_days=loan["cash_loan_days"],
                ),
                penalty_daily_ppm=loan["penalty_daily_ppm"],
                apr_cap_bps=0,
                terms=LoanTerms(product=loan["product"]),
            )
            try:
                registered_contract(contract, person, playbook)
            except ContractOverCap:
                continue
            return loan | {"monthly_interest_bps": rate, "fee_minor": fee}
    raise ContractOverCap(f"{loan['loan_id']}: no sample price within the cap")


def _history(rng: random.Random, loan: dict[str, Any]) -> list[dict[str, Any]]:
    """Payments before START: every instalment due before it paid on time, late or (one in four) not."""
    schedule = build_schedule(
        loan["principal_minor"],
        disbursed_on=date.fromisoformat(loan["disbursed_on"]),
        instalments=loan["instalments"],
        monthly_interest_bps=loan["monthly_interest_bps"],
        fee_minor=loan["fee_minor"],
        cash_loan_days=loan["cash_loan_days"],
    )
    rows: list[dict[str, Any]] = []
    for instalment in schedule:
        if instalment.due_on >= START - timedelta(days=3):
            break
        style = rng.random()
        if style < 0.25:
            break  # stopped paying: in arrears from here
        paid_on = (
            instalment.due_on - timedelta(days=1) if style < 0.8 else instalment.due_on + timedelta(days=2)
        )
        if paid_on >= START:
            break
        rows.append(
            {
                "payment_id": f"SP-{loan['loan_id']}-{instalment.seq}",
                "loan_id": loan["loan_id"],
                "amount_minor": instalment.total_due,
                "currency": loan["currency"],
                "paid_on": paid_on.isoformat(),
            }
        )
    return rows


def sample_rows() -> list[dict[str, Any]]:
    """Every row of the sample book, in file order (borrowers, loans, payments, the malformed row)."""
    rng = random.Random(SEED)  # noqa: S311 - a sample, not a secret
    borrowers: list[dict[str, Any]] = []
    loans: list[dict[str, Any]] = []
    payments: list[dict[str, Any]] = []
    for n in range(LOANS):
        if n % 6 == 5:  # every sixth loan is the previous borrower's second loan
            borrower = borrowers[-1]
            jurisdiction = "CN" if borrower["timezone"].startswith("Asia/") else "US-REGF"
        else:
            jurisdiction = "CN" if rng.random() < 0.55 else "US-REGF"
            borrower = _borrower(rng, len(borrowers), jurisdiction)
            borrowers.append(borrower)
        instalments = rng.choice((1, 1, 3, 6, 12))
        disbursed = START - timedelta(days=rng.randrange(20, 150))
        principal = rng.randrange(50, 1_500) * 1_000
        loan = {
            "loan_id": f"SL-{n:04d}",
            "borrower_id": borrower["borrower_id"],
            "jurisdiction": jurisdiction,
            "product": "cn-consumer" if jurisdiction == "CN" else "us-closed-end",
            "currency": "CNY" if jurisdiction == "CN" else "USD",
            "principal_minor": principal,
            "disbursed_on": disbursed.isoformat(),
            "instalments": instalments,
            "monthly_interest_bps": rng.choice((60, 80, 100)),
            "fee_minor": principal // 100,
            "cash_loan_days": rng.choice((14, 30)),
            "penalty_daily_ppm": 500 if jurisdiction == "CN" else 300,
        }
        loan = _priced(loan, borrower)
        loans.append(loan)
        payments.extend(_history(rng, loan))
    bad = dict(loans[0], loan_id=BAD_LOAN_ID, disbursed_on="2026-02-30")
    rows = [{"record": "borrower", **b} for b in borrowers]
    rows += [{"record": "loan", **loan} for loan in loans]
    rows += [{"record": "payment", **p} for p in payments]
    rows.append({"record": "loan", **bad})
    return [{"schema_version": "1", **row} for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("samples"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = sample_rows()
    with (args.out / "book.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with (args.out / "book.jsonl").open("w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows to {args.out / 'book.csv'} and {args.out / 'book.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
