"""A reproducible synthetic loan book: loans, borrowers across time zones, and how each one pays.

Everything derives from one seed. Borrowers carry realistic-looking names, phones and e-mails so
that the privacy checks (logs and archive free of PII) are tested against data that would show.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from arrears.domain.borrowers import Borrower
from arrears.domain.loans import Loan, build_schedule
from arrears.domain.payments import Payment, apply_payment
from arrears.domain.penalties import amount_due


class Behaviour(StrEnum):
    ON_TIME = "ON_TIME"  # pays each instalment a day or two early
    LATE = "LATE"  # pays each instalment some days late
    PARTIAL = "PARTIAL"  # pays half late, the rest later still
    NEVER = "NEVER"  # stops paying


@dataclass(frozen=True)
class BookEntry:
    loan: Loan
    borrower: Borrower
    behaviour: Behaviour
    late_days: int
    pay_hour_local: int


CN_ZONES = (
    ("Asia/Shanghai", "Shanghai"),
    ("Asia/Shanghai", "Beijing"),
    ("Asia/Shanghai", "Guangdong"),
    ("Asia/Shanghai", "Sichuan"),
    ("Asia/Urumqi", "Xinjiang"),
)
US_ZONES = (
    ("America/New_York", "NY"),
    ("America/Chicago", "IL"),
    ("America/Denver", "CO"),
    ("America/Los_Angeles", "CA"),
    ("America/Anchorage", "AK"),
    ("Pacific/Honolulu", "HI"),
)
CN_SURNAMES = "王李张刘陈杨黄赵吴周"
CN_GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋")
US_FIRST = (
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
)
US_LAST = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
)
BEHAVIOURS = (
    (Behaviour.ON_TIME, 0.55),
    (Behaviour.LATE, 0.2),
    (Behaviour.PARTIAL, 0.1),
    (Behaviour.NEVER, 0.15),
)


# One borrower in five states preferred hours, both crossing midnight: evenings to 01:00 (the lawful
# part is 19:00 to the pack's end), and 20:00-10:00 (two lawful windows, mornings and evenings). Taken
# from the borrower's number, not the generator, so the rest of the book stays as it was.
PREFERRED_HOURS: dict[int, tuple[int, int]] = {3: (19, 1), 7: (20, 10)}


def _borrower(rng: random.Random, n: int, jurisdiction: str) -> Borrower:
    if jurisdiction == "CN":
        zone, region = rng.choice(CN_ZONES)
        name = rng.choice(CN_SURNAMES) + rng.choice(CN_GIVEN) + rng.choice(CN_GIVEN)
        phone = f"+861{rng.choice('3589')}{rng.randrange(10**8, 10**9)}"
        email = f"user{n:05d}.{rng.randrange(1000, 9999)}@example.cn"
        language = "zh-CN"
    else:
        zone, region = rng.choice(US_ZONES)
        name = f"{rng.choice(US_FIRST)} {rng.choice(US_LAST)}"
        phone = f"+1{rng.randrange(201, 989)}555{rng.randrange(1000, 9999)}"
        email = f"{name.split()[0].lower()}.{n:05d}@example.com"
        language = "en"
    return Borrower(
        borrower_id=f"B{n:06d}",
        timezone=zone,
        language=language,
        region=region,
        name=name,
        phone=phone,
        email=email,
        address=f"{rng.randrange(1, 999)} Example Road, {region}",
        preferred_hours=PREFERRED_HOURS.get(n % 10),
    )


def pay_day(entry: BookEntry, due_on: date) -> date | None:
    """The day this borrower pays an instalment due on `due_on` (None: never)."""
    if entry.behaviour is Behaviour.NEVER:
        return None
    if entry.behaviour is Behaviour.ON_TIME:
        return due_on - timedelta(days=1)
    return due_on + timedelta(days=entry.late_days)


def generate_book(size: int, seed: int, start: date) -> list[BookEntry]:
    """`size` loans whose first due dates fall between 75 days before and 45 days after `start`."""
    rng = random.Random(seed)
    entries: list[BookEntry] = []
    for n in range(size):
        jurisdiction = "CN" if rng.random() < 0.6 else "US-REGF"
        borrower = _borrower(rng, n, jurisdiction)
        instalments = rng.choice((1, 1, 3, 6, 12))
        first_due = start + timedelta(days=rng.randrange(-75, 46))
        cash_days = rng.choice((7, 14, 30))
        disbursed = first_due - timedelta(days=cash_days if instalments == 1 else 30)
        principal = rng.randrange(50, 2_000) * 1_000  # 500.00 to 19,990.00 in minor units
        loan = Loan(
            loan_id=f"L{seed % 1000:03d}{n:06d}",
            borrower_id=borrower.borrower_id,
            jurisdiction=jurisdiction,
            currency="CNY" if jurisdiction == "CN" else "USD",
            principal_minor=principal,
            disbursed_on=disbursed,
            instalments=build_schedule(
                principal,
                disbursed_on=disbursed,
                instalments=instalments,
                monthly_interest_bps=rng.choice((80, 100, 150)),
                fee_minor=principal // 100,
                cash_loan_days=cash_days,
            ),
            penalty_daily_ppm=500 if jurisdiction == "CN" else 300,
            apr_cap_bps=2400 if jurisdiction == "CN" else 3600,
        )
        behaviour = rng.choices([b for b, _ in BEHAVIOURS], [w for _, w in BEHAVIOURS])[0]
        entry = BookEntry(
            loan, borrower, behaviour, late_days=rng.randrange(2, 40), pay_hour_local=rng.randrange(7, 23)
        )
        entries.append(_with_history(entry, start))
    return entries


def _with_history(entry: BookEntry, start: date) -> BookEntry:
    """Apply, in the pure domain, the payments this borrower made before the simulation starts."""
    loan = entry.loan
    for instalment in entry.loan.instalments:
        day = pay_day(entry, instalment.due_on)
        if day is None or day >= start:
            break
        due = amount_due(loan, day) if instalment.due_on < day else instalment.outstanding
        loan = apply_payment(
            loan, Payment(f"H{loan.loan_id}-{instalment.seq}", loan.loan_id, due, loan.currency, day)
        ).loan
    return BookEntry(loan, entry.borrower, entry.behaviour, entry.late_days, entry.pay_hour_local)
