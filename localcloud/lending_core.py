"""The simulated lending core's day-to-day onboarding: loans disbursed and borrowers updated during
the run, sent as `LoanDisbursed` and `BorrowerUpdated` on LoanEventsBus (docs/import.md).

Every few days (seeded) the lending core disburses a loan to a new borrower (CN or US, priced well
within the cost cap, first due a month later) and, some days later, updates a borrower it onboarded:
a new phone number, a move (another province or state: another zone and state overlay), or another
language. As EventBridge delivers at least once, every event is sent twice; and one update made
before another is delivered after it. The import function answers each; the summary counts what it
did, and checks on the Borrowers table's PhoneKeyIndex that a changed number finds its borrower and
the old number nobody (the lookup inbound texts use).

The borrowers onboarded here are not driven by the behaviour model (they are not in the book): they
do not pay, so a loan disbursed early in a long run falls due and is collected like any other.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from arrears.adapters.dynamodb import PHONE_KEY_INDEX, BorrowerRepository
from arrears.domain.optouts import phone_lookup_key
from localcloud.book import AREA_CODES, CN_ZONES
from localcloud.cloud import LocalCloud

SOURCE = "arrears.lending-core"
DISBURSE_EVERY_DAYS = 4  # on average: a loan on a day with probability 1/4
UPDATE_AFTER_DAYS = 3  # a borrower onboarded here may be updated from this many days on
HOUR_UTC = 2  # the lending core's batch: 02:00 UTC every day (10:00 in China, the night before in the US)
US_STATES = {
    "NY": "America/New_York",
    "IL": "America/Chicago",
    "CA": "America/Los_Angeles",
    "WA": "America/Los_Angeles",
}


@dataclass
class LendingCoreStats:
    sent: Counter[str] = field(default_factory=Counter)  # detail-type -> events sent (redeliveries included)
    outcomes: Counter[str] = field(default_factory=Counter)  # "loan:CREATED", "borrower:STALE", ...
    changes: Counter[str] = field(default_factory=Counter)  # phone, move, language
    refused: int = 0
    redelivered_unchanged: int = 0
    phone_changes: list[tuple[str, str, str]] = field(default_factory=list)  # (borrower, old, new)


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class SimulatedLendingCore:
    """See the module docstring."""

    def __init__(self, cloud: LocalCloud, seed: int) -> None:
        self.cloud = cloud
        self.rng = random.Random(f"lending-core:{seed}")
        self.onboarded: dict[str, dict[str, Any]] = {}  # borrower id -> their current borrower row
        self.onboarded_on: dict[str, datetime] = {}
        self.late: dict[str, Any] | None = None  # an update held back, delivered after a newer one
        self.stats = LendingCoreStats()
        self.count = 0
        # Days it disburses a loan whatever the draw (the demo's review lister outage is on one)
        self.campaign_days: set[date] = set()

    def moments(self, begin: datetime, end: datetime) -> Iterator[datetime]:
        moment = begin.replace(hour=HOUR_UTC, minute=0, second=0, microsecond=0)
        moment += timedelta(days=1) if moment < begin else timedelta()
        while moment < end:
            yield moment
            moment += timedelta(days=1)

    # -- a day of the lending core ---------------------------------------------------------------------
    def day(self, now: datetime) -> None:
        if self.late is not None:
            # The update made before yesterday's, delivered only now: it must not win.
            self._send("BorrowerUpdated", self.late, redeliver=False)
            self.late = None
        # The first day disburses, and the first borrower ready is updated: a short run reaches both.
        drawn = self.rng.random() < 1 / DISBURSE_EVERY_DAYS if self.count else True
        if drawn or now.date() in self.campaign_days:
            self._disburse(now)
        ready = sorted(
            b for b, on in self.onboarded_on.items() if now - on >= timedelta(days=UPDATE_AFTER_DAYS)
        )
        if ready and (not self.stats.changes or self.rng.random() < 0.5):
            self._update(self.rng.choice(ready), now)

    def _disburse(self, now: datetime) -> None:
        self.count += 1
        n = self.count
        borrower_id, loan_id = f"B-LC-{n:04d}", f"L-LC-{n:04d}"
        if self.rng.random() < 0.5:
            zone, region = self.rng.choice(CN_ZONES)
            borrower = self._person(borrower_id, zone, region, "zh-CN", self._cn_phone())
            loan: dict[str, Any] = {"jurisdiction": "CN", "product": "cn-consumer", "currency": "CNY"}
        else:
            region = self.rng.choice(sorted(US_STATES))
            borrower = self._person(borrower_id, US_STATES[region], region, "en", self._us_phone(region))
            loan = {"jurisdiction": "US-REGF", "product": "us-closed-end", "currency": "USD"}
        loan |= {
            "schema_version": "1",
            "loan_id": loan_id,
            "borrower_id": borrower_id,
            "principal_minor": self.rng.randrange(50, 500) * 1000,
            "disbursed_on": now.date().isoformat(),
            "instalments": self.rng.choice((1, 3, 6)),
            "monthly_interest_bps": 50,  # 6 % a year: within every cap of the rule packs
        }
        self.onboarded[borrower_id] = borrower
        self.onboarded_on[borrower_id] = now
        self._send("LoanDisbursed", {"loan": loan, "borrower": borrower})

    def _update(self, borrower_id: str, now: datetime) -> None:
        before = self.onboarded[borrower_id]
        after = dict(before)
        change = self.rng.choice(("phone", "move", "language"))
        if change == "phone":
            after["phone"] = (
                self._cn_phone()
                if before["timezone"].startswith("Asia/")
                else self._us_phone(before["region"])
            )
            self.stats.phone_changes.append((borrower_id, before["phone"], after["phone"]))
        elif change == "move":
            if before["timezone"].startswith("Asia/"):
                zone, region = self.rng.choice([z for z in CN_ZONES if z[1] != before["region"]])
            else:
                region = self.rng.choice(sorted(set(US_STATES) - {before["region"]}))
                zone = US_STATES[region]
            after |= {
                "timezone": zone,
                "region": region,
                "address": f"{self.rng.randrange(1, 999)} New Road, {region}",
            }
        else:
            after["language"] = "en" if before["language"] != "en" else "es"
        self.stats.changes[change] += 1
        self.onboarded[borrower_id] = after
        self._send("BorrowerUpdated", {"borrower": after, "updated_at": _utc(now)})
        if self.late is None and change != "phone":
            # The profile as it was an hour before this update (a correction of the old address
            # sent late by a slow system): delivered tomorrow, after this one, and ignored.
            self.late = {"borrower": before, "updated_at": _utc(now - timedelta(hours=1))}

    def _send(self, detail_type: str, detail: dict[str, Any], *, redeliver: bool = True) -> None:
        for attempt in range(2 if redeliver else 1):
            self.stats.sent[detail_type] += 1
            for response in self.cloud.put_event("LoanEventsBus", SOURCE, detail_type, detail):
                if not isinstance(response, dict):
                    self.stats.refused += 1
                    continue
                if attempt == 0:
                    self.stats.outcomes.update(response.get("by_record", {}))
                elif response.get("outcome") == "UNCHANGED":
                    self.stats.redelivered_unchanged += 1

    # -- the borrowers ---------------------------------------------------------------------------------
    def _person(self, borrower_id: str, zone: str, region: str, language: str, phone: str) -> dict[str, Any]:
        return {
            "schema_version": "1",
            "borrower_id": borrower_id,
            "timezone": zone,
            "region": region,
            "language": language,
            "name": f"Onboarded Borrower {borrower_id[-4:]}",
            "phone": phone,
            "address": f"{self.rng.randrange(1, 999)} Example Road, {region}",
        }

    def _valid(self, draw: Callable[[], str]) -> str:
        """A number the import accepts (`phonenumbers`: valid for its country code): the lending
        core validates what it sends, so the run's failure queue holds only what a fault put there."""
        import phonenumbers

        while not phonenumbers.is_valid_number(phonenumbers.parse(number := draw(), None)):
            pass
        return number

    def _cn_phone(self) -> str:
        return self._valid(lambda: f"+861{self.rng.choice('3589')}{self.rng.randrange(10**8, 10**9)}")

    def _us_phone(self, region: str) -> str:
        return self._valid(lambda: f"+1{AREA_CODES.get(region, 212)}555{self.rng.randrange(1000, 9999)}")


def lending_core_summary(
    core: SimulatedLendingCore, borrowers: BorrowerRepository, secret: bytes
) -> dict[str, Any]:
    """`summary.json` → `lending_core`: events sent, what the import did, and whether each changed
    phone number now finds its borrower on the PhoneKeyIndex and the old number nobody."""

    def owner(number: str) -> str | None:
        return borrowers.find_id(PHONE_KEY_INDEX, "phone_key", phone_lookup_key(secret, number))

    follows = sum(1 for bid, old, new in core.stats.phone_changes if owner(new) == bid and owner(old) is None)
    outcomes = core.stats.outcomes
    return {
        "events_sent": dict(sorted(core.stats.sent.items())),
        "loans_registered": outcomes["loan:CREATED"],
        "borrowers_created": outcomes["borrower:CREATED"],
        "borrowers_updated": outcomes["borrower:UPDATED"],
        "changes": dict(sorted(core.stats.changes.items())),
        "older_updates_ignored": outcomes["borrower:STALE"],
        "redeliveries_unchanged": core.stats.redelivered_unchanged,
        "refused": core.stats.refused,
        "phone_lookup": {"numbers_changed": len(core.stats.phone_changes), "key_follows_new_number": follows},
    }
