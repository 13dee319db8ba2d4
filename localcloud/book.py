"""A reproducible synthetic loan book: loans, borrowers across time zones, and how each one pays.

Everything derives from one seed. Borrowers carry realistic-looking names, phones and e-mails so
that the privacy checks (logs and archive free of PII) are tested against data that would show.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from arrears.config.money import money_rules_for
from arrears.config.playbook import bundled_playbook
from arrears.domain.borrowers import Borrower
from arrears.domain.contracts import prepare_contract
from arrears.domain.costcap import ContractOverCap
from arrears.domain.delinquency import charge_off_day
from arrears.domain.ledger import LedgerEntry, receive
from arrears.domain.loans import Loan, build_schedule
from arrears.domain.money import amount_due
from arrears.domain.payments import Payment
from arrears.domain.terms import LoanTerms


class Behaviour(StrEnum):
    ON_TIME = "ON_TIME"  # pays each instalment a day or two early
    LATE = "LATE"  # pays each instalment some days late
    PARTIAL = "PARTIAL"  # pays half late, the rest later still
    NEVER = "NEVER"  # stops paying
    BOUNCE = "BOUNCE"  # pays on time, the payment is returned (reversed) days later, pays again late
    RECOVERED = "RECOVERED"  # stops paying; pays the balance some days after the charge-off


# The products of the book, with their terms from the policy document (`products`): US closed-end
# loans charge off at 120 days past due (FFIEC), CN consumer loans at the policy's default, 180.
PRODUCTS: dict[str, LoanTerms] = {
    "CN": bundled_playbook().terms_for("cn-consumer"),
    "US-REGF": bundled_playbook().terms_for("us-closed-end"),
}
REVERSAL_AFTER_DAYS = 3  # a returned payment comes back a few days after it was made
RECOVERY_AFTER_DAYS = 10  # a charged-off borrower pays the balance this long after the charge-off


@dataclass(frozen=True)
class BookEntry:
    loan: Loan
    borrower: Borrower
    behaviour: Behaviour
    late_days: int
    pay_hour_local: int
    # Payments made before the simulation starts, already applied to `loan`: the lending core's
    # ledger entries, written to the Payments table when the book is loaded.
    history: tuple[LedgerEntry, ...] = ()


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


# Area codes of each state's main city, so a borrower's phone agrees with their address by default.
AREA_CODES = {"NY": 212, "IL": 312, "CO": 303, "CA": 415, "AK": 907, "HI": 808, "MA": 617, "WA": 206}
# Some US borrowers live where state overlays add rules (Massachusetts: 2 calls and texts per debt in
# 7 days; Washington: 3 communications a week), and one in ten keeps a phone from another state (a
# New York 212 number with a California address is reachable at 05:30 California time). Taken from
# the borrower's number, not the generator, so the rest of the book stays as it was.
OVERLAY_STATES: dict[int, tuple[str, str]] = {
    4: ("America/New_York", "MA"),
    9: ("America/New_York", "MA"),
    6: ("America/Los_Angeles", "WA"),
}
MOVED_PHONE = 3  # n % 10: the phone's area code is another state's


def _us_phone(n: int, region: str, line: int) -> str:
    """A US number whose area code is the borrower's state, or another state's for one in ten."""
    area = AREA_CODES[region]
    if n % 10 == MOVED_PHONE:
        area = AREA_CODES["CA"] if region == "NY" else AREA_CODES["NY"]
    return f"+1{area}555{line}"


# One borrower in five states preferred hours, both crossing midnight: evenings to 01:00 (the lawful
# part is 19:00 to the pack's end), and 20:00-10:00 (two lawful windows, mornings and evenings). Taken
# from the borrower's number, not the generator, so the rest of the book stays as it was.
PREFERRED_HOURS: dict[int, tuple[int, int]] = {3: (19, 1), 7: (20, 10)}

# Loan 2: a US borrower opted out of every contact channel, 56 days past due when the run starts and
# never paying. Nothing about the debt is ever delivered, so the bureau step (day 60) is held by the
# pack's precondition (12 CFR 1006.30(a)) instead of reporting an untold borrower.
OPTED_OUT_EVERYWHERE = frozenset({"SMS", "EMAIL", "CALL_TASK", "FIELD_VISIT"})
OPTED_OUT_DPD_AT_START = 56


def _borrower(rng: random.Random, n: int, jurisdiction: str) -> Borrower:
    if jurisdiction == "CN":
        zone, region = rng.choice(CN_ZONES)
        name = rng.choice(CN_SURNAMES) + rng.choice(CN_GIVEN) + rng.choice(CN_GIVEN)
        phone = f"+861{rng.choice('3589')}{rng.randrange(10**8, 10**9)}"
        email = f"user{n:05d}.{rng.randrange(1000, 9999)}@example.cn"
        language = "zh-CN"
    else:
        zone, region = rng.choice(US_ZONES)
        zone, region = OVERLAY_STATES.get(n % 10, (zone, region))
        name = f"{rng.choice(US_FIRST)} {rng.choice(US_LAST)}"
        rng.randrange(201, 989)  # drawn as before (a random area code), so the book's sequence stays
        phone = _us_phone(n, region, rng.randrange(1000, 9999))
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


def _in_washington(borrower: Borrower) -> Borrower:
    """`borrower` moved to Washington (zone, state, a 206 number with the same line): a household of
    three loans under the state's 3 communications a week (RCW 19.16.250), where one loan's first
    text can find room for itself but not for the validation notice it carries. No draw from the
    generator, so the rest of the book stays as it was."""
    return replace(
        borrower,
        timezone="America/Los_Angeles",
        region="WA",
        phone=f"+1{AREA_CODES['WA']}555{borrower.phone[-4:]}",
        address=borrower.address.rsplit(",", 1)[0] + ", WA",
    )


def pay_day(entry: BookEntry, due_on: date) -> date | None:
    """The day this borrower pays an instalment due on `due_on` (None: never, or only after charge-off)."""
    if entry.behaviour in (Behaviour.NEVER, Behaviour.RECOVERED):
        return None
    if entry.behaviour in (Behaviour.ON_TIME, Behaviour.BOUNCE):
        return due_on - timedelta(days=1)
    return due_on + timedelta(days=entry.late_days)


def recovery_day(entry: BookEntry) -> date | None:
    """The day a RECOVERED borrower pays the balance: some days after the loan's charge-off day."""
    if entry.behaviour is not Behaviour.RECOVERED:
        return None
    day = charge_off_day(entry.loan)
    return None if day is None else day + timedelta(days=RECOVERY_AFTER_DAYS)


def _priced(loan: Loan, borrower: Borrower, rates: tuple[int, ...], fees: tuple[int, ...], days: int) -> Loan:
    """The loan at the first price (monthly rate, fee) within its jurisdiction's cost cap.

    Contracts over the cap are refused at registration, so the book only writes contracts within it:
    12 % a year in CN (four times the LPR), the borrower's state cap in the US.
    """
    rules = money_rules_for(loan.jurisdiction, loan.disbursed_on)
    terms = PRODUCTS[loan.jurisdiction]
    for rate in rates:
        for fee in fees:
            candidate = loan.with_changes(
                instalments=build_schedule(
                    loan.principal_minor,
                    disbursed_on=loan.disbursed_on,
                    instalments=len(loan.instalments),
                    monthly_interest_bps=rate,
                    fee_minor=fee,
                    cash_loan_days=days,
                )
            )
            try:
                return prepare_contract(candidate, borrower, terms, rules)
            except ContractOverCap:
                continue
    raise ContractOverCap(f"loan {loan.loan_id}: no price of the book fits the cap")


WA_SECOND_LOAN_DUE_AFTER_START = 3


def generate_book(size: int, seed: int, start: date) -> list[BookEntry]:
    """`size` loans whose first due dates fall between 75 days before and 45 days after `start`.

    The first loans are made to show what a short run would otherwise rarely reach: loan 0's
    first payment is returned (reversed) a few days later, loan 1 (a US cash loan) is charged off
    just before the run and paid after it (a recovery), loan 2's US borrower opted out of every
    contact channel and reaches the bureau step untold (`OPTED_OUT_EVERYWHERE`). One borrower in
    every eight holds three loans; the first such US borrower lives in Washington (`_in_washington`),
    and their second loan falls due on the run's third day (its first text waits with its notice).
    """
    rng = random.Random(seed)
    entries: list[BookEntry] = []
    for n in range(size):
        jurisdiction = "CN" if rng.random() < 0.6 else "US-REGF"
        if n in (1, 2):
            jurisdiction = "US-REGF"
        borrower = _borrower(rng, n, jurisdiction)
        if n % 8 == 5 and jurisdiction == "US-REGF" and not any(e.borrower.region == "WA" for e in entries):
            borrower = _in_washington(borrower)
        if n % 8 in (6, 7) and entries:
            # Loans 5, 6 and 7 of every eight share one borrower: their calls share one open call
            # task at a time and one set of call caps (docs/contracts.md, "The dialer contract").
            borrower, jurisdiction = entries[-1].borrower, entries[-1].loan.jurisdiction
        if n == 2:
            borrower = replace(borrower, opted_out_channels=OPTED_OUT_EVERYWHERE)
        instalments = rng.choice((1, 1, 3, 6, 12))
        first_due = start + timedelta(days=rng.randrange(-75, 46))
        cash_days = rng.choice((7, 14, 30))
        behaviour = rng.choices([b for b, _ in BEHAVIOURS], [w for _, w in BEHAVIOURS])[0]
        if jurisdiction == "US-REGF" and behaviour is Behaviour.NEVER and rng.random() < 0.5:
            behaviour = Behaviour.RECOVERED
        if n == 0:
            behaviour, first_due = Behaviour.BOUNCE, start + timedelta(days=5)
        elif n == 1:
            # Charged off (120 days past due) two days before the run, whatever the calendar.
            behaviour, instalments = Behaviour.RECOVERED, 1
            first_due = start - timedelta(days=PRODUCTS["US-REGF"].charge_off_dpd + 6)
        elif n == 2:
            behaviour, instalments = Behaviour.NEVER, 1
            first_due = start - timedelta(days=OPTED_OUT_DPD_AT_START)
        elif n % 8 == 6 and borrower.region == "WA":
            # The Washington household's second loan falls due 3 days after the run starts: its first
            # reminder comes that first morning, when the first loan's reminder and the validation
            # notice it carried have taken two of the week's three communications (RCW 19.16.250),
            # so it waits with its own notice (`communications_waiting_for_their_notice`).
            first_due = start + timedelta(days=WA_SECOND_LOAN_DUE_AFTER_START)
        disbursed = first_due - timedelta(days=cash_days if instalments == 1 else 30)
        principal = rng.randrange(50, 2_000) * 1_000  # 500.00 to 19,990.00 in minor units
        contract = Loan(
            loan_id=f"L{seed % 1000:03d}{n:06d}",
            borrower_id=borrower.borrower_id,
            jurisdiction=jurisdiction,
            currency="CNY" if jurisdiction == "CN" else "USD",
            principal_minor=principal,
            disbursed_on=disbursed,
            instalments=build_schedule(
                principal, disbursed_on=disbursed, instalments=instalments, monthly_interest_bps=0
            ),
            penalty_daily_ppm=500 if jurisdiction == "CN" else 300,
            apr_cap_bps=0,
        )
        if jurisdiction == "CN":
            rate = rng.choice((50, 60, 80))
            loan = _priced(contract, borrower, (rate, 50), (principal // 1000, 0), cash_days)
        else:
            rate = rng.choice((100, 125, 150))
            loan = _priced(contract, borrower, (rate, 100, 80), (principal // 100, 0), cash_days)
        entry = BookEntry(
            loan, borrower, behaviour, late_days=rng.randrange(2, 40), pay_hour_local=rng.randrange(7, 23)
        )
        if n == OLD_DEBT:
            entry = _old_placed_debt(entry, start)
        elif n == COURT_CASE:
            entry = _court_case(entry, start)
        entries.append(_with_history(entry, start))
    return entries


# Loan 3: a debt placed with the collector, 112 days past due when the run starts, whose original default
# is older than the limitation period (CN three years, a Massachusetts borrower six): its pre-legal
# demand and its legal step are suppressed by `limitation_period` (arrears.domain.limitation).
OLD_DEBT = 3
OLD_DEBT_DPD_AT_START = 112  # past every legal step and demand (CN 80/90, US 100/110)
OLD_DEBT_DEFAULT_YEARS_AGO = {"CN": 4, "US-REGF": 7}


def _old_placed_debt(entry: BookEntry, start: date) -> BookEntry:
    """`entry` made an old placed debt: one instalment 112 days past due, never paid, its original
    default years older than the limitation period (a US borrower moved to Massachusetts)."""
    borrower, loan = entry.borrower, entry.loan
    if loan.jurisdiction == "US-REGF":
        borrower = replace(
            borrower,
            timezone="America/New_York",
            region="MA",
            phone=_us_phone(0, "MA", 4321),
            address=borrower.address.rsplit(",", 1)[0] + ", MA",  # the state the address names, too
        )
    first_due = start - timedelta(days=OLD_DEBT_DPD_AT_START)
    disbursed = first_due - timedelta(days=30)
    principal = max(loan.principal_minor, 200_000)  # above the legal steps' minimum amount
    contract = loan.with_changes(
        principal_minor=principal,
        disbursed_on=disbursed,
        instalments=build_schedule(principal, disbursed_on=disbursed, instalments=1, monthly_interest_bps=0),
    )
    rates, fees = ((50,), (0,)) if loan.jurisdiction == "CN" else ((100,), (0,))
    priced = _priced(contract, borrower, rates, fees, 30)
    years = OLD_DEBT_DEFAULT_YEARS_AGO[loan.jurisdiction]
    placed = priced.with_changes(original_default_on=start.replace(year=start.year - years))
    # Unmoved by contacts: never pays while collected (a US one pays after its charge-off, which is
    # lawful: the debt is owed, only suit is barred).
    return BookEntry(placed, borrower, Behaviour.RECOVERED, entry.late_days, entry.pay_hour_local)


# Loan 8: a CN cash loan 85 days past due when the run starts, unpaid while collected: its legal step
# (day 90) goes out on the run's fifth day and builds a court case file. Its borrower is fixed (no draw
# from the generator: the rest of the book stays as it was).
COURT_CASE = 8
COURT_CASE_DPD_AT_START = 85


def _court_case(entry: BookEntry, start: date) -> BookEntry:
    """`entry` made a CN cash loan that reaches its legal step early in the run (see `COURT_CASE`)."""
    borrower = Borrower(
        borrower_id=entry.borrower.borrower_id,
        timezone="Asia/Shanghai",
        language="zh-CN",
        region="Shanghai",
        name="赵建国",
        phone="+8613900000008",
        email="court.case@example.cn",
        address="上海市黄浦区中山东一路8号",
    )
    first_due = start - timedelta(days=COURT_CASE_DPD_AT_START)
    disbursed = first_due - timedelta(days=30)
    principal = max(entry.loan.principal_minor, 200_000)
    contract = Loan(
        loan_id=entry.loan.loan_id,
        borrower_id=borrower.borrower_id,
        jurisdiction="CN",
        currency="CNY",
        principal_minor=principal,
        disbursed_on=disbursed,
        instalments=build_schedule(principal, disbursed_on=disbursed, instalments=1, monthly_interest_bps=0),
        penalty_daily_ppm=500,
        apr_cap_bps=0,
    )
    loan = _priced(contract, borrower, (50,), (principal // 1000, 0), 30)
    return BookEntry(loan, borrower, Behaviour.RECOVERED, entry.late_days, entry.pay_hour_local)


def _with_history(entry: BookEntry, start: date) -> BookEntry:
    """Apply, in the pure domain, the payments this borrower made before the simulation starts
    (in value-date order, as the ledger would), keeping them as ledger entries."""
    loan = entry.loan
    history: list[LedgerEntry] = []
    for instalment in entry.loan.instalments:
        day = pay_day(entry, instalment.due_on)
        if day is None or day >= start:
            break
        due = amount_due(loan, day) if instalment.due_on < day else instalment.outstanding
        if due <= 0:
            continue
        payment = Payment(f"H{loan.loan_id}-{instalment.seq}", loan.loan_id, due, loan.currency, day)
        history.append(LedgerEntry.of(payment))
        loan = receive(loan, payment).loan
    return BookEntry(
        loan, entry.borrower, entry.behaviour, entry.late_days, entry.pay_hour_local, tuple(history)
    )
