"""Simulated erasure requests: the privacy desk asks Arrears to forget a few borrowers, seeded.

`SimulatedErasures` puts `ErasureRequested` events on the lending-core bus (`LocalCloud.put_event`,
the rule `template.yaml` declares for the erasure function), once a day at `ASK_AT_UTC`, until each
of its requests has found a borrower to ask for:

* `closed_debt`: a borrower collected (contact records on file) whose every loan is now CLOSED (paid
  off): everything is erased;
* `open_debt`: a borrower who keeps not paying (behaviour NEVER or RECOVERED: nothing before the
  charge-off), was told about the debt (an SMS or e-mail SENT), not reported yet, and whose loan
  reaches its bureau step (60 days past due in the US, 90 in CN) before the run ends: contact data
  erased, identity kept, and the bureau report still made under the pseudonym once its precondition
  holds (`arrears.usecases.erasure`);
* `reported_then_paid`: a US borrower who owes nothing any more (every loan CLOSED) but whose
  account a Metro 2 file reported and whose paid status no file has carried yet: name and address
  kept for that closing report (`closing_report_pending`), contact data erased; the file of the
  month the account was paid in reports it paid, and the cycle after lets the identity go (both
  after the default run's end: tests/integration/test_erasure_closing_report.py shows them);
* the first request is delivered again the next day (EventBridge delivers at least once): it changes
  nothing and writes no second audit record;
* with it, a request naming the first erased borrower by their pseudonym (the id every table shows
  after the erasure: a desk that looked the borrower up there): answered `already_erased`, it
  re-keys nothing and erases nothing more (the first request erased it all).

Each request id looks like what a privacy desk may use, an e-mail address of its ticketing system
(`privacy+<n>@lender.example`): it must never be stored, logged or archived (only its SHA-256).

`erasure_summary` is the `erasures` block of summary.json: requests and responses, items pseudonymised
by table, bureau reports made for erased borrowers after their erasure, and the invariant that no
erased borrower id (nor a request id) remains in any table, archive object or log line.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import boto3

from arrears.adapters.credit_facts import CreditFactsRepository
from arrears.adapters.items import plain
from arrears.adapters.tables import all_items
from arrears.config.playbook import bundled_playbook
from arrears.domain.tokens import is_pseudonym
from arrears.usecases.bureau_file import report_standing
from localcloud.book import Behaviour, BookEntry
from localcloud.cloud import LocalCloud

ASK_AT_UTC = time(15, 0)
KINDS = ("closed_debt", "open_debt", "reported_then_paid")
TOLD = frozenset({"SMS", "EMAIL"})
NOT_PAYING = (Behaviour.NEVER, Behaviour.RECOVERED)  # nothing paid before the charge-off


@dataclass
class ErasureRequestSent:
    kind: str
    borrower_id: str
    request_id: str
    at: datetime
    responses: list[dict[str, Any]] = field(default_factory=list)


def bureau_offsets() -> dict[str, int]:
    """The earliest bureau step (days past due) of each jurisdiction's strategies."""
    offsets: dict[str, int] = {}
    for jurisdiction, strategies in bundled_playbook().arms_by_jurisdiction.items():
        steps = [
            step.offset
            for arm in strategies.arms
            for step in arm.strategy.steps
            if step.channel.value == "BUREAU"
        ]
        if steps:
            offsets[jurisdiction] = min(steps)
    return offsets


def _scan(table: str) -> list[dict[str, Any]]:
    return [plain(item) for item in all_items(boto3.resource("dynamodb").Table(table).scan)]


class SimulatedErasures:
    """The privacy desk of the local world (see the module docstring)."""

    def __init__(
        self,
        cloud: LocalCloud,
        book: Sequence[BookEntry],
        seed: int,
        loans_table: str,
        contacts_table: str,
        history_table: str,
    ) -> None:
        self._cloud = cloud
        self._book = {entry.borrower.borrower_id: entry for entry in book}
        self._rng = random.Random(seed * 7919 + 17)
        self._loans_table = loans_table
        self._contacts_table = contacts_table
        self._end: datetime | None = None
        self._offsets = bureau_offsets()
        self._facts = CreditFactsRepository(boto3.resource("dynamodb").Table(history_table))
        self.sent: list[ErasureRequestSent] = []
        self.redelivered: list[dict[str, Any]] = []
        # The request naming the first erased borrower by their pseudonym, and its responses.
        self.by_pseudonym: ErasureRequestSent | None = None
        # The loans of each borrower asked about (`phones_by_pseudonym` reads their pseudonym later).
        self._loans_of_asked: dict[str, list[str]] = {}

    def moments(self, begin: datetime, end: datetime) -> Iterator[datetime]:
        """Once a simulated day at `ASK_AT_UTC`, from the second day."""
        self._end = end
        day = begin.date() + timedelta(days=1)
        while (moment := datetime.combine(day, ASK_AT_UTC, tzinfo=begin.tzinfo)) < end:
            yield moment
            day += timedelta(days=1)

    def ask(self, now: datetime) -> None:
        """Redeliver the first request the day after it; send each request kind not sent yet, if a
        borrower fits it now."""
        if self.sent and not self.redelivered and now - self.sent[0].at >= timedelta(hours=23):
            first = self.sent[0]
            self.redelivered = self._put(first.borrower_id, first.request_id, first.at)
            alias = self._pseudonym_of(first.borrower_id)
            if alias is not None:
                self.by_pseudonym = ErasureRequestSent(
                    first.kind, alias, "privacy+pseudonym@lender.example", now
                )
                self.by_pseudonym.responses = self._put(alias, self.by_pseudonym.request_id, now)
        done = {request.kind for request in self.sent}
        if len(done) == len(KINDS):
            return
        loans = _scan(self._loans_table)
        erased = {request.borrower_id for request in self.sent}
        for kind in KINDS:
            if kind in done:
                continue
            candidates = sorted(set(self._candidates(kind, loans, now)) - erased)
            if not candidates:
                continue
            borrower_id = self._rng.choice(candidates)
            request_id = f"privacy+{len(self.sent) + 1}@lender.example"
            request = ErasureRequestSent(kind, borrower_id, request_id, now)
            request.responses = self._put(borrower_id, request_id, now)
            self.sent.append(request)
            erased.add(borrower_id)
            self._loans_of_asked[borrower_id] = [
                str(loan["loan_id"]) for loan in loans if loan["borrower_id"] == borrower_id
            ]

    @property
    def phones_by_pseudonym(self) -> dict[str, str]:
        """The number each erased borrower had, by their pseudonym: the invariants attribute the texts
        sent before the erasure to their actions (the Borrowers item no longer holds the number).

        Read when asked (after the run), not when the request was put: under faults the erasure may
        complete only on a retry or the operator's redrive, after the request's own moment.
        """
        phones: dict[str, str] = {}
        for borrower_id in self._loans_of_asked:
            entry = self._book.get(borrower_id)
            alias = self._pseudonym_of(borrower_id)
            if entry is not None and alias is not None:
                phones[alias] = entry.borrower.phone
        return phones

    def _pseudonym_of(self, borrower_id: str) -> str | None:
        """The pseudonym an erasure gave `borrower_id` (read from their loans now), or None yet."""
        table = boto3.resource("dynamodb").Table(self._loans_table)
        for loan_id in self._loans_of_asked.get(borrower_id, []):
            stored = table.get_item(Key={"loan_id": loan_id}, ConsistentRead=True).get("Item") or {}
            alias = str(stored.get("borrower_id", ""))
            if is_pseudonym(alias):
                return alias
        return None

    def _put(self, borrower_id: str, request_id: str, requested_at: datetime) -> list[dict[str, Any]]:
        detail = {
            "request_id": request_id,
            "borrower_id": borrower_id,
            "requested_at": requested_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        responses = self._cloud.put_event("LoanEventsBus", "arrears.privacy", "ErasureRequested", detail)
        return [r for r in responses if isinstance(r, dict)]

    def _candidates(self, kind: str, loans: list[dict[str, Any]], now: datetime) -> list[str]:
        by_borrower: dict[str, list[dict[str, Any]]] = {}
        for loan in loans:
            by_borrower.setdefault(str(loan["borrower_id"]), []).append(loan)
        if kind == "reported_then_paid":
            return [
                b
                for b, mine in by_borrower.items()
                if not is_pseudonym(b)
                and all(loan["status"] == "CLOSED" for loan in mine)
                and any(report_standing(self._facts, str(loan["loan_id"])) for loan in mine)
            ]
        if kind == "closed_debt":
            # Paid off after being collected: records in every table to pseudonymise.
            return [
                b
                for b, mine in by_borrower.items()
                if not is_pseudonym(b)
                and all(loan["status"] == "CLOSED" for loan in mine)
                and any(self._records(str(loan["loan_id"])) for loan in mine)
            ]
        days_left = ((self._end or now) - now).days
        found: list[str] = []
        for borrower_id, mine in by_borrower.items():
            entry = self._book.get(borrower_id)
            if entry is None or entry.behaviour not in NOT_PAYING or len(mine) != 1:
                continue
            (loan,) = mine
            offset = self._offsets.get(str(loan["jurisdiction"]))
            # Its bureau step comes before the run ends (a day to spare) and has not fired yet.
            dpd_at_end = int(loan.get("dpd") or 0) + days_left - 1
            if loan["status"] != "OPEN" or offset is None or dpd_at_end <= offset:
                continue
            records = self._records(str(loan["loan_id"]))
            told = any(r.get("channel") in TOLD and r.get("status") == "SENT" for r in records)
            reported = any(r.get("channel") == "BUREAU" and r.get("status") == "SENT" for r in records)
            if told and not reported:
                found.append(borrower_id)
        return found

    def _records(self, loan_id: str) -> list[dict[str, Any]]:
        table = boto3.resource("dynamodb").Table(self._contacts_table)
        return list(
            all_items(
                table.query,
                KeyConditionExpression="loan_id = :l",
                ExpressionAttributeValues={":l": loan_id},
            )
        )


def id_pattern(values: Sequence[str]) -> re.Pattern[str] | None:
    """Any of `values` standing alone (not part of a longer id: B000012 is not in B0000123)."""
    if not values:
        return None
    alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")


def where_they_remain(pattern: re.Pattern[str] | None, archive: Path, logs: Path | None) -> dict[str, int]:
    """How many items of each DynamoDB table, archive objects (every exported file, gzip or not)
    and log lines hold any of the values `pattern` matches; `{}` when none does."""
    found: Counter[str] = Counter()
    if pattern is None:
        return {}
    dynamodb = boto3.client("dynamodb")
    for name in dynamodb.list_tables()["TableNames"]:
        for item in all_items(dynamodb.scan, TableName=name):
            if pattern.search(json.dumps(item, default=str, ensure_ascii=False)):
                found[f"table:{name}"] += 1
    for path in sorted(p for p in archive.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        if pattern.search(raw.decode("utf-8", errors="replace")):
            found["archive"] += 1
    if logs is not None and logs.exists():
        with logs.open() as lines:
            found["logs"] += sum(1 for line in lines if pattern.search(line))
    return {key: count for key, count in sorted(found.items()) if count}


def erasure_summary(
    erasures: SimulatedErasures, contacts: list[dict[str, Any]], archive: Path, logs: Path
) -> dict[str, Any]:
    """The `erasures` block of summary.json (see the module docstring)."""
    responses = [(request, r) for request in erasures.sent for r in request.responses]
    by_table: Counter[str] = Counter()
    for _, response in responses:
        by_table.update(response.get("pseudonymised") or {})
    erased_at = {str(r.get("audit_key")): request.at for request, r in responses if r.get("borrower_found")}
    first_erasure = min(erased_at.values(), default=None)
    bureau_after = [
        c
        for c in contacts
        if c.get("channel") == "BUREAU"
        and c.get("status") == "SENT"
        and is_pseudonym(str(c.get("borrower_id", "")))
        and first_erasure is not None
        and str(c.get("occurred_at", "")) > first_erasure.strftime("%Y-%m-%dT%H:%M:%SZ")
    ]
    ids = [request.borrower_id for request in erasures.sent]
    request_ids = [request.request_id for request in erasures.sent]
    by_pseudonym = erasures.by_pseudonym
    if by_pseudonym is not None:
        request_ids.append(by_pseudonym.request_id)
    # No log line carries a borrower id (`arrears.handlers.telemetry`), nor a request id.
    remaining_ids = where_they_remain(id_pattern(ids), archive, logs)
    remaining_requests = where_they_remain(id_pattern(request_ids), archive, logs)
    redelivered = erasures.redelivered
    return {
        "requested": len(erasures.sent) + (1 if redelivered else 0) + int(by_pseudonym is not None),
        "completed": sum(1 for _, r in responses if r.get("borrower_found") and r.get("audit_key")),
        "by_kind": {
            request.kind: {
                "requested_on": request.at.date().isoformat(),
                "open_debt": any(r.get("open_debt") for r in request.responses),
                "closing_report_pending": any(r.get("closing_report_pending") for r in request.responses),
                "fields_erased": sorted({f for r in request.responses for f in r.get("fields_erased", [])}),
                "identity_kept": sorted({f for r in request.responses for f in r.get("identity_kept", [])}),
            }
            for request in erasures.sent
        },
        "pseudonymised_by_table": dict(sorted(by_table.items())),
        "redelivery_changed_nothing": bool(redelivered)
        and all(not any((r.get("pseudonymised") or {}).values()) for r in redelivered),
        "bureau_reports_for_erased_borrowers": len(bureau_after),
        # A request naming the erased borrower's pseudonym: answered done, nothing re-keyed or erased.
        "named_by_pseudonym": {
            "requested": int(by_pseudonym is not None),
            "answered_already_erased": sum(
                1 for r in (by_pseudonym.responses if by_pseudonym else []) if r.get("already_erased")
            ),
            "changed_nothing": by_pseudonym is not None
            and bool(by_pseudonym.responses)
            and all(
                not r.get("fields_erased") and not any((r.get("pseudonymised") or {}).values())
                for r in by_pseudonym.responses
            ),
        },
        "invariant": {
            "erased_ids_remaining": remaining_ids,
            "request_ids_remaining": remaining_requests,
            "ok": not remaining_ids and not remaining_requests,
        },
    }


def fold_erasure_invariant(invariants: dict[str, Any], erasures: dict[str, Any]) -> None:
    """Add the erasure invariant to summary.json's invariants block (`erased_ids_remaining`, and
    `ok` false with `erased_data_remains` in `broken` when an erased id or a request id remains)."""
    held = erasures["invariant"]
    invariants["erased_ids_remaining"] = sum(held["erased_ids_remaining"].values()) + sum(
        held["request_ids_remaining"].values()
    )
    if not held["ok"]:
        invariants["ok"] = False
        invariants.setdefault("broken", []).append("erased_data_remains")
